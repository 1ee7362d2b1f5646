"""REST shapes of journal entries, and the manual journal a controller posts."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ledger_service.api.schemas import Amount, DecimalIn, Text


class ManualPosting(BaseModel):
    """Money (`amount`: positive debits, negative credits) or units of a SKU at a cost (`units`, `sku`, `cost`)."""

    model_config = ConfigDict(extra="forbid")

    account: str = Field(min_length=1, max_length=300, examples=["Expenses:Amazon:Fees:Storage"])
    amount: DecimalIn | None = Field(None, description="positive debits, negative credits; for units, optional "
                                                       "and then equal to units x cost")
    units: DecimalIn | None = Field(None, description="units of `sku` (needs sku and cost)")
    sku: str | None = Field(None, min_length=1, max_length=100)
    cost: DecimalIn | None = Field(None, description="cost per unit, in the entry currency")
    marketplace: str | None = Field(None, max_length=64)
    settlement_id: str | None = Field(None, max_length=64)
    order_id: str | None = Field(None, max_length=64)
    location: str | None = Field(None, max_length=64)
    dimensions: dict[str, str] | None = Field(None, description="further dimensions, name -> value")


class ManualJournal(BaseModel):
    """A controller's adjustment: one balanced entry, posted once per idempotency key."""

    model_config = ConfigDict(extra="forbid")

    subsidiary: str = Field(min_length=1, max_length=32, examples=["US"])
    date: dt.date = Field(description="effective date")
    currency: str = Field(min_length=3, max_length=3, description="transaction currency (ISO 4217)",
                          examples=["USD"])
    description: str = Field(min_length=1, max_length=2000)
    idempotency_key: str = Field(min_length=1, max_length=500, description="the same key and content again is a "
                                                                           "no-op (200); other content is a 409")
    rate: DecimalIn | None = Field(None, description="transaction to functional currency; default 1")
    postings: list[ManualPosting] = Field(min_length=2, max_length=10_000)

    def as_document(self) -> dict:
        """The body as the ledger keeps it (the event's raw JSON): the fields the client sent, none of the absent."""
        return self.model_dump(mode="json", exclude_unset=True, exclude_none=True)


class ReverseRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Text = Field(min_length=1, max_length=2000,
                         description="why the entry is reversed (kept on the reversing entry)")
    date: dt.date | None = Field(default=None, description="effective date of the reversal; default the original's")
    idempotency_key: Text | None = Field(None, min_length=1, max_length=500)


class SourceEventRef(BaseModel):
    id: int
    kind: str
    idempotency_key: str
    source_system: str
    source_document: str | None
    source_line: int | None
    source_page: str | None
    href: str = Field(examples=["/events/42"])


class Links(BaseModel):
    reverses: int | None = Field(description="the entry this one reverses")
    reversed_by: int | None = Field(description="the entry that reverses this one")


class PostingView(BaseModel):
    id: int
    account: str
    commodity: str = Field(description="the entry currency, or the SKU of a units posting")
    amount: Amount = Field(description="weight in the entry currency: positive debits, negative credits")
    functional_amount: Amount
    dimensions: dict[str, str] = Field(description="marketplace, settlement_id, order_id, sku, location and others")
    source_line: int | None = Field(None, description="the source file's line the amount was read from")
    units: Amount | None = Field(None, description="units postings: the units of the SKU")
    cost_per_unit: Amount | None = Field(None, description="units postings: cost per unit in the entry currency")


class Entry(BaseModel):
    id: int
    subsidiary: str
    date: dt.date
    currency: str
    functional_currency: str
    rate: Amount = Field(description="entry currency to functional currency")
    description: str
    state: Literal["posted", "pending"]
    reason: str | None = Field(description="why a reversal was posted")
    links: Links
    source_events: list[SourceEventRef]
    postings: list[PostingView]
