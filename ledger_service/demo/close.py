"""The demo's month-end: close each subsidiary's first two months, export them for NetSuite, render the close pack.

What a controller does at month-end, in the demo's books: `close` (the checks, the revaluation of foreign balances,
the lock), `export netsuite` as CSV and as SuiteTalk REST JSON, and the close pack as HTML and XLSX; every file
under <out>/<CODE>/close/. A second run finds the months closed and the exports recorded: it writes the same bytes
and records nothing new. A month whose checks fail is left open, with the reason printed: the demo never forces.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from ledger_service.errors import LedgerError
from ledger_service.export.netsuite.service import export
from ledger_service.periods import service as periods
from ledger_service.reports.close import close_pack
from ledger_service.reports.render import PackFormat, render
from ledger_service.store.engine import write_transaction

MONTHS = 2


def close_and_export(engine: Engine, out: Path, codes: tuple[str, ...]) -> list[str]:
    """Close, export and render; returns the lines to print (what was done, and where each file is)."""
    lines = []
    for code in codes:
        with engine.connect() as conn:
            months = [p["period"] for p in periods.list_periods(conn, code)][:MONTHS]
        folder = out / code / "close"
        folder.mkdir(parents=True, exist_ok=True)
        for period in months:
            try:
                with write_transaction(engine) as conn:
                    if not periods.is_closed(conn, code, period):
                        periods.close_period(conn, code, period, actor="demo", reason="demo month-end")
            except LedgerError as exc:
                lines.append(f"{code} {period}: left open ({exc.message})")
                break  # periods close in order
            files = []
            with write_transaction(engine) as conn:
                for fmt in ("csv", "json"):
                    result = export(conn, code, period, fmt, actor="demo")
                    files.append(_write(folder / result.name, result.data))
            with engine.connect() as conn:
                pack = close_pack(conn, code, period)
            for fmt in (PackFormat.html, PackFormat.xlsx):
                files.append(_write(folder / f"close-pack-{code}-{period}.{fmt.value}", render(pack, fmt)))
            lines.append(f"{code} {period}: closed; " + ", ".join(files))
    return lines


def _write(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)
