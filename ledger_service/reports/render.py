"""The close pack's formats: one name each, its media type, its file suffix, and the renderer that makes it.

The CLI (`report close --format`) and the REST API (`/reports/close?format=`) both take a PackFormat and answer
`render(pack, fmt)`, bytes: the same figures in each format (reports/close.py lays them out once).
"""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the CLI imports PackFormat at startup: the reports themselves load when one is made
    from ledger_service.reports.close import ClosePack


class PackFormat(str, Enum):
    html = "html"
    xlsx = "xlsx"
    csv = "csv"


MEDIA_TYPES = {
    PackFormat.html: "text/html; charset=utf-8",
    PackFormat.xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    PackFormat.csv: "text/csv; charset=utf-8",
}


def render(pack: ClosePack, fmt: PackFormat) -> bytes:
    if fmt == PackFormat.html:
        from ledger_service.reports.render_html import render_html

        return render_html(pack)
    if fmt == PackFormat.xlsx:
        from ledger_service.reports.render_xlsx import render_xlsx

        return render_xlsx(pack)
    from ledger_service.reports.render_csv import render_csv

    return render_csv(pack)


def file_name(pack: ClosePack, fmt: PackFormat) -> str:
    return f"close-{pack.subsidiary}-{pack.period}.{fmt.value}"
