"""Reading the event log: an event with its raw source and the entries it posted."""

from __future__ import annotations

from sqlalchemy import Connection, select

from ledger_service.errors import NotFound
from ledger_service.store.tables import entries, events


def event_view(conn: Connection, event_id: int) -> dict:
    row = conn.execute(select(events).where(events.c.id == event_id)).mappings().first()
    if row is None:
        raise NotFound(f"event {event_id} does not exist")
    entry_ids = [r.id for r in conn.execute(select(entries.c.id).where(entries.c.event_id == event_id).order_by(entries.c.id))]
    return {
        "id": row["id"],
        "subsidiary": row["subsidiary"],
        "seq": row["seq"],
        "kind": row["kind"],
        "occurred_at": row["occurred_at"].isoformat(),
        "recorded_at": row["recorded_at"].isoformat(),
        "idempotency_key": row["idempotency_key"],
        "input_hash": row["input_hash"],
        "source": {
            "system": row["source_system"],
            "document": row["source_document"],
            "sha256": row["source_sha256"],
            "line": row["source_line"],
            "page": row["source_page"],
        },
        "raw": row["raw"],
        "prev_hash": row["prev_hash"],
        "hash": row["hash"],
        "entries": [{"id": i, "href": f"/journal-entries/{i}"} for i in entry_ids],
    }
