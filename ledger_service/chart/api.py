"""REST: subsidiaries and accounts."""

from fastapi import APIRouter

from ledger_service.api.deps import ConnDep
from ledger_service.chart import service
from ledger_service.settings import Settings

router = APIRouter(tags=["chart"])


@router.get("/subsidiaries")
def subsidiaries(conn: ConnDep) -> list[dict]:
    return [s.__dict__ for s in service.list_subsidiaries(conn)]


@router.get("/subsidiaries/{code}")
def subsidiary(code: str, conn: ConnDep) -> dict:
    """A subsidiary and the configuration in force (tax profile per marketplace, settings, mapping overrides), with
    where it was recorded."""
    config = service.subsidiary_config(conn, code, Settings.from_env().accounts_dir)
    return service.get_subsidiary(conn, code).__dict__ | config.as_dict() | {"origin": config.origin}


@router.get("/accounts")
def accounts(conn: ConnDep, subsidiary: str | None = None) -> list[dict]:
    return service.list_accounts(conn, subsidiary)
