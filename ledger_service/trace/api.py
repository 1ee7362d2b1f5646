"""REST: the audit trace, from a NetSuite line or from a balance back to the raw source rows."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Query

from ledger_service.api.deps import ConnDep
from ledger_service.api.pagination import AfterId, Limit
from ledger_service.api.schemas import AUTHENTICATED, CODE_PATTERN, errors
from ledger_service.auth.deps import Viewer
from ledger_service.trace.schemas import BalanceTrace, NetSuiteTrace
from ledger_service.trace.service import subsidiary_of, trace_balance, trace_netsuite

router = APIRouter(tags=["trace"], responses=errors(*AUTHENTICATED, 404))

ExternalId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,300}$", examples=["LS-US-2026-10-S-28471003921"])]


@router.get("/trace/netsuite/{external_id}", response_model=NetSuiteTrace, response_model_by_alias=True)
def trace_netsuite_line(external_id: ExternalId, conn: ConnDep, caller: Viewer,
                        line: Annotated[int | None, Query(ge=1, le=1_000_000, description=(
                            "the journal's line, from 1 in the order of the export"))] = None) -> dict:
    """A journal the NetSuite export sent, with its lines; with `line`, that line's postings (which sum to it to
    the cent), their entries and events, and the raw source rows (document, sha256, line or API page, raw)."""
    caller.check(subsidiary_of(external_id))
    return trace_netsuite(conn, external_id, line)


@router.get("/trace/balance", response_model=BalanceTrace)
def trace_a_balance(conn: ConnDep, caller: Viewer,
                    subsidiary: Annotated[str, Query(pattern=CODE_PATTERN, examples=["US"])],
                    account: Annotated[str, Query(min_length=1, max_length=300,
                                                  examples=["Assets:Amazon:Clearing"])],
                    as_of: date | None = None, after: AfterId = None, limit: Limit = 100) -> dict:
    """What makes up a balance: the postings of the account (and its children) dated on or before `as_of`, by
    posting id a page at a time, each with its entry, event and source; `total` (posted) and `pending` are the
    balance over every page."""
    return trace_balance(conn, caller.check(subsidiary), account, as_of, after, limit)
