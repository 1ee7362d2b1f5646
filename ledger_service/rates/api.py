"""REST: the stored exchange rates, and the rate in force on a day. Rates belong to no subsidiary: any viewer."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Path, Query

from ledger_service.api.deps import ConnDep
from ledger_service.api.pagination import Limit, page
from ledger_service.api.schemas import AUTHENTICATED, errors
from ledger_service.auth.deps import Viewer
from ledger_service.errors import Invalid
from ledger_service.rates import service
from ledger_service.rates.schemas import CURRENCY_PATTERN, CURSOR_PATTERN, RateInForce, RatePage

router = APIRouter(tags=["rates"], responses=errors(*AUTHENTICATED))

CurrencyQuery = Annotated[str | None, Query(pattern=CURRENCY_PATTERN)]
CurrencyPath = Annotated[str, Path(pattern=CURRENCY_PATTERN, examples=["USD"])]


@router.get("/rates", response_model=RatePage, response_model_by_alias=True)
def rates(conn: ConnDep, caller: Viewer,
          from_: Annotated[str | None, Query(alias="from", pattern=CURRENCY_PATTERN)] = None,
          to: CurrencyQuery = None, date_from: dt.date | None = None, date_to: dt.date | None = None,
          after: Annotated[str | None, Query(pattern=CURSOR_PATTERN, description=(
              "cursor: the `next` of the previous page (DATE:FROM:TO); omit for the first page"))] = None,
          limit: Limit = 100) -> dict:
    """Stored rates by date, from and to, filtered by pair and date range."""
    cursor = None
    if after:
        day, source, target = after.split(":")
        try:
            cursor = (dt.date.fromisoformat(day), source, target)
        except ValueError:
            raise Invalid(f"after: {day!r} is not a date") from None
    rows = service.list_rates(conn, from_, to, date_from, date_to, cursor, limit + 1)
    return page(rows, limit, lambda r: f"{r['date']}:{r['from']}:{r['to']}")


@router.get("/rates/{from_currency}/{to_currency}/{day}", response_model=RateInForce, response_model_by_alias=True,
            responses=errors(404))
def rate_in_force(from_currency: CurrencyPath, to_currency: CurrencyPath, day: dt.date, conn: ConnDep,
                  caller: Viewer) -> dict:
    """The rate for 1 FROM in TO on DAY: that day's, else the latest within 7 days before it, else 1 / the
    inverse pair's, else a cross rate through EUR; with how it was found. 404 when there is none."""
    return service.rate_on(conn, from_currency, to_currency, day).as_dict()
