"""REST: subsidiaries and accounts, as far as the caller's scope reaches."""

from fastapi import APIRouter

from ledger_service.api.deps import ConnDep
from ledger_service.api.pagination import AfterCode, AfterId, Limit, page
from ledger_service.api.schemas import AUTHENTICATED, errors
from ledger_service.auth.deps import Viewer
from ledger_service.chart import service
from ledger_service.chart.schemas import AccountPage, SubsidiaryDetail, SubsidiaryPage
from ledger_service.settings import Settings

router = APIRouter(tags=["chart"], responses=errors(*AUTHENTICATED))


@router.get("/subsidiaries", response_model=SubsidiaryPage)
def subsidiaries(conn: ConnDep, caller: Viewer, after: AfterCode = None, limit: Limit = 100) -> dict:
    """The subsidiaries the token may see, by code."""
    rows = service.list_subsidiaries(conn, caller.codes, after, limit + 1)
    return page([s.__dict__ for s in rows], limit, lambda s: s["code"])


@router.get("/subsidiaries/{code}", response_model=SubsidiaryDetail, responses=errors(404))
def subsidiary(code: str, conn: ConnDep, caller: Viewer) -> dict:
    """A subsidiary and the configuration in force (tax profile per marketplace, settings, mapping overrides), with
    where it was recorded."""
    caller.check(code)
    sub = service.get_subsidiary(conn, code)
    config = service.subsidiary_config(conn, code, Settings.from_env().accounts_dir)
    return sub.__dict__ | config.as_dict() | {"origin": config.origin}


@router.get("/accounts", response_model=AccountPage, responses=errors(404))
def accounts(conn: ConnDep, caller: Viewer, subsidiary: str | None = None, after: AfterId = None,
             limit: Limit = 100) -> dict:
    """Accounts by subsidiary and name: of one subsidiary, or of every subsidiary the token may see."""
    if subsidiary:
        caller.check(subsidiary)
    rows = service.list_accounts(conn, subsidiary, caller.codes, after, limit + 1)
    return page(rows, limit, lambda a: a["id"])
