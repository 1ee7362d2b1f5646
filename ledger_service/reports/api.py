"""REST: the month-end close pack, as HTML (with its chart), XLSX or CSV (reports/close.py, reports/render.py).

Gross to net, the other report, is served with the settlements it reads (settlements/api.py)."""

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import ConfigDict, RootModel

from ledger_service.api.deps import ConnDep
from ledger_service.api.schemas import AUTHENTICATED, errors
from ledger_service.auth.deps import Viewer
from ledger_service.reports.close import close_pack
from ledger_service.reports.render import MEDIA_TYPES, PackFormat, file_name, render

# The errors as every route declares them (the Error body, JSON), written out: a model would be declared under this
# route's own media type (text/html), which an error never is.
_ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
router = APIRouter(tags=["reports"], responses={
    code: {"description": r["description"], "content": _ERROR} for code, r in errors(*AUTHENTICATED, 404).items()})


class ClosePackFile(RootModel[str]):
    """The close pack's bytes in the format asked for: an HTML page or a CSV file (UTF-8 text), or an XLSX
    workbook (binary)."""

    model_config = ConfigDict(json_schema_extra={"format": "binary"})


class _PackResponse(Response):
    media_type = "text/html"  # the default format (Starlette adds the charset); the others are declared beside it


_FILE = {"schema": {"$ref": "#/components/schemas/ClosePackFile"}}
_PACK = {"model": ClosePackFile, "description": "the close pack in the format asked for (an XLSX or a CSV as an "
                                                "attachment)",
         "content": {MEDIA_TYPES[f].split(";")[0]: _FILE for f in PackFormat}}


@router.get("/reports/close", response_class=_PackResponse, response_model=None, responses={200: _PACK})
def report_close(conn: ConnDep, caller: Viewer, subsidiary: str,
                 period: str = Query(..., pattern=r"^\d{4}-\d{2}$", description="the month, YYYY-MM",
                                     examples=["2026-10"]),
                 format: PackFormat = Query(PackFormat.html, description="html (with its chart), xlsx or csv")
                 ) -> Response:
    """The close pack of one subsidiary and month: the period's status, the trial balance as of its last day,
    gross to net with its chart, settlement reconciliation with statuses, the exception queue, the FX revaluation
    and the NetSuite exports of the period. The same ledger gives the same bytes."""
    pack = close_pack(conn, caller.check(subsidiary), period)
    disposition = "inline" if format == PackFormat.html else "attachment"
    return Response(render(pack, format), media_type=MEDIA_TYPES[format],
                    headers={"Content-Disposition": f'{disposition}; filename="{file_name(pack, format)}"'})
