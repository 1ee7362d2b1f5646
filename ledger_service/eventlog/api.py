"""REST: the event log, a page at a time, and one event with its raw source."""

from fastapi import APIRouter, Query

from ledger_service.api.deps import ConnDep
from ledger_service.api.pagination import AfterId, Limit, page
from ledger_service.api.schemas import AUTHENTICATED, PathId, errors
from ledger_service.auth.deps import Viewer
from ledger_service.eventlog.schemas import Event, EventPage
from ledger_service.eventlog.service import event_subsidiary, event_view, list_events

router = APIRouter(tags=["events"], responses=errors(*AUTHENTICATED, 404))


@router.get("/events", response_model=EventPage)
def events(conn: ConnDep, caller: Viewer, subsidiary: str | None = None,
           kind: str | None = Query(None, description="e.g. manual_journal, reversal, amazon_amount"),
           after: AfterId = None, limit: Limit = 100) -> dict:
    """Events by id (without their raw source: GET /events/{id} has it), of one subsidiary or of every subsidiary
    the token may see."""
    if subsidiary:
        caller.check(subsidiary)
    return page(list_events(conn, subsidiary, caller.codes, kind, after, limit + 1), limit, lambda e: e["id"])


@router.get("/events/{event_id}", response_model=Event)
def get_event(event_id: PathId, conn: ConnDep, caller: Viewer) -> dict:
    """An event: its source and raw row verbatim, who wrote it, its chain hashes and the entries it posted."""
    caller.check(event_subsidiary(conn, event_id))
    return event_view(conn, event_id)
