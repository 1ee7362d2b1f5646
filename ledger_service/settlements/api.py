"""REST: settlement reconciliation, the exception queue, and ingest by upload."""

from datetime import date

from fastapi import APIRouter, File, Form, Query, UploadFile

from ledger_service.api.deps import ConnDep, EngineDep
from ledger_service.errors import Invalid
from ledger_service.exceptions.service import exceptions
from ledger_service.ingest.service import ingest_bytes
from ledger_service.reports.gross_to_net import gross_to_net
from ledger_service.settlements.reconcile import settlement, settlements
from ledger_service.sources.model import ParseError

router = APIRouter(tags=["settlements"])


@router.get("/settlements")
def list_settlements(conn: ConnDep, subsidiary: str) -> list[dict]:
    """Per settlement: total, rows sum, deposit, carried, clearing, suspense, and a status: `reconciled`,
    `reconciled_with_suspense`, `difference` (cash does not tie) or `inconsistent` (rows do not sum to the total)."""
    return settlements(conn, subsidiary)


@router.get("/settlements/{settlement_id}")
def get_settlement(settlement_id: str, conn: ConnDep, subsidiary: str) -> dict:
    """One settlement, with its open suspense amounts and the entries that explain a difference."""
    return settlement(conn, subsidiary, settlement_id)


@router.get("/exceptions")
def list_exceptions(conn: ConnDep, subsidiary: str, include_closed: bool = False) -> list[dict]:
    """Amazon amounts whose type has no mapping: each names its triple, file:line (or API page) and amount."""
    return exceptions(conn, subsidiary, include_closed)


@router.get("/reports/gross-to-net", tags=["reports"])
def report_gross_to_net(conn: ConnDep, subsidiary: str, from_: date | None = Query(None, alias="from"),
                        to: date | None = None,
                        settlement_id: str | None = Query(None, alias="settlement",
                                                          description="only postings tagged with this settlement"),
                        marketplace: str | None = Query(None, description="e.g. amazon.com (case-insensitive)")
                        ) -> dict:
    """Gross sales, refunds, promotions, fees, reimbursements, taxes by kind, reserves, carried balances, card
    charges, net proceeds and its check; disbursed, carried to the payable to Amazon and in transit."""
    return gross_to_net(conn, subsidiary, from_, to, settlement_id, marketplace)


@router.post("/ingest", status_code=201)
async def ingest(engine: EngineDep, subsidiary: str = Form(...), file: UploadFile = File(...),
                 group_id: str | None = Form(None, description="event group of a listFinancialEvents page"),
                 group_final: bool = Form(False, description="the group is closed (final), not open")) -> dict:
    """Upload one Amazon document (settlement flat file or SP-API Finances JSON). Atomic: a bad row posts nothing."""
    data = await file.read()
    kwargs = {"group_id": group_id, "group_final": group_final} if group_id else {}
    try:
        return ingest_bytes(engine, data, file.filename or "upload", subsidiary, **kwargs).as_dict()
    except ParseError as exc:
        raise Invalid(str(exc)) from None
