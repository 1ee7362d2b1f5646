"""REST: settlement reconciliation, the exception queue, gross to net, and ingest by upload.

Settlements and exceptions are computed per subsidiary as a whole (the reconciliation needs every movement), so
their pages are cut from that result by key; the cursor still makes pages stable while rows are added."""

import shutil
import tempfile
from datetime import date
from pathlib import Path

from fastapi import APIRouter, File, Form, Query, UploadFile

from ledger_service.api.deps import ConnDep, EngineDep
from ledger_service.api.pagination import AfterId, Limit, page
from ledger_service.api.schemas import AUTHENTICATED, CODE_PATTERN, TEXT_PATTERN, errors
from ledger_service.auth.deps import Poster, Viewer
from ledger_service.exceptions.service import exceptions
from ledger_service.ingest.worker import ingest_in_worker
from ledger_service.reports.gross_to_net import gross_to_net
from ledger_service.settlements.reconcile import settlement, settlements
from ledger_service.settlements.schemas import (ExceptionPage, GrossToNet, IngestReport, SettlementDetail,
                                                SettlementPage)
from ledger_service.settings import Settings

router = APIRouter(tags=["settlements"], responses=errors(*AUTHENTICATED, 404))


@router.get("/settlements", response_model=SettlementPage)
def list_settlements(conn: ConnDep, caller: Viewer, subsidiary: str, after: AfterId = None,
                     limit: Limit = 100) -> dict:
    """Per settlement: total, rows sum, deposit, carried, clearing, suspense, and a status: `reconciled`,
    `reconciled_with_suspense`, `difference` (cash does not tie) or `inconsistent` (rows do not sum to the total)."""
    rows = settlements(conn, caller.check(subsidiary))
    return page(rows, limit, lambda s: s["source"]["event_id"], after)


@router.get("/settlements/{settlement_id}", response_model=SettlementDetail)
def get_settlement(settlement_id: str, conn: ConnDep, caller: Viewer, subsidiary: str) -> dict:
    """One settlement, with its open suspense amounts and the entries that explain a difference."""
    return settlement(conn, caller.check(subsidiary), settlement_id)


@router.get("/exceptions", response_model=ExceptionPage)
def list_exceptions(conn: ConnDep, caller: Viewer, subsidiary: str, include_closed: bool = False,
                    after: AfterId = None, limit: Limit = 100) -> dict:
    """Amazon amounts whose type has no mapping: each names its triple, file:line (or API page) and amount."""
    rows = sorted(exceptions(conn, caller.check(subsidiary), include_closed), key=lambda e: e["posting_id"])
    return page(rows, limit, lambda e: e["posting_id"], after)


@router.get("/reports/gross-to-net", tags=["reports"], response_model=GrossToNet)
def report_gross_to_net(conn: ConnDep, caller: Viewer, subsidiary: str,
                        from_: date | None = Query(None, alias="from"), to: date | None = None,
                        settlement_id: str | None = Query(None, alias="settlement",
                                                          description="only postings tagged with this settlement"),
                        marketplace: str | None = Query(None, description="e.g. amazon.com (case-insensitive)")
                        ) -> dict:
    """Gross sales, refunds, promotions, fees, reimbursements, taxes by kind, reserves, carried balances, card
    charges, net proceeds and its check; disbursed, carried to the payable to Amazon and in transit."""
    return gross_to_net(conn, caller.check(subsidiary), from_, to, settlement_id, marketplace)


@router.post("/ingest", status_code=201, response_model=IngestReport, responses=errors(409, 413))
def ingest(engine: EngineDep, caller: Poster,
           subsidiary: str = Form(..., pattern=CODE_PATTERN, examples=["US"]), file: UploadFile = File(...),
           group_id: str | None = Form(None, max_length=200, pattern=TEXT_PATTERN,
                                       description="event group of a listFinancialEvents page"),
           group_final: bool = Form(False, description="the group is closed (final), not open")) -> dict:
    """Upload one Amazon document (settlement flat file or SP-API Finances JSON). Atomic: a bad row posts nothing.

    At most LEDGER_MAX_UPLOAD_BYTES (413 beyond). The upload is spooled to a temporary file and ingested from there
    by a worker process (ingest.worker): a settlement file is streamed, never held in memory whole, and the service
    keeps answering other requests meanwhile."""
    caller.check(subsidiary)
    kwargs = {"group_id": group_id, "group_final": group_final} if group_id else {}
    name = file.filename or "upload"
    with tempfile.TemporaryDirectory(prefix="ledger-upload-") as folder:
        path = Path(folder) / "document"
        with path.open("wb") as out:
            shutil.copyfileobj(file.file, out, 1 << 20)
        return ingest_in_worker(engine.url.render_as_string(hide_password=False), path, subsidiary,
                                Settings.from_env(), actor=caller.actor, document=name, **kwargs)
