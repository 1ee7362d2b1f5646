"""Ingest one document: parse it whole, post it in one transaction, report what happened.

A file with a bad row posts nothing (the parser raises ParseError naming file:line before anything is written;
a posting error rolls the whole file back). The same file again changes nothing (natural keys). A closed
settlement voids the pending (provisional) entries of its open event group, so nothing is counted twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import Connection, Engine, select

from ledger_service.chart.service import get_subsidiary
from ledger_service.eventlog.model import EventDraft, Source, canonical_json
from ledger_service.journal.model import reversal_of
from ledger_service.journal.service import load_entry
from ledger_service.journal.writer import post_batch
from ledger_service.mapping.loader import load_mapping
from ledger_service.posting.amazon import amount_entry, settlement_events
from ledger_service.settings import Settings
from ledger_service.sources.amazon import parse_document
from ledger_service.sources.model import ParseError
from ledger_service.store.engine import write_transaction
from ledger_service.store.tables import entries, postings

BATCH = 2000


@dataclass
class IngestReport:
    document: str
    format: str = ""
    rows: int = 0
    events: int = 0
    entries: int = 0
    duplicates: int = 0
    suspense: int = 0
    voided_pending: int = 0
    settlements: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def ingest_file(engine: Engine, path: Path, subsidiary: str, settings: Settings | None = None, **kwargs) -> IngestReport:
    return ingest_bytes(engine, path.read_bytes(), path.name, subsidiary, settings, **kwargs)


def ingest_bytes(engine: Engine, data: bytes, document: str, subsidiary: str, settings: Settings | None = None,
                 **kwargs) -> IngestReport:
    settings = settings or Settings.from_env()
    parsed = parse_document(data, document, **kwargs)  # ParseError: nothing is posted
    report = IngestReport(document, parsed.format, rows=parsed.rows, warnings=list(parsed.warnings))
    mapping = load_mapping(settings.accounts_dir, subsidiary)
    with write_transaction(engine) as conn:
        sub = get_subsidiary(conn, subsidiary)
        items = []
        for summary in parsed.settlements:
            posted = settlement_events(subsidiary, summary)
            items.append((posted.event, list(posted.entries)))
            report.settlements.append(summary.settlement_id)
        for amount in parsed.amounts:
            if amount.currency != sub.functional_currency:
                raise ParseError(document, amount.source.line or amount.source.page,
                                 f"amount in {amount.currency} for subsidiary {subsidiary} "
                                 f"(functional {sub.functional_currency}): no exchange rate source configured")
            posted = amount_entry(subsidiary, amount, mapping)
            items.append((posted.event, list(posted.entries)))
            report.suspense += posted.suspense
        for start in range(0, len(items), BATCH):
            for result in post_batch(conn, items[start : start + BATCH]):
                if result.duplicate:
                    report.duplicates += 1
                else:
                    report.events += 1
                    report.entries += len(result.entry_ids)
        for summary in parsed.settlements:
            if summary.final:
                report.voided_pending += void_pending(conn, subsidiary, summary.settlement_id)
    return report


def void_pending(conn: Connection, subsidiary: str, settlement_id: str) -> int:
    """Reverse every pending entry of the settlement's open group that is not reversed yet."""
    reversed_ids = select(entries.c.reverses_entry_id).where(entries.c.reverses_entry_id.is_not(None))
    pending = conn.execute(
        select(entries.c.id).distinct().join(postings, postings.c.entry_id == entries.c.id).where(
            entries.c.subsidiary == subsidiary, entries.c.state == "pending", postings.c.settlement_id == settlement_id,
            entries.c.reverses_entry_id.is_(None), entries.c.id.not_in(reversed_ids),
        ).order_by(entries.c.id)
    ).scalars().all()
    items = []
    for entry_id in pending:
        original = load_entry(conn, entry_id)
        reason = f"superseded by the closed settlement {settlement_id}"
        event = EventDraft(subsidiary=subsidiary, kind="provisional_void", occurred_at=_midnight(original.date),
                           idempotency_key=f"void:{entry_id}", raw=canonical_json({"void": entry_id, "reason": reason}),
                           source=Source(system="ledger", document=f"settlement {settlement_id}"))
        items.append((event, [reversal_of(original, original.date, reason, entry_id)]))
    for start in range(0, len(items), BATCH):
        post_batch(conn, items[start : start + BATCH])
    return len(items)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time())
