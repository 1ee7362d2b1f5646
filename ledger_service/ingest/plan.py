"""From a document's records to what posts: Amazon transactions, settlement summaries, Finances amounts.

The problem: a settlement flat file lists one order item's principal, tax, facilitator withholding, commission
and FBA fee as five rows. Amazon's unit is the transaction those rows make up, and so is an accountant's: one
entry that credits revenue and tax, debits the fees and puts the net into clearing. Posting each row as its own
event and entry would multiply log rows, clearing lines and hashes by five for nothing an auditor needs, since
every posting keeps the line it was read from. So consecutive rows with the same transaction key
(posting.amazon.transaction_key) post as one event with one entry.

A flat-file settlement's summary posts after its rows (at the end of the file, once even if the file summarises
it twice), with how many amounts they held and a digest of their events' input hashes. The summary is the settlement's identity (its key is the settlement id), so the same
settlement ingested again with any row changed, added or removed is a conflict on the summary, and the file
posts nothing, even where a changed grouping would have given some transactions new keys.

Finances amounts stay one event each: pages split an event group anywhere, and a grouping that depended on page
boundaries would give the same money two keys.

An amount in a currency other than the functional one posts at the rate of its entry's date, asked of `rates`; a
closed foreign settlement with a positive total is converted at its deposit date's rate against the value clearing
carries it at, asked of `carried` once everything before it in the document has been yielded (see docs/fx.md). A
closed event group in a foreign currency is therefore yielded at the end of its document, after its amounts, as a
flat file's summary is. Both are calls the ingest service answers from the ledger; without them (rates None) a
foreign amount is refused, naming its line.

Pure: no I/O. ingest.service reads what this yields and writes it in batches.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Callable, Iterable, Iterator

from ledger_service import limits
from ledger_service.errors import LedgerError
from ledger_service.ingest import precedence
from ledger_service.posting.amazon import (Posted, amount_entry, disbursement_date, settlement_events,
                                           summary_fields, transaction_entry, transaction_key)
from ledger_service.sources.amazon.settlement_v2 import summary_dates_problem
from ledger_service.sources.model import AmazonAmount, ParseError, SettlementSummary, posted_day


def is_flat_file(system: str) -> bool:
    return system in precedence.FLAT_FILE_SYSTEMS


@dataclass
class Planner:
    """Turns one document's records into Posted items, in order, and notes what the ingest report needs."""

    subsidiary: str
    functional_currency: str
    mapping: object
    settled: set[str]  # settlement ids whose truth is already a flat file (precedence.settled_by_flat_file)
    document: str
    # event group id -> its end (else start) as an earlier document recorded it: the date of undated amounts
    group_dates: dict[str, datetime] = field(default_factory=dict)
    settlements: list[str] = field(default_factory=list)
    final_ids: set[str] = field(default_factory=set)
    superseded: int = 0  # Finances amounts recorded but not posted: a flat file already settled them
    periods: dict[str, tuple] = field(default_factory=dict)  # settlement id -> (start, end) of its summary
    # (currency, day) -> rate to the functional currency (LedgerError naming pair and day when there is none)
    rates: Callable[[str, date], Decimal] | None = None
    # (settlement id, flat file?) -> the functional value clearing holds for it once all yielded so far is written
    carried: Callable[[str, bool], Decimal] | None = None

    def plan(self, records: Iterable[SettlementSummary | AmazonAmount]) -> Iterator[Posted]:
        period_end: dict[str, datetime | None] = {}  # settlement id -> its end, for rows that carry no date
        held: dict[str, _Held] = {}  # a flat file's summaries, posted after all their rows (at the end)
        group: list[AmazonAmount] = []
        key: tuple | None = None
        latest: dict[str | None, datetime] = {}  # event group -> latest posted date of its amounts in this document
        undated: list[AmazonAmount] = []

        closed_foreign: list[SettlementSummary] = []  # closed foreign groups: converted after their amounts

        def flush_group() -> Iterator[Posted]:
            nonlocal group
            if group:
                posted = transaction_entry(self.subsidiary, group, self.mapping,
                                           default_date=self._document_date(period_end, group[0]))
                if group[0].currency != self.functional_currency:
                    posted = self._at_rate(posted, group[0])
                # by id: parse_document lists every summary before the rows (the streamed reader interleaves them)
                held[group[0].settlement_id].add(posted.event.input_hash, len(group))
                group = []
                yield posted

        for record in records:
            if isinstance(record, SettlementSummary):
                self._check_summary(record)
                self.periods[record.settlement_id] = (record.start, record.end)
                yield from flush_group()
                # the date of rows that carry none: the document's own, never the clock (the same file ingested on
                # another day posts the same entries)
                period_end[record.settlement_id] = record.end or record.start or record.deposit_date
                if record.settlement_id not in self.settlements:
                    self.settlements.append(record.settlement_id)
                if record.final:
                    self.final_ids.add(record.settlement_id)
                if is_flat_file(record.source.system):
                    held.setdefault(record.settlement_id, _Held(record)).check_same(record, self.document)
                elif record.final and record.currency != self.functional_currency and not self._superseded(record):
                    closed_foreign.append(record)
                else:
                    yield self._settlement(record, superseded=self._superseded(record))
                continue
            self._check_currency(record)
            if record.final and record.settlement_id:
                self.final_ids.add(record.settlement_id)
            if is_flat_file(record.source.system):
                this = transaction_key(record)
                if group and this != key:
                    yield from flush_group()
                group.append(record)
                key = this
                continue
            if record.posted_at is not None:
                latest[record.settlement_id] = max(record.posted_at, latest.get(record.settlement_id, record.posted_at))
            elif self._group_date(period_end, record) is None:
                undated.append(record)  # dated at the end, by the latest posted date of its group in this document
                continue
            yield self._amount(record, self._group_date(period_end, record))
        yield from flush_group()
        for record in undated:
            yield self._amount(record, self._document_date(latest, record))
        for summary in held.values():
            yield self._settlement(summary.summary, rows=(summary.count, summary.digest.hexdigest()))
        for record in closed_foreign:
            yield self._settlement(record)

    def _amount(self, record: AmazonAmount, default_date: datetime | None) -> Posted:
        superseded = self._superseded(record)
        self.superseded += superseded
        posted = amount_entry(self.subsidiary, record, self.mapping, superseded=superseded, default_date=default_date)
        if record.currency != self.functional_currency:
            posted = self._at_rate(posted, record)
        return posted

    def _at_rate(self, posted: Posted, record: AmazonAmount) -> Posted:
        """A foreign amount's entries at the rate of their own date."""
        if not posted.entries:
            return posted
        entries = tuple(replace(e, rate=self._rate(e.currency, e.date, record)) for e in posted.entries)
        return Posted(posted.event, entries, posted.suspense)

    def _settlement(self, summary: SettlementSummary, superseded: bool = False,
                    rows: tuple[int, str] | None = None) -> Posted:
        """The summary's event and its disbursement or carry; a foreign one at its deposit date's rate, converted
        (when positive) against what clearing carries the settlement at: everything yielded before it included."""
        total, when = summary.total_amount, disbursement_date(summary)
        if (summary.currency == self.functional_currency or superseded or not summary.final or not total
                or when is None):  # nothing converts (a missing date is settlement_events' error)
            return settlement_events(self.subsidiary, summary, superseded, rows)
        rate = self._rate(summary.currency, posted_day(when), summary)
        carried = None
        if total > 0:
            if self.carried is None:
                raise ParseError(self.document, summary.source.line or summary.source.page,
                                 f"settlement {summary.settlement_id} in {summary.currency} cannot be converted: "
                                 "no ledger to read what clearing carries it at")
            carried = self.carried(summary.settlement_id, is_flat_file(summary.source.system))
        return settlement_events(self.subsidiary, summary, superseded, rows,
                                 functional_currency=self.functional_currency, rate=rate, carried=carried)

    def _rate(self, currency: str, day: date, record: SettlementSummary | AmazonAmount) -> Decimal:
        where = record.source.line or record.source.page
        if self.rates is None:
            raise ParseError(self.document, where,
                             f"amount in {currency} for subsidiary {self.subsidiary} "
                             f"(functional {self.functional_currency}): no exchange rate source configured")
        try:
            return self.rates(currency, day)
        except LedgerError as exc:
            raise ParseError(self.document, where, f"amount in {currency} for subsidiary {self.subsidiary} "
                             f"(functional {self.functional_currency}) on {day}: {exc.message}") from None

    def _group_date(self, period_end: dict, record: AmazonAmount) -> datetime | None:
        return period_end.get(record.settlement_id) or self.group_dates.get(record.settlement_id)

    def _document_date(self, dates: dict, record: AmazonAmount) -> datetime | None:
        """The date an undated amount takes, from its document, never the clock: its settlement's or event group's
        end (else start, else deposit), else the latest posted date of the same group in the same document."""
        when = dates.get(record.settlement_id)
        if when is None and record.posted_at is None:
            raise ParseError(self.document, record.source.line or record.source.page,
                             f"{' / '.join(record.triple)} has no posted date and its document gives none (no "
                             "settlement or event group dates): refused rather than dated by the clock")
        return when

    def _superseded(self, record: SettlementSummary | AmazonAmount) -> bool:
        return not is_flat_file(record.source.system) and record.settlement_id in self.settled

    def _check_currency(self, record: AmazonAmount) -> None:
        """What every amount must be, whatever its source (limits.py): in the functional currency unless the
        planner has rates (the rate itself is asked for when the amount posts), within the allowed range, with
        identifiers that fit their columns and hold no control characters. A violation refuses the whole document,
        naming its line or page."""
        where = record.source.line or record.source.page
        if record.currency != self.functional_currency and self.rates is None:
            raise ParseError(self.document, where,
                             f"amount in {record.currency} for subsidiary {self.subsidiary} "
                             f"(functional {self.functional_currency}): no exchange rate source configured")
        try:
            limits.check_amount(record.amount)
            for name in _IDENTIFIERS:
                value = getattr(record, name)
                if value is not None and (len(value) > _LIMITS[name] or not value.isprintable()):
                    limits.check_text(value, name)
                    raise ValueError(f"{name} holds a tab or another unprintable character")
            start, end = self.periods.get(record.settlement_id, (None, None))
            posted = record.posted_at
            if posted and ((start and posted < start - limits.POSTED_SLACK) or (end and posted > end + limits.POSTED_SLACK)):
                raise ValueError(f"posted {posted:%Y-%m-%d}, more than {limits.POSTED_SLACK.days} days outside its "
                                 f"settlement {record.settlement_id} ({start or end:%Y-%m-%d} to {end or start:%Y-%m-%d})")
            if sum(map(len, record.triple)) > _LIMITS["amazon_type"]:
                raise ValueError(f"transaction / amount type and description are longer than {_LIMITS['amazon_type']}")
        except ValueError as exc:
            raise ParseError(self.document, where, str(exc)) from None

    def _check_summary(self, record: SettlementSummary) -> None:
        where = record.source.line or record.source.page
        try:
            limits.check_text(record.settlement_id, "settlement_id")
            if record.total_amount is not None:
                limits.check_amount(record.total_amount, "total-amount")
        except ValueError as exc:
            raise ParseError(self.document, where, str(exc)) from None
        problem = summary_dates_problem(record)
        if problem:
            raise ParseError(self.document, where, problem)


_IDENTIFIERS = ("settlement_id", "order_id", "merchant_order_id", "adjustment_id", "shipment_id", "marketplace",
                "fulfillment_id", "sku", "order_item_code", "promotion_id")
_LIMITS = {name: limits.MAX_LENGTH[name] for name in _IDENTIFIERS + ("amazon_type",)}


class _Held:
    """A flat-file settlement's summary and what its rows have added up to so far."""

    def __init__(self, summary: SettlementSummary):
        self.summary, self.count, self.digest = summary, 0, hashlib.sha256()

    def add(self, input_hash: str, amounts: int) -> None:
        self.digest.update(input_hash.encode())
        self.count += amounts

    def check_same(self, summary: SettlementSummary, document: str) -> None:
        """A settlement summarised twice in one file must say the same thing both times; its rows then add up."""
        first = self.summary
        if summary is not first and summary_fields(summary) != summary_fields(first):
            raise ParseError(document, summary.source.line,
                             f"settlement {summary.settlement_id} is summarised again with other values "
                             f"(first at line {first.source.line})")
