"""Printing for the CLI: every read command prints a rich table, JSON with --format json, or CSV with --format csv.

Tables are read by controllers: figures right-aligned, balances as debit and credit columns (a positive balance is
a debit, as in beancount and the journal), and lists end with their totals.
"""

from __future__ import annotations

import csv
import json
import sys
from collections import defaultdict
from decimal import Decimal
from enum import Enum

from rich.console import Console
from rich.table import Table

# No emoji (":bank:" is part of Assets:Bank:Operating) and no guessing of highlights in figures.
_WIDTH = None if sys.stdout.isatty() else 160  # piped output: do not crop to 80 columns
console = Console(emoji=False, highlight=False, width=_WIDTH)
errors = Console(stderr=True, emoji=False, highlight=False, width=None if sys.stderr.isatty() else 160)


# Columns of figures, right-aligned in tables
NUMERIC = {"balance", "pending", "functional_balance", "value", "debit", "credit", "amount", "total", "rows_sum",
           "deposit", "carried", "clearing", "suspense", "difference", "deposit_difference", "functional_amount",
           "rows", "events", "entries", "duplicates", "superseded", "voided"}


class Format(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"  # the table's rows and columns (totals rows included, labelled), for a spreadsheet


def emit(data: object, fmt: Format, rows: list[dict] | None = None, title: str | None = None,
         columns: list[str] | None = None, totals: list[dict] | None = None) -> None:
    """`data` as JSON, or `rows` (default: data) as a table of `columns`, ending with the `totals` rows."""
    if fmt == Format.json:
        print(json.dumps(data, indent=2, default=str))
        return
    rows = rows if rows is not None else (data if isinstance(data, list) else [data])
    if fmt == Format.csv:
        write_csv(rows, columns or (list(rows[0].keys()) if rows else []), totals)
        return
    if not rows:
        console.print(f"[dim]{title or 'nothing'}: no rows[/dim]")
        return
    columns = columns or list(rows[0].keys())
    table = Table(title=title, expand=False)
    for col in columns:
        numeric = col in NUMERIC
        table.add_column(col, justify="right" if numeric else "left", overflow="fold", no_wrap=False,
                         min_width=min(max(len(str(r.get(col) or "")) for r in rows), 40))
    for i, row in enumerate(rows):
        table.add_row(*_cells(row, columns), end_section=bool(totals) and i == len(rows) - 1)
    for row in totals or ():
        table.add_row(*_cells(row, columns), style="bold")
    console.print(table)


def write_csv(rows: list[dict], columns: list[str], totals: list[dict] | None = None, out=None) -> None:
    """RFC 4180 CSV on stdout: a header of `columns`, the rows, then the totals rows. Values as the table shows
    them (decimal strings, never floats); nested values as JSON."""
    writer = csv.writer(out or sys.stdout, lineterminator="\r\n")
    writer.writerow(columns)
    for row in [*rows, *(totals or ())]:
        writer.writerow([_csv_value(row.get(c)) for c in columns])


def _csv_value(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, default=str)
    return str(value)


def _cells(row: dict, columns: list[str]) -> list[str]:
    return ["" if row.get(c) is None else str(row.get(c)) for c in columns]


def debit_credit(rows: list[dict], field: str = "balance") -> list[dict]:
    """Each row with `debit` and `credit` from its signed `field` (positive: debit; negative: credit)."""
    out = []
    for row in rows:
        value = Decimal(row[field])
        out.append(row | {"debit": row[field] if value > 0 else "",
                          "credit": str(-value) if value < 0 else ""})
    return out


def totals(rows: list[dict], columns: list[str], by: str | None = None, label: str = "total") -> list[dict]:
    """One row of sums of the numeric `columns` (per value of `by`, such as the commodity, when given); the
    first column says `label`. Sums are Decimal (amounts are decimal strings) or int (counts)."""
    groups: dict = defaultdict(lambda: defaultdict(Decimal))
    for row in rows:
        group = groups[row.get(by) if by else None]
        for column in columns:
            cell = row.get(column)
            if column in NUMERIC and cell not in (None, ""):
                group[column] += Decimal(str(cell))
    out = []
    for key, sums in groups.items():
        row = {column: str(value) for column, value in sums.items()}
        if by:
            row[by] = key
        out.append(row | {columns[0]: label})
    return out
