"""Inventory rows in the exception queue, read from the log: what each is, and whether it is still open.

The problem: a report row that posts nothing (an unknown MSKU/FNSKU, a flagged row, a receipt with nothing
inbound, a found or returned unit with no cost) leaves its units out of the books until an operator acts (imports
the catalog identity, receives the PO) and the row is run again; a row that posted at the current cost because
its sale or loss was not known (`return-without-sale`, `found-without-loss`) is right only if nothing better is
known. Both must stay visible until dealt with, and the queue must never be a second copy of the truth that
someone updates: each item and its status are derived from the events (movement_events):

- an `inventory_exception` event is an item, `open` until an `inventory_movement` event of the same natural key
  exists (the row posted since: a retry, or the file ingested again), then `resolved` (listed with --all);
- an `inventory_movement` event whose payload carries `exceptions` is an item per flag, `flagged`: it posted, at
  a cost the operator should review; listed with the open items.

`inventory_exceptions` lists them for `ledger-service exceptions inventory`, the close checks and the close pack;
`open_exceptions` gives the open items' rows rebuilt, for `retry_exceptions` (ledger_ingest).
"""

from __future__ import annotations

import json
from typing import NamedTuple

from sqlalchemy import Connection, and_, or_, select

from ledger_service.chart.service import get_subsidiary
from ledger_service.inventory.movement_events import (
    EXCEPTION_KIND, FLAGGED_LIKE, MOVEMENT_KIND, movement_of, natural_key_of,
)
from ledger_service.sources.model import InventoryMovement, SourceRef
from ledger_service.store.tables import events

OPEN, RESOLVED, FLAGGED = "open", "resolved", "flagged"
_CHUNK = 500


class OpenItem(NamedTuple):
    event_id: int
    location: str
    movement: InventoryMovement


def inventory_exceptions(conn: Connection, subsidiary: str, include_resolved: bool = False) -> list[dict]:
    """The open and flagged items (and the resolved ones with `include_resolved`), by date then event."""
    get_subsidiary(conn, subsidiary)  # an unknown code is named (404), not answered with an empty queue
    rows = conn.execute(_select(subsidiary, flagged=True)).all()
    posted = _posted(conn, subsidiary, [natural_key_of(r.idempotency_key) for r in rows if r.kind == EXCEPTION_KIND])
    out = []
    for r in rows:
        p = json.loads(r.payload)
        if r.kind == EXCEPTION_KIND:
            key, flags, by = p["natural_key"], [(p["exception"], p["message"])], posted.get(p["natural_key"])
            status = OPEN if by is None else RESOLVED
        else:
            key, by, status = r.idempotency_key, None, FLAGGED
            flags = [(x["kind"], x["message"]) for x in p["exceptions"]]
        if status == RESOLVED and not include_resolved:
            continue
        out += [{"event_id": r.id, "key": key, "kind": kind, "message": message, "status": status,
                 "date": p["date"], "location": p["location"], "sku": p["sku"], "msku": p["msku"],
                 "fnsku": p["fnsku"], "event_type": p["event_type"], "quantity": p["quantity"],
                 "source": {"document": r.source_document, "line": r.source_line}, "resolved_by": by}
                for kind, message in flags]
    return sorted(out, key=lambda x: (x["date"], x["event_id"]))


def open_exceptions(conn: Connection, subsidiary: str) -> list[OpenItem]:
    """The open items' rows as the parser gave them, in the order they were recorded."""
    rows = conn.execute(_select(subsidiary, flagged=False)).all()
    posted = _posted(conn, subsidiary, [natural_key_of(r.idempotency_key) for r in rows])
    out = []
    for r in rows:
        if natural_key_of(r.idempotency_key) in posted:
            continue
        p = json.loads(r.payload)
        source = SourceRef(r.source_system, r.source_document, r.source_sha256, r.source_line, r.source_page, r.raw)
        out.append(OpenItem(r.id, p["location"], movement_of(p, source)))
    return out


def _select(subsidiary: str, flagged: bool):
    e = events.c
    which = e.kind == EXCEPTION_KIND
    if flagged:
        which = or_(which, and_(e.kind == MOVEMENT_KIND, e.payload.like(FLAGGED_LIKE)))
    return (select(e.id, e.kind, e.idempotency_key, e.payload, e.raw, e.source_system, e.source_document,
                   e.source_sha256, e.source_line, e.source_page)
            .where(e.subsidiary == subsidiary, which).order_by(e.id))


def _posted(conn: Connection, subsidiary: str, keys: list[str]) -> dict[str, int]:
    """natural key -> the id of its inventory_movement event, for the keys that have one."""
    out: dict[str, int] = {}
    for i in range(0, len(keys), _CHUNK):
        out.update((k, i_) for i_, k in conn.execute(select(events.c.id, events.c.idempotency_key).where(
            events.c.subsidiary == subsidiary, events.c.kind == MOVEMENT_KIND,
            events.c.idempotency_key.in_(keys[i:i + _CHUNK]))))
    return out


def unit_fact_exceptions(conn: Connection, subsidiary: str, include_closed: bool = False) -> list[dict]:
    """Both unit sources' exception items in one shape (GET /inventory/exceptions), by date then event."""
    from ledger_service.inventory.settlement_units import unit_exceptions

    rows = [{"source": "inventory_ledger", "event_id": x["event_id"], "kind": x["kind"], "status": x["status"],
             "date": x["date"], "sku": x["sku"] or x["msku"], "msku": x["msku"], "fnsku": x["fnsku"],
             "order_id": None, "location": x["location"], "marketplace": None, "quantity": x["quantity"],
             "message": x["message"], "document": x["source"]["document"], "line": x["source"]["line"],
             "page": None} for x in inventory_exceptions(conn, subsidiary, include_closed)]
    rows += [{"source": "settlement", "event_id": x["event_id"], "kind": x["kind"], "status": x["status"],
              "date": x["date"], "sku": x["sku"], "msku": x["sku"], "fnsku": None, "order_id": x["order_id"],
              "location": None, "marketplace": x["marketplace"], "quantity": x["units"], "message": x["message"],
              "document": x["source"]["document"], "line": x["source"]["line"], "page": x["source"]["page"]}
             for x in unit_exceptions(conn, subsidiary, include_closed)]
    return sorted(rows, key=lambda r: (r["date"], r["event_id"]))
