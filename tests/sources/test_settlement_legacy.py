"""Legacy flat file (type/amount column pairs): 36- and 33-column fixtures, V2 vocabulary, bad rows."""

from collections import Counter
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from ledger_service.sources.amazon import parse_document, settlement_legacy
from ledger_service.sources.model import ParseError

DATA = Path(__file__).resolve().parents[1] / "data" / "amazon"


def parse_fixture(name: str):
    return parse_document((DATA / name).read_bytes(), name)


def test_36_columns():
    doc = parse_fixture("legacy_36.txt")
    assert doc.format == "settlement-legacy" and doc.rows == 4 and len(doc.amounts) == 11
    (summary,) = doc.settlements
    assert (summary.settlement_id, summary.total_amount, summary.currency) == ("9001", Decimal("25.30"), "USD")
    assert summary.deposit_date == datetime(2019, 3, 17, 14, 0)  # 07:00 at -07:00 is 14:00 UTC
    assert sum(a.amount for a in doc.amounts) == Decimal("25.30") and doc.warnings == ()
    assert [(a.triple, a.amount) for a in doc.amounts] == [
        (("Order", "ItemPrice", "Principal"), Decimal("40.00")),  # trailing space in the cell
        (("Order", "ItemFees", "Commission"), Decimal("-6.00")),
        (("Order", "ItemPrice", "Shipping"), Decimal("5.00")),
        (("Order", "ItemFees", "FBAPerUnitFulfillmentFee"), Decimal("-7.50")),
        (("Order", "Promotion", "Shipping"), Decimal("-5.00")),
        (("Storage Fee", "other-transaction", "MiscFee"), Decimal("-2.20")),
        (("Order", "Shipment-Fees", "FBAPerOrderFulfillmentFee"), Decimal("-1.00")),
        (("Order", "ItemFees", "ShippingHB"), Decimal("-0.50")),
        (("Order", "other-transaction", "StoredValueCardRevenue"), Decimal("-3.00")),
        (("Order", "other-transaction", "ShippingChargeback"), Decimal("1.50")),
        (("Order", "other-transaction", "Other"), Decimal("4.00")),
    ]
    promo = doc.amounts[4]
    assert promo.natural_key == "settlement:9001:row:2:promotion-amount" and promo.promotion_id == "PROMO-1"
    assert promo.source.line == 4 and promo.sku == "SKU-A" and promo.quantity == 2
    assert doc.amounts[2].promotion_id is None  # the promotion id belongs to the promotion amount only
    assert doc.amounts[5].posted_at == datetime(2019, 3, 15, 6, 30)  # 23:30 at -07:00
    assert doc.amounts[6].merchant_order_id == "M-77"
    assert len({a.natural_key for a in doc.amounts}) == 11


def test_33_columns_negative_total_settled_by_card():
    doc = parse_fixture("legacy_33_negative.txt")
    (summary,) = doc.settlements
    assert summary.total_amount == Decimal("-37.45")
    assert sum(a.amount for a in doc.amounts) == Decimal("-37.45") and doc.warnings == ()
    assert Counter(a.amount_type for a in doc.amounts) == {"other-transaction": 2, "ItemPrice": 1, "ItemFees": 1}
    assert [a.natural_key for a in doc.amounts] == [
        "settlement:9002:row:1:other-amount", "settlement:9002:row:2:price-amount",
        "settlement:9002:row:2:item-related-fee-amount", "settlement:9002:row:3:other-fee-amount"]
    reimbursement = doc.amounts[3]
    assert reimbursement.triple == ("other-transaction", "other-transaction", "FBA Inventory Reimbursement")
    assert reimbursement.source.line == 5 and reimbursement.merchant_order_id is None


def test_header_has_36_known_columns():
    header = (DATA / "legacy_36.txt").read_text().splitlines()[0].split("\t")
    assert len(header) == 36 and set(settlement_legacy.AMOUNT_NAMES) <= set(header)


def test_bad_money_cell_names_file_and_line():
    lines = (DATA / "legacy_36.txt").read_text().splitlines()
    cells = lines[4].split("\t")
    cells[cells.index("-2.20")] = "-2,2,0"
    lines[4] = "\t".join(cells)
    with pytest.raises(ParseError, match="misc-fee-amount") as err:
        parse_document("\n".join(lines).encode(), "legacy_bad.txt")
    assert (err.value.document, err.value.where) == ("legacy_bad.txt", 5)


def test_short_row_is_refused():
    lines = (DATA / "legacy_33_negative.txt").read_text().splitlines()
    lines[2] = "\t".join(lines[2].split("\t")[:30])
    with pytest.raises(ParseError, match="30 columns, header has 33") as err:
        parse_document("\n".join(lines).encode(), "short.txt")
    assert err.value.where == 3
