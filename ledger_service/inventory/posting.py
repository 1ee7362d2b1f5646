"""Posting rules for unit movements: each unit fact becomes balanced entries at cost, and a new holdings state.

The problem: every unit that moves (received from a supplier, sent to FBA, received by Amazon, sold, returned,
lost, found, damaged, removed) must move at cost between state accounts (`Assets:Inventory:<LOCATION>:<State>`) or
to an expense (COGS, a write-off, shrinkage), in the period it moved, so that positions by state are balances and
the inventory accounts equal the valuation of the lots to the cent. `post(fact, state, books)` is one pure rule
per fact (facts.py) returning `Outcome(entries, state, exceptions)`; `post_all` folds a sequence. The table of
debits and credits is in docs/inventory.md, "Posting unit movements".

- A purchase receipt creates one lot per line (`<po>:<line>`) at landed cost (valuation.landed_cost): units into
  <WH>:Available, Liabilities:AccountsPayable credited with the goods and with the charges.
- An inbound shipment moves lots Available(WH) -> Inbound:Working(FBA) -> Inbound:Shipped -> Inbound:Receiving; an
  FBA receipt takes them from Receiving, then Shipped, then Working, into Available (or Unfulfillable); beyond the
  inbound units, from Researching (a closed shipment's shortage, received late).
- A sale takes Available by the method (a bundle: each component) and posts COGS on its date; the slices taken are
  remembered per (order, sku). A return by disposition puts those slices back (last taken first) at their cost,
  crediting COGS; without a known sale it comes back at the current cost, posted and flagged.
- Adjustments follow the reason table (adjustments.py). Removals leave at cost to the removal location's
  Inbound:Shipped, or to shrinkage. A warehouse transfer within one FBA location posts nothing.
- A flagged movement, or one that cannot be costed, posts nothing and is an exception item; too few units raises
  ShortOfUnits and a movement outside its lane raises LaneRefused (both Invalid): the state is left as it was.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from ledger_service.errors import Invalid
from ledger_service.inventory import facts as f
from ledger_service.inventory.adjustments import post_adjustment
from ledger_service.inventory.holdings import InventoryState, forget, peek, receive_lot, remember
from ledger_service.inventory.model import BY_UNITS, SPECIFIC, Lot, ReceiptLine
from ledger_service.inventory.moves import (
    Books, ExceptionItem, Outcome, back_from, check_lane, components, entry, move, out_to,
)
from ledger_service.inventory.valuation import landed_cost, returned_slices
from ledger_service.journal.model import money_posting, units_posting


def post(fact, state: InventoryState, books: Books) -> Outcome:
    """One unit fact -> its entries and the state after it."""
    rule = _RULES.get(type(fact))
    if rule is None:
        raise Invalid(f"no posting rule for {type(fact).__name__}")
    return rule(fact, state, books)


def post_all(items: Iterable, state: InventoryState, books: Books) -> Outcome:
    """Facts in order -> all their entries and exception items, and the final state."""
    entries, exceptions = [], []
    for fact in items:
        done = post(fact, state, books)
        entries.extend(done.entries)
        exceptions.extend(done.exceptions)
        state = done.state
    return Outcome(tuple(entries), state, tuple(exceptions))


def post_purchase(r: f.PurchaseReceipt, state: InventoryState, books: Books) -> Outcome:
    if r.currency != books.currency:
        raise Invalid(f"purchase {r.po} is in {r.currency}: lots are in the functional currency {books.currency}; "
                      "convert the receipt's costs before posting it")
    charges = tuple(r.charges)
    lines = [ReceiptLine(line.units, line.unit_cost, line.unit_weight) for line in r.lines]
    landed = landed_cost(lines, charges, r.rule if any(charges) else BY_UNITS, books.currency)
    postings = []
    for i, (line, unit_cost) in enumerate(zip(r.lines, landed.unit_costs), start=1):
        lot = Lot(f"{r.po}:{i}", line.sku, r.location, r.date, unit_cost, line.units)
        if lot.lot_id in state.lots:
            raise Invalid(f"lot {lot.lot_id} is already received: a purchase order line is received once")
        state = receive_lot(state, books.method, lot, f.AVAILABLE, books.currency)
        postings.append(units_posting(f.state_account(r.location, f.AVAILABLE), line.sku, Decimal(line.units),
                                      unit_cost, books.currency, lot=lot.lot_id, po=r.po))
    goods, extra = landed.total - sum(landed.charges, Decimal(0)), sum(landed.charges, Decimal(0))
    postings.append(money_posting(f.PAYABLE, -goods, po=r.po, supplier=r.supplier))
    if extra:
        postings.append(money_posting(f.PAYABLE, -extra, po=r.po, supplier=r.supplier, role="landed_charges"))
    return Outcome((entry(books, r.date, f"Purchase receipt {r.po} from {r.supplier}", postings),), state)


def post_inbound(s: f.InboundShipment, state: InventoryState, books: Books) -> Outcome:
    if s.stage not in f.STAGES:
        raise Invalid(f"inbound shipment stage must be one of {', '.join(f.STAGES)}, not {s.stage!r}")
    dst = (s.to_location, f.STAGES[s.stage])
    src = (s.from_location, f.AVAILABLE) if s.stage == "working" else (
        s.to_location, f.WORKING if s.stage == "shipped" else f.SHIPPED)
    postings, _, state = move(state, books, s.sku, s.units, src, dst, shipment_id=s.shipment_id)
    return Outcome((entry(books, s.date, f"Inbound shipment {s.shipment_id} {s.stage}: {s.units} {s.sku}",
                          postings),), state)


# A receipt takes inbound units, furthest along first; beyond them, units a closed shipment's shortage put in
# Researching (inventory.inbound): Amazon received them after all.
RECEIPT_SOURCES = (*f.INBOUND, f.RESEARCHING)


def post_fba_receipt(r: f.FbaReceipt, state: InventoryState, books: Books) -> Outcome:
    held = {stock: state.units(r.sku, r.location, stock) for stock in RECEIPT_SOURCES}
    if sum(held.values()) < r.units:
        return _exception(state, r.key or f"receipt:{r.shipment_id}:{r.sku}", "receipt-exceeds-inbound",
                          f"{r.units} {r.sku} received at {r.location} from {r.shipment_id}, but only "
                          f"{sum(held.values())} are inbound or researching there: no cost to receive them at")
    postings, need = [], r.units
    for stock in RECEIPT_SOURCES:
        n = min(need, held[stock])
        if n:
            moved, _, state = move(state, books, r.sku, n, (r.location, stock), (r.location, r.state),
                                   shipment_id=r.shipment_id)
            postings += moved
            need -= n
    return Outcome((entry(books, r.date, f"FBA receipt {r.shipment_id or ''}: {r.units} {r.sku}", postings),), state)


def post_sale(s: f.Sale, state: InventoryState, books: Books) -> Outcome:
    check_lane(books, s.lane, s.location)
    parts = components(books, s.sku)
    bundle = s.sku if parts != ((s.sku, 1),) else None
    if (s.lot_id is not None) != (books.method == SPECIFIC) or (bundle and s.lot_id is not None):
        raise Invalid(f"sale {s.order_ref} of {s.sku}: a lot is named on a sale when the subsidiary's method is "
                      f"specific lot, and only then (method {books.method}, lot {s.lot_id!r}); a bundle's "
                      "components name no lot")
    postings = []
    for sku, each in parts:
        out, slices, state = out_to(state, books, sku, s.units * each, (s.location, f.AVAILABLE), f.COGS,
                                    None if bundle else s.lot_id, order_id=s.order_ref, bundle=bundle)
        postings += out
        state = state._replace(sold=remember(state.sold, (s.order_ref, sku), slices))
    return Outcome((entry(books, s.date, f"COGS {s.order_ref}: {s.units} {s.sku}", postings),), state)


def post_return(r: f.CustomerReturn, state: InventoryState, books: Books) -> Outcome:
    key = r.key or f"return:{r.order_ref}:{r.sku}"
    stock = f.disposition_state(r.disposition)
    if stock is None:
        return _exception(state, key, "unknown-disposition", f"return of {r.units} {r.sku} ({r.order_ref}) in "
                          f"disposition {r.disposition!r}, which the reasons table does not map")
    check_lane(books, r.lane, r.location)
    before, postings, unknown = state, [], 0
    for sku, each in components(books, r.sku):
        units, known = r.units * each, state.sold.get((r.order_ref, sku), ())
        n = min(units, sum(s.units for s in known))
        if n:
            back = returned_slices(known, n, books.currency)
            state = state._replace(sold=forget(state.sold, (r.order_ref, sku), back))
            moved, state = back_from(state, books, sku, back, (r.location, stock), f.COGS, order_id=r.order_ref)
            postings += moved
        if units > n:  # no sale known for these: the cost the next sale would take
            current = peek(state, books.method, sku, r.location, f.AVAILABLE, units - n, books.currency)
            if current is None:
                return _exception(before, key, "return-without-cost", f"return of {units - n} {sku} "
                                  f"({r.order_ref}): no sale known and no units at {r.location} to cost them")
            moved, state = back_from(state, books, sku, current, (r.location, stock), f.COGS, order_id=r.order_ref)
            postings += moved
            unknown += units - n
    flags = (ExceptionItem(key, "return-without-sale", f"{unknown} of {r.units} {r.sku} returned ({r.order_ref}) "
                           "with no sale known came back at the current cost"),) if unknown else ()
    return Outcome((entry(books, r.date, f"Customer return {r.order_ref}: {r.units} {r.sku} to {stock}",
                          postings),), state, flags)


def post_removal(r: f.Removal, state: InventoryState, books: Books) -> Outcome:
    src = (r.location, r.state)
    if books.removal_location:
        postings, _, state = move(state, books, r.sku, r.units, src, (books.removal_location, f.SHIPPED),
                                  removal_id=r.removal_id)
    else:
        postings, _, state = out_to(state, books, r.sku, r.units, src, f.SHRINKAGE, removal_id=r.removal_id)
    return Outcome((entry(books, r.date, f"Removal {r.removal_id or ''}: {r.units} {r.sku}", postings),), state)


def post_state_move(m: f.StateMove, state: InventoryState, books: Books) -> Outcome:
    postings, _, state = move(state, books, m.sku, m.units, (m.location, m.from_state), (m.location, m.to_state),
                              reference=m.key)
    return Outcome((entry(books, m.date, f"{m.units} {m.sku} {m.from_state} -> {m.to_state}", postings),), state)


def post_write_off(w: f.WriteOff, state: InventoryState, books: Books) -> Outcome:
    if w.kind not in ("lost", "damaged"):
        raise Invalid(f"a write-off is lost or damaged, not {w.kind!r}")
    account = f.WRITE_OFF_LOST if w.kind == "lost" else f.WRITE_OFF_DAMAGED
    postings, slices, state = out_to(state, books, w.sku, w.units, (w.location, w.state), account, reference=w.key)
    if w.kind == "lost":
        state = state._replace(written_off=remember(state.written_off, (w.sku, w.location), slices))
    return Outcome((entry(books, w.date, f"Write-off ({w.kind}) of {w.units} {w.sku} from {w.state}",
                          postings),), state)


def post_whse_transfer(t: f.WhseTransfer, state: InventoryState, books: Books) -> Outcome:
    return Outcome((), state)  # one FBA location, one account: moving between its fulfillment centers moves nothing


def post_flagged(m: f.Flagged, state: InventoryState, books: Books) -> Outcome:
    return _exception(state, m.key, ",".join(m.flags), m.detail)


def _exception(state: InventoryState, key: str, kind: str, message: str) -> Outcome:
    return Outcome((), state, (ExceptionItem(key, kind, message),))


_RULES = {
    f.PurchaseReceipt: post_purchase, f.InboundShipment: post_inbound, f.FbaReceipt: post_fba_receipt,
    f.Sale: post_sale, f.CustomerReturn: post_return, f.Adjustment: post_adjustment, f.Removal: post_removal,
    f.StateMove: post_state_move, f.WriteOff: post_write_off, f.WhseTransfer: post_whse_transfer,
    f.Flagged: post_flagged,
}
