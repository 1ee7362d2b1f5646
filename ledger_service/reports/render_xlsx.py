"""The close pack as an XLSX workbook: a first sheet `Close pack` (the header), then one sheet per section.

In a section's sheet: its notes, then each table under its title (italic): the header row bold, the rows, the
totals rows bold. A figure is a numeric cell written from the ledger's Decimal: the file holds the exact cent
value (openpyxl writes 16 significant digits, "125.4" for 125.40: exact for any amount below 10^14, far beyond
the 10 digits before the point NetSuite takes), and a spreadsheet reads it as a double, exact to the cent there.
Its number format shows as many places as the figure has ('#,##0.00' for cents, '#,##0' for yen or units,
'#,##0.0000' for a rate), so the cell displays what the HTML and the CSV print. Counts are integer cells; text
(accounts, ids, dates as the ledger writes them) stays text. A chart is not redrawn: its figures are the rows of
the table it follows, which are in the sheet.

Deterministic: the document's created/modified properties are the ledger's own last event time (not the time of
rendering) and the zip entries carry a fixed timestamp, so the same ledger gives the same bytes.
"""

from __future__ import annotations

import io
import re
import zipfile
from datetime import datetime
from decimal import Decimal, InvalidOperation

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.writer.excel import ExcelWriter

from ledger_service.reports.close import ClosePack, Table

SHEETS = {"trial_balance": "Trial balance", "gross_to_net": "Gross to net", "settlements": "Settlements",
          "inventory_valuation": "Inventory valuation", "inventory_rollforward": "Inventory roll-forward",
          "exceptions": "Exceptions", "fx_revaluation": "FX revaluation", "exports": "Exports"}
BOLD, ITALIC = Font(bold=True), Font(italic=True)
_FIXED = (2000, 1, 1, 0, 0, 0)  # zip entry timestamps
_STAMP = re.compile(r"(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}) UTC")


def render_xlsx(pack: ClosePack) -> bytes:
    wb = Workbook()
    about = wb.active
    about.title = "Close pack"
    _table(about, 1, pack.about())
    for section in pack.sections:
        ws = wb.create_sheet(SHEETS.get(section.key, section.key[:31]))
        ws.cell(1, 1, section.title).font = Font(bold=True, size=13)
        row = 2
        for note in section.notes:
            ws.cell(row, 1, note)
            row += 1
        for table in section.tables:
            row = _table(ws, row + 1, table)
        _widths(ws)
    _widths(about)
    when = _when(pack.ledger_through)
    wb.properties.creator = "ledger-service"
    wb.properties.created = wb.properties.modified = when
    out = io.BytesIO()
    # ExcelWriter, not wb.save(): save() stamps the `modified` property with the time of writing
    ExcelWriter(wb, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, allowZip64=True)).save()
    return _fixed_zip(out.getvalue())


def _table(ws, row: int, table: Table) -> int:
    """Write `table` from `row` on; the next free row."""
    ws.cell(row, 1, table.title).font = ITALIC
    row += 1
    if not table.rows and not table.totals:
        ws.cell(row, 1, table.empty)
        return row + 1
    for col, name in enumerate(table.columns, 1):
        ws.cell(row, col, name).font = BOLD
    row += 1
    numeric = table.numeric
    for values, bold in [(r, False) for r in table.rows] + [(r, True) for r in table.totals]:
        for col, name in enumerate(table.columns, 1):
            cell = ws.cell(row, col, _value(values.get(name), name in numeric))
            if isinstance(cell.value, Decimal):
                places = max(0, -cell.value.as_tuple().exponent)
                cell.number_format = "#,##0" + ("." + "0" * places if places else "")
            if bold:
                cell.font = BOLD
        row += 1
    return row


def _value(value, figure: bool):
    if value is None or value == "":
        return None
    if figure and isinstance(value, str):
        try:
            return Decimal(value)
        except InvalidOperation:
            return value
    return value


def _widths(ws) -> None:
    widths: dict[int, int] = {}
    for cells in ws.iter_rows():
        for cell in cells:
            if cell.value is not None and not (cell.column == 1 and cell.font and cell.font.italic):
                widths[cell.column] = max(widths.get(cell.column, 8), min(len(str(cell.value)) + 2, 60))
    for col, width in widths.items():
        ws.column_dimensions[get_column_letter(col)].width = width


def _when(ledger_through: str) -> datetime:
    match = _STAMP.search(ledger_through)
    return datetime.fromisoformat(match.group(1)) if match else datetime(2000, 1, 1)


def _fixed_zip(data: bytes) -> bytes:
    """The same archive with every entry's timestamp fixed (zipfile stamps entries with the time of writing)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(zipfile.ZipInfo(info.filename, date_time=_FIXED), src.read(info.filename),
                         compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()
