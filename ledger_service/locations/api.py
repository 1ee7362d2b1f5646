"""REST: a subsidiary's locations, with the lanes drawing from each and its state accounts.

The same service as `ledger-service locations list`; changes are made with `locations add|import` and `lanes set`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from ledger_service.api.deps import ConnDep
from ledger_service.api.schemas import AUTHENTICATED, CODE_PATTERN, errors
from ledger_service.auth.deps import Viewer
from ledger_service.locations import service
from ledger_service.locations.schemas import LocationOut

router = APIRouter(tags=["locations"], responses=errors(*AUTHENTICATED, 404))


@router.get("/locations", response_model=list[LocationOut])
def locations(conn: ConnDep, caller: Viewer,
              subsidiary: Annotated[str, Query(pattern=CODE_PATTERN, examples=["US"])]) -> list[dict]:
    """The subsidiary's locations by code."""
    return service.list_locations(conn, caller.check(subsidiary))
