"""Posting FBA inventory adjustments by reason code, at cost.

The problem: an Adjustments row of the inventory ledger says only "n units of this FNSKU left (or entered) this
disposition, for reason X"; what that means for the books depends on the code (defaults/accounts/amazon/
inventory_reasons.toml, read once: facts.reasons()), and some codes come in two legs that only mean something
together (E -1 SELLABLE then P +1 WAREHOUSE_DAMAGED; 4 out of one SKU then 3 into another). One rule per `kind`:

- disposition_change (6 7 E H K U Q, then P) and catalog_transfer (4, 3): the first leg waits in the state
  (`pending`) for the other (same units, opposite sign; same SKU and location, or same location for a catalog
  transfer); the pair moves the units at cost from the first leg's state to the second's, e.g. Available ->
  Unfulfillable. Two dispositions of one state (CARRIER_DAMAGED -> WAREHOUSE_DAMAGED) post nothing.
- lost (M 5): out of the disposition's state to Researching (Books.lost_to), or written off at once to
  Expenses:Inventory:WriteOff:Lost (and remembered, so that a found unit reverses it).
- found (F N): from Researching first, at its cost; then reversing the latest lost write-offs of the SKU at the
  location at the cost they were written off; then at the current cost, credited to shrinkage and flagged.
- disposed (D G) and correction_out (O): out at cost to Expenses:Inventory:Shrinkage. software_correction
  (legacy 1 2 J): a loss out to shrinkage, a gain in at the current cost from shrinkage.
A code not in the table, a sign the table does not document or a disposition it does not map is an exception item.
"""

from __future__ import annotations

from ledger_service.inventory import facts as f
from ledger_service.inventory.holdings import InventoryState, forget, peek, remember
from ledger_service.inventory.moves import Books, ExceptionItem, Outcome, back_from, entry, move, out_to
from ledger_service.inventory.valuation import returned_slices

PAIRED = ("disposition_change", "catalog_transfer")


def post_adjustment(a: f.Adjustment, state: InventoryState, books: Books) -> Outcome:
    reason = f.reasons()["reason"].get(a.reason)
    stock = f.disposition_state(a.disposition)
    problem = _problem(a, reason, stock)
    if problem:
        return Outcome((), state, (ExceptionItem(a.key, *problem),))
    kind, units, here = reason["kind"], abs(a.quantity), (a.location, stock)
    label = f"Adjustment {a.reason} ({reason['reason']}): {a.quantity:+d} {a.sku} {a.disposition}"
    dims = dict(reason=a.reason, reference=a.reference or a.key)
    if kind in PAIRED:
        return _pair(a, kind, state, books)
    if kind == "found" or (kind == "software_correction" and a.quantity > 0):
        return _found(a, kind, units, here, state, books, label, dims)
    if kind == "lost" and books.lost_to == f.RESEARCHING:
        postings, _, state = move(state, books, a.sku, units, here, (a.location, f.RESEARCHING), **dims)
    elif kind == "lost":
        postings, slices, state = out_to(state, books, a.sku, units, here, f.WRITE_OFF_LOST, **dims)
        state = state._replace(written_off=remember(state.written_off, (a.sku, a.location), slices))
    else:  # disposed, correction_out, a software correction down
        postings, _, state = out_to(state, books, a.sku, units, here, f.SHRINKAGE, **dims)
    return Outcome((entry(books, a.date, label, postings),), state)


def _problem(a: f.Adjustment, reason: dict | None, stock: str | None) -> tuple[str, str] | None:
    if reason is None:
        return "unknown-reason", f"reason code {a.reason!r} is not in the reasons table"
    if stock is None:
        return "unknown-disposition", f"disposition {a.disposition!r} is not in the reasons table"
    if a.quantity == 0 or (a.quantity > 0) != (reason["sign"] == "+"):
        return "unexpected-sign", f"reason {a.reason} is documented as {reason['sign']}, the row has {a.quantity:+d}"
    return None


def _found(a: f.Adjustment, kind: str, units: int, here: tuple[str, str], state: InventoryState, books: Books,
           label: str, dims: dict) -> Outcome:
    before, postings, need, flags = state, [], units, ()
    if kind == "found":
        n = min(need, state.units(a.sku, a.location, f.RESEARCHING))
        if n:
            moved, _, state = move(state, books, a.sku, n, (a.location, f.RESEARCHING), here, **dims)
            postings, need = postings + moved, need - n
        lost = state.written_off.get((a.sku, a.location), ())
        n = min(need, sum(s.units for s in lost))
        if n:
            back = returned_slices(lost, n, books.currency)
            state = state._replace(written_off=forget(state.written_off, (a.sku, a.location), back))
            moved, state = back_from(state, books, a.sku, back, here, f.WRITE_OFF_LOST, **dims)
            postings, need = postings + moved, need - n
    if need:
        current = peek(state, books.method, a.sku, a.location, here[1], need, books.currency) or peek(
            state, books.method, a.sku, a.location, f.AVAILABLE, need, books.currency)
        if current is None:
            return Outcome((), before, (ExceptionItem(a.key, "found-without-cost", f"{need} {a.sku} found at "
                                                      f"{a.location} with no loss known and no units to cost them"),))
        moved, state = back_from(state, books, a.sku, current, here, f.SHRINKAGE, **dims)
        postings = postings + moved
        if kind == "found":
            flags = (ExceptionItem(a.key, "found-without-loss", f"{need} {a.sku} found at {a.location} with no "
                                   "loss known: taken in at the current cost"),)
    return Outcome((entry(books, a.date, label, postings),), state, flags)


def _pair(a: f.Adjustment, kind: str, state: InventoryState, books: Books) -> Outcome:
    group = (kind, a.location) if kind == "catalog_transfer" else (kind, a.sku, a.location)
    waiting = state.pending.get(group, ())
    match = next((i for i, leg in enumerate(waiting) if leg.quantity == -a.quantity), None)
    if match is None:
        return Outcome((), state._replace(pending=state.pending.set(group, waiting + (a,))))
    other = waiting[match]
    state = state._replace(pending=state.pending.set(group, waiting[:match] + waiting[match + 1:]))
    out, into = (a, other) if a.quantity < 0 else (other, a)
    src, dst = (a.location, f.disposition_state(out.disposition)), (a.location, f.disposition_state(into.disposition))
    if src == dst and out.sku == into.sku:
        return Outcome((), state)  # two dispositions of one state account: nothing moves in the books
    postings, _, state = move(state, books, out.sku, abs(a.quantity), src, dst, dst_sku=into.sku,
                              reason=f"{out.reason}/{into.reason}", reference=out.reference or out.key)
    label = f"Adjustment {out.reason}/{into.reason}: {abs(a.quantity)} {out.sku} {out.disposition} -> " \
            f"{into.sku} {into.disposition}"
    return Outcome((entry(books, a.date, label, postings),), state)


def pending_legs(state: InventoryState) -> tuple[f.Adjustment, ...]:
    """Adjustment legs still waiting for their pair (a report lists them; none should stay long)."""
    return tuple(leg for _, legs in state.pending.items() for leg in legs)
