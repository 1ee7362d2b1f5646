"""Flat File V2 settlement report (GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2) -> canonical records.

The problem: the report is one tab-separated table that mixes two kinds of rows. After the header, a settlement's
summary row carries only settlement-id, start/end/deposit dates, total-amount and currency; every following row
is one amount (transaction-type / amount-type / amount-description / amount ...). A file may hold several
settlements, each opened by its own summary row. Real files are untidy: blank lines, trailing spaces, blank
order ids (storage fees, other-transaction), FBA inbound shipment ids in order-id (FBAFees rows), blank
marketplace names, decimal commas and DD.MM.YYYY dates in EU files.

Every data row becomes one AmazonAmount whose natural key is its ordinal within its settlement in this file, so
two identical rows stay two facts and re-reading the file gives the same keys. A row that cannot be read stops
the whole document with ParseError(document, line, reason): a settlement is reconciled as a whole, so half of
one is worse than none.
"""

from __future__ import annotations

import hashlib
import sys
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from decimal import Decimal

from ledger_service import limits
from ledger_service.sources.amazon import text as tx
from ledger_service.sources.model import AmazonAmount, ParsedDocument, ParseError, SettlementSummary, SourceRef

SYSTEM = "amazon-settlement-v2"
FORMAT = "settlement-v2"

SUMMARY_COLUMNS = ("settlement-id", "settlement-start-date", "settlement-end-date", "deposit-date", "total-amount",
                   "currency")
COLUMNS = SUMMARY_COLUMNS + (
    "transaction-type", "order-id", "merchant-order-id", "adjustment-id", "shipment-id", "marketplace-name",
    "amount-type", "amount-description", "amount", "fulfillment-id", "posted-date", "posted-date-time",
    "order-item-code", "merchant-order-item-id", "merchant-adjustment-item-id", "sku", "quantity-purchased",
    "promotion-id",
)

REQUIRED = ("settlement-id", "amount-type", "amount")
MONEY = ("amount", "amount-type", "amount-description")  # what a summary row never has

# FBA inbound shipment ids (FBA15ABC123) appear in order-id on FBAFees rows; they are not orders.
_FBA_SHIPMENT = re.compile(r"FBA[0-9A-Z]{6,}")


class Row(dict):
    """One physical row: its cells by column name (`row[column]`, "" for a column the layout lacks), its line and
    raw text. A dict, so that reading a cell is one C lookup: ingest reads about twenty per row."""

    __slots__ = ("line", "raw")
    line: int
    raw: str

    def __missing__(self, column: str) -> str:
        return ""


def read_table(text: str, document: str, required: tuple[str, ...]) -> tuple[list[str], list[Row]]:
    """Header + rows by column name; a row whose column count differs from the header's is an error."""
    rows = tx.tab_rows(text)
    if not rows:
        raise ParseError(document, None, "empty document")
    header = read_header(rows[0], document, required)
    return header, [table_row(header, row, document) for row in rows[1:]]


def read_header(row: tuple[int, str, list[str]], document: str, required: tuple[str, ...]) -> list[str]:
    """The header row (a tab_rows tuple) -> lower-case column names; every required column must be there."""
    header_line, _, cells = row
    header = [name.lower() for name in cells]
    missing = [name for name in required if name not in header]
    if missing:
        raise ParseError(document, header_line, f"header lacks columns {', '.join(missing)}")
    return header


_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")  # control characters other than the tab
MAX_LINE = 64 * 1024  # characters: a real settlement row is a few hundred


def table_row(header: list[str], row: tuple[int, str, list[str]], document: str) -> Row:
    """One data row (a tab_rows tuple) -> Row; its column count must be the header's, and it must be text a
    person could have meant: no NUL or other control character, no cell longer than a row could be
    (limits.py; identifiers are checked against their columns by ingest.plan)."""
    line, raw, cells = row
    if len(cells) != len(header):
        raise ParseError(document, line, f"{len(cells)} columns, header has {len(header)}")
    if len(raw) > MAX_LINE:
        raise ParseError(document, line, f"line is {len(raw):,} characters long; a settlement row is at most "
                                         f"{MAX_LINE:,}")
    if _CONTROL.search(raw):
        raise ParseError(document, line, "contains a control character (such as NUL): not a text row")
    row = Row(zip(header, cells))  # dict's own constructor: a Python __init__ here costs a call per row
    row.line, row.raw = line, raw
    return row


def decimal_convention(rows: list[Row], columns: tuple[str, ...]) -> bool | None:
    return tx.infer_decimal_comma([row[c] for row in rows for c in columns if row[c]])


def cell_decimal(row: Row, column: str, document: str, decimal_comma: bool | None) -> Decimal:
    try:
        return limits.check_amount(tx.parse_decimal(row[column], decimal_comma))
    except ValueError as exc:
        raise ParseError(document, row.line, f"{column}: {exc}") from None


def cell_datetime(row: Row, column: str, document: str):
    try:
        return tx.parse_date_or_none(row[column])
    except ValueError as exc:
        raise ParseError(document, row.line, f"{column}: {exc}") from None


def cell_int(row: Row, column: str, document: str) -> int | None:
    try:
        return tx.parse_int_or_none(row[column])
    except ValueError as exc:
        raise ParseError(document, row.line, f"{column}: {exc}") from None


def read_summary(row: Row, document: str, sha256: str, system: str, decimal_comma: bool | None) -> SettlementSummary:
    currency = row["currency"]
    if not currency:
        raise ParseError(document, row.line, "summary row without currency")
    summary = SettlementSummary(
        settlement_id=row["settlement-id"],
        currency=currency,
        total_amount=cell_decimal(row, "total-amount", document, decimal_comma),
        start=cell_datetime(row, "settlement-start-date", document),
        end=cell_datetime(row, "settlement-end-date", document),
        deposit_date=cell_datetime(row, "deposit-date", document),
        final=True,  # a settlement flat file is only published once the settlement is closed
        source=SourceRef(system, document, sha256, row.line, None, row.raw),
    )
    problem = summary_dates_problem(summary)
    if problem:
        raise ParseError(document, row.line, problem)
    return summary


def summary_dates_problem(summary: SettlementSummary) -> str | None:
    """What is impossible about a settlement's own dates: an end before its start, a deposit before its start or
    long after its end (limits.DEPOSIT_AFTER_END). Shared with the Finances event groups."""
    start, end, deposit = summary.start, summary.end, summary.deposit_date
    if start and end and end < start:
        return f"settlement {summary.settlement_id} ends ({end:%Y-%m-%d}) before it starts ({start:%Y-%m-%d})"
    if start and deposit and deposit.date() < start.date():
        return (f"settlement {summary.settlement_id}: deposit date {deposit:%Y-%m-%d} is before the settlement "
                f"starts ({start:%Y-%m-%d})")
    if end and deposit and deposit - end > limits.DEPOSIT_AFTER_END:
        return (f"settlement {summary.settlement_id}: deposit date {deposit:%Y-%m-%d} is more than "
                f"{limits.DEPOSIT_AFTER_END.days} days after it ends ({end:%Y-%m-%d})")
    return None


class Settlements:
    """Tracks which settlement a data row belongs to and numbers its rows (shared with the legacy layout)."""

    def __init__(self, document: str):
        self.document = document
        self.current: SettlementSummary | None = None
        self.summaries: list[SettlementSummary] = []
        self.ordinals: Counter[str] = Counter()
        self.sums: dict[str, Decimal] = {}

    @property
    def rows(self) -> int:
        """Data rows claimed so far."""
        return sum(self.ordinals.values())

    def open(self, summary: SettlementSummary) -> None:
        self.current = summary
        self.summaries.append(summary)
        self.sums.setdefault(summary.settlement_id, Decimal(0))

    def claim(self, row: Row) -> tuple[SettlementSummary, int]:
        """The summary a data row belongs to and the row's 1-based ordinal within that settlement."""
        settlement_id = row["settlement-id"]
        if not settlement_id:
            raise ParseError(self.document, row.line, "data row without settlement-id")
        if self.current is None:
            raise ParseError(self.document, row.line, "data row before any summary row")
        if settlement_id != self.current.settlement_id:
            raise ParseError(self.document, row.line,
                             f"settlement-id {settlement_id} under summary of {self.current.settlement_id}")
        currency = row["currency"]
        if currency and currency != self.current.currency:
            raise ParseError(self.document, row.line,
                             f"currency {currency} differs from its summary's {self.current.currency}")
        self.ordinals[settlement_id] += 1
        return self.current, self.ordinals[settlement_id]

    def add(self, settlement_id: str, amount: Decimal) -> None:
        self.sums[settlement_id] += amount

    def warnings(self) -> list[str]:
        # A settlement id may be summarised twice in one file; compare only when the totals agree with each other.
        totals: dict[str, set[Decimal]] = {}
        for summary in self.summaries:
            totals.setdefault(summary.settlement_id, set()).add(summary.total_amount)
        out = []
        for settlement_id, seen in totals.items():
            if len(seen) == 1 and (total := next(iter(seen))) is not None and self.sums[settlement_id] != total:
                out.append(f"settlement {settlement_id}: rows sum to {self.sums[settlement_id]}, total-amount is {total}")
        return out


def is_summary(row: Row, money_columns: tuple[str, ...]) -> bool:
    """A summary row has no transaction-type and no amount, but a total or a deposit date."""
    no_money = not any(row[c] for c in money_columns)
    return (not row["transaction-type"] and no_money
            and bool(row["total-amount"] or row["deposit-date"]))


def row_fields(row: Row) -> dict[str, str | None]:
    """The identifying cells both flat-file layouts carry under the same names (blank is None)."""
    return {"merchant_order_id": row["merchant-order-id"] or None, "adjustment_id": row["adjustment-id"] or None,
            "marketplace": row["marketplace-name"] or None, "fulfillment_id": row["fulfillment-id"] or None,
            "sku": row["sku"] or None, "order_item_code": row["order-item-code"] or None}


def split_order_id(row: Row) -> tuple[str | None, str | None, tuple[tuple[str, str], ...]]:
    """(order_id, shipment_id, extra): an FBA shipment id in order-id moves to shipment_id, never posing as an order."""
    order_id, shipment_id = row["order-id"] or None, row["shipment-id"] or None
    if order_id and order_id.startswith("FBA") and _FBA_SHIPMENT.fullmatch(order_id):
        return None, shipment_id or order_id, (("order-id", order_id),)
    return order_id, shipment_id, ()


def convention_columns(header: list[str], document: str) -> tuple[str, ...]:
    """The columns whose values decide the file's decimal mark (see decimal_convention)."""
    return ("amount", "total-amount")


def parse(data: bytes, document: str, *, sha256: str | None = None, text: str | None = None) -> ParsedDocument:
    return parse_flat_file(sys.modules[__name__], data, document, sha256=sha256, text=text)


def parse_flat_file(layout, data: bytes, document: str, *, sha256: str | None, text: str | None) -> ParsedDocument:
    """Parse a whole flat file with a layout module (this one, or settlement_legacy): the same steps for both."""
    sha256 = sha256 or hashlib.sha256(data).hexdigest()
    content = text if text is not None else tx.decode(data, document)
    header, rows = read_table(content, document, layout.REQUIRED)
    decimal_comma = decimal_convention(rows, layout.convention_columns(header, document))
    settlements = Settlements(document)
    amounts = [record for record in layout.records(rows, header, settlements, document, sha256, decimal_comma)
               if isinstance(record, AmazonAmount)]
    if not settlements.summaries:
        raise ParseError(document, None, "no summary row")
    return ParsedDocument(document, sha256, layout.FORMAT, tuple(settlements.summaries), tuple(amounts),
                          tuple(settlements.warnings()), rows=settlements.rows)


def records(rows: Iterable[Row], header: list[str], settlements: Settlements, document: str, sha256: str,
            decimal_comma: bool | None) -> Iterator[SettlementSummary | AmazonAmount]:
    """Data rows (after the header) -> records one at a time, in file order; settlements tracks the state.

    Shared by `parse` and the streaming reader (stream.py), so both yield the same records and the same errors.
    """
    for row in rows:
        # A row with a transaction type is never a summary (is_summary): most rows skip the full test.
        summary = None if row["transaction-type"] else open_summary(row, MONEY, settlements, document, sha256,
                                                                      SYSTEM, decimal_comma)
        if summary is not None:
            yield summary
        else:
            yield _amount(row, settlements, document, sha256, decimal_comma)


def open_summary(row: Row, money_columns: tuple[str, ...], settlements: Settlements, document: str, sha256: str,
                 system: str, decimal_comma: bool | None) -> SettlementSummary | None:
    """The summary a row opens (and the settlement it starts), or None for a data row. Shared by both layouts."""
    if not is_summary(row, money_columns):
        return None
    if not row["settlement-id"]:
        raise ParseError(document, row.line, "summary row without settlement-id")
    summary = read_summary(row, document, sha256, system, decimal_comma)
    settlements.open(summary)
    return summary


def _amount(row: Row, settlements: Settlements, document: str, sha256: str, decimal_comma: bool | None) -> AmazonAmount:
    summary, ordinal = settlements.claim(row)
    if not row["amount"]:
        raise ParseError(document, row.line, "data row without amount")
    amount = cell_decimal(row, "amount", document, decimal_comma)
    posted = cell_datetime(row, "posted-date-time", document) or cell_datetime(row, "posted-date", document)
    order_id, shipment_id, extra = split_order_id(row)
    for column in ("posted-date", "merchant-order-item-id", "merchant-adjustment-item-id"):
        if row[column]:
            extra += ((column, row[column]),)
    settlements.add(summary.settlement_id, amount)
    return AmazonAmount(
        natural_key=f"settlement:{summary.settlement_id}:row:{ordinal}",
        settlement_id=summary.settlement_id,
        currency=summary.currency,
        amount=amount,
        transaction_type=row["transaction-type"],
        amount_type=row["amount-type"],
        amount_description=row["amount-description"],
        posted_at=posted,
        final=True,
        source=SourceRef(SYSTEM, document, sha256, row.line, None, row.raw),
        order_id=order_id,
        shipment_id=shipment_id,
        **row_fields(row),
        quantity=cell_int(row, "quantity-purchased", document),
        promotion_id=row["promotion-id"] or None,
        extra=extra,
    )
