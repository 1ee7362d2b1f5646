"""Units sold from the settlement's order rows, for a subsidiary that ingests no inventory ledger.

The problem: COGS needs the units that left. The FBA inventory ledger's Shipments rows say so; a seller who does
not download that report still has the settlement, whose order rows carry (sku, quantity-purchased) for every
order item that shipped. So a subsidiary chooses one source of unit truth (chart.config `unit_source`):
`inventory_ledger` (the default: nothing here runs) or `settlement`, and a sale must never be counted by both, nor
twice by one (the same order item comes in a provisional Finances page and again in the closed flat file).

- `unit_collector` (once per document) says whether to watch it; `UnitCollector.watch` passes the records through
  to the planner unchanged and keeps only what it needs: one small `OrderItem` per order item that shipped (its
  ItemPrice/Principal row with a sku and a quantity above 0; rows of one order item in one document add up), and
  each settlement's end date for rows that carry none. Merchant-fulfilled rows (fulfillment MFN) left the seller's
  own warehouse, not FBA: counted in the result, not posted (that is the FBM lane's, a later issue).
- `post_units`, in the ingest's write transaction after the money: each order item becomes a `Sale` fact (the sku
  resolved through the catalog by marketplace and date, a bundle consuming its components) at the subsidiary's FBA
  location of the row's marketplace, dated on the row's posted date, posted at cost against `load_state` under the
  chain-head lock, by the subsidiary's method. One event per order item, kind `settlement_units`, keyed
  `units:sale:<order id>:<seller sku>`: the order item as every source names it (the legacy flat file, Finances
  2024 and the inventory ledger carry no order item code), so a second sight of it is a duplicate. An order item
  whose units another source took (a units posting out of inventory with that order id and sku, e.g. the
  inventory ledger's) is skipped and counted.
- A sale that cannot be costed (unknown sku, no FBA location for the marketplace, too few units, a lane) never
  refuses the settlement: it is an event with no entries, kind `settlement_units_exception`, keyed
  `units:exception:<order id>:<seller sku>` (so once). `unit_exceptions` lists them, open until the sale event
  exists (status derived, never updated); `retry_unit_exceptions` posts what now costs.
- `counted_by_settlement` is the inventory ledger ingest's side: Shipments rows the settlement counts.

A refund posts no units: a settlement refund does not say whether a unit came back (returns come from the returns
and inventory ledger reports). docs/inventory.md, "Units from the settlement's order rows", has the rules.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import NamedTuple

from sqlalchemy import Connection, select

from ledger_service.catalog.service import components_on, resolve_sku
from ledger_service.chart.service import get_subsidiary, subsidiary_config
from ledger_service.errors import Invalid, LedgerError
from ledger_service.eventlog.model import EventDraft, Source
from ledger_service.eventlog.service import known_keys
from ledger_service.inventory import facts as f
from ledger_service.inventory.loading import books_of
from ledger_service.inventory.posting import post
from ledger_service.inventory.service import load_state
from ledger_service.journal.writer import late_rules, lock_chain_heads, post_batch
from ledger_service.locations.service import load_locations
from ledger_service.money import fmt
from ledger_service.periods.model import refusal
from ledger_service.sources.model import AmazonAmount, posted_day
from ledger_service.store.tables import commodities, entries, events, postings

SETTLEMENT, INVENTORY_LEDGER = "settlement", "inventory_ledger"
SALE_KIND, EXCEPTION_KIND = "settlement_units", "settlement_units_exception"
# The row that says an order item shipped, per source system: its principal (the money rows of the same item
# carry no more units).
_SHIPPED = frozenset({
    ("amazon-settlement-v2", "Order", "ItemPrice", "Principal"),
    ("amazon-settlement-legacy", "Order", "ItemPrice", "Principal"),
    ("sp-api-finances-v0", "ShipmentEvent", "ItemChargeList", "Principal"),
    ("sp-api-finances-v0", "ShipmentSettleEvent", "ItemChargeList", "Principal"),
    ("sp-api-finances-2024-06-19", "Shipment", "ProductCharges", "OurPricePrincipal"),
    ("sp-api-finances-2024-06-19", "Shipment", "Product Charges", "Principle"),
})
_CHUNK = 500


class OrderItem(NamedTuple):
    order_id: str
    msku: str  # the seller SKU as the settlement gives it
    units: int
    marketplace: str | None
    day: date | None  # the row's posted date (a settlement has no shipment date)
    order_item_code: str | None
    settlement_id: str | None
    source: Source
    raw: str


def sale_key(order_id: str, msku: str) -> str:
    return f"units:sale:{order_id}:{msku}"


def exception_key(order_id: str, msku: str) -> str:
    return f"units:exception:{order_id}:{msku}"


def unit_source(conn: Connection, subsidiary: str, accounts_dir: Path | None = None) -> str:
    """The subsidiary's `unit_source` setting in force."""
    if accounts_dir is None:
        from ledger_service.settings import Settings
        accounts_dir = Settings.from_env().accounts_dir
    return subsidiary_config(conn, subsidiary, accounts_dir).unit_source


def unit_collector(conn: Connection, subsidiary: str, accounts_dir: Path) -> UnitCollector | None:
    """A collector for a document of a subsidiary whose units come from the settlement; None otherwise."""
    return UnitCollector() if unit_source(conn, subsidiary, accounts_dir) == SETTLEMENT else None


class UnitCollector:
    """Keeps the order items that shipped out of a stream of records, and nothing else."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], OrderItem] = {}
        self.ends: dict[str | None, date] = {}  # settlement id -> its end (else start, deposit): undated rows
        self.kinds: dict[tuple[str, str], str] = {}  # the transaction type an order item was first seen under
        self.skipped: Counter[str] = Counter()

    def watch(self, records: Iterable) -> Iterator:
        for record in records:
            if isinstance(record, AmazonAmount):
                if (record.source.system, *record.triple) in _SHIPPED:
                    self._add(record)
            elif record.settlement_id not in self.ends:
                when = posted_day(record.end or record.start or record.deposit_date)
                if when is not None:
                    self.ends[record.settlement_id] = when
            yield record

    def _add(self, r: AmazonAmount) -> None:
        if not r.order_id or not r.sku or not r.quantity or r.quantity <= 0:
            self.skipped["without_units"] += 1
            return
        if (r.fulfillment_id or "").upper() == "MFN":
            self.skipped["merchant_fulfilled"] += 1
            return
        held = self.items.get((r.order_id, r.sku))
        if held is not None:
            if self.kinds[(r.order_id, r.sku)] == r.transaction_type:  # one order item shipped in parts
                self.items[(r.order_id, r.sku)] = held._replace(units=held.units + r.quantity)
            else:  # the same shipment listed again under another event list (ShipmentSettleEvent): once
                self.skipped["listed_twice"] += 1
            return
        self.kinds[(r.order_id, r.sku)] = r.transaction_type
        source = Source(system=r.source.system, document=r.source.document, sha256=r.source.sha256,
                        line=r.source.line, page=r.source.page)
        self.items[(r.order_id, r.sku)] = OrderItem(r.order_id, r.sku, r.quantity, r.marketplace,
                                                    posted_day(r.posted_at), r.order_item_code, r.settlement_id,
                                                    source, r.source.raw)

    def post(self, conn: Connection, subsidiary: str, actor: str | None = None) -> dict:
        items = [i if i.day else i._replace(day=self.ends.get(i.settlement_id)) for i in self.items.values()]
        return post_units(conn, subsidiary, items, actor) | {
            name: self.skipped[name] for name in ("without_units", "merchant_fulfilled", "listed_twice")}


def post_units(conn: Connection, subsidiary: str, items: Iterable[OrderItem], actor: str | None = None,
               record_exceptions: bool = True) -> dict:
    """Post each order item's sale at cost inside the caller's write transaction; what cannot be costed is an
    exception event (when `record_exceptions`), never a refusal."""
    sub = get_subsidiary(conn, subsidiary)
    lock_chain_heads(conn, [subsidiary])  # the holdings read below stay the ones the entries post against
    items = sorted(items, key=lambda i: (i.day or date.min, i.order_id, i.msku))  # lots are taken in date order
    known = known_keys(conn, subsidiary, [k for i in items for k in (sale_key(i.order_id, i.msku),
                                                                 exception_key(i.order_id, i.msku))])
    fresh = [i for i in items if sale_key(i.order_id, i.msku) not in known]
    gaps, ready, cache = [], [], {}
    fba = _fba_locations(conn, subsidiary)
    for item in fresh:
        try:
            ready.append((item, *_resolve(conn, subsidiary, item, fba, cache)))
        except Invalid as gap:
            gaps.append((item, None, gap))
    taken = _taken(conn, subsidiary, {i.order_id for i, *_ in ready})
    skus = {sku for _, sku, _, _ in ready} | {c for _, _, _, parts in ready for c, _ in parts}
    state = load_state(conn, subsidiary, sorted(skus))
    books = books_of(conn, sub)
    closed, late_policy = late_rules(conn, subsidiary)
    batch, sales, cogs, units, by_ledger = [], 0, Decimal(0), 0, 0
    for item, sku, location, parts in ready:
        if (item.order_id, sku) in taken:
            by_ledger += 1
            continue
        fact = f.Sale(item.order_id, sku, item.units, location, item.day, "FBA", None, sale_key(item.order_id,
                                                                                                 item.msku))
        try:
            done = post(fact, state, books._replace(bundles={sku: parts} if parts else {}))
        except LedgerError as exc:  # too few units, a lane, a specific-lot method: the money posts all the same
            gaps.append((item, sku, exc))
            continue
        refused = refusal(done.entries, closed, late_policy)
        if refused is not None:  # the writer would refuse its COGS: the sale waits, the state stays as it was
            gaps.append((item, sku, _gap("period_closed", f"sale {item.order_id} of {item.units} {sku} {refused}: "
                                         f"{subsidiary} refuses late entries (late_entries = refuse); its units "
                                         "post, at the cost then, once the period reopens (`ledger-service "
                                         "exceptions units --retry`)")))
            continue
        state = done.state
        cogs += sum((p.amount for e in done.entries for p in e.postings if p.account == f.COGS), Decimal(0))
        sales, units = sales + 1, units + item.units
        batch.append((_event(subsidiary, SALE_KIND, item, {"sku": sku, "location": location}), list(done.entries)))
    if record_exceptions:
        batch += [(_event(subsidiary, EXCEPTION_KIND, item, {"sku": sku, "kind": exc.kind, "message": exc.message}),
                   []) for item, sku, exc in gaps if exception_key(item.order_id, item.msku) not in known]
    for i in range(0, len(batch), _CHUNK):
        post_batch(conn, batch[i:i + _CHUNK], actor=actor)
    return {"unit_source": SETTLEMENT, "order_items": len(items), "posted": sales,
            "duplicates": len(items) - len(fresh), "counted_by_inventory_ledger": by_ledger, "units": units,
            "cogs": fmt(cogs), "exceptions": [{"order_id": i.order_id, "sku": i.msku, "units": i.units,
                                               "kind": e.kind, "message": e.message} for i, _, e in gaps]}


def _resolve(conn: Connection, subsidiary: str, item: OrderItem, fba: dict[str, list[str]], cache: dict
             ) -> tuple[str, str, tuple[tuple[str, int], ...]]:
    """(brand sku, FBA location, bundle components or ()) of an order item, or Invalid naming the gap."""
    if item.day is None:
        raise _gap("no_date", f"order {item.order_id} {item.msku}: no posted date, and its settlement gives none")
    market = (item.marketplace or "").strip().lower()
    codes = fba.get(market, [])
    if len(codes) != 1:
        raise _gap("no_fba_location", f"{subsidiary} has {len(codes) or 'no'} FBA location(s) of marketplace "
                   f"{market or '(none)'}{': ' + ', '.join(codes) if codes else ''}; its units leave one "
                   "(`ledger-service locations add CODE --kind fba --marketplace M`)")
    if (market, item.msku, item.day) not in cache:
        try:
            sku = resolve_sku(conn, subsidiary, market, item.msku, item.day)
        except Invalid as exc:  # the SKU names two items that day
            sku = exc
        if sku is not None and not isinstance(sku, Invalid):
            sku = (sku, tuple(components_on(conn, subsidiary, sku, item.day).items()))
        cache[(market, item.msku, item.day)] = sku
    found = cache[(market, item.msku, item.day)]
    if isinstance(found, Invalid):
        raise _gap("ambiguous_sku", found.message)
    if found is None:
        raise _gap("unknown_sku", f"seller SKU {item.msku} is not in the catalog of {subsidiary} on {item.day} in "
                   f"{market}: import it (`ledger-service catalog import`), then `exceptions units --retry`")
    return found[0], codes[0], found[1]


def _gap(kind: str, message: str) -> Invalid:
    gap = Invalid(message)
    gap.kind = kind
    return gap


def _fba_locations(conn: Connection, subsidiary: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for loc in load_locations(conn, subsidiary).values():
        if loc.kind == "fba" and loc.marketplace:
            out.setdefault(loc.marketplace.lower(), []).append(loc.code)
    return out


def _taken(conn: Connection, subsidiary: str, order_ids: set[str]) -> set[tuple[str, str]]:
    """(order id, sku sold) pairs whose units another source took: a units posting out of inventory naming the
    order, from an event that is not a settlement sale (a bundle's components count for the bundle)."""
    out: set[tuple[str, str]] = set()
    ids = sorted(order_ids)
    for i in range(0, len(ids), _CHUNK):
        q = (select(postings.c.order_id, postings.c.commodity, postings.c.dimensions)
             .join(entries, entries.c.id == postings.c.entry_id).join(events, events.c.id == entries.c.event_id)
             .join(commodities, commodities.c.code == postings.c.commodity)
             .where(postings.c.subsidiary == subsidiary, postings.c.order_id.in_(ids[i:i + _CHUNK]),
                    postings.c.quantity < 0, commodities.c.kind == "units", entries.c.state == "posted",
                    events.c.kind != SALE_KIND))
        for order_id, sku, dims in conn.execute(q):
            out.add((order_id, (json.loads(dims).get("bundle") if dims else None) or sku))
    return out


def _event(subsidiary: str, kind: str, item: OrderItem, extra: dict) -> EventDraft:
    """A sale's or an exception's event: keyed by the order item, its content the order item's identity only (the
    same item from another source is the same event), the principal row kept as its raw source."""
    key = (sale_key if kind == SALE_KIND else exception_key)(item.order_id, item.msku)
    payload = {"order_id": item.order_id, "msku": item.msku, "units": item.units, "marketplace": item.marketplace,
               "date": item.day.isoformat() if item.day else None, "order_item_code": item.order_item_code,
               "settlement_id": item.settlement_id} | extra
    return EventDraft(subsidiary, kind, datetime.combine(item.day or date(2000, 1, 1), time()), key, item.raw,
                      item.source, content={"order_id": item.order_id, "msku": item.msku}, payload=payload)


def unit_exceptions(conn: Connection, subsidiary: str, include_closed: bool = False) -> list[dict]:
    """Settlement sales that could not be costed: open until their sale event exists (`posted`), or until
    another source took the order item's units (`counted_by_inventory_ledger`)."""
    get_subsidiary(conn, subsidiary)
    rows = conn.execute(select(events.c.id, events.c.payload, events.c.raw, events.c.source_system,
                               events.c.source_document, events.c.source_sha256, events.c.source_line,
                               events.c.source_page)
                        .where(events.c.subsidiary == subsidiary, events.c.kind == EXCEPTION_KIND)
                        .order_by(events.c.id)).all()
    notes = [json.loads(r.payload) for r in rows]
    posted = known_keys(conn, subsidiary, [sale_key(n["order_id"], n["msku"]) for n in notes])
    taken = _taken(conn, subsidiary, {n["order_id"] for n in notes})
    fba, cache, out = _fba_locations(conn, subsidiary), {}, []
    for r, n in zip(rows, notes):
        item = _item(r, n)
        status = "posted" if sale_key(item.order_id, item.msku) in posted else "open"
        if status == "open" and taken:
            try:
                status = "counted_by_inventory_ledger" if (
                    item.order_id, _resolve(conn, subsidiary, item, fba, cache)[0]) in taken else status
            except Invalid:
                pass
        if status == "open" or include_closed:
            out.append({"event_id": r.id, "order_id": item.order_id, "sku": item.msku, "units": item.units,
                        "marketplace": item.marketplace, "date": n["date"], "kind": n["kind"],
                        "message": n["message"], "status": status, "item": item,
                        "source": {"system": r.source_system, "document": r.source_document, "line": r.source_line,
                                   "page": r.source_page}})
    return out


def _item(r, n: dict) -> OrderItem:
    return OrderItem(n["order_id"], n["msku"], n["units"], n["marketplace"],
                     date.fromisoformat(n["date"]) if n["date"] else None, n["order_item_code"], n["settlement_id"],
                     Source(system=r.source_system, document=r.source_document, sha256=r.source_sha256,
                            line=r.source_line, page=r.source_page), r.raw)


def retry_unit_exceptions(conn: Connection, subsidiary: str, actor: str | None = None) -> dict:
    """Post the open exceptions that now cost (lots received, catalog fixed), inside the caller's write
    transaction; the rest stay open and nothing new is recorded for them."""
    items = [x["item"] for x in unit_exceptions(conn, subsidiary)]
    result = post_units(conn, subsidiary, items, actor, record_exceptions=False)
    return {"retried": len(items), "posted": result["posted"], "units": result["units"], "cogs": result["cogs"],
            "counted_by_inventory_ledger": result["counted_by_inventory_ledger"],
            "still_open": result["exceptions"]}


def counted_by_settlement(conn: Connection, subsidiary: str, movements: Iterable) -> set[str]:
    """The natural keys of an inventory ledger file's Shipments rows that the settlement counts: all of them when
    the subsidiary's unit_source is settlement; otherwise those whose order item a settlement sale already took
    (after the setting changed), so that no sale is posted twice."""
    shipments = [m for m in movements if m.event_type == "Shipments"]
    if not shipments:
        return set()
    if unit_source(conn, subsidiary) == SETTLEMENT:
        return {m.natural_key for m in shipments}
    known = known_keys(conn, subsidiary, sorted({sale_key(m.reference_id, m.msku) for m in shipments
                                             if m.reference_id and m.msku}))
    return {m.natural_key for m in shipments if m.reference_id and m.msku and sale_key(m.reference_id, m.msku) in known}
