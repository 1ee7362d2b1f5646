"""The close pack as one CSV file (RFC 4180, UTF-8, CRLF): one header, every section in it, told apart by columns.

One file rather than a file per section, so it is one download and one `--out`, and one header rather than a
header per section, so any CSV reader (a spreadsheet's filter, csv.DictReader, pandas) takes it whole. Columns:
- `section`: about (the header), trial_balance, gross_to_net, settlements, inventory_valuation,
  inventory_rollforward, exceptions, fx_revaluation, exports;
- `table`: the table's name within the pack (gross_to_net_USD, fx_revaluation_<event id>, ...);
- `kind`: `title` (the table's title, in `note`: what its figures are), `row`, `total` (sums and closing figures,
  as the bold rows of the HTML), `note` (a section's note, or what an empty table says, in `note`);
- `note`, then the union of every table's columns, in their order of first appearance (`amount` is the same
  column in every table that has one). A row fills the columns of its own table and leaves the others empty.

Figures are the ledger's decimal strings ("125.40"), never floats; counts are integers. The chart is not in the
CSV: its figures are the gross-to-net rows. Deterministic: the same ledger gives the same bytes.
"""

from __future__ import annotations

import csv
import io

from ledger_service.reports.close import ClosePack, Table

FIXED = ("section", "table", "kind", "note")


def render_csv(pack: ClosePack) -> bytes:
    tables = [("about", pack.about())] + [(s.key, t) for s in pack.sections for t in s.tables]
    columns: list[str] = []
    for _, table in tables:
        columns += [c for c in table.columns if c not in columns and c not in FIXED]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([*FIXED, *columns])

    def put(section: str, table: str, kind: str, note: str = "", values: dict | None = None) -> None:
        writer.writerow([section, table, kind, note, *(_cell((values or {}).get(c)) for c in columns)])

    _table(put, "about", pack.about())
    for section in pack.sections:
        for note in section.notes:
            put(section.key, "", "note", note)
        for table in section.tables:
            _table(put, section.key, table)
    return out.getvalue().encode("utf-8")


def _table(put, section: str, table: Table) -> None:
    put(section, table.name, "title", table.title)
    if not table.rows and not table.totals:
        put(section, table.name, "note", table.empty)
    for row in table.rows:
        put(section, table.name, "row", values=row)
    for row in table.totals:
        put(section, table.name, "total", values=row)


def _cell(value: object) -> str:
    return "" if value is None else str(value)
