"""The holdings the posting rules start from, rebuilt from the log: `load_state(conn, sub, skus)`.

The problem: the posting rules (inventory.posting) are pure folds over an InventoryState, but the ledger is the
database, and a report comes in many files: each ingest must start from exactly the state the fold of everything
posted before would hold, or a row whose partner is in an earlier file posts differently than it would have in
one file (a return at the current cost instead of its sale's, a found unit as unknown, an adjustment leg that
never pairs). Every map post() reads is rebuilt:

- `holdings` and `lots`: folded from the units postings of the inventory state accounts (lot in the `lot`
  dimension, cost per unit, functional amounts; in date and entry order): each lot's units and value per (SKU,
  location, state) (under moving average, one re-averaged holding per key) and each lot as received (its first
  posting in).
- `sold[(order, sku)]`: the slices each sale took, less what came back (the units postings' `order_id`).
- `written_off[(sku, location)]`: the lost write-offs a found unit reverses at the cost written off. An entry that
  posts to Expenses:Inventory:WriteOff:Lost writes off (a debit) the slices its units postings just before that
  posting took out of a state (their lots and costs), or reverses (a credit) the slices its units postings just
  before put back: moves.out_to and moves.back_from write a slice run and then its expense posting, so the run
  that ends at the expense posting is exactly the slices written off or found. Folded in entry order (the order
  the rows posted in, whatever their dates), found units taking the latest write-offs first (holdings.forget).
- `pending[group]`: the adjustment legs waiting for their pair: the `inventory_movement` events marked
  `adjustment_leg: waiting` that no later event names in `pairs_with` (movement_events), in log order.

An ingest in chunks (inventory.ledger_ingest) keeps its memory flat in the file's size with two more readers:
`add_skus` adds the SKUs a chunk names first to the running state (holdings, lots, write-offs; lots already known
keep their receipt), and `sold_of` reads `sold` for the orders a chunk's returns name only, its own earlier
chunks' sales included (they are in the same transaction), instead of holding every order's slices.
"""

from __future__ import annotations

import json
from collections import defaultdict
from decimal import Decimal

from sqlalchemy import Connection, and_, or_, select

from ledger_service.chart.model import Subsidiary
from ledger_service.chart.service import account_refs, commodity_kinds, get_subsidiary
from ledger_service.errors import Invalid
from ledger_service.inventory import facts as f
from ledger_service.inventory.holdings import InventoryState, PMap, forget, remember
from ledger_service.inventory.model import AVERAGE, Lot, Slice
from ledger_service.inventory.moves import Books
from ledger_service.inventory.movement_events import (
    MOVEMENT_KIND, PAIRS_LIKE, WAITING, WAITING_LIKE, adjustment_of, pair_group,
)
from ledger_service.inventory.valuation import _averaged, average_holding, holding_id, value_of
from ledger_service.inventory.views import PREFIX, parse_state_account
from ledger_service.locations.model import lane_checker
from ledger_service.locations.service import lanes_of
from ledger_service.money import currency_exponent, from_minor, round_money
from ledger_service.store.tables import accounts, commodities, entries, events, postings

_CHUNK = 500


def books_of(conn: Connection, sub: Subsidiary, **settings) -> Books:
    """The posting rules' view of a subsidiary (moves.Books): its functional currency, valuation method and lanes
    (checked once per lane and location: locations.model.lane_checker); `settings`: Books' other fields."""
    checker = lane_checker(lanes_of(conn, sub.code))
    return Books(sub.code, sub.functional_currency, sub.valuation_method, allowed=checker, **settings)


def load_state(conn: Connection, subsidiary: str, skus, legs: tuple[f.Adjustment, ...] | None = None, *,
               sold: bool = True, lots: PMap | None = None) -> InventoryState:
    """Everything post() reads of `skus`, from the log. `legs`: the waiting legs, when the caller read them
    already (`waiting_legs`); only those of `skus` are kept. `sold=False` leaves `sold` empty (`sold_of` loads it
    per order); `lots`: lots as received already known (of SKUs loaded before: `add_skus`), which stay as they
    are (a lot moved to another SKU keeps its receipt) and are not returned again."""
    sub = get_subsidiary(conn, subsidiary)
    currency, exp = sub.functional_currency, currency_exponent(sub.functional_currency)
    held: dict[tuple, list] = defaultdict(lambda: [0, Decimal(0), None])  # (sku, loc, state, lot) -> units, value
    first: dict[str, Lot] = {}
    slices: dict[tuple[str, str], list[Slice]] = defaultdict(list)  # (order, sku) -> the slices its sale took
    known = lots if lots is not None else {}  # lot id -> the lot as received
    losses: list[tuple[int, int, tuple[str, str], tuple[Slice, ...]]] = []  # (entry, +1 lost / -1 found, key, slices)
    skus = list(skus)
    for i in range(0, len(skus), _CHUNK):
        chunk = skus[i:i + _CHUNK]
        q = (select(entries.c.id, entries.c.effective_date, accounts.c.name, postings.c.commodity,
                    postings.c.quantity, postings.c.cost_per_unit, postings.c.functional_amount,
                    postings.c.dimensions, postings.c.order_id)
             .join(entries, entries.c.id == postings.c.entry_id)
             .join(accounts, accounts.c.id == postings.c.account_id)
             .join(commodities, commodities.c.code == postings.c.commodity)
             .where(postings.c.subsidiary == subsidiary, entries.c.state == "posted",
                    or_(and_(commodities.c.kind == "units", accounts.c.name.like(PREFIX + "%"),
                             postings.c.commodity.in_(chunk)),
                        and_(accounts.c.name == f.WRITE_OFF_LOST, postings.c.sku.in_(chunk))))
             .order_by(entries.c.effective_date, entries.c.id, postings.c.id))
        run = _Run()
        for entry_id, day, account, sku, units, cost, minor, dims, order_id in conn.execute(q):
            if account == f.WRITE_OFF_LOST:
                run.expense(entry_id, int(minor), losses)
                continue
            where = parse_state_account(account)
            lot_id = json.loads(dims).get("lot") if dims else None
            if where is None or lot_id is None:
                continue
            taken = Slice(lot_id, abs(int(units)), Decimal(cost), abs(from_minor(int(minor), exp)))
            run.add(entry_id, sku, where[0], taken, int(units))
            row = held[(sku, *where, lot_id)]
            row[0] += int(units)
            row[1] += from_minor(int(minor), exp)
            if order_id and sold:  # a sale's slice (out), or a return's (back: holdings.forget, the last first)
                _sold(slices[(order_id, sku)], taken, int(units) < 0)
            if lot_id not in first and units > 0 and lot_id not in known:
                first[lot_id] = Lot(lot_id, sku, where[0], day, Decimal(cost), int(units))
            row[2] = row[2] or first.get(lot_id) or known.get(lot_id)
    wanted = set(skus)
    legs = waiting_legs(conn, subsidiary) if legs is None else legs
    pending = PMap()
    for leg in legs:
        group = pair_group(leg)
        if leg.sku in wanted and group is not None:
            pending = pending.set(group, pending.get(group, ()) + (leg,))
    return _state(held, first, currency, sub.valuation_method)._replace(
        sold=_pmap((k, tuple(v)) for k, v in slices.items() if v), written_off=_written_off(losses), pending=pending)


def add_skus(conn: Connection, subsidiary: str, state: InventoryState, skus,
             legs: tuple[f.Adjustment, ...] = ()) -> InventoryState:
    """`state` with what post() reads of `skus` (none of which it holds yet) from the log: their holdings, lots as
    received and lost write-offs, and of `legs` those of `skus` waiting; not `sold` (`sold_of`). An ingest in
    chunks loads a SKU when a row first names it: whatever it posted since is for SKUs it loaded, so the log is
    right for the others."""
    more = load_state(conn, subsidiary, skus, legs=legs, sold=False, lots=state.lots)
    pending = state.pending
    for group, waiting in more.pending.items():
        pending = pending.set(group, pending.get(group, ()) + waiting)
    return InventoryState(_merged(state.holdings, more.holdings), _merged(state.lots, more.lots), state.sold,
                          _merged(state.written_off, more.written_off), pending)


def sold_of(conn: Connection, subsidiary: str, orders, after_entry: int = 0) -> PMap:
    """`sold` for the sales of `orders` only (of every SKU), folded as load_state folds it: the log's entries in
    date and entry order, except those after entry `after_entry` (the running ingest's own, which its fold took
    in the order it posted them), in entry order after all the others. Memory: the slices of those orders.

    The postings are read by order id alone (index ix_postings_order) and the accounts, commodities and entries
    they name looked up apart: a join lets PostgreSQL's planner, whose statistics lag behind a long ingest's
    writes, start from the accounts or the commodities and scan the postings once for each."""
    exp = currency_exponent(get_subsidiary(conn, subsidiary).functional_currency)
    where = {ref[0]: parse_state_account(name) for name, ref in account_refs(conn, subsidiary).items()}
    p, found = postings.c, []
    orders = sorted(orders)
    for i in range(0, len(orders), _CHUNK):
        found += [r for r in conn.execute(
            select(p.entry_id, p.id, p.account_id, p.commodity, p.quantity, p.cost_per_unit, p.functional_amount,
                   p.dimensions, p.order_id)
            .where(p.subsidiary == subsidiary, p.order_id.in_(orders[i:i + _CHUNK]))) if where.get(r.account_id)]
    units = {code for code, (kind, _) in commodity_kinds(conn, sorted({r.commodity for r in found})).items()
             if kind == "units"}
    ids, days = sorted({r.entry_id for r in found}), {}
    for i in range(0, len(ids), _CHUNK):
        days.update(conn.execute(select(entries.c.id, entries.c.effective_date).where(
            entries.c.id.in_(ids[i:i + _CHUNK]), entries.c.state == "posted")).all())
    found = sorted((r for r in found if r.commodity in units and r.entry_id in days),
                   key=lambda r: (r.entry_id > after_entry, None if r.entry_id > after_entry else days[r.entry_id],
                                  r.entry_id, r.id))
    slices: dict[tuple[str, str], list[Slice]] = defaultdict(list)
    for r in found:
        lot_id = json.loads(r.dimensions).get("lot") if r.dimensions else None
        if lot_id is None:
            continue
        units = int(r.quantity)
        taken = Slice(lot_id, abs(units), Decimal(r.cost_per_unit), abs(from_minor(int(r.functional_amount), exp)))
        _sold(slices[(r.order_id, r.commodity)], taken, units < 0)
    return _pmap((k, tuple(v)) for k, v in slices.items() if v)


def _merged(into: PMap, more: PMap) -> PMap:
    for key, value in more.items():
        into = into.set(key, value)
    return into


def waiting_legs(conn: Connection, subsidiary: str) -> tuple[f.Adjustment, ...]:
    """The adjustment legs of the log still waiting for their pair, in the order they were recorded."""
    waiting: dict[str, f.Adjustment] = {}
    paired: set[str] = set()
    for key, payload in conn.execute(
            select(events.c.idempotency_key, events.c.payload)
            .where(events.c.subsidiary == subsidiary, events.c.kind == MOVEMENT_KIND,
                   or_(events.c.payload.like(WAITING_LIKE), events.c.payload.like(PAIRS_LIKE)))
            .order_by(events.c.id)):
        p = json.loads(payload)
        if p.get("pairs_with"):
            paired.add(p["pairs_with"])
        if p.get("adjustment_leg") == WAITING:
            waiting[key] = adjustment_of(key, p)
    return tuple(leg for key, leg in waiting.items() if key not in paired)


class _Run:
    """The units postings of one entry since its last expense posting, while they go one way (all out or all in):
    the slices an expense posting that follows them wrote off or took back."""

    def __init__(self) -> None:
        self.entry, self.sign, self.slices, self.key = None, 0, [], None

    def add(self, entry_id: int, sku: str, location: str, taken: Slice, units: int) -> None:
        sign = 1 if units > 0 else -1
        if (entry_id, sign) != (self.entry, self.sign):
            self.entry, self.sign, self.slices = entry_id, sign, []
        self.slices.append(taken)
        self.key = (sku, location)

    def expense(self, entry_id: int, minor: int, out: list) -> None:
        """A posting to WriteOff:Lost: a debit after slices out is a loss, a credit after slices in a find."""
        if entry_id == self.entry and self.slices and (minor > 0) == (self.sign < 0):
            out.append((entry_id, -self.sign, self.key, tuple(self.slices)))
        self.entry, self.sign, self.slices = None, 0, []


def _written_off(losses: list[tuple[int, int, tuple[str, str], tuple[Slice, ...]]]) -> PMap:
    """The write-offs less what was found, folded in entry order: the order the rows posted in."""
    book = PMap()
    for entry_id, way, key, slices in sorted(losses, key=lambda x: x[0]):
        if way > 0:
            book = remember(book, key, slices)
            continue
        if sum(s.units for s in book.get(key, ())) < sum(s.units for s in slices):
            raise Invalid(f"entry {entry_id} reverses more lost {key[0]} at {key[1]} than was written off; run "
                          "`ledger-service verify`")
        book = forget(book, key, slices)
    return book


def _sold(kept: list[Slice], s: Slice, out: bool) -> None:
    if out:
        kept.append(s)
    elif kept:  # a return's slices beyond what the sale is known to have taken came back at the current cost
        last = kept.pop()
        if s.units < last.units:
            kept.append(Slice(last.lot_id, last.units - s.units, last.unit_cost, last.cost - s.cost))


def _one_holding(held: dict) -> dict:
    """Moving average: one holding per (SKU, location, state), whatever lots its postings name (a receipt names
    its PO's lot, a move out names the average pseudo-lot it took from), so the lots are summed before any check:
    one lot's units alone may be negative."""
    out: dict[tuple, list] = defaultdict(lambda: [0, Decimal(0), None])
    for (sku, location, stock, _lot), (units, value, received) in held.items():
        row = out[(sku, location, stock, holding_id(sku, location))]
        row[0] += units
        row[1] += value
        if received is not None and (row[2] is None or received.received > row[2].received):
            row[2] = received
    return out


def _pmap(pairs) -> PMap:
    out = PMap()
    for k, v in pairs:
        out = out.set(k, v)
    return out


def _state(held: dict, first: dict[str, Lot], currency: str, method: str) -> InventoryState:
    if method == AVERAGE:
        held = _one_holding(held)
    by_key: dict[tuple, list[Lot]] = defaultdict(list)
    for (sku, location, stock, lot_id), (units, value, received) in held.items():
        if units == 0 and value == 0:
            continue
        if units <= 0 or value < 0 or received is None:
            raise Invalid(f"the postings hold {units} {sku} worth {value} in lot {lot_id} at {location} {stock}: "
                          "a holding is never negative; run `ledger-service verify`")
        carried = None if value == round_money(units * received.unit_cost, currency) else value
        by_key[(sku, location, stock)].append(
            Lot(lot_id, sku, location, received.received, received.unit_cost, units, carried))
    holdings = PMap()
    for (sku, location, stock), lots in by_key.items():
        if method == AVERAGE:
            on = max(lot.received for lot in lots)
            lots = [_averaged(average_holding(sku, location, on), sum(lot.units for lot in lots),
                              sum((value_of(lot, currency) for lot in lots), Decimal(0)), on)]
        holdings = holdings.set((sku, location, stock), tuple(sorted(lots, key=lambda lot: lot.key)))
    received = PMap()
    for lot_id, lot in first.items():
        if not (method == AVERAGE and lot_id == holding_id(lot.sku, lot.location)):
            received = received.set(lot_id, lot)
    return InventoryState(holdings=holdings, lots=received)
