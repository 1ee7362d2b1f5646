"""The NetSuite export against the database: a closed period's postings, its export history, recording an export.

An export is a pure function of its *basis*: the watermark (the largest id of the period's posted entries when it
was made), the summarisation and the mapping, all three recorded on its `netsuite_export` event. Replaying a
period's export events (consecutive events with the same basis are one *generation*, rendered in one or both
formats) rebuilds exactly what each one carried, so that

- exporting again with nothing changed gives the last generation's bytes (the same event key: a no-op);
- exporting after the period changed (reopened and posted into) carries only the corrections (journals.step);
- the audit trace finds any external id ever sent and recomputes its lines.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Connection, func, select

from ledger_service.chart.service import get_subsidiary, subsidiary_config, utcnow
from ledger_service.errors import Conflict, Invalid, NotFound
from ledger_service.eventlog.model import EventDraft, Source, canonical_json, sha256_hex
from ledger_service.export.netsuite import mapping as mapping_mod
from ledger_service.export.netsuite.journals import (SUMMARIES, Journal, PostingRow, build, parse_external_id,
                                                     step)
from ledger_service.export.netsuite.mapping import Mapping
from ledger_service.export.netsuite.render import FORMATS, Header, render
from ledger_service.journal.model import DIMENSIONS
from ledger_service.journal.writer import post_batch
from ledger_service.periods.model import bounds, parse_period
from ledger_service.settings import Settings
from ledger_service.periods.service import is_closed
from ledger_service.store.tables import accounts, entries, events, postings

EXPORT_KIND = "netsuite_export"
_ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Basis:
    """What a generation's journals are a function of."""

    watermark: int
    summary: str
    mapping: dict  # Mapping.as_dict()
    origin: str = field(default="", compare=False)

    def key(self) -> str:
        return canonical_json([self.watermark, self.summary, self.mapping])

    def load_mapping(self) -> Mapping:
        return mapping_mod.from_dict(self.mapping, self.origin)


@dataclass
class Generation:
    number: int  # 1 for the first export of the period, then one per change
    basis: Basis
    journals: list[Journal]  # what it carries: new journals, and reversal + replacement of changed ones
    events: list[dict] = field(default_factory=list)  # the export events that recorded it


@dataclass(frozen=True)
class ExportResult:
    subsidiary: str
    period: str
    format: str
    name: str  # the file's name
    data: bytes
    sha256: str
    generation: int
    event_id: int | None = None  # None from `latest` (nothing recorded)
    duplicate: bool = False  # the same file was already recorded: nothing written
    payload: dict = field(default_factory=dict)

    @property
    def media_type(self) -> str:
        return "text/csv; charset=utf-8" if self.format == "csv" else "application/json"


def export(conn: Connection, subsidiary: str, period: str, fmt: str, summary: str | None = None,
           mapping_file: Path | None = None, actor: str | None = None,
           settings: Settings | None = None) -> ExportResult:
    """Export a closed period and record it (an event with the file's sha256), inside the caller's transaction."""
    period, fmt = _check(conn, subsidiary, period, fmt)
    if not is_closed(conn, subsidiary, period):
        raise Conflict(f"period {period} of {subsidiary} is open: close it first "
                       f"(ledger-service close --subsidiary {subsidiary} --period {period})")
    settings = settings or Settings.from_env()
    if summary is None:
        summary = subsidiary_config(conn, subsidiary, settings.accounts_dir).netsuite_summary
    if summary not in SUMMARIES:
        raise Invalid(f"summary {summary!r}: use one of {', '.join(SUMMARIES)}")
    mapping = mapping_mod.load(mapping_file or mapping_mod.mapping_path(settings.config_dir, subsidiary))
    current = Basis(watermark(conn, subsidiary, period), summary, mapping.as_dict(), mapping.origin)
    generations, state, rows = replay(conn, subsidiary, period, current.watermark)
    last = generations[-1] if generations else None
    if last is not None and last.basis.key() == current.key():
        chosen = last
    else:
        emitted = step(state, _build(conn, rows, subsidiary, period, current))
        chosen = last if last is not None and not emitted else Generation(len(generations) + 1, current, emitted)
    result = _render(conn, subsidiary, period, fmt, chosen)
    payload = _payload(result, chosen)
    content = {k: payload[k] for k in ("subsidiary", "period", "format", "sha256", "watermark", "summary")}
    event = EventDraft(subsidiary=subsidiary, kind=EXPORT_KIND, occurred_at=utcnow().replace(microsecond=0),
                       idempotency_key=f"netsuite-export:{period}:{fmt}:{result.sha256[:16]}",
                       raw=canonical_json(content), content=content,
                       source=Source(system="ledger", document=result.name, sha256=result.sha256),
                       payload=payload)
    posted = post_batch(conn, [(event, [])], actor)[0]
    return replace(result, event_id=posted.event_id, duplicate=posted.duplicate, payload=payload)


def latest(conn: Connection, subsidiary: str, period: str, fmt: str) -> ExportResult:
    """The last recorded export of the period, rendered in `fmt` (nothing is written)."""
    period, fmt = _check(conn, subsidiary, period, fmt)
    generations, _state, _rows = replay(conn, subsidiary, period)
    if not generations:
        raise NotFound(f"period {period} of {subsidiary} has not been exported yet: run `ledger-service export "
                       f"netsuite --subsidiary {subsidiary} --period {period}` or POST /exports/netsuite")
    return _render(conn, subsidiary, period, fmt, generations[-1])


def find_journal(conn: Connection, external_id: str) -> tuple[Generation, Journal]:
    """The journal sent under an external id, recomputed from its export's recorded basis."""
    subsidiary, period = parse_external_id(external_id)
    get_subsidiary(conn, subsidiary)
    generations, _state, _rows = replay(conn, subsidiary, period)
    for generation in generations:
        for journal in generation.journals:
            if journal.external_id == external_id:
                return generation, journal
    raise NotFound(f"no NetSuite export of {subsidiary} {period} carried the external id {external_id}")


def replay(conn: Connection, subsidiary: str, period: str, up_to: int = 0
           ) -> tuple[list[Generation], dict, list[PostingRow]]:
    """The period's generations as recorded, the versions they left in NetSuite (journals.step's state), and
    the period's posting rows up to the largest watermark involved (`up_to` or a recorded one)."""
    generations: list[Generation] = []
    for event in export_events(conn, subsidiary, period):
        p = event["payload"]
        basis = Basis(p["watermark"], p["summary"], p["mapping"], f"recorded on event {event['id']}")
        if generations and generations[-1].basis.key() == basis.key():
            generations[-1].events.append(event)
        else:
            generations.append(Generation(len(generations) + 1, basis, [], [event]))
    rows = posting_rows(conn, subsidiary, period, max([up_to, *(g.basis.watermark for g in generations)]))
    state: dict = {}
    for generation in generations:
        generation.journals = step(state, _build(conn, rows, subsidiary, period, generation.basis))
    return generations, state, rows


def export_events(conn: Connection, subsidiary: str, period: str) -> list[dict]:
    rows = conn.execute(
        select(events.c.id, events.c.payload, events.c.recorded_at, events.c.actor, events.c.source_document)
        .where(events.c.subsidiary == subsidiary, events.c.kind == EXPORT_KIND,
               events.c.idempotency_key.like(f"netsuite-export:{period}:%"))
        .order_by(events.c.id))
    return [{"id": r.id, "payload": json.loads(r.payload), "recorded_at": r.recorded_at, "actor": r.actor,
             "document": r.source_document} for r in rows]


def watermark(conn: Connection, subsidiary: str, period: str) -> int:
    first, last = bounds(period)
    return conn.execute(select(func.max(entries.c.id)).where(
        entries.c.subsidiary == subsidiary, entries.c.state == "posted",
        entries.c.effective_date >= first, entries.c.effective_date <= last)).scalar() or 0


def posting_rows(conn: Connection, subsidiary: str, period: str, up_to: int) -> list[PostingRow]:
    """Postings of the period's posted entries whose id is at most `up_to`, by posting id."""
    if up_to <= 0:
        return []
    first, last = bounds(period)
    query = (select(postings.c.id, postings.c.entry_id, entries.c.event_id, entries.c.effective_date,
                    entries.c.currency, accounts.c.name, postings.c.amount, postings.c.functional_amount,
                    *(postings.c[d] for d in DIMENSIONS))
             .join(entries, entries.c.id == postings.c.entry_id)
             .join(accounts, accounts.c.id == postings.c.account_id)
             .where(entries.c.subsidiary == subsidiary, entries.c.state == "posted",
                    entries.c.effective_date >= first, entries.c.effective_date <= last, entries.c.id <= up_to)
             .order_by(postings.c.id))
    return [PostingRow(r.id, r.entry_id, r.event_id, r.effective_date, r.name, r.currency, r.amount,
                       r.functional_amount, tuple((d, r._mapping[d]) for d in DIMENSIONS if r._mapping[d]))
            for r in conn.execute(query)]


def entry_ids_up_to(rows: list[PostingRow], up_to: int) -> list[PostingRow]:
    return [r for r in rows if r.entry_id <= up_to]


def _build(conn: Connection, rows: list[PostingRow], subsidiary: str, period: str, basis: Basis) -> list[Journal]:
    functional = get_subsidiary(conn, subsidiary).functional_currency
    return build(entry_ids_up_to(rows, basis.watermark), subsidiary=subsidiary, period=period,
                 functional_currency=functional, summary=basis.summary, mapping=basis.load_mapping())


def header(conn: Connection, subsidiary: str, period: str, mapping: Mapping) -> Header:
    functional = get_subsidiary(conn, subsidiary).functional_currency
    return Header(mapping.subsidiary_id(subsidiary), functional, mapping.currency_id(functional), period,
                  mapping.csv_date_format, mapping.segment_names())


def file_name(subsidiary: str, period: str, generation: int, fmt: str) -> str:
    suffix = "" if generation == 1 else f"-correction-{generation - 1}"
    return f"netsuite-{subsidiary}-{period}{suffix}.{fmt}"


def _render(conn: Connection, subsidiary: str, period: str, fmt: str, generation: Generation) -> ExportResult:
    data = render(fmt, generation.journals, header(conn, subsidiary, period, generation.basis.load_mapping()))
    return ExportResult(subsidiary, period, fmt, file_name(subsidiary, period, generation.number, fmt), data,
                        sha256_hex(data), generation.number)


def _payload(result: ExportResult, generation: Generation) -> dict:
    journals = generation.journals
    return {"subsidiary": result.subsidiary, "period": result.period, "format": result.format,
            "summary": generation.basis.summary, "files": [result.name], "sha256": result.sha256,
            "watermark": generation.basis.watermark, "generation": generation.number, "journals": len(journals),
            "lines": sum(len(j.lines) for j in journals),
            "debits": format(sum((j.debits for j in journals), _ZERO), "f"),
            "credits": format(sum((j.credits for j in journals), _ZERO), "f"),
            "external_ids": [j.external_id for j in journals],
            "mapping": generation.basis.mapping, "mapping_origin": generation.basis.origin}


def _check(conn: Connection, subsidiary: str, period: str, fmt: str) -> tuple[str, str]:
    get_subsidiary(conn, subsidiary)
    if fmt not in FORMATS:
        raise Invalid(f"format {fmt!r}: use csv or json")
    return parse_period(period), fmt

