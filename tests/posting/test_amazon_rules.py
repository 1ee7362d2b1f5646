"""Posting rules as pure functions: amounts worked out by hand."""

from datetime import datetime
from decimal import Decimal as D

import pytest

from ledger_service.journal.model import balance
from ledger_service.mapping.loader import MappingError, load_mapping
from ledger_service.posting.amazon import amount_entry
from ledger_service.settings import REPO_ROOT
from ledger_service.sources.model import AmazonAmount, SourceRef

ACCOUNTS = REPO_ROOT / "accounts"


def amount(value: str, tt="Order", at="ItemPrice", ad="Principal", currency="GBP") -> AmazonAmount:
    return AmazonAmount(
        natural_key="settlement:1:row:1", settlement_id="1", currency=currency, amount=D(value),
        transaction_type=tt, amount_type=at, amount_description=ad, posted_at=datetime(2026, 7, 1, 12), final=True,
        source=SourceRef("amazon-settlement-v2", "f.txt", "0" * 64, 3, None, "raw"), order_id="202-1",
        marketplace="amazon.co.uk", sku="SKU-1")


def lines(posted):
    return [(p.account, p.amount) for p in posted.entries[0].postings]


@pytest.mark.parametrize("value, vat, net", [
    ("120.00", "20.00", "100.00"),
    ("9.99", "1.67", "8.32"),  # 9.99 x 0.2 / 1.2 = 1.665, rounded half up
    ("-9.99", "-1.67", "-8.32"),  # a refund mirrors the sale exactly
])
def test_uk_vat_inclusive_principal_is_split(value, vat, net):
    uk = load_mapping(ACCOUNTS, "UK")
    assert uk.vat_included_rate == D("0.20")
    tt = "Refund" if value.startswith("-") else "Order"
    posted = amount_entry("UK", amount(value, tt=tt), uk)
    revenue = "Income:Amazon:Refunds" if tt == "Refund" else "Income:Amazon:Sales:Principal"
    assert lines(posted) == [("Assets:Amazon:Clearing", D(value)), (revenue, -D(net)),
                             ("Liabilities:Tax:VAT", -D(vat))]
    balance(posted.entries[0], "GBP")  # balances


def test_fees_are_not_split_and_us_prices_are_net():
    uk = load_mapping(ACCOUNTS, "UK")
    fee = amount_entry("UK", amount("-1.50", at="ItemFees", ad="Commission"), uk)
    assert lines(fee) == [("Assets:Amazon:Clearing", D("-1.50")), ("Expenses:Amazon:Fees:Referral", D("1.50"))]
    us = load_mapping(ACCOUNTS, "US")
    assert us.vat_included_rate is None
    sale = amount_entry("US", amount("129.99", currency="USD"), us)
    assert lines(sale) == [("Assets:Amazon:Clearing", D("129.99")), ("Income:Amazon:Sales:Principal", D("-129.99"))]


def test_unmapped_amount_goes_to_suspense_with_its_type():
    posted = amount_entry("US", amount("-4.00", tt="ServiceFee", at="other-transaction", ad="NoSuchFee",
                                       currency="USD"), load_mapping(ACCOUNTS, "US"))
    assert posted.suspense
    [clearing, suspense] = posted.entries[0].postings
    assert (suspense.account, suspense.amount) == ("Assets:Suspense:Amazon", D("4.00"))
    assert suspense.dimension("amazon_type") == "ServiceFee / other-transaction / NoSuchFee"
    assert clearing.dimension("settlement_id") == "1" and clearing.dimension("order_id") == "202-1"


def test_bad_vat_rate_is_refused_naming_the_file(tmp_path):
    import shutil

    shutil.copytree(ACCOUNTS, tmp_path / "accounts")
    path = tmp_path / "accounts" / "subsidiaries" / "UK.toml"
    path.write_text(path.read_text().replace('vat_included_rate = "0.20"', "vat_included_rate = 0.2"))
    with pytest.raises(MappingError, match=r"UK.toml: \[settings\] vat_included_rate = 0.2"):
        load_mapping(tmp_path / "accounts", "UK")


def test_a_settlement_total_without_any_date_is_refused_not_dated_1970():
    from ledger_service.errors import Invalid
    from ledger_service.posting.amazon import settlement_events
    from ledger_service.sources.model import SettlementSummary

    summary = SettlementSummary("S-1", "USD", D("10.00"), None, None, None, True,
                                SourceRef("amazon-settlement-v2", "f.txt", "0" * 64, 2, None, "raw"))
    with pytest.raises(Invalid, match="f.txt:2: settlement S-1 has a total but no deposit, end or start date"):
        settlement_events("US", summary)
