"""Small builders for tests: events and entries without ceremony."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from ledger_service.eventlog.model import EventDraft, Source
from ledger_service.journal.model import EntryDraft, money_posting


def event(key: str, subsidiary: str = "US", kind: str = "manual_journal", raw: str | None = None) -> EventDraft:
    return EventDraft(subsidiary=subsidiary, kind=kind, occurred_at=datetime(2026, 10, 31, 12, 0),
                      idempotency_key=key, raw=raw if raw is not None else f'{{"key": "{key}"}}',
                      source=Source(system="test", document="tests"))


def transfer(debit: str, credit: str, amount: str, subsidiary: str = "US", currency: str = "USD",
             on: date = date(2026, 10, 31), rate: str = "1", **dims) -> EntryDraft:
    value = Decimal(amount)
    return EntryDraft(subsidiary, on, currency, f"{debit} / {credit}",
                      (money_posting(debit, value, **dims), money_posting(credit, -value, **dims)), rate=Decimal(rate))
