"""REST: inventory positions by state, valuation by lot, COGS beside revenue, the monthly roll-forward, and the
unit exceptions (rows of either unit source that posted nothing).

The same views as `ledger-service inventory positions|valuation|cogs|rollforward` (inventory.views,
inventory.rollforward), for a viewer of the subsidiary. None is paged: each is a report read whole (valuation and
roll-forward are checks only when whole); positions are filtered by location, SKU and state instead."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from ledger_service.api.deps import ConnDep
from ledger_service.api.schemas import AUTHENTICATED, CODE_PATTERN, errors
from ledger_service.auth.deps import Viewer
from ledger_service.inventory import views
from ledger_service.inventory.rollforward import rollforward as rollforward_view
from ledger_service.inventory.exceptions import unit_fact_exceptions
from ledger_service.inventory.schemas import Cogs, Position, Rollforward, UnitException, Valuation

router = APIRouter(tags=["inventory"], responses=errors(*AUTHENTICATED, 404))

SubQuery = Annotated[str, Query(pattern=CODE_PATTERN, examples=["US"])]
AsOf = Annotated[date | None, Query(description="inclusive; default: everything posted")]
From = Annotated[date, Query(alias="from", description="first day, inclusive")]
To = Annotated[date, Query(description="last day, inclusive")]


@router.get("/inventory/positions", response_model=list[Position])
def positions(conn: ConnDep, caller: Viewer, subsidiary: SubQuery, as_of: AsOf = None,
              location: Annotated[str | None, Query(max_length=64, examples=["FBA-US"])] = None,
              sku: Annotated[str | None, Query(max_length=100)] = None,
              state: Annotated[str | None, Query(max_length=32, examples=["Available"])] = None) -> list[dict]:
    """Units (and their cost) per SKU, location and state as of a date: the inventory accounts' balances."""
    return views.positions(conn, caller.check(subsidiary), as_of, location, sku, state)


@router.get("/inventory/valuation", response_model=Valuation)
def valuation(conn: ConnDep, caller: Viewer, subsidiary: SubQuery, as_of: AsOf = None) -> dict:
    """Lots per SKU, location and state with units, unit cost and value; `total` equals the inventory accounts'
    balance to the cent (checked on every answer)."""
    return views.valuation(conn, caller.check(subsidiary), as_of)


@router.get("/inventory/cogs", response_model=Cogs)
def cogs(conn: ConnDep, caller: Viewer, subsidiary: SubQuery, date_from: From, to: To) -> dict:
    """COGS per SKU and marketplace between two dates, beside the revenue of the same SKU and marketplace in those
    dates, with the gross margin."""
    views.check_range(date_from, to)
    return views.cogs(conn, caller.check(subsidiary), date_from, to)


@router.get("/inventory/rollforward", response_model=Rollforward)
def rollforward(conn: ConnDep, caller: Viewer, subsidiary: SubQuery, date_from: From, to: To) -> dict:
    """Per month: opening + receipts - COGS - write-offs + adjustments = closing, in value and units (checked)."""
    views.check_range(date_from, to)
    return rollforward_view(conn, caller.check(subsidiary), date_from, to)


@router.get("/inventory/exceptions", response_model=list[UnitException])
def exceptions(conn: ConnDep, caller: Viewer, subsidiary: SubQuery,
               include_closed: Annotated[bool, Query(alias="all", description="also the closed ones")] = False
               ) -> list[dict]:
    """Inventory ledger rows that posted nothing (unknown MSKU/FNSKU, flagged vocabulary, no cost) or posted with a
    flag, and settlement sales whose units could not be costed; by date. `exceptions retry-inventory` and
    `exceptions units --retry` post them once their cause is fixed."""
    return unit_fact_exceptions(conn, caller.check(subsidiary), include_closed)
