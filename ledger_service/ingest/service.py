"""Ingest one document: parse it (settlement flat files are streamed), post it in one transaction, report.

The records a parser yields go through ingest.plan (Amazon transactions, posting rules) and are written in
batches, all inside one database transaction: a ParseError naming file:line (or a posting error) anywhere in the
file rolls the whole file back. On PostgreSQL each batch's writes run on a second thread while the next batch is
parsed and prepared (journal.background.BatchWriter). The same file again changes nothing (natural keys). A closed
settlement supersedes what Finances data posted for it (see precedence.py), so nothing is counted twice.

Amounts in a foreign currency: the planner asks a RateCache (fx.lookups) for the rate of each entry's date, and,
for a foreign settlement's disbursement, what clearing carries the settlement at. To answer that, everything the
planner yielded before the disbursement is written first (a short batch), then the ledger is read
(fx.lookups.clearing_held): the file's own rows are counted exactly as they were stored, duplicates never twice.
Functional-currency documents never ask either question.

A subsidiary whose `unit_source` is `settlement` also takes its units sold from the document's order rows
(inventory.settlement_units): collected as the records stream past, costed in the same transaction once the money
is posted. Any other subsidiary reads the setting once per document and nothing more.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Iterable

from sqlalchemy import Connection, Engine

from ledger_service.chart.service import get_subsidiary
from ledger_service.errors import Conflict
from ledger_service.fx.lookups import RateCache, clearing_held
from ledger_service.ingest import precedence
from ledger_service.ingest.collector import fewer_collections
from ledger_service.ingest.plan import Planner
from ledger_service.inventory.settlement_units import unit_collector
from ledger_service.journal.background import BatchWriter
from ledger_service.journal.writer import prepare_batch
from ledger_service.mapping.loader import mapping_for
from ledger_service.settings import Settings
from ledger_service.sources.amazon import parse_document
from ledger_service.sources.amazon.stream import open_settlement_file
from ledger_service.sources.model import AmazonAmount, SettlementSummary
from ledger_service.store.bulk import refresh_statistics, refresh_statistics_after
from ledger_service.store.engine import write_transaction
from ledger_service.store.tables import entries, events, postings

BATCH = 2000
ANALYZE_FROM = 20_000  # events written in one ingest before the planner's statistics are refreshed


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
    units: dict | None = None  # unit_source = settlement: the sales posted from the order rows (settlement_units)
    analyzed_at: int = field(default=0, repr=False)

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "analyzed_at" and (k != "units" or v is not None)}


def ingest_file(engine: Engine, path: Path, subsidiary: str, settings: Settings | None = None, *,
                actor: str | None = None, document: str | None = None, **kwargs) -> IngestReport:
    """Ingest a file from disk; settlement flat files are streamed (memory flat in file size). `document` names
    it in the log and in errors (an upload's own name, not the temporary file it was spooled to)."""
    streamed = open_settlement_file(path, document)  # group kwargs only concern Finances pages
    if streamed is None:
        return ingest_bytes(engine, path.read_bytes(), document or path.name, subsidiary, settings, actor=actor,
                            **kwargs)
    report = _ingest(engine, streamed.document, streamed.format, streamed.records(), subsidiary, settings, actor)
    report.rows, report.warnings = streamed.rows, list(streamed.warnings)
    return report


def ingest_bytes(engine: Engine, data: bytes, document: str, subsidiary: str, settings: Settings | None = None, *,
                 actor: str | None = None, **kwargs) -> IngestReport:
    """Ingest a document held in memory; `actor` (who ingests: `token:NAME` through the API) goes on every event
    it writes, the voids its precedence posts included."""
    parsed = parse_document(data, document, **kwargs)  # ParseError: nothing is posted
    report = _ingest(engine, document, parsed.format, (*parsed.settlements, *parsed.amounts), subsidiary, settings,
                     actor)
    report.rows, report.warnings = parsed.rows, list(parsed.warnings)
    return report


def _ingest(engine: Engine, document: str, fmt: str, records: Iterable[SettlementSummary | AmazonAmount],
            subsidiary: str, settings: Settings | None, actor: str | None = None) -> IngestReport:
    """Post records in batches inside ONE transaction: a bad record anywhere rolls the whole document back."""
    settings = settings or Settings.from_env()
    report = IngestReport(document, fmt)
    with fewer_collections(), write_transaction(engine) as conn:
        sub = get_subsidiary(conn, subsidiary)
        mapping = mapping_for(conn, subsidiary, settings.accounts_dir)
        known = precedence.known_settlements(conn, subsidiary)
        planner = Planner(subsidiary, sub.functional_currency, mapping, precedence.settled_by_flat_file(known),
                          document, precedence.group_dates(known))
        units = unit_collector(conn, subsidiary, settings.accounts_dir)  # None unless unit_source = settlement
        if units is not None:
            records = units.watch(records)  # keeps only the order items that shipped, as they stream past
        try:
            with BatchWriter(conn) as writer:
                items: list = []

                def carried(settlement_id: str, flat_file: bool) -> Decimal:
                    """What clearing holds for a settlement once all the planner yielded before is written."""
                    _post(conn, writer, items, report, actor)
                    items.clear()
                    writer.wait()
                    return clearing_held(conn, subsidiary, sub.functional_currency, settlement_id, flat_file)

                planner.rates = RateCache(conn, sub.functional_currency, before_read=writer.wait)
                planner.carried = carried
                for posted in planner.plan(records):
                    items.append((posted.event, list(posted.entries), posted.suspense))
                    if len(items) >= BATCH:
                        _post(conn, writer, items, report, actor)
                        items.clear()
                _post(conn, writer, items, report, actor)
        except Conflict as exc:
            raise _settlement_conflict(exc, document) from None
        report.settlements, report.superseded = planner.settlements, planner.superseded
        report.voided += _apply_precedence(conn, subsidiary, document, fmt, planner.final_ids, actor)
        if units is not None:  # the units sold, costed once the money is posted, in the same transaction
            report.units = units.post(conn, subsidiary, actor)
        refresh_statistics_after(conn, (events, entries, postings), report.events)
    return report


def _post(conn: Connection, writer: BatchWriter, items: list, report: IngestReport, actor: str | None) -> None:
    writer.wait()  # the chain heads and known keys this batch reads are the ones the previous write left
    if report.events >= ANALYZE_FROM and report.events >= 4 * report.analyzed_at:
        # The tables have grown fourfold inside this transaction: refresh the planner's view (see bulk.py).
        refresh_statistics(conn, (events, entries, postings))
        report.analyzed_at = report.events
    prepared = prepare_batch(conn, [(event, entries) for event, entries, _ in items], actor)
    writer.submit(prepared)
    for (_, _, suspense), result in zip(items, prepared.results):
        if result.duplicate:
            report.duplicates += 1
        else:
            report.events += 1
            report.entries += len(result.entry_ids)
            report.suspense += suspense  # rows newly put in suspense (not those already in the log)


def _settlement_conflict(exc: Conflict, document: str) -> Conflict:
    """Say which settlement a flat file contradicts, in an operator's words, rather than which key."""
    key = exc.idempotency_key or ""
    if not key.startswith("settlement:"):
        return exc
    settlement_id = key.split(":")[1]
    return Conflict(f"{document}: settlement {settlement_id} is already in the ledger with other rows or values, "
                    f"so nothing from this file was posted (a flat file is a whole settlement: the same one read "
                    f"again must be the same). Detail: {exc.message}", idempotency_key=key)


def _apply_precedence(conn: Connection, subsidiary: str, document: str, fmt: str, final_ids: set[str],
                      actor: str | None = None) -> int:
    """After a document posts: final data voids the provisional; a flat file voids all Finances data of its settlement."""
    known = precedence.known_settlements(conn, subsidiary)
    voided = 0
    flat = fmt.startswith("settlement-")
    for sid in sorted(final_ids):
        this = next((k for k in known if k.settlement_id == sid), None)
        ids = precedence.linked_ids(known, this) if this else {sid}
        reason = (f"superseded by settlement {sid} ({document})" if flat
                  else f"provisional data superseded by final group {sid} ({document})")
        voided += precedence.void(conn, subsidiary, ids, reason, pending_only=not flat, actor=actor)
    return voided
