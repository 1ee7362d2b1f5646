"""REST: subsidiaries and accounts."""

from fastapi import APIRouter

from ledger_service.api.deps import ConnDep
from ledger_service.chart import service

router = APIRouter(tags=["chart"])


@router.get("/subsidiaries")
def subsidiaries(conn: ConnDep) -> list[dict]:
    return [s.__dict__ for s in service.list_subsidiaries(conn)]


@router.get("/accounts")
def accounts(conn: ConnDep, subsidiary: str | None = None) -> list[dict]:
    return service.list_accounts(conn, subsidiary)
