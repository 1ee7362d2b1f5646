"""Posting rules as pure functions: amounts worked out by hand."""

from datetime import datetime
from decimal import Decimal as D

import pytest

from ledger_service.chart.config import SubsidiaryConfig, with_settings
from ledger_service.journal.model import balance
from ledger_service.mapping.loader import MappingError, load_mapping
from ledger_service.posting.amazon import amount_entry, transaction_entry
from ledger_service.settings import DEFAULT_ACCOUNTS_DIR
from ledger_service.sources.model import AmazonAmount, ParseError, SourceRef

ACCOUNTS = DEFAULT_ACCOUNTS_DIR


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
    uk = load_mapping(ACCOUNTS, "UK")  # tax profile "uk": no VCS, VAT-inclusive prices, GB 20%
    assert uk.vat_country("amazon.co.uk") == (True, "GB")
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
    assert us.vat_country("amazon.com") == (False, None)
    sale = amount_entry("US", amount("129.99", currency="USD"), us)
    assert lines(sale) == [("Assets:Amazon:Clearing", D("129.99")), ("Income:Amazon:Sales:Principal", D("-129.99"))]


def eu_seller(**settings) -> SubsidiaryConfig:
    """A EUR subsidiary selling without VCS on the EU marketplaces, with amazon.fr on VCS."""
    return with_settings(SubsidiaryConfig("EU", tax_profile="eu"), **settings)


@pytest.mark.parametrize("marketplace, day, value, vat", [
    ("Amazon.de", datetime(2026, 7, 1), "119.00", "19.00"),  # 119 x 0.19 / 1.19
    ("Amazon.de", datetime(2020, 9, 1), "116.00", "16.00"),  # the German reduced standard rate of 2020-H2
    ("Amazon.it", datetime(2026, 7, 1), "122.00", "22.00"),
    ("Amazon.es", datetime(2026, 7, 1), "121.00", "21.00"),
    ("Amazon.nl", datetime(2026, 7, 1), "10.00", "1.74"),  # 10 x 0.21 / 1.21 = 1.7355... half up
    ("Amazon.com.be", datetime(2026, 7, 1), "121.00", "21.00"),
])
def test_vat_is_carved_out_at_the_marketplace_countrys_rate_on_the_day(marketplace, day, value, vat):
    eu = load_mapping(ACCOUNTS, eu_seller())
    sale = amount(value, currency="EUR")._replace(marketplace=marketplace, posted_at=day)
    assert lines(amount_entry("EU", sale, eu)) == [
        ("Assets:Amazon:Clearing", D(value)), ("Income:Amazon:Sales:Principal", -(D(value) - D(vat))),
        ("Liabilities:Tax:VAT", -D(vat))]


def test_a_marketplace_on_vcs_is_not_carved_and_its_vat_rows_are_output_vat():
    eu = load_mapping(ACCOUNTS, eu_seller(marketplace_profiles=(("amazon.fr", "eu-vcs"),)))
    sale = amount("100.00", currency="EUR")._replace(marketplace="Amazon.fr")
    assert lines(amount_entry("EU", sale, eu)) == [("Assets:Amazon:Clearing", D("100.00")),
                                                   ("Income:Amazon:Sales:Principal", D("-100.00"))]
    tax = amount("20.00", ad="Tax", currency="EUR")._replace(marketplace="Amazon.fr")
    posted = amount_entry("EU", tax, eu)
    assert lines(posted) == [("Assets:Amazon:Clearing", D("20.00")), ("Liabilities:Tax:VAT", D("-20.00"))]
    assert posted.entries[0].postings[1].dimension("role") == "vat"


def test_a_vat_carve_out_on_a_transaction_with_its_own_tax_rows_is_refused_naming_the_line():
    eu = load_mapping(ACCOUNTS, eu_seller())
    rows = [amount("119.00", currency="EUR")._replace(marketplace="Amazon.de"),
            amount("19.00", ad="Tax", currency="EUR")._replace(
                marketplace="Amazon.de", source=SourceRef("amazon-settlement-v2", "de.txt", "0" * 64, 4, None, "r"))]
    with pytest.raises(ParseError, match=r"de\.txt:4: Order / ItemPrice / Tax: this transaction reports its own tax.*"
                                         r"\(eu\) carves VAT out"):
        transaction_entry("EU", rows, eu)


def test_a_carve_out_without_a_rate_for_the_marketplace_is_refused():
    eu = load_mapping(ACCOUNTS, eu_seller())  # profile eu has no default country
    sale = amount("10.00", currency="EUR")._replace(marketplace=None)
    with pytest.raises(ParseError, match=r"f\.txt:3: no VAT rate for marketplace \(blank\) on 2026-07-01"):
        amount_entry("EU", sale, eu)


def test_canada_gst_hst_collected_and_tax_on_fees_by_setting():
    itc = load_mapping(ACCOUNTS, SubsidiaryConfig("CA", tax_profile="ca", fee_tax="itc"))
    expense = load_mapping(ACCOUNTS, SubsidiaryConfig("CA", tax_profile="ca", fee_tax="expense"))
    tax = amount("13.00", ad="Tax", currency="CAD")._replace(marketplace="Amazon.ca")
    assert lines(amount_entry("CA", tax, itc))[1] == ("Liabilities:Tax:GSTHST", D("-13.00"))
    withheld = amount("-8.00", at="ItemWithheldTax", ad="MarketplaceFacilitatorTax-Principal", currency="CAD")
    assert lines(amount_entry("CA", withheld, itc))[1] == ("Liabilities:Tax:GSTHST", D("8.00"))
    # HST Amazon charges on advertising: legacy `ServiceFee / other-transaction / TaxAmount`
    fee_tax = amount("-1.30", tt="ServiceFee", at="other-transaction", ad="TaxAmount", currency="CAD")._replace(
        source=SourceRef("amazon-settlement-legacy", "ca.txt", "0" * 64, 7, None, "raw"))
    assert lines(amount_entry("CA", fee_tax, itc))[1] == ("Assets:Tax:InputTaxCredit", D("1.30"))
    assert lines(amount_entry("CA", fee_tax, expense))[1] == ("Expenses:Amazon:Fees:TaxOnFees", D("1.30"))


def test_profile_none_sends_tax_to_suspense():
    none = load_mapping(ACCOUNTS, SubsidiaryConfig("XX", tax_profile="none"))
    posted = amount_entry("XX", amount("5.00", ad="Tax", currency="USD"), none)
    assert posted.suspense and lines(posted)[1] == ("Assets:Suspense:Amazon", D("-5.00"))


def test_a_bad_vat_rate_is_refused_naming_the_file(tmp_path):
    import shutil

    shutil.copytree(ACCOUNTS, tmp_path / "accounts")
    path = tmp_path / "accounts" / "tax" / "vat_rates.toml"
    path.write_text(path.read_text().replace('rate = "0.22"', "rate = 0.22"))
    with pytest.raises(MappingError, match=r"vat_rates.toml: rate #\d+: rate must be a decimal string"):
        load_mapping(tmp_path / "accounts", "UK")


def test_unmapped_amount_goes_to_suspense_with_its_type():
    posted = amount_entry("US", amount("-4.00", tt="ServiceFee", at="other-transaction", ad="NoSuchFee",
                                       currency="USD"), load_mapping(ACCOUNTS, "US"))
    assert posted.suspense
    [clearing, suspense] = posted.entries[0].postings
    assert (suspense.account, suspense.amount) == ("Assets:Suspense:Amazon", D("4.00"))
    assert suspense.dimension("amazon_type") == "ServiceFee / other-transaction / NoSuchFee"
    assert clearing.dimension("settlement_id") == "1" and clearing.dimension("order_id") == "202-1"


def test_a_settlement_total_without_any_date_is_refused_not_dated_1970():
    from ledger_service.errors import Invalid
    from ledger_service.posting.amazon import settlement_events
    from ledger_service.sources.model import SettlementSummary

    summary = SettlementSummary("S-1", "USD", D("10.00"), None, None, None, True,
                                SourceRef("amazon-settlement-v2", "f.txt", "0" * 64, 2, None, "raw"))
    with pytest.raises(Invalid, match="f.txt:2: settlement S-1 has a total but no deposit, end or start date"):
        settlement_events("US", summary)
