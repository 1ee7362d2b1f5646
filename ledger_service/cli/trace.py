"""`ledger-service trace EXTERNAL_ID [--line N]`: a NetSuite journal line back to its postings, entries, events
and raw source rows (the same object as GET /trace/netsuite/{external_id}?line=N with --format json)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from ledger_service.cli.common import FormatOpt, engine, one_line_errors
from ledger_service.cli.output import Format, console, emit, write_csv
from ledger_service.trace.service import trace_netsuite

LINE_COLUMNS = ["number", "account", "debit", "credit", "memo", "department", "class", "location", "name",
                "postings"]
POSTING_COLUMNS = ["posting_id", "account", "amount", "currency", "transaction_amount", "transaction_currency",
                   "date", "entry_id", "event_id", "source_line"]
CSV_COLUMNS = [*POSTING_COLUMNS, "document", "sha256", "page", "raw"]


def trace(external_id: Annotated[str, typer.Argument(help="an external id of the NetSuite export, e.g. "
                                                          "LS-US-2026-10-S-28471003921")],
          line: Annotated[Optional[int], typer.Option(
              "--line", "-l", min=1, help="the journal's line, from 1 in the order of the export")] = None,
          fmt: FormatOpt = Format.table) -> None:
    """Trace an exported NetSuite journal: without --line, its lines; with it, the line's postings (which sum to
    it to the cent), their entries and events, and the raw source rows (document, sha256, line or page, raw)."""
    with one_line_errors():
        with engine().connect() as conn:
            found = trace_netsuite(conn, external_id, line)
    if fmt == Format.json:
        emit(found, fmt)
        return
    journal = found["journal"]
    title = (f"{journal['external_id']} ({journal['kind']}) {journal['date']} {journal['currency']}: "
             f"{journal['memo']}")
    if line is None:
        emit(found["lines"], fmt, title=title, columns=LINE_COLUMNS)
        return
    sources = {(s["event_id"], s["line"]): s for s in found["sources"]}
    by_event = {}
    for s in found["sources"]:
        by_event.setdefault(s["event_id"], s)
    rows = []
    for p in found["postings"]:
        source = sources.get((p["event_id"], p["source_line"])) or by_event.get(p["event_id"]) or {}
        rows.append(p | {k: source.get(k) for k in ("document", "sha256", "page", "raw")})
    if fmt == Format.csv:
        write_csv(rows, CSV_COLUMNS)
        return
    chosen = found["line"]
    side = f"debit {chosen['debit']}" if chosen["debit"] else f"credit {chosen['credit']}"
    console.print(f"{title}\nline {chosen['number']}: {chosen['account']} {side} ({chosen['memo']}); "
                  f"postings sum to {found['postings_total']}", highlight=False)
    emit(found["postings"], fmt, title="postings", columns=POSTING_COLUMNS,
         totals=[{"posting_id": "total", "amount": found["postings_total"]}])
    emit(found["sources"], fmt, title="sources", columns=["event_id", "document", "sha256", "line", "page", "raw"])
