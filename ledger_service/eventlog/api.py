"""REST: an event with its raw source."""

from fastapi import APIRouter

from ledger_service.api.deps import ConnDep
from ledger_service.eventlog.service import event_view

router = APIRouter(tags=["events"])


@router.get("/events/{event_id}")
def get_event(event_id: int, conn: ConnDep) -> dict:
    return event_view(conn, event_id)
