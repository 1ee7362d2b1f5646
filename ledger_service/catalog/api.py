"""REST: the catalog of a subsidiary (items with their dated Amazon identities and bundles) and its gap audit.

The same services as `ledger-service catalog list|audit`; imports are made with `ledger-service catalog import`."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from ledger_service.api.deps import ConnDep
from ledger_service.api.pagination import AfterCode, Limit, page
from ledger_service.api.schemas import AUTHENTICATED, CODE_PATTERN, errors
from ledger_service.auth.deps import Viewer
from ledger_service.catalog import service
from ledger_service.catalog.audit import catalog_audit
from ledger_service.catalog.schemas import CatalogPage, Gap

router = APIRouter(tags=["catalog"], responses=errors(*AUTHENTICATED, 404))

SubQuery = Annotated[str, Query(pattern=CODE_PATTERN, examples=["US"])]


@router.get("/catalog", response_model=CatalogPage)
def catalog(conn: ConnDep, caller: Viewer, subsidiary: SubQuery, after: AfterCode = None, limit: Limit = 100,
            as_of: Annotated[date | None, Query(description="only identities and components in force that day")]
            = None) -> dict:
    """Items by SKU, each with its Amazon identities per marketplace (all of their history, or those in force on
    `as_of`) and, for a bundle, its components."""
    rows = service.list_catalog(conn, caller.check(subsidiary), after, limit + 1, as_of)
    return page(rows, limit, lambda r: r["sku"])


@router.get("/catalog/audit", response_model=list[Gap])
def audit(conn: ConnDep, caller: Viewer, subsidiary: SubQuery) -> list[dict]:
    """Mapping gaps: SKUs seen but not in the catalog, an FNSKU on two SKUs, ASIN changes (informational), bundle
    components without cost, units without cost; each with where it was first seen."""
    return catalog_audit(conn, caller.check(subsidiary))
