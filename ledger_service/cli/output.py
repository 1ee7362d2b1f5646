"""Printing for the CLI: every read command prints a rich table, or JSON with --format json."""

from __future__ import annotations

import json
import sys
from enum import Enum

from rich.console import Console
from rich.table import Table

# No emoji (":bank:" is part of Assets:Bank:Operating) and no guessing of highlights in figures.
_WIDTH = None if sys.stdout.isatty() else 160  # piped output: do not crop to 80 columns
console = Console(emoji=False, highlight=False, width=_WIDTH)
errors = Console(stderr=True, emoji=False, highlight=False, width=None if sys.stderr.isatty() else 160)


# Columns of figures, right-aligned in tables
NUMERIC = {"balance", "pending", "functional_balance", "value", "debit", "credit", "amount", "total", "rows_sum",
           "deposit", "carried", "clearing", "suspense", "difference", "deposit_difference"}


class Format(str, Enum):
    table = "table"
    json = "json"


def emit(data: object, fmt: Format, rows: list[dict] | None = None, title: str | None = None,
         columns: list[str] | None = None) -> None:
    if fmt == Format.json:
        print(json.dumps(data, indent=2, default=str))
        return
    rows = rows if rows is not None else (data if isinstance(data, list) else [data])
    if not rows:
        console.print(f"[dim]{title or 'nothing'}: no rows[/dim]")
        return
    columns = columns or list(rows[0].keys())
    table = Table(title=title, expand=False)
    for col in columns:
        numeric = col in NUMERIC
        table.add_column(col, justify="right" if numeric else "left", overflow="fold", no_wrap=False,
                         min_width=min(max(len(str(r.get(col) or "")) for r in rows), 40))
    for row in rows:
        table.add_row(*("" if row.get(c) is None else str(row.get(c)) for c in columns))
    console.print(table)
