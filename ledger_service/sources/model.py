"""Canonical shapes every Amazon parser produces.

A parser reads bytes (a settlement flat file, an SP-API JSON page) and yields these frozen records; it does no I/O
beyond the bytes it is given and never posts. Each record keeps the raw row it came from (file name + line, or
API page) so that an auditor can walk any journal line back to it. Amounts are Decimal, signed as Amazon signs
them: positive is money Amazon owes the seller, negative is money the seller owes Amazon.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import NamedTuple


class ParseError(ValueError):
    """A document that cannot be read as a whole; names the document and the line (or API page)."""

    def __init__(self, document: str, where: str | int | None, reason: str):
        self.document, self.where, self.reason = document, where, reason
        place = f"{document}:{where}" if where is not None else document
        super().__init__(f"{place}: {reason}")


class SourceRef(NamedTuple):
    system: str  # e.g. amazon-settlement-v2, amazon-settlement-legacy, sp-api-finances-v0, sp-api-finances-2024-06-19
    document: str  # file name, or API operation name
    sha256: str  # of the whole document's bytes
    line: int | None  # 1-based physical line in the file
    page: str | None  # API page (operation + page number / NextToken)
    raw: str  # the row verbatim (decoded), or the API event as JSON


@dataclass(frozen=True)
class SettlementSummary:
    """A settlement's header: the flat file's summary row, or a financial event group."""

    settlement_id: str
    currency: str
    total_amount: Decimal | None  # None for an open group that has no total yet
    start: datetime | None
    end: datetime | None
    deposit_date: datetime | None
    final: bool  # closed settlement (flat file, closed group) vs open group (provisional)
    source: SourceRef
    marketplace: str | None = None
    # For an event group: Amazon's processing/fund-transfer status, the beginning balance and trace id if given.
    extra: tuple[tuple[str, str], ...] = ()


class AmazonAmount(NamedTuple):
    """One amount Amazon reports: a settlement row, or one charge/fee/tax of a financial event.

    NamedTuples (as beancount's own records are), not frozen dataclasses: ingest builds one per settlement row and
    a frozen dataclass's __init__ costs several times as much."""

    natural_key: str  # unique within the subsidiary; the same fact from the same source always has the same key
    settlement_id: str | None  # settlement id, or financial event group id
    currency: str
    amount: Decimal
    transaction_type: str  # Order, Refund, ServiceFee, other-transaction, ... (Finances: the event list's kind)
    amount_type: str  # ItemPrice, ItemFees, Promotion, other-transaction, ...
    amount_description: str  # Principal, Commission, FBAPerUnitFulfillmentFee, ...
    posted_at: datetime | None  # naive UTC
    final: bool
    source: SourceRef
    order_id: str | None = None
    merchant_order_id: str | None = None
    adjustment_id: str | None = None
    shipment_id: str | None = None
    marketplace: str | None = None
    fulfillment_id: str | None = None
    sku: str | None = None
    quantity: int | None = None
    order_item_code: str | None = None
    promotion_id: str | None = None
    extra: tuple[tuple[str, str], ...] = ()

    @property
    def triple(self) -> tuple[str, str, str]:
        return (self.transaction_type, self.amount_type, self.amount_description)


class InventoryMovement(NamedTuple):
    """One row of the FBA inventory ledger detail report: units of one FNSKU entering (+) or leaving (-) one
    disposition at one fulfillment center (sources/amazon/inventory_ledger.py).

    A NamedTuple for the reason AmazonAmount is one: immutable, and ingest builds one per report row. Parsing keeps
    what Amazon said; `flags` names what the posting step must not post silently (an event type, disposition or
    adjustment reason outside the published vocabulary): such a movement goes to the exception queue."""

    natural_key: str  # content of the row + its occurrence index among identical rows of the file (see the parser)
    date: date  # the report's Date: the day of the event as Amazon dates it
    occurred_at: datetime | None  # "Date and Time" (Seller Central downloads only), naive UTC
    fnsku: str | None
    asin: str | None
    msku: str | None
    title: str | None
    event_type: str  # Receipts, Shipments, CustomerReturns, Adjustments, VendorReturns, WhseTransfers, or as given
    reference_id: str | None  # order id, FBA shipment id, removal order id, adjustment transaction id ...
    quantity: int  # signed: negative for units leaving the disposition
    fulfillment_center: str | None
    disposition: str | None  # canonical upper case: SELLABLE, CUSTOMER_DAMAGED, ... or as given, upper-cased
    reason: str | None  # adjustment reason code (M, F, E, ...): defaults/accounts/amazon/inventory_reasons.toml
    country: str | None
    reconciled_quantity: int | None
    unreconciled_quantity: int | None
    source: SourceRef
    flags: tuple[str, ...] = ()  # unknown-event-type, unknown-disposition, unknown-reason
    extra: tuple[tuple[str, str], ...] = ()  # non-empty cells of columns this parser does not map (Store, ...)


@dataclass(frozen=True)
class ParsedDocument:
    """Everything one document yielded, in document order."""

    document: str
    sha256: str
    format: str  # settlement-v2 | settlement-legacy | finances-v0-events | finances-v0-groups | finances-2024-transactions
    settlements: tuple[SettlementSummary, ...]
    amounts: tuple[AmazonAmount, ...]
    warnings: tuple[str, ...] = ()
    rows: int = 0  # data rows read (for flat files), events read (for API pages)


def posted_day(value: datetime | date | None) -> date | None:
    if value is None:
        return None
    return value.date() if isinstance(value, datetime) else value
