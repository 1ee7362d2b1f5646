"""REST: post a manual journal, read an entry, reverse one."""

from fastapi import APIRouter, Body
from fastapi.responses import JSONResponse

from ledger_service.api.deps import ConnDep, EngineDep
from ledger_service.api.schemas import AUTHENTICATED, PathId, errors
from ledger_service.auth.deps import Controller, Viewer
from ledger_service.journal.manual import parse_manual_journal
from ledger_service.journal.schemas import Entry, ManualJournal, ReverseRequest
from ledger_service.journal.service import entry_subsidiary, entry_view, post, reverse

router = APIRouter(tags=["journal"], responses=errors(*AUTHENTICATED))

EXAMPLE = {
    "subsidiary": "US", "date": "2026-10-31", "currency": "USD",
    "description": "Accrue October storage fees", "idempotency_key": "manual-2026-10-storage",
    "postings": [{"account": "Expenses:Amazon:Fees:Storage", "amount": "125.40"},
                 {"account": "Liabilities:Accrued", "amount": "-125.40"}],
}


@router.post("/journal-entries", status_code=201, response_model=Entry,
             responses={200: {"model": Entry, "description": "already posted with the same content: the entry"},
                        **errors(404, 409)})
def post_manual_journal(engine: EngineDep, caller: Controller,
                        body: ManualJournal = Body(..., examples=[EXAMPLE])) -> JSONResponse:
    """Post a controller's manual journal: positive amounts debit, negative credit; amounts are decimal strings.

    Answers 201 with the entry, or 200 with the same entry when the idempotency key was already posted with the same
    content; 409 when it was posted with other content; 422 when the entry does not balance.
    """
    caller.check(body.subsidiary)
    event, entry = parse_manual_journal(body.as_document(), document="POST /journal-entries")
    result = post(engine, event, [entry], actor=caller.actor)
    with engine.connect() as conn:
        view = Entry.model_validate(entry_view(conn, result.entry_ids[0])).model_dump(mode="json")
    return JSONResponse(status_code=200 if result.duplicate else 201, content=view)


@router.get("/journal-entries/{entry_id}", response_model=Entry, responses=errors(404))
def get_entry(entry_id: PathId, conn: ConnDep, caller: Viewer) -> dict:
    """An entry with its postings, its source event and its links (reverses / reversed by)."""
    caller.check(entry_subsidiary(conn, entry_id))
    return entry_view(conn, entry_id)


@router.post("/journal-entries/{entry_id}/reverse", status_code=201, response_model=Entry,
             responses=errors(404, 409))
def reverse_entry(entry_id: PathId, request: ReverseRequest, engine: EngineDep, caller: Controller) -> dict:
    """Post the reversing entry (every posting negated), linked to the original. An entry is reversed once."""
    # Reads before and after the write each take a connection of their own: one read connection held across the
    # write would, on SQLite (WAL), still see the snapshot of its first read and miss the new entry.
    with engine.connect() as conn:
        caller.check(entry_subsidiary(conn, entry_id))
    result = reverse(engine, entry_id, request.reason, request.date, request.idempotency_key, actor=caller.actor)
    with engine.connect() as conn:
        return entry_view(conn, result.entry_ids[0])
