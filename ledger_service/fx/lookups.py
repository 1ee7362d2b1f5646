"""What ingest reads from the ledger for amounts in a foreign currency, behind calls the planner makes without I/O
of its own (ingest.plan stays pure: it asks, the ingest service answers).

- `RateCache`: the rate (transaction currency -> functional) of a day, from the rates table through
  rates.service.rate_on (that day's rate, else the latest within limits.RATE_FALLBACK, the inverse pair, a cross
  rate through EUR), read once per (currency, day) and kept: an ingest of a foreign settlement reads one rate per
  day its rows span, never one per row. Functional-currency amounts never ask.
- `clearing_held`: the functional value at which Amazon clearing carries one settlement once the document being
  ingested has posted and ingest.precedence has voided what it supersedes: the realized FX of the settlement's
  disbursement is measured against it (posting.amazon.settlement_events).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Callable

from sqlalchemy import Connection, func, select

from ledger_service.ingest.precedence import FLAT_FILE_SYSTEMS
from ledger_service.journal.service import live_entries
from ledger_service.money import currency_exponent, from_minor
from ledger_service.posting.amazon import CLEARING
from ledger_service.rates.service import rate_on
from ledger_service.store.tables import accounts, entries, events, postings


class RateCache:
    """`cache(currency, day)` -> the rate of 1 `currency` in the functional currency on `day`; NotFound (naming the
    pair and the day) when the rates table has none. `before_read` runs before each query: ingest passes the wait
    for its writer thread, so that the connection is never used by two threads at once."""

    def __init__(self, conn: Connection, functional_currency: str, before_read: Callable[[], None] | None = None):
        self.conn, self.functional_currency, self.before_read = conn, functional_currency, before_read
        self.rates: dict[tuple[str, date], Decimal] = {}

    def __call__(self, currency: str, day: date) -> Decimal:
        key = (currency, day)
        rate = self.rates.get(key)
        if rate is None:
            if self.before_read is not None:
                self.before_read()
            rate = self.rates[key] = rate_on(self.conn, currency, self.functional_currency, day).rate
        return rate


def clearing_held(conn: Connection, subsidiary: str, functional_currency: str, settlement_id: str,
                  flat_file: bool) -> Decimal:
    """The functional amount of every Amazon clearing posting tagged with the settlement, less those of the entries
    ingest.precedence.void will reverse when the document now being ingested is done: the live Finances entries of
    the settlement (all of them when the document is its flat file; the pending ones when it is its closed group).
    A reversal negates its original exactly, so what it voids simply drops out. Keep in step with precedence.void.
    """
    account_id = conn.execute(select(accounts.c.id).where(accounts.c.subsidiary == subsidiary,
                                                          accounts.c.name == CLEARING)).scalar()
    if account_id is None:
        return Decimal(0)
    tagged = (postings.c.subsidiary == subsidiary, postings.c.settlement_id == settlement_id,
              postings.c.account_id == account_id)
    held = conn.execute(select(func.sum(postings.c.functional_amount)).where(*tagged)).scalar() or 0
    voided = (
        select(func.sum(postings.c.functional_amount))
        .select_from(postings.join(entries, entries.c.id == postings.c.entry_id)
                     .join(events, events.c.id == entries.c.event_id))
        .where(*tagged, entries.c.subsidiary == subsidiary, live_entries(),
               events.c.source_system.not_in(FLAT_FILE_SYSTEMS), events.c.source_system.like("sp-api%"))
    )
    if not flat_file:
        voided = voided.where(entries.c.state == "pending")
    held -= conn.execute(voided).scalar() or 0
    return from_minor(int(held), currency_exponent(functional_currency))
