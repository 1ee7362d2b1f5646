"""Printing for the CLI: every read command prints a rich table, or JSON with --format json."""

from __future__ import annotations

import json
from enum import Enum

from rich.console import Console
from rich.table import Table

console = Console()
errors = Console(stderr=True)


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
    table = Table(title=title)
    for col in columns:
        numeric = col in {"balance", "pending", "functional_balance", "value", "debit", "credit", "amount"}
        table.add_column(col, justify="right" if numeric else "left")
    for row in rows:
        table.add_row(*("" if row.get(c) is None else str(row.get(c)) for c in columns))
    console.print(table)
