"""REST shapes of the audit trace: a NetSuite line back to its sources, and what makes up a balance."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from ledger_service.api.schemas import Amount, Page


class TracedJournal(BaseModel):
    external_id: str = Field(examples=["LS-US-2026-10-S-28471003921"])
    subsidiary: str
    period: str = Field(examples=["2026-10"])
    date: str
    memo: str
    kind: str = Field(description="journal, reversal or replacement")
    version: int
    currency: str = Field(description="the subsidiary's functional currency: every amount's currency")
    debits: Amount
    credits: Amount


class ExportRef(BaseModel):
    event_id: int
    format: str
    file: str | None
    sha256: str
    recorded_at: datetime
    actor: str | None


class TracedLine(BaseModel):
    number: int = Field(description="from 1, in the order of the export")
    account: str = Field(description="the NetSuite account as the CSV writes it")
    account_id: str = Field(description="the NetSuite internal id REST references")
    debit: Amount | None
    credit: Amount | None
    memo: str
    department: str | None
    class_: str | None = Field(alias="class")
    location: str | None
    name: str | None
    segments: dict[str, str]
    rounding: bool = Field(description="the journal's rounding residue: no postings behind it")


class LineSummary(TracedLine):
    postings: int = Field(description="how many postings are summed into it")


class TracedPosting(BaseModel):
    posting_id: int
    account: str = Field(description="our account")
    amount: Amount = Field(description="functional amount (negated on a reversal journal)")
    currency: str
    transaction_amount: Amount
    transaction_currency: str
    entry_id: int
    event_id: int
    date: str
    source_line: int | None
    settlement_id: str | None
    order_id: str | None
    sku: str | None
    marketplace: str | None


class TracedEntry(BaseModel):
    id: int
    event_id: int
    date: str
    description: str
    state: str
    currency: str
    rate: str
    reverses_entry_id: int | None
    original_date: str | None


class TracedEvent(BaseModel):
    id: int
    kind: str
    idempotency_key: str
    source_system: str
    document: str | None
    sha256: str | None
    line: int | None
    page: str | None
    occurred_at: datetime
    recorded_at: datetime
    actor: str | None


class SourceRow(BaseModel):
    event_id: int
    document: str | None = Field(description="the source file's name, or what posted it")
    sha256: str | None = Field(description="sha256 of the source document")
    line: int | None = Field(description="the line of the source file")
    page: str | None = Field(description="the API page or group, for SP-API data")
    raw: str = Field(description="the source row (or API payload) verbatim")


class NetSuiteTrace(BaseModel):
    """A NetSuite journal and its lines; with `?line=N`, that line and everything behind it."""

    model_config = {"populate_by_name": True}

    external_id: str
    journal: TracedJournal
    exports: list[ExportRef] = Field(description="the export events that sent it")
    lines: list[LineSummary]
    line: TracedLine | None
    postings: list[TracedPosting]
    postings_total: Amount | None = Field(description="the postings' sum: the line's amount to the cent")
    entries: list[TracedEntry]
    events: list[TracedEvent]
    sources: list[SourceRow]


class BalancePosting(BaseModel):
    posting_id: int
    account: str
    date: str
    state: str = Field(description="posted, or pending (provisional)")
    entry_id: int
    event_id: int
    description: str
    commodity: str
    amount: Amount = Field(description="in the entry's currency (units postings: their value)")
    currency: str
    functional_amount: Amount
    document: str | None
    line: int | None
    page: str | None


class BalanceTrace(Page[BalancePosting, int]):
    """The postings that make up a balance, by posting id; `next` is the last posting id of the page."""

    subsidiary: str
    account: str = Field(description="the account, with its children")
    as_of: str | None
    functional_currency: str
    total: Amount = Field(description="posted balance in the functional currency, over every page")
    pending: Amount = Field(description="pending (provisional) postings' sum, over every page")
