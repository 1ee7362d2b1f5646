"""Ingest one document: parse it whole, post it in one transaction, report what happened.

A file with a bad row posts nothing (the parser raises ParseError naming file:line before anything is written;
a posting error rolls the whole file back). The same file again changes nothing (natural keys). A closed
settlement supersedes what Finances data posted for it (see precedence.py), so nothing is counted twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Connection, Engine

from ledger_service.chart.service import get_subsidiary
from ledger_service.ingest import precedence
from ledger_service.journal.writer import post_batch
from ledger_service.mapping.loader import load_mapping
from ledger_service.posting.amazon import amount_entry, settlement_events
from ledger_service.settings import Settings
from ledger_service.sources.amazon import parse_document
from ledger_service.sources.model import ParseError
from ledger_service.store.engine import write_transaction

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
    superseded: int = 0  # Finances amounts recorded but not posted: a flat file already settled them
    voided: int = 0  # entries reversed because final or flat-file data superseded them
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
        settled = precedence.settled_by_flat_file(precedence.known_settlements(conn, subsidiary))
        items = []
        for summary in parsed.settlements:
            posted = settlement_events(subsidiary, summary, superseded=_superseded(summary.source.system,
                                                                                   summary.settlement_id, settled))
            items.append((posted.event, list(posted.entries)))
            report.settlements.append(summary.settlement_id)
        for amount in parsed.amounts:
            if amount.currency != sub.functional_currency:
                raise ParseError(document, amount.source.line or amount.source.page,
                                 f"amount in {amount.currency} for subsidiary {subsidiary} "
                                 f"(functional {sub.functional_currency}): no exchange rate source configured")
            superseded = _superseded(amount.source.system, amount.settlement_id, settled)
            posted = amount_entry(subsidiary, amount, mapping, superseded=superseded)
            items.append((posted.event, list(posted.entries)))
            report.suspense += posted.suspense
            report.superseded += superseded
        for start in range(0, len(items), BATCH):
            for result in post_batch(conn, items[start : start + BATCH]):
                if result.duplicate:
                    report.duplicates += 1
                else:
                    report.events += 1
                    report.entries += len(result.entry_ids)
        report.voided += _apply_precedence(conn, subsidiary, parsed)
    return report


def _superseded(system: str, settlement_id: str | None, settled: set[str]) -> bool:
    return system not in precedence.FLAT_FILE_SYSTEMS and settlement_id in settled


def _apply_precedence(conn: Connection, subsidiary: str, parsed) -> int:
    """After a document posts: final data voids the provisional; a flat file voids all Finances data of its settlement."""
    known = precedence.known_settlements(conn, subsidiary)
    voided = 0
    final_ids = {a.settlement_id for a in parsed.amounts if a.final and a.settlement_id}
    final_ids |= {s.settlement_id for s in parsed.settlements if s.final}
    for sid in sorted(final_ids):
        this = next((k for k in known if k.settlement_id == sid), None)
        ids = precedence.linked_ids(known, this) if this else {sid}
        flat = parsed.format.startswith("settlement-")
        reason = (f"superseded by settlement {sid} ({parsed.document})" if flat
                  else f"provisional data superseded by final group {sid} ({parsed.document})")
        voided += precedence.void(conn, subsidiary, ids, reason, pending_only=not flat)
    return voided
