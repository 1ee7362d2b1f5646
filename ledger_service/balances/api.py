"""REST: balances and the trial balance, from the daily aggregates.

Neither is paged: a balance list is a report over the chart (one row per account and commodity, filtered by
account and commodity), and a trial balance is only a check when it is read whole."""

from datetime import date

from fastapi import APIRouter, Query

from ledger_service.api.deps import ConnDep
from ledger_service.api.schemas import AUTHENTICATED, errors
from ledger_service.auth.deps import Viewer
from ledger_service.balances.queries import balances_view, trial_balance
from ledger_service.balances.schemas import BalanceRow, TrialBalance

router = APIRouter(tags=["balances"], responses=errors(*AUTHENTICATED, 404))


@router.get("/balances", response_model=list[BalanceRow])
def balances(
    conn: ConnDep,
    caller: Viewer,
    subsidiary: str,
    as_of: date | None = None,
    account: str | None = Query(None, description="account or parent, e.g. Assets:Amazon covers its children"),
    commodity: str | None = None,
) -> list[dict]:
    """Balances per account and commodity as of a date (inclusive), posted and pending apart."""
    return balances_view(conn, caller.check(subsidiary), as_of, account, commodity)


@router.get("/trial-balance", response_model=TrialBalance)
def get_trial_balance(conn: ConnDep, caller: Viewer, subsidiary: str, as_of: date | None = None) -> dict:
    """Every account's balance, and totals per currency that must be zero."""
    return trial_balance(conn, caller.check(subsidiary), as_of)
