"""Legacy flat file settlement report (GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE) -> canonical records.

The problem: before Flat File V2 condensed amounts into amount-type / amount-description / amount, the flat file
spread them over type/amount column pairs: one row may carry a price, an item fee, a shipment fee, an order fee, a
promotion, a direct payment and three untyped amounts (misc-fee, other-fee, other) at once. Amazon deprecated the
report in 2025 but sellers hold years of them, so they must land in the same vocabulary as V2: each non-blank
money cell of a row becomes its own AmazonAmount with a V2 triple, keyed by settlement, row ordinal and column.

Layout. The 36-column header, in order, is

    settlement-id settlement-start-date settlement-end-date deposit-date total-amount currency transaction-type
    order-id merchant-order-id adjustment-id shipment-id marketplace-name shipment-fee-type shipment-fee-amount
    order-fee-type order-fee-amount fulfillment-id posted-date order-item-code merchant-order-item-id
    merchant-adjustment-item-id sku quantity-purchased price-type price-amount item-related-fee-type
    item-related-fee-amount misc-fee-amount other-fee-amount other-fee-reason-description promotion-id
    promotion-type promotion-amount direct-payment-type direct-payment-amount other-amount

Sources (public code, all agreeing on this order): a C# test's "exact header of the non-_V2
GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE (wide layout) from a live SP-API pull"; a PHP Laravel importer
(AdminUploadController, `mws_sells`) and an Angular uploader (`upload.component.ts`) that index columns 0..35
the same way; Amazon's field definitions as quoted on Seller Central forums. Unlike V2 it has no posted-date-time.

We found no public header of the 33-column variant, so this parser does not depend on positions: it reads the
header row and addresses cells by name. Any subset of the 36 names parses (33-column files included) as long as
settlement-id and at least one money column are there; a money column that is absent is simply never emitted.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from decimal import Decimal

from ledger_service.sources.amazon.settlement_v2 import (
    Row, Settlements, cell_datetime, cell_decimal, cell_int, open_summary, parse_flat_file, row_fields,
    split_order_id,
)
from ledger_service.sources.model import AmazonAmount, ParsedDocument, ParseError, SettlementSummary, SourceRef

SYSTEM = "amazon-settlement-legacy"
FORMAT = "settlement-legacy"

# (amount column, type column or None, V2 amount-type, description when the type column is blank or absent).
# amount-types follow what V2 files literally contain (ItemPrice, ItemFees, Shipment-Fees, Promotion,
# other-transaction), so the same mapping table serves both layouts.
MONEY_COLUMNS: tuple[tuple[str, str | None, str, str], ...] = (
    ("price-amount", "price-type", "ItemPrice", "Price"),
    ("item-related-fee-amount", "item-related-fee-type", "ItemFees", "ItemFee"),
    ("shipment-fee-amount", "shipment-fee-type", "Shipment-Fees", "ShipmentFee"),
    ("order-fee-amount", "order-fee-type", "ItemFees", "OrderFee"),
    ("promotion-amount", "promotion-type", "Promotion", "Promotion"),
    ("direct-payment-amount", "direct-payment-type", "other-transaction", "DirectPayment"),
    ("misc-fee-amount", None, "other-transaction", "MiscFee"),
    ("other-fee-amount", "other-fee-reason-description", "other-transaction", "OtherFee"),
    ("other-amount", None, "other-transaction", "Other"),
)
AMOUNT_NAMES = tuple(column for column, *_ in MONEY_COLUMNS)
# The 36-column header in Amazon's order (the docstring's sources); files may carry any subset of it.
HEADER_36 = tuple("""settlement-id settlement-start-date settlement-end-date deposit-date total-amount currency
    transaction-type order-id merchant-order-id adjustment-id shipment-id marketplace-name shipment-fee-type
    shipment-fee-amount order-fee-type order-fee-amount fulfillment-id posted-date order-item-code
    merchant-order-item-id merchant-adjustment-item-id sku quantity-purchased price-type price-amount
    item-related-fee-type item-related-fee-amount misc-fee-amount other-fee-amount other-fee-reason-description
    promotion-id promotion-type promotion-amount direct-payment-type direct-payment-amount other-amount""".split())
REQUIRED = ("settlement-id", "currency", "total-amount")


def money_columns(header: list[str], document: str) -> tuple[str, ...]:
    """The legacy money columns this header has, in MONEY_COLUMNS order; at least one is required."""
    present = tuple(column for column in AMOUNT_NAMES if column in header)
    if not present:
        raise ParseError(document, None, "header has none of the legacy money columns")
    return present


def convention_columns(header: list[str], document: str) -> tuple[str, ...]:
    """The columns whose values decide the file's decimal mark (see decimal_convention)."""
    return money_columns(header, document) + ("total-amount",)


def parse(data: bytes, document: str, *, sha256: str | None = None, text: str | None = None) -> ParsedDocument:
    return parse_flat_file(sys.modules[__name__], data, document, sha256=sha256, text=text)


def records(rows: Iterable[Row], header: list[str], settlements: Settlements, document: str, sha256: str,
            decimal_comma: bool | None) -> Iterator[SettlementSummary | AmazonAmount]:
    """Data rows (after the header) -> records one at a time, in file order; settlements tracks the state.

    Shared by `parse` and the streaming reader (stream.py), so both yield the same records and the same errors.
    """
    present = money_columns(header, document)
    for row in rows:
        summary = open_summary(row, present, settlements, document, sha256, SYSTEM, decimal_comma)
        if summary is not None:
            yield summary
        else:
            yield from _amounts(row, settlements, document, sha256, decimal_comma)


def _amounts(row: Row, settlements: Settlements, document: str, sha256: str,
             decimal_comma: bool | None) -> list[AmazonAmount]:
    summary, ordinal = settlements.claim(row)
    posted = cell_datetime(row, "posted-date", document)
    quantity = cell_int(row, "quantity-purchased", document)
    order_id, shipment_id, extra = split_order_id(row)
    extra += tuple((c, row[c]) for c in ("merchant-order-item-id", "merchant-adjustment-item-id") if row[c])
    transaction_type = row["transaction-type"]
    source = SourceRef(SYSTEM, document, sha256, row.line, None, row.raw)
    out = []
    for column, type_column, amount_type, fallback in MONEY_COLUMNS:
        if not row[column]:
            continue
        amount: Decimal = cell_decimal(row, column, document, decimal_comma)
        description = (row[type_column] if type_column else "") or fallback
        settlements.add(summary.settlement_id, amount)
        out.append(AmazonAmount(
            natural_key=f"settlement:{summary.settlement_id}:row:{ordinal}:{column}",
            settlement_id=summary.settlement_id,
            currency=summary.currency,
            amount=amount,
            transaction_type=transaction_type,
            amount_type=amount_type,
            amount_description=description,
            posted_at=posted,
            final=True,
            source=source,
            order_id=order_id,
            shipment_id=shipment_id,
            **row_fields(row),
            quantity=quantity,
            promotion_id=(row["promotion-id"] or None) if column == "promotion-amount" else None,
            extra=extra + ((("column", column),)),
        ))
    return out
