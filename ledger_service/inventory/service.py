"""Unit facts into the ledger: purchase receipts posted as lots, and the holdings rebuilt from the postings.

The problem: the posting rules (inventory.posting) are pure folds over an InventoryState, but the ledger is the
database: each ingest must start from the holdings the postings already hold, post its facts under the
subsidiary's chain-head lock (so two ingests never take the same units), and write all of a file or none of it.

- `receive_file(conn, sub, data, document, location, rule)`: a purchase receipt CSV (inventory.receipts) -> one
  `purchase_receipt` event per PO, keyed `receipt:<po>:<sha of its content>`, with the entry post_purchase makes
  (units into `<location>:Available` at landed cost, Accounts Payable credited). Every SKU must be a catalog item
  (or an MSKU the catalog maps to one): an unknown SKU is refused naming its line, never given another's lots.
  The same PO again is a no-op; the same PO with other content is a Conflict. Inside the caller's transaction.
- `ingest_ledger(conn, sub, data, document, location)`: an FBA inventory ledger detail report at an FBA location:
  each row's MSKU (else FNSKU) resolved to the brand SKU through the catalog on its date (unresolved: an exception
  item, nothing posted), turned into a fact (facts.from_movement) and posted by post() against the holdings loaded
  from the database; one `inventory_movement` event per row, keyed by the parser's natural key, raw row kept. A
  refused row (too few units, a lane) refuses the file naming file:line; rows already in the log are skipped.
- `load_state(conn, sub, skus)`: the InventoryState's holdings and lots as received, folded from the units
  postings of the inventory accounts (lot in the `lot` dimension, cost per unit, functional amounts), and the
  slices each sale took less what came back (`sold`, from the postings' order_id). Not rebuilt yet: the lost
  write-offs and the adjustment legs waiting for their pair (a found unit or a second leg in a later file).
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from datetime import datetime, time
from decimal import Decimal

from sqlalchemy import Connection, select

from ledger_service.catalog.service import components_on, resolve_sku
from ledger_service.chart.service import get_subsidiary
from ledger_service.errors import Conflict, Invalid
from ledger_service.eventlog.model import EventDraft, Source
from ledger_service.inventory import facts as f
from ledger_service.inventory.holdings import InventoryState, PMap
from ledger_service.inventory.model import AVERAGE, Lot, Slice
from ledger_service.inventory.moves import Books
from ledger_service.inventory.posting import post
from ledger_service.inventory.receipts import PurchaseOrder, parse_receipts
from ledger_service.inventory.valuation import _averaged, average_holding, holding_id, value_of
from ledger_service.inventory.views import PREFIX, parse_state_account
from ledger_service.journal.writer import lock_chain_heads, post_batch
from ledger_service.locations.service import load_locations
from ledger_service.money import currency_exponent, fmt, from_minor, round_money
from ledger_service.store.tables import accounts, commodities, entries, events, items, postings

KIND = "purchase_receipt"
SYSTEM = "purchase-receipt-csv"
RECEIVING_KINDS = ("warehouse", "3pl")  # a supplier delivers to a warehouse or a 3PL; FBA receives via inbound
_CHUNK = 500


def receive_file(conn: Connection, subsidiary: str, data: bytes, document: str, location: str,
                 rule: str = "units", actor: str | None = None) -> dict:
    """Post a purchase receipt file, all of it or none, inside the caller's write transaction."""
    sub = get_subsidiary(conn, subsidiary)
    orders = parse_receipts(data, document, rule)
    loc = load_locations(conn, subsidiary).get(location)
    if loc is None:
        raise Invalid(f"location {location} is not a location of {subsidiary}: add it first "
                      "(`ledger-service locations add`)")
    if loc.kind not in RECEIVING_KINDS:
        raise Invalid(f"location {location} is a {loc.kind} location: purchase orders are received at a "
                      f"{' or '.join(RECEIVING_KINDS)} location")
    lock_chain_heads(conn, [subsidiary])  # the holdings read below stay the holdings the entries post against
    resolved = {po.po: _resolve(conn, subsidiary, sub.functional_currency, po, document) for po in orders}
    fresh = [po for po in orders if not _known(conn, subsidiary, po, document)]
    state = load_state(conn, subsidiary, sorted({sku for po in fresh for sku in resolved[po.po]}))
    books = Books(subsidiary, sub.functional_currency, sub.valuation_method)
    sha = hashlib.sha256(data if isinstance(data, bytes) else data.encode()).hexdigest()
    batch, lots = [], []
    for po in fresh:
        fact = f.PurchaseReceipt(po.po, po.supplier, po.date, location, po.currency,
                                 tuple(f.PurchaseLine(sku, x.units, x.unit_cost, x.weight)
                                       for sku, x in zip(resolved[po.po], po.lines)),
                                 tuple(c.amount for c in po.charges), rule)
        try:
            done = post(fact, state, books)
        except Invalid as exc:
            raise Invalid(f"{document}:{po.first_line}: PO {po.po}: {exc.message}") from exc
        state = done.state
        for i, sku in enumerate(resolved[po.po], start=1):
            held = state.lots.get(f"{po.po}:{i}")
            lots.append({"lot": held.lot_id, "po": po.po, "sku": sku, "units": held.units,
                         "unit_cost": str(held.unit_cost), "value": fmt(value_of(held, books.currency))})
        content = po.content() | {"location": location}
        payload = content | {"skus": resolved[po.po], "lines_at": [x.line for x in po.lines],
                             "charges_at": [c.line for c in po.charges]}
        event = EventDraft(subsidiary, KIND, datetime.combine(po.date, time()), po.key, po.raw,
                           Source(system=SYSTEM, document=document, sha256=sha, line=po.first_line),
                           content=content, payload=payload)
        batch.append((event, list(done.entries)))
    results = post_batch(conn, batch, actor=actor)
    return {"subsidiary": subsidiary, "document": document, "location": location, "rule": rule,
            "purchase_orders": len(orders), "posted": sum(not r.duplicate for r in results),
            "duplicates": len(orders) - len(fresh),
            "lots": lots, "total": fmt(sum((Decimal(x["value"]) for x in lots), Decimal(0)))}


def _resolve(conn: Connection, subsidiary: str, currency: str, po: PurchaseOrder, document: str) -> list[str]:
    """The brand SKU of each line: the catalog's item of that SKU, else the item an MSKU stands for that day."""
    if po.currency != currency:
        raise Invalid(f"{document}:{po.lines[0].line}: PO {po.po} is in {po.currency}; lots are in {subsidiary}'s "
                      f"functional currency {currency}: convert the costs before receiving it")
    out = []
    for x in po.lines:
        sku = conn.execute(select(items.c.sku).where(items.c.subsidiary == subsidiary, items.c.sku == x.sku)).scalar()
        sku = sku or resolve_sku(conn, subsidiary, None, x.sku, po.date)
        if sku is None:
            raise Invalid(f"{document}:{x.line}: SKU {x.sku} is not in the catalog of {subsidiary} on "
                          f"{po.date}: import it first (`ledger-service catalog import`); units of an unknown SKU "
                          "are never received")
        if components_on(conn, subsidiary, sku, po.date):
            raise Invalid(f"{document}:{x.line}: SKU {sku} is a bundle: its units are not stocked; receive its "
                          "components")
        out.append(sku)
    return out


def _known(conn: Connection, subsidiary: str, po: PurchaseOrder, document: str) -> bool:
    """True when this PO, with this content, is already received; Conflict when it was received with other."""
    prefix = f"receipt:{po.po}:"
    rows = conn.execute(select(events.c.id, events.c.idempotency_key).where(
        events.c.subsidiary == subsidiary, events.c.kind == KIND,
        events.c.idempotency_key.startswith(prefix, autoescape=True))).all()
    other = [r for r in rows if r.idempotency_key != po.key]
    if other:
        raise Conflict(f"{document}:{po.first_line}: PO {po.po} was received with other content (event "
                       f"{other[0].id}); a PO is received once: correct it with a new PO or an adjustment")
    return bool(rows)


def load_state(conn: Connection, subsidiary: str, skus) -> InventoryState:
    """The holdings of `skus` (per SKU, location and state) and their lots as received, from the postings."""
    sub = get_subsidiary(conn, subsidiary)
    currency, exp = sub.functional_currency, currency_exponent(sub.functional_currency)
    held: dict[tuple, list] = defaultdict(lambda: [0, Decimal(0), None])  # (sku, loc, state, lot) -> units, value
    first: dict[str, Lot] = {}
    sold: dict[tuple[str, str], list[Slice]] = defaultdict(list)  # (order, sku) -> the slices its sale took
    skus = list(skus)
    for i in range(0, len(skus), _CHUNK):
        q = (select(entries.c.effective_date, accounts.c.name, postings.c.commodity, postings.c.quantity,
                    postings.c.cost_per_unit, postings.c.functional_amount, postings.c.dimensions,
                    postings.c.order_id)
             .join(entries, entries.c.id == postings.c.entry_id)
             .join(accounts, accounts.c.id == postings.c.account_id)
             .join(commodities, commodities.c.code == postings.c.commodity)
             .where(postings.c.subsidiary == subsidiary, entries.c.state == "posted", commodities.c.kind == "units",
                    accounts.c.name.like(PREFIX + "%"), postings.c.commodity.in_(skus[i:i + _CHUNK]))
             .order_by(entries.c.effective_date, entries.c.id, postings.c.id))
        for day, account, sku, units, cost, minor, dims, order_id in conn.execute(q):
            where = parse_state_account(account)
            lot_id = json.loads(dims).get("lot") if dims else None
            if where is None or lot_id is None:
                continue
            row = held[(sku, *where, lot_id)]
            row[0] += int(units)
            row[1] += from_minor(int(minor), exp)
            if order_id:  # a sale's slice (out), or a return's (back: holdings.forget, the last slice first)
                _sold(sold[(order_id, sku)], Slice(lot_id, abs(int(units)), Decimal(cost),
                                                   abs(from_minor(int(minor), exp))), int(units) < 0)
            if lot_id not in first and units > 0:
                first[lot_id] = Lot(lot_id, sku, where[0], day, Decimal(cost), int(units))
            row[2] = row[2] or first.get(lot_id)
    return _state(held, first, currency, sub.valuation_method)._replace(
        sold=_pmap((k, tuple(v)) for k, v in sold.items() if v))


def _sold(kept: list[Slice], s: Slice, out: bool) -> None:
    if out:
        kept.append(s)
    elif kept:  # a return's slices beyond what the sale is known to have taken came back at the current cost
        last = kept.pop()
        if s.units < last.units:
            kept.append(Slice(last.lot_id, last.units - s.units, last.unit_cost, last.cost - s.cost))


def _pmap(pairs) -> PMap:
    out = PMap()
    for k, v in pairs:
        out = out.set(k, v)
    return out


def _state(held: dict, first: dict[str, Lot], currency: str, method: str) -> InventoryState:
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


MOVEMENT_KIND = "inventory_movement"


def ingest_ledger(conn: Connection, subsidiary: str, data: bytes, document: str, location: str,
                  actor: str | None = None) -> dict:
    """Post an FBA inventory ledger detail report at an FBA location, all of it or none, inside the caller's write
    transaction: one event per row (key: the parser's natural key), against the holdings in the database."""
    from ledger_service.inventory.adjustments import pending_legs
    from ledger_service.locations.model import check_lane
    from ledger_service.locations.service import lanes_of
    from ledger_service.sources.amazon.inventory_ledger import parse_inventory_ledger

    sub = get_subsidiary(conn, subsidiary)
    loc = load_locations(conn, subsidiary).get(location)
    if loc is None or loc.kind != "fba":
        raise Invalid(f"location {location} is not an FBA location of {subsidiary}: the inventory ledger's units "
                      "are at an FBA location (`ledger-service locations add CODE --kind fba --marketplace M`)")
    movements = parse_inventory_ledger(data, document)
    lock_chain_heads(conn, [subsidiary])
    known = _known_keys(conn, subsidiary, [m.natural_key for m in movements])
    exceptions, rows, bundles = [], [], {}
    for m in movements:
        if m.natural_key in known:
            continue
        sku = _movement_sku(conn, subsidiary, loc.marketplace, m)
        if sku is None and not m.flags:
            exceptions.append(_item(m, "unknown-sku", f"MSKU {m.msku} / FNSKU {m.fnsku} is not in the catalog of "
                                    f"{subsidiary} on {m.date}: nothing posted for it"))
            continue
        fact = f.from_movement(m, location, sku)
        if sku is not None and (sku, m.date) not in bundles:
            bundles[(sku, m.date)] = tuple(components_on(conn, subsidiary, sku, m.date).items())
        rows.append((m, fact, sku))
    skus = {sku for _, _, sku in rows if sku} | {c for parts in bundles.values() for c, _ in parts}
    state = load_state(conn, subsidiary, sorted(skus))
    lanes = lanes_of(conn, subsidiary)
    books = Books(subsidiary, sub.functional_currency, sub.valuation_method,
                  allowed=lambda lane, code: check_lane(lanes, lane, code))
    batch = []
    for m, fact, sku in rows:
        parts = bundles.get((sku, m.date)) or ()
        try:
            done = post(fact, state, books._replace(bundles={sku: parts} if parts else {}))
        except Invalid as exc:
            raise Invalid(f"{document}:{m.source.line}: {exc.message}") from exc
        state = done.state
        exceptions += [_item(m, x.kind, x.message) for x in done.exceptions]
        if done.exceptions and not done.entries:
            continue  # not recorded: it posts when ingested again once its cause is fixed
        payload = {"sku": sku, "location": location, "date": m.date.isoformat(), "msku": m.msku, "fnsku": m.fnsku,
                   "event_type": m.event_type, "reference_id": m.reference_id, "quantity": m.quantity,
                   "disposition": m.disposition, "reason": m.reason, "fulfillment_center": m.fulfillment_center}
        event = EventDraft(subsidiary, MOVEMENT_KIND, m.occurred_at or datetime.combine(m.date, time()),
                           m.natural_key, m.source.raw, Source(system=m.source.system, document=document,
                                                               sha256=m.source.sha256, line=m.source.line),
                           content={"natural_key": m.natural_key}, payload=payload)
        batch.append((event, list(done.entries)))
    post_batch(conn, batch, actor=actor)
    return {"subsidiary": subsidiary, "document": document, "location": location, "rows": len(movements),
            "posted": len(batch), "duplicates": len(known), "entries": sum(len(e) for _, e in batch),
            "exceptions": exceptions,
            "pending_legs": [{"key": leg.key, "sku": leg.sku, "quantity": leg.quantity, "reason": leg.reason}
                             for leg in pending_legs(state)]}


def _movement_sku(conn: Connection, subsidiary: str, marketplace: str | None, m) -> str | None:
    """The brand SKU of a row on its day: its MSKU through the catalog, else its FNSKU's identity; else None."""
    from ledger_service.catalog.service import identity_on

    sku = resolve_sku(conn, subsidiary, marketplace, m.msku, m.date) if m.msku else None
    if sku is None and m.fnsku:
        found = identity_on(conn, subsidiary, marketplace, m.date, fnsku=m.fnsku)
        sku = found.sku if found is not None else None
    return sku


def _known_keys(conn: Connection, subsidiary: str, keys: list[str]) -> set[str]:
    out: set[str] = set()
    for i in range(0, len(keys), _CHUNK):
        out |= set(conn.execute(select(events.c.idempotency_key).where(
            events.c.subsidiary == subsidiary, events.c.idempotency_key.in_(keys[i:i + _CHUNK]))).scalars())
    return out


def _item(m, kind: str, message: str) -> dict:
    return {"key": m.natural_key, "line": m.source.line, "kind": kind, "message": message}
