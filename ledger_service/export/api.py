"""REST: the NetSuite journal export of a closed period.

POST records an export (a controller's write, as `ledger-service export netsuite`: an event with the file's
sha256) and answers the file; GET answers the last recorded export again, byte for byte, without writing. Both
carry the file's name (Content-Disposition), its sha256 (X-Export-Sha256) and the generation (X-Export-Generation:
1 for the first export of the period, then one per correction).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import RootModel

from ledger_service.api.deps import ConnDep, EngineDep
from ledger_service.api.schemas import AUTHENTICATED, CODE_PATTERN, errors
from ledger_service.auth.deps import Controller, Viewer
from ledger_service.export.netsuite.service import ExportResult, export, latest
from ledger_service.store.engine import write_transaction

# The errors as every route declares them (the Error body, JSON), written out: a model would be declared under this
# route's own media type (text/csv), which an error never is.
_ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
router = APIRouter(tags=["exports"], responses={
    code: {"description": r["description"], "content": _ERROR} for code, r in errors(*AUTHENTICATED, 404).items()})


class NetSuiteFile(RootModel[str | list[dict]]):
    """The export file: with format=csv the Journal Entry CSV import (text/csv, UTF-8, CRLF line ends, a header
    row, one row per journal line); with format=json the SuiteTalk REST upserts (application/json, a list of
    {externalId, method: PUT, path: /record/v1/journalEntry/eid:..., body})."""


class _CsvResponse(Response):
    media_type = "text/csv"


Subsidiary = Annotated[str, Query(pattern=CODE_PATTERN, examples=["US"])]
Period = Annotated[str, Query(pattern=r"^\d{4}-\d{2}$", description="YYYY-MM", examples=["2026-10"])]
Format = Annotated[Literal["csv", "json"], Query(
    alias="format", description="csv: the Journal Entry CSV import; json: SuiteTalk REST journalEntry upserts")]
Summary = Annotated[Literal["settlement", "day", "period"] | None, Query(
    description="one journal per settlement, day or period; default: the subsidiary's netsuite_summary setting")]

_HEADERS = {
    "Content-Disposition": {"description": "attachment; filename=the export file's name",
                            "schema": {"type": "string"}},
    "X-Export-Sha256": {"description": "sha256 of the body, as the export event records it",
                        "schema": {"type": "string"}},
    "X-Export-Generation": {"description": "1 for the period's first export, then one per correction",
                            "schema": {"type": "string"}},
}


def _file(description: str) -> dict:
    """A file answer (fresh dicts each time: FastAPI completes them in place)."""
    ref = "#/components/schemas/NetSuiteFile"
    return {"model": NetSuiteFile, "description": description, "headers": dict(_HEADERS),
            "content": {"text/csv": {"schema": {"$ref": ref}}, "application/json": {"schema": {"$ref": ref}}}}


def _answer(result: ExportResult, status: int) -> Response:
    headers = {"Content-Disposition": f'attachment; filename="{result.name}"', "X-Export-Sha256": result.sha256,
               "X-Export-Generation": str(result.generation)}
    if result.event_id is not None:
        headers["X-Export-Event"] = str(result.event_id)
    return Response(content=result.data, status_code=status, media_type=result.media_type, headers=headers)


@router.get("/exports/netsuite", response_class=_CsvResponse, response_model=None,
            responses={200: _file("the last recorded export of the period, in the format asked for")})
def get_netsuite_export(conn: ConnDep, caller: Viewer, subsidiary: Subsidiary, period: Period,
                        fmt: Format = "csv") -> Response:
    """The period's last recorded NetSuite export, the same bytes as the file the export wrote (404 before the
    period was exported). Nothing is written: POST records an export."""
    return _answer(latest(conn, caller.check(subsidiary), period, fmt), 200)


@router.post("/exports/netsuite", status_code=201, response_class=_CsvResponse, response_model=None,
             responses={201: _file("a new export, recorded"),
                        200: _file("the same file was already recorded: nothing written"),
                        409: {"description": "the period is open: close it first", "content": _ERROR}})
def post_netsuite_export(engine: EngineDep, caller: Controller, subsidiary: Subsidiary, period: Period,
                         fmt: Format = "csv", summary: Summary = None) -> Response:
    """Export a closed period's posted journals to NetSuite's format and record the export (an event with the
    file's sha256). Exporting again with nothing changed answers the same bytes (200); after the period changed
    (reopened and posted into), the file carries the corrections: a reversal and a replacement of each journal
    that changed, under new external ids. 409 while the period is open."""
    caller.check(subsidiary)
    with write_transaction(engine) as conn:
        result = export(conn, subsidiary, period, fmt, summary, actor=caller.actor)
    return _answer(result, 200 if result.duplicate else 201)
