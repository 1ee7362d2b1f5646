"""Unit facts into the ledger: purchase receipts posted as lots; the entry points of the inventory ingest.

The problem: the posting rules (inventory.posting) are pure folds over an InventoryState, but the ledger is the
database: each ingest must start from the holdings the postings already hold, post its facts under the
subsidiary's chain-head lock (so two ingests never take the same units), and write all of a file or none of it.

- `receive_file(conn, sub, data, document, location, rule)`: a purchase receipt CSV (inventory.receipts) -> one
  `purchase_receipt` event per PO, keyed `receipt:<po>:<sha of its content>`, with the entry post_purchase makes
  (units into `<location>:Available` at landed cost, Accounts Payable credited). Every SKU must be a catalog item
  (or an MSKU the catalog maps to one): an unknown SKU is refused naming its line, never given another's lots.
  The same PO again is a no-op; the same PO with other content is a Conflict. Inside the caller's transaction.
- `ingest_ledger(conn, sub, data, document, location)` (inventory.ledger_ingest): an FBA inventory ledger detail
  report, one event per row: `inventory_movement` when it posted, `inventory_exception` (an item of the exception
  queue, open until the row posts: `retry_exceptions`) when it posted nothing (movement_events says what each
  holds). A refused row (too few units, a lane) refuses the file naming file:line.
- `load_state(conn, sub, skus)` (inventory.loading): everything post() reads, rebuilt from the log: holdings and
  lots from the units postings, what each sale took (`sold`), the lost write-offs a found unit reverses
  (`written_off`) and the adjustment legs waiting for their pair (`pending`), so that rows split over several
  files post exactly as they would in one.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, time
from decimal import Decimal

from sqlalchemy import Connection, select

from ledger_service.catalog.service import components_on, resolve_sku
from ledger_service.chart.service import get_subsidiary
from ledger_service.errors import Conflict, Invalid
from ledger_service.eventlog.model import EventDraft, Source
from ledger_service.inventory import facts as f
from ledger_service.inventory.moves import Books
from ledger_service.inventory.posting import post
from ledger_service.inventory.receipts import PurchaseOrder, parse_receipts
from ledger_service.inventory.valuation import value_of
from ledger_service.journal.writer import lock_chain_heads, post_batch
from ledger_service.locations.service import load_locations
from ledger_service.money import fmt
from ledger_service.store.tables import events, items

KIND = "purchase_receipt"
SYSTEM = "purchase-receipt-csv"
RECEIVING_KINDS = ("warehouse", "3pl")  # a supplier delivers to a warehouse or a 3PL; FBA receives via inbound


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
    # a receipt pairs no adjustment leg: the scan of the log for waiting legs is spared (legs=())
    state = load_state(conn, subsidiary, sorted({sku for po in fresh for sku in resolved[po.po]}), legs=())
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


# The inventory ledger ingest and the state loader live in their own modules; these names stay importable here.
from ledger_service.inventory.ledger_ingest import ingest_ledger, retry_exceptions  # noqa: E402
from ledger_service.inventory.loading import load_state, waiting_legs  # noqa: E402
from ledger_service.inventory.movement_events import EXCEPTION_KIND, MOVEMENT_KIND  # noqa: E402

__all__ = ["EXCEPTION_KIND", "MOVEMENT_KIND", "ingest_ledger", "load_state", "receive_file", "retry_exceptions",
           "waiting_legs"]
