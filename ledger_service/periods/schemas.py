"""The REST shapes of periods: a month's status, the checks before a close, a close or reopen."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from ledger_service.api.schemas import Text

PERIOD_PATTERN = r"^\d{4}-\d{2}$"


class PeriodRow(BaseModel):
    subsidiary: str
    period: str = Field(examples=["2026-10"])
    start: str
    end: str
    status: Literal["open", "closed"]
    changed_at: str | None = Field(description="when it was last closed or reopened (UTC)")
    by: str | None = Field(description="who: `token:NAME` through the API, `cli:USER` from the command line")
    reason: str | None
    forced: bool | None = Field(description="closed despite failed checks")
    event_id: int | None = Field(description="the close or reopen event in force")


class CloseChecks(BaseModel):
    problems: list[str] = Field(description="each refuses the close unless forced with a reason")
    trial_balance: dict[str, Any] = Field(description="as of the period's last day: functional_total and totals "
                                                      "per currency, which must be zero")
    settlements_in_difference: list[str]
    exceptions: list[dict[str, Any]] = Field(description="open exception items dated by the period's end: listed "
                                                         "on the close event, they do not refuse it")
    inventory_exceptions: list[dict[str, Any]] = Field(
        [], description="inventory ledger rows dated by the period's end that posted nothing (open): listed, they "
                        "do not refuse the close")
    settlement_unit_exceptions: list[dict[str, Any]] = Field(
        [], description="settlement sales dated by the period's end whose units could not be costed "
                        "(unit_source = settlement; open): listed, they do not refuse the close")


class CloseRequest(BaseModel):
    force: bool = Field(False, description="close despite failed checks; needs a reason")
    reason: Text | None = Field(None, max_length=2000)


class ReopenRequest(BaseModel):
    reason: Text = Field(min_length=1, max_length=2000)


class PeriodChange(BaseModel):
    subsidiary: str
    period: str
    status: Literal["open", "closed"]
    event_id: int
    reason: str | None
    forced: bool | None = None
    checks: CloseChecks | None = None
    revaluation: dict[str, Any] | None = Field(None, description="open foreign-currency balances revalued at the "
                                                                 "period-end rate (fx.service), or null")
