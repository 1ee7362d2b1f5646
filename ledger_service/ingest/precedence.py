"""Which source is the truth for a settlement, so that nothing is counted twice.

Amazon reports the same money up to three times: as Finances events of an open group (provisional, near real
time), as the events of the closed group (final), and as the settlement flat file (final, the document the
deposit matches). The rules:

1. Open-group data posts as `pending`. Final data for the same group voids it (reversing entries, also pending).
2. The flat file is the authority: when it arrives, every entry that Finances data posted for that settlement
   (pending or final, amounts and disbursement) is reversed; Finances data that arrives after the flat file is
   recorded in the log but posts nothing.
3. A Finances group and a flat-file settlement are the same settlement when the ids are equal, or when the
   currency is the same and the group started within a day of the settlement start (Amazon's group ids differ from
   settlement ids; the group's start is what ties them).

The queries here read the log (events' parsed payloads); the reversals go through the journal like any entry.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, select

from ledger_service.eventlog.model import EventDraft, Source, canonical_json
from ledger_service.journal.model import reversal_of
from ledger_service.journal.service import live_entries, load_entry
from ledger_service.journal.writer import post_batch
from ledger_service.store.tables import entries, events, postings

FLAT_FILE_SYSTEMS = ("amazon-settlement-v2", "amazon-settlement-legacy")
SUMMARY_KINDS = ("amazon_settlement", "amazon_settlement_open")
BATCH = 2000


@dataclass(frozen=True)
class KnownSettlement:
    settlement_id: str
    currency: str
    start: datetime | None
    flat_file: bool
    end: datetime | None = None


def known_settlements(conn: Connection, subsidiary: str) -> list[KnownSettlement]:
    rows = conn.execute(select(events.c.payload, events.c.source_system).where(
        events.c.subsidiary == subsidiary, events.c.kind.in_(SUMMARY_KINDS)))
    found = {}
    for payload, system in rows:
        facts = json.loads(payload or "{}")
        if "settlement_id" not in facts:
            continue
        start, end = (datetime.fromisoformat(facts[k]) if facts.get(k) else None for k in ("start", "end"))
        key = (facts["settlement_id"], system in FLAT_FILE_SYSTEMS)
        found[key] = KnownSettlement(facts["settlement_id"], facts["currency"], start, key[1], end)
    return list(found.values())


def group_dates(known: list[KnownSettlement]) -> dict[str, datetime]:
    """Each known event group's end, else its start: the date of its amounts that carry none."""
    return {k.settlement_id: k.end or k.start for k in known if not k.flat_file and (k.end or k.start)}


def same_settlement(a: KnownSettlement, b: KnownSettlement) -> bool:
    if a.settlement_id == b.settlement_id:
        return True
    return (a.currency == b.currency and a.start is not None and b.start is not None
            and abs(a.start - b.start) <= timedelta(days=1))


def linked_ids(known: list[KnownSettlement], settlement: KnownSettlement) -> set[str]:
    """The ids of the groups and flat-file settlements that are the same settlement as this one (itself included)."""
    return {k.settlement_id for k in known if same_settlement(k, settlement)} | {settlement.settlement_id}


def settled_by_flat_file(known: list[KnownSettlement]) -> set[str]:
    """Every id (flat-file settlement or linked group) whose truth is already a flat file."""
    ids: set[str] = set()
    for k in known:
        if k.flat_file:
            ids |= linked_ids(known, k)
    return ids


def void(conn: Connection, subsidiary: str, settlement_ids: set[str], reason: str, *,
         pending_only: bool, finances_only: bool = True, actor: str | None = None) -> int:
    """Reverse the unreversed entries tagged with these settlement ids (from Finances sources, by default)."""
    if not settlement_ids:
        return 0
    # From the postings' (subsidiary, settlement_id) index: what is read is the settlement's own postings, in
    # proportion to what its documents brought. Joined from entries instead, SQLite walked every live entry of the
    # ledger for each settlement (the plan it picks for reverses_entry_id IS NULL), which grew with history.
    tagged = select(postings.c.entry_id).where(postings.c.subsidiary == subsidiary,
                                               postings.c.settlement_id.in_(sorted(settlement_ids)))
    q = (
        select(entries.c.id)
        .join(events, events.c.id == entries.c.event_id)
        .where(entries.c.id.in_(tagged), entries.c.subsidiary == subsidiary, live_entries())
        .order_by(entries.c.id)
    )
    if pending_only:
        q = q.where(entries.c.state == "pending")
    if finances_only:
        q = q.where(events.c.source_system.not_in(FLAT_FILE_SYSTEMS), events.c.source_system.like("sp-api%"))
    items = []
    for entry_id in conn.execute(q).scalars().all():
        original = load_entry(conn, entry_id)
        event = EventDraft(subsidiary=subsidiary, kind="superseded", idempotency_key=f"void:{entry_id}",
                           occurred_at=datetime.combine(original.date, datetime.min.time()),
                           raw=canonical_json({"void": entry_id, "reason": reason}),
                           source=Source(system="ledger", document=reason))
        items.append((event, [reversal_of(original, original.date, reason, entry_id)]))
    for start in range(0, len(items), BATCH):
        post_batch(conn, items[start : start + BATCH], actor)
    return len(items)
