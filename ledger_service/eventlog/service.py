"""Reading the event log: events by id (a page at a time), and one event with its raw source and entries."""

from __future__ import annotations

from datetime import timezone
from typing import Collection

from sqlalchemy import Connection, select

from ledger_service.chart.service import get_subsidiary
from ledger_service.errors import NotFound
from ledger_service.store.tables import entries, events

SUMMARY_COLUMNS = (events.c.id, events.c.subsidiary, events.c.seq, events.c.kind, events.c.occurred_at,
                   events.c.recorded_at, events.c.idempotency_key, events.c.actor, events.c.source_system,
                   events.c.source_document, events.c.source_sha256, events.c.source_line, events.c.source_page)


KEY_CHUNK = 500  # keys per IN (...) list: well under SQLite's and PostgreSQL's parameter limits


def known_keys(conn: Connection, subsidiary: str, keys: Collection[str]) -> set[str]:
    """Those of `keys` that are idempotency keys of events of `subsidiary` already in the log."""
    keys, out = sorted(set(keys)), set()
    for i in range(0, len(keys), KEY_CHUNK):
        out |= set(conn.execute(select(events.c.idempotency_key).where(
            events.c.subsidiary == subsidiary, events.c.idempotency_key.in_(keys[i:i + KEY_CHUNK]))).scalars())
    return out


def event_subsidiary(conn: Connection, event_id: int) -> str:
    """The subsidiary of an event (404 when there is none): what a scope check asks first."""
    code = conn.execute(select(events.c.subsidiary).where(events.c.id == event_id)).scalar()
    if code is None:
        raise NotFound(f"event {event_id} does not exist")
    return code


def list_events(conn: Connection, subsidiary: str | None = None, codes: Collection[str] | None = None,
                kind: str | None = None, after: int | None = None, limit: int = 100) -> list[dict]:
    """Events by id, without their raw source: of one subsidiary or of `codes` (a token's scope), of one kind,
    after the id `after`, at most `limit`."""
    query = select(*SUMMARY_COLUMNS).order_by(events.c.id).limit(limit)
    if subsidiary:
        get_subsidiary(conn, subsidiary)
        query = query.where(events.c.subsidiary == subsidiary)
    if codes is not None:
        query = query.where(events.c.subsidiary.in_(sorted(codes)))
    if kind:
        query = query.where(events.c.kind == kind)
    if after is not None:
        query = query.where(events.c.id > after)
    return [_summary(row) for row in conn.execute(query).mappings()]


def event_view(conn: Connection, event_id: int) -> dict:
    row = conn.execute(select(events).where(events.c.id == event_id)).mappings().first()
    if row is None:
        raise NotFound(f"event {event_id} does not exist")
    entry_ids = [r.id for r in conn.execute(select(entries.c.id).where(entries.c.event_id == event_id).order_by(entries.c.id))]
    return _summary(row) | {
        "input_hash": row["input_hash"],
        "raw": row["raw"],
        "prev_hash": row["prev_hash"],
        "hash": row["hash"],
        "entries": [{"id": i, "href": f"/journal-entries/{i}"} for i in entry_ids],
    }


def _summary(row) -> dict:
    return {
        "id": row["id"],
        "subsidiary": row["subsidiary"],
        "seq": row["seq"],
        "kind": row["kind"],
        # stored as naive UTC: said so, so that a client never reads them as its local time
        "occurred_at": row["occurred_at"].replace(tzinfo=timezone.utc),
        "recorded_at": row["recorded_at"].replace(tzinfo=timezone.utc),
        "idempotency_key": row["idempotency_key"],
        "actor": row["actor"],
        "source": {
            "system": row["source_system"],
            "document": row["source_document"],
            "sha256": row["source_sha256"],
            "line": row["source_line"],
            "page": row["source_page"],
        },
        "href": f"/events/{row['id']}",
    }
