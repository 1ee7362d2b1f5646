"""REST shapes of events: the list (without the raw source) and one event (with it)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from ledger_service.api.schemas import Page


class EventSource(BaseModel):
    system: str = Field(description="manual, ledger, amazon-settlement-v2, sp-api-finances-v0, ...")
    document: str | None = Field(description="file name, or what posted it")
    sha256: str | None = Field(description="sha256 of the source document")
    line: int | None = Field(description="line of the source file")
    page: str | None = Field(description="API page or group")


class EventSummary(BaseModel):
    id: int
    subsidiary: str
    seq: int = Field(description="position in the subsidiary's hash chain, from 1")
    kind: str = Field(examples=["manual_journal"])
    occurred_at: datetime = Field(description="UTC")
    recorded_at: datetime = Field(description="UTC")
    idempotency_key: str
    actor: str | None = Field(description="who wrote it through the API (`token:NAME`); null from the CLI")
    source: EventSource
    href: str = Field(examples=["/events/42"])


class EntryRef(BaseModel):
    id: int
    href: str = Field(examples=["/journal-entries/7"])


class Event(EventSummary):
    """One event: its raw source verbatim, its place in the chain, and the entries it posted."""

    input_hash: str = Field(description="sha256 over the fact's content: what idempotency compares")
    raw: str = Field(description="the source row or payload, verbatim")
    prev_hash: str
    hash: str = Field(description="sha256(prev_hash + canonical JSON of the event and its entries)")
    entries: list[EntryRef]


class EventPage(Page[EventSummary, int]):
    """Events by id; `next` is the id of the last event of the page."""
