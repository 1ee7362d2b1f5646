"""REST: post a manual journal, read an entry, reverse one."""

import datetime as dt
from typing import Any

from fastapi import APIRouter, Body
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from ledger_service.api.deps import ConnDep, EngineDep
from ledger_service.journal.manual import parse_manual_journal
from ledger_service.journal.service import entry_view, post, reverse

router = APIRouter(tags=["journal"])

EXAMPLE = {
    "subsidiary": "US", "date": "2026-10-31", "currency": "USD",
    "description": "Accrue October storage fees", "idempotency_key": "manual-2026-10-storage",
    "postings": [{"account": "Expenses:Amazon:Fees:Storage", "amount": "125.40"},
                 {"account": "Liabilities:Accrued", "amount": "-125.40"}],
}


class ReverseRequest(BaseModel):
    reason: str = Field(min_length=1, description="why the entry is reversed (kept on the reversing entry)")
    date: dt.date | None = Field(default=None, description="effective date of the reversal; default the original's")
    idempotency_key: str | None = None


@router.post("/journal-entries", status_code=201)
def post_manual_journal(engine: EngineDep, conn: ConnDep,
                        body: dict[str, Any] = Body(..., examples=[EXAMPLE])) -> JSONResponse:
    """Post a controller's manual journal: positive amounts debit, negative credit; amounts are decimal strings.

    Answers 201 with the entry, or 200 with the same entry when the idempotency key was already posted with the same
    content; 409 when it was posted with other content; 422 when the entry does not balance.
    """
    event, entry = parse_manual_journal(body, document="POST /journal-entries")
    result = post(engine, event, [entry])
    view = entry_view(conn, result.entry_ids[0])
    return JSONResponse(status_code=200 if result.duplicate else 201, content=view)


@router.get("/journal-entries/{entry_id}")
def get_entry(entry_id: int, conn: ConnDep) -> dict:
    return entry_view(conn, entry_id)


@router.post("/journal-entries/{entry_id}/reverse", status_code=201)
def reverse_entry(entry_id: int, request: ReverseRequest, engine: EngineDep, conn: ConnDep) -> dict:
    """Post the reversing entry (every posting negated), linked to the original. An entry is reversed once."""
    result = reverse(engine, entry_id, request.reason, request.date, request.idempotency_key)
    return entry_view(conn, result.entry_ids[0])
