"""REST: periods per subsidiary, the checks before a close, closing and reopening (a controller's acts).

The same service as `ledger-service close|reopen|periods`; the caller's token is the event's actor."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from ledger_service.api.deps import ConnDep, EngineDep
from ledger_service.api.schemas import AUTHENTICATED, CODE_PATTERN, errors
from ledger_service.auth.deps import Controller, Viewer
from ledger_service.chart.service import list_subsidiaries
from ledger_service.periods import service
from ledger_service.periods.schemas import (PERIOD_PATTERN, CloseChecks, CloseRequest, PeriodChange, PeriodRow,
                                            ReopenRequest)
from ledger_service.store.engine import write_transaction

router = APIRouter(tags=["periods"], responses=errors(*AUTHENTICATED, 404))

SubPath = Annotated[str, Path(pattern=CODE_PATTERN, examples=["US"])]
PeriodPath = Annotated[str, Path(pattern=PERIOD_PATTERN, examples=["2026-10"])]


@router.get("/periods", response_model=list[PeriodRow])
def periods(conn: ConnDep, caller: Viewer,
            subsidiary: Annotated[str | None, Query(pattern=CODE_PATTERN)] = None) -> list[dict]:
    """Every month of a subsidiary (or of every subsidiary in the token's scope) with its status, and who closed
    or reopened it, when and why."""
    if subsidiary is not None:
        return service.list_periods(conn, caller.check(subsidiary))
    return [row for sub in list_subsidiaries(conn, caller.codes) for row in service.list_periods(conn, sub.code)]


@router.get("/periods/{subsidiary}/{period}/checks", response_model=CloseChecks, responses=errors(422))
def checks(subsidiary: SubPath, period: PeriodPath, conn: ConnDep, caller: Viewer) -> dict:
    """What closing the period would check, without closing it: problems that refuse the close, the trial balance
    as of its last day, settlements in `difference`, open exceptions dated by then."""
    from ledger_service.periods.model import parse_period

    return service.close_checks(conn, caller.check(subsidiary), parse_period(period))


@router.post("/periods/{subsidiary}/{period}/close", response_model=PeriodChange, responses=errors(409, 422))
def close(subsidiary: SubPath, period: PeriodPath, engine: EngineDep, caller: Controller,
          request: CloseRequest | None = None) -> dict:
    """Close the month: checks (refused with the problems unless `force` with a `reason`), revaluation of open
    foreign-currency balances at its last day's rate, then the lock. 409 if it is already closed."""
    request = request or CloseRequest()
    with write_transaction(engine) as conn:
        return service.close_period(conn, caller.check(subsidiary), period, actor=caller.actor,
                                    reason=request.reason, force=request.force)


@router.post("/periods/{subsidiary}/{period}/reopen", response_model=PeriodChange, responses=errors(409, 422))
def reopen(subsidiary: SubPath, period: PeriodPath, request: ReopenRequest, engine: EngineDep,
           caller: Controller) -> dict:
    """Reopen a closed month, with a reason: entries may post into it again."""
    with write_transaction(engine) as conn:
        return service.reopen_period(conn, caller.check(subsidiary), period, reason=request.reason,
                                     actor=caller.actor)
