"""`ledger-service ingest`: Amazon files and folders, each file atomic; every file's outcome reported.

A folder is ingested file by file, each in its own database transaction: a file that is refused posts nothing
and does not stop the others. The table lists every file with its outcome (posted, duplicate: already in the
ledger, or rejected with its reason) and ends with the totals; the exit code is 1 if any file was rejected.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ledger_service.cli.common import FormatOpt, SubsidiaryOpt, engine, subsidiary
from ledger_service.cli.output import Format, emit, errors, totals
from ledger_service.errors import LedgerError

COLUMNS = ["document", "outcome", "format", "rows", "events", "entries", "duplicates", "suspense", "superseded",
           "voided"]


def ingest(paths: Annotated[list[Path], typer.Argument(help="files or folders of Amazon documents", exists=True)],
           code: SubsidiaryOpt = None,
           group_id: Annotated[Optional[str], typer.Option(
               help="financial event group of listFinancialEvents pages (they do not name it themselves)")] = None,
           group_final: Annotated[bool, typer.Option(
               "--group-final/--group-open", help="the group is closed (final) or open (provisional)")] = False,
           fmt: FormatOpt = Format.table) -> None:
    """Ingest Amazon settlement files and SP-API Finances pages: atomic per file, idempotent."""
    code = subsidiary(code)
    files = sorted(f for p in paths for f in ([p] if p.is_file() else p.rglob("*")) if f.is_file())
    kwargs = {"group_id": group_id, "group_final": group_final} if group_id else {}
    if not _ingest_files(files, code, fmt, **kwargs):
        raise typer.Exit(1)


def _ingest_files(files: list[Path], code: str, fmt: Format, **kwargs) -> bool:
    """Ingest each file in its own transaction; print every file's outcome; False if any was rejected."""
    from rich.progress import track

    from ledger_service.ingest.service import ingest_file
    from ledger_service.sources.model import ParseError

    db, reports, failed = engine(), [], []
    for path in track(files, description="ingesting", console=errors, disable=fmt == Format.json):
        try:
            report = ingest_file(db, path, code, **kwargs).as_dict()
            duplicate = report["events"] == 0 and report["duplicates"] > 0
            reports.append(report | {"outcome": "duplicate" if duplicate else "posted"})
        except (ParseError, LedgerError) as exc:
            failed.append({"document": str(path), "outcome": "rejected",
                           "error": exc.message if isinstance(exc, LedgerError) else str(exc)})
    rows = reports + [{"document": f["document"], "outcome": "rejected"} for f in failed]
    emit({"files": reports, "failed": failed}, fmt, rows=rows, title=f"ingested into subsidiary {code}",
         columns=COLUMNS, totals=totals(rows, COLUMNS, label=f"{len(rows)} file(s)") if rows else None)
    if fmt == Format.table:
        for r in reports:
            for warning in r["warnings"]:
                errors.print(f"[yellow]warning[/yellow] {r['document']}: {warning}")
        for f in failed:
            errors.print(f"[red]rejected[/red] {f['error']} (nothing from this file was posted)")
    return not failed
