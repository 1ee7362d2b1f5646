"""REST: balances and the trial balance, from the daily aggregates."""

from datetime import date

from fastapi import APIRouter, Query

from ledger_service.api.deps import ConnDep
from ledger_service.balances.queries import balances_view, trial_balance

router = APIRouter(tags=["balances"])


@router.get("/balances")
def balances(
    conn: ConnDep,
    subsidiary: str,
    as_of: date | None = None,
    account: str | None = Query(None, description="account or parent, e.g. Assets:Amazon covers its children"),
    commodity: str | None = None,
) -> list[dict]:
    return balances_view(conn, subsidiary, as_of, account, commodity)


@router.get("/trial-balance")
def get_trial_balance(conn: ConnDep, subsidiary: str, as_of: date | None = None) -> dict:
    return trial_balance(conn, subsidiary, as_of)
