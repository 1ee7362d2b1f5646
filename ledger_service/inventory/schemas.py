"""REST shapes of the inventory views: positions by state, valuation by lot, COGS and margin, the roll-forward.

Amounts are decimal strings in the subsidiary's functional currency; units are whole numbers."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from ledger_service.api.schemas import Amount


class Position(BaseModel):
    """Units of a SKU in one state of one location, posted, as of the date asked."""

    sku: str = Field(examples=["WIDGET"])
    location: str | None = Field(examples=["FBA-US"], description="null: an inventory account not named "
                                 "Assets:Inventory:<LOCATION>:<State>")
    state: str | None = Field(examples=["Available"])
    account: str = Field(examples=["Assets:Inventory:FBA-US:Available"])
    units: int
    value: Amount = Field(description="what the units cost, functional currency")


class Lot(BaseModel):
    """A lot's units in one state of one location, and their value."""

    sku: str
    location: str | None
    state: str | None
    account: str
    lot: str | None = Field(examples=["PO-123:1"], description="the `lot` dimension of the units postings")
    units: int
    unit_cost: Amount | None = Field(description="value / units, 6 decimals, functional currency; null with no units")
    value: Amount = Field(description="functional currency")


class Valuation(BaseModel):
    subsidiary: str
    as_of: str | None
    currency: str = Field(description="the functional currency")
    total: Amount = Field(description="the sum of the lots' values: the inventory accounts' balance to the cent")
    units: int
    lots: list[Lot]


class CogsRow(BaseModel):
    """COGS of the units of a sales SKU in a marketplace, beside the revenue of that SKU and marketplace."""

    sku: str | None = Field(description="the SKU sold (a bundle's components count for the bundle)")
    marketplace: str | None = Field(description="the selling location's marketplace; null for a location without one")
    units: int = Field(description="units that left, net of returns (a bundle: its component units)")
    cogs: Amount
    revenue: Amount = Field(description="Income:Amazon:Sales:Principal")
    refunds: Amount = Field(description="principal refunded (Income:Amazon:Refunds)")
    net_revenue: Amount
    gross_margin: Amount = Field(description="net_revenue - cogs")
    margin_pct: Amount | None = Field(description="gross_margin / net_revenue x 100, 2 decimals; null without revenue")


class CogsTotal(BaseModel):
    units: int
    cogs: Amount
    revenue: Amount
    refunds: Amount
    net_revenue: Amount
    gross_margin: Amount
    margin_pct: Amount | None


class Cogs(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    subsidiary: str
    date_from: str = Field(alias="from")
    date_to: str = Field(alias="to")
    currency: str
    rows: list[CogsRow]
    total: CogsTotal


class RollforwardRow(BaseModel):
    """A month: opening + receipts - cogs - write_offs + adjustments = closing, in value and in units."""

    model_config = ConfigDict(populate_by_name=True)

    period: str = Field(examples=["2026-03"])
    date_from: str = Field(alias="from")
    date_to: str = Field(alias="to")
    opening_units: int
    opening_value: Amount
    receipts_units: int
    receipts_value: Amount
    cogs_units: int
    cogs_value: Amount
    write_offs_units: int
    write_offs_value: Amount
    adjustments_units: int
    adjustments_value: Amount
    closing_units: int
    closing_value: Amount


class Rollforward(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    subsidiary: str
    date_from: str = Field(alias="from")
    date_to: str = Field(alias="to")
    currency: str
    rows: list[RollforwardRow]


class UnitException(BaseModel):
    """A unit fact that posted nothing (or posted and was flagged), from either unit source."""

    source: str = Field(examples=["inventory_ledger"], description="inventory_ledger: a row of the FBA inventory "
                        "ledger report; settlement: a settlement sale whose units could not be costed")
    event_id: int = Field(description="the event that records it (GET /events/{id} shows the raw row)")
    kind: str = Field(examples=["unknown-sku"])
    status: str = Field(description="open: nothing posted yet; flagged: posted, with a warning; resolved / posted "
                        "/ counted_by_inventory_ledger: closed (listed with all=true)")
    date: str
    sku: str | None = Field(description="the brand SKU when resolved, else the seller SKU as given")
    msku: str | None = None
    fnsku: str | None = None
    order_id: str | None = None
    location: str | None = None
    marketplace: str | None = None
    quantity: int | None = Field(None, description="units as the source gives them: the inventory ledger signs "
                                 "them (+ in, - out); a settlement's quantity purchased is positive")
    message: str
    document: str | None = None
    line: int | None = None
    page: int | None = None
