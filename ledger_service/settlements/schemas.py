"""REST shapes of settlement reconciliation, the exception queue, gross to net and an ingest's report."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

from ledger_service.api.schemas import Amount, Page


class ExplainingEntry(BaseModel):
    """An entry tagged with the settlement that moves clearing and is neither its rows nor its disbursement."""

    entry_id: int
    date: date
    kind: str
    description: str
    amount: Amount = Field(description="its net movement of Amazon clearing")


class SettlementSource(BaseModel):
    event_id: int = Field(description="the settlement's summary event")
    document: str | None
    line: int | None


class Settlement(BaseModel):
    """A settlement's figures in its currency, Amazon's sign (positive is owed to the seller); see
    settlements.reconcile for each figure and the order in which statuses apply."""

    settlement_id: str
    currency: str
    start: str | None = Field(description="UTC, ISO 8601 without offset")
    end: str | None = Field(description="UTC, ISO 8601 without offset")
    deposit_date: str | None = Field(description="UTC, ISO 8601 without offset")
    total_amount: Amount | None = Field(description="the report's own total")
    rows_sum: Amount
    rows: int
    deposit: Amount
    carried: Amount = Field(description="a negative total carried to Liabilities:Amazon:Payable")
    clearing: Amount
    suspense_count: int
    suspense: Amount
    difference: Amount | None = Field(description="rows_sum - total_amount")
    deposit_difference: Amount | None = Field(description="deposit + carried - total_amount")
    explained_by: list[ExplainingEntry]
    status: Literal["inconsistent", "difference", "reconciled_with_suspense", "reconciled"]
    source: SettlementSource


class SuspenseRow(BaseModel):
    event_id: int
    document: str | None
    line: int | str | None = Field(description="the file line, or the API page")
    amazon_type: str | None
    amount: Amount


class SettlementDetail(Settlement):
    suspense_rows: list[SuspenseRow] = Field(description="its amounts still open in suspense")


class SettlementPage(Page[Settlement, int]):
    """Settlements in the order they were ingested; `next` is source.event_id of the last one of the page."""


class ExceptionSource(BaseModel):
    system: str
    document: str | None
    line: int | None
    page: str | None


class ExceptionItem(BaseModel):
    """An Amazon amount whose type has no mapping, held in suspense."""

    event_id: int
    posting_id: int = Field(description="its suspense posting; one event may hold several")
    amazon_type: str | None = Field(description="transaction type / amount type / amount description")
    amount: Amount = Field(description="as Amazon signed it")
    currency: str
    date: date
    settlement_id: str | None
    order_id: str | None
    marketplace: str | None
    sku: str | None
    source: ExceptionSource
    status: Literal["open", "reclassed"]


class ExceptionPage(Page[ExceptionItem, int]):
    """Exceptions by posting; `next` is the posting_id of the last one of the page."""


class BridgeAccount(BaseModel):
    account: str
    amount: Amount


class BridgeLine(BaseModel):
    line: str = Field(examples=["gross sales"])
    role: str = Field(examples=["revenue"])
    amount: Amount
    accounts: list[BridgeAccount]


class GrossToNetCurrency(BaseModel):
    currency: str
    bridge: list[BridgeLine]
    net_proceeds: Amount
    check: Amount = Field(description="the lines minus clearing moved by the same rows: 0.00 unless the journal "
                                      "is broken")
    disbursed: Amount | None = Field(None, description="null when filtered by marketplace (see notes)")
    carried: Amount | None = Field(None, description="null when filtered by marketplace (see notes)")
    in_transit: Amount | None = Field(None, description="null when filtered by marketplace (see notes)")


class GrossToNet(BaseModel):
    subsidiary: str
    subsidiary_name: str
    from_: date | None = Field(alias="from")
    to: date | None
    settlement: str | None
    marketplace: str | None
    currencies: list[GrossToNetCurrency]
    notes: list[str]


class UnitGap(BaseModel):
    """A settlement sale whose units could not be costed: its money posted, its units wait in the exception queue."""

    order_id: str
    sku: str = Field(description="the seller SKU as the settlement gives it")
    units: int
    kind: str = Field(examples=["short_of_units"])
    message: str


class SettlementUnits(BaseModel):
    """What the settlement's order rows posted as unit sales (subsidiary setting unit_source = settlement)."""

    unit_source: str = Field(examples=["settlement"])
    order_items: int = Field(description="FBA order items with a quantity in the document")
    posted: int = Field(description="sales newly posted at cost (COGS)")
    duplicates: int = Field(description="order items already posted (nothing changed for them)")
    counted_by_inventory_ledger: int = Field(description="order items whose shipment the inventory ledger already "
                                             "posted: counted once, never twice")
    units: int = Field(description="units of the sales newly posted")
    cogs: Amount = Field(description="their cost of goods sold, in the functional currency")
    exceptions: list[UnitGap]
    without_units: int = Field(0, description="order rows without an order id, a SKU or a quantity")
    merchant_fulfilled: int = Field(0, description="order rows fulfilled by the merchant: not FBA units")
    listed_twice: int = Field(0, description="order items the document lists twice (counted once)")


class IngestReport(BaseModel):
    document: str
    format: str = Field(examples=["settlement-v2"])
    rows: int
    events: int = Field(description="events newly written")
    entries: int
    duplicates: int = Field(description="events already in the log (nothing changed for them)")
    suspense: int = Field(description="amounts newly put in suspense (no mapping)")
    superseded: int = Field(description="Finances amounts recorded but not posted: a flat file settled them")
    voided: int = Field(description="entries reversed because final or flat-file data superseded them")
    settlements: list[str]
    warnings: list[str]
    units: SettlementUnits | None = Field(None, description="present when the subsidiary's unit source is the "
                                          "settlement: the units its order rows posted")
