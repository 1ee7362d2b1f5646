"""One vocabulary for both flat-file layouts, derived from the mapping itself.

For every settlement rule of the mapping (default, tax profiles, overrides) the test writes the row a legacy flat
file would carry for the same fact (the V2 amount type's legacy column, or the other-amount column with the
meaning in the transaction type), reads it with the real legacy parser, and checks that it resolves to the account
the V2 triple resolves to. A rule added in V2 words therefore either works for legacy files too, or fails here.
The fee-codes sample is checked the same way, value by value.
"""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from ledger_service.chart.config import SubsidiaryConfig
from ledger_service.mapping import Mapping, load_mapping
from ledger_service.mapping.legacy import GENERIC
from ledger_service.sources.amazon import settlement_legacy
from tests.mapping.test_mapping import ACCOUNTS, FEE_CODES_US, LEGACY, V2

HEADER = settlement_legacy.HEADER_36

# The legacy column pair of each V2 amount type that has one (legacy files put facilitator tax among item fees).
COLUMN = {"ItemPrice": ("price-type", "price-amount"), "ItemFees": ("item-related-fee-type", "item-related-fee-amount"),
          "ItemWithheldTax": ("item-related-fee-type", "item-related-fee-amount"),
          "Shipment-Fees": ("shipment-fee-type", "shipment-fee-amount"),
          "Promotion": ("promotion-type", "promotion-amount")}


def v2_form(rule_triple: tuple[str, str, str]) -> tuple[str, str, str]:
    """The rule as a V2 row would carry it: a wildcard transaction type becomes a plausible one."""
    tt, at, ad = rule_triple
    if tt == "*":
        tt = "Order" if at in COLUMN else "other-transaction"
    return tt, at, ad


def legacy_cells(triple: tuple[str, str, str]) -> dict[str, str]:
    """The cells of the legacy row for a V2 triple."""
    tt, at, ad = triple
    if at in COLUMN:
        kind, money = COLUMN[at]
        return {"transaction-type": tt, kind: ad, money: "1.00"}
    if at == "other-transaction" and ad == "MiscFee":
        return {"transaction-type": tt, "misc-fee-amount": "1.00"}
    if at == "other-transaction" and ad == "OtherFee":
        return {"transaction-type": tt, "other-fee-amount": "1.00"}
    if ad == "TaxAmount":  # the tax on a service fee: other-fee-amount with its reason
        return {"transaction-type": "ServiceFee", "other-fee-reason-description": ad, "other-fee-amount": "1.00"}
    if at == "other-transaction" and ad in GENERIC:  # CouponRedemptionFee / other-transaction / TransactionTotalAmount
        return {"transaction-type": tt, "other-amount": "1.00"}
    if ad in GENERIC:  # FBAFees / FBA Inventory Storage Fee / Base fee: the fee's name is the meaning
        return {"transaction-type": at, "other-amount": "1.00"}
    return {"transaction-type": ad, "other-amount": "1.00"}  # other-amount: the type is the meaning


def parse_legacy(rows: list[dict[str, str]]):
    lines = ["\t".join(HEADER),
             "\t".join({"settlement-id": "1", "settlement-start-date": "2026-07-01", "settlement-end-date": "2026-07-14",
                        "deposit-date": "2026-07-16", "total-amount": f"{len(rows)}.00", "currency": "USD"}.get(c, "")
                       for c in HEADER)]
    for cells in rows:
        cells = {"settlement-id": "1", "currency": "USD", "marketplace-name": "Amazon.com",
                 "posted-date": "2026-07-02T10:00:00+00:00"} | cells
        lines.append("\t".join(cells.get(c, "") for c in HEADER))
    doc = settlement_legacy.parse(("\n".join(lines) + "\n").encode(), "legacy.txt")
    assert not doc.warnings and len(doc.amounts) == len(rows)
    return doc.amounts


def account(mapping: Mapping, system: str, triple, marketplace="Amazon.com") -> str | None:
    rule = mapping.resolve(system, triple, marketplace)
    return None if rule is None else rule.account


MAPPINGS = {
    "US": lambda: load_mapping(ACCOUNTS, "US"),
    "UK": lambda: load_mapping(ACCOUNTS, "UK"),
    "CA": lambda: load_mapping(ACCOUNTS, SubsidiaryConfig("CA", tax_profile="ca")),
    "EU-VCS": lambda: load_mapping(ACCOUNTS, SubsidiaryConfig("EU", tax_profile="eu-vcs", fee_tax="expense")),
}


@pytest.mark.parametrize("subsidiary", sorted(MAPPINGS))
def test_every_v2_rule_has_a_legacy_form_that_resolves_to_the_same_account(subsidiary):
    mapping = MAPPINGS[subsidiary]()
    triples = sorted({v2_form(rule.key[1:]) for rule in mapping.rules if rule.system == "settlement"})
    assert len(triples) > 100
    amounts = parse_legacy([legacy_cells(t) for t in triples])
    wrong = [(t, a.triple, account(mapping, V2, t), account(mapping, LEGACY, a.triple))
             for t, a in zip(triples, amounts) if account(mapping, LEGACY, a.triple) != account(mapping, V2, t)]
    assert wrong == []
    assert all(account(mapping, V2, t) is not None for t in triples)


def test_every_fee_code_resolves_alike_in_both_layouts():
    us = MAPPINGS["US"]()
    pairs = sorted(FEE_CODES_US)
    amounts = parse_legacy([legacy_cells((FEE_CODES_US[p][0], *p)) for p in pairs])
    for pair, amount in zip(pairs, amounts):
        expected = FEE_CODES_US[pair][1]
        assert account(us, V2, (FEE_CODES_US[pair][0], *pair)) == expected, pair
        assert account(us, LEGACY, amount.triple) == expected, (pair, amount.triple)


@pytest.mark.parametrize("legacy, v2", [
    (("Inbound Transportation Fee", "other-transaction", "Other"),
     ("other-transaction", "other-transaction", "Inbound Transportation Fee")),
    (("WAREHOUSE_DAMAGE", "other-transaction", "Other"), ("other-transaction", "other-transaction", "WAREHOUSE_DAMAGE")),
    (("Payable to Amazon", "other-transaction", "Other"), ("other-transaction", "other-transaction", "Payable to Amazon")),
    (("Successful charge", "other-transaction", "Other"), ("other-transaction", "other-transaction", "Successful charge")),
    (("Micro Deposit", "other-transaction", "Other"), ("other-transaction", "other-transaction", "Micro Deposit")),
    (("ServiceFee", "ItemFees", "Cost of Advertising"), ("ServiceFee", "Cost of Advertising", "TransactionTotalAmount")),
    (("Order", "Shipment-Fees", "FBA transportation fee"), ("Order", "Shipment-Fees", "FBATransportationFee")),
    (("Order", "ItemFees", "Shipping holdback"), ("Order", "ItemFees", "ShippingHB")),
    (("Order", "ItemFees", " fbaperunitfulfillmentfee "), ("Order", "ItemFees", "FBAPerUnitFulfillmentFee")),
    (("Order", "ItemFees", "MarketplaceFacilitatorTax-Principal"),
     ("Order", "ItemWithheldTax", "MarketplaceFacilitatorTax-Principal")),
])
def test_the_issues_legacy_triples_are_read_in_v2_words(legacy, v2):
    us = MAPPINGS["US"]()
    found = us.lookup(LEGACY, legacy)
    assert found.rule is not None and found.triple == v2


def test_other_alone_is_never_caught():
    us = MAPPINGS["US"]()
    assert us.resolve(LEGACY, ("Something New", "other-transaction", "Other")) is None
    assert us.lookup(LEGACY, ("Something New", "other-transaction", "Other")).triple == (
        "other-transaction", "other-transaction", "Something New")


words = st.sampled_from(["Order", "Refund", "ServiceFee", "other-transaction", "ItemFees", "ItemPrice", "Other",
                         "Storage Fee", "FBA transportation fee", "Cost of Advertising", "Payable to Amazon",
                         "TaxAmount", "Commission", "Shipment-Fees", "Promotion", "Principal", "MiscFee"])


@given(st.tuples(words, words, words))
def test_normalising_twice_changes_nothing(triple):
    """A triple read back from a posting (its V2 form) resolves as the original did."""
    us = MAPPINGS["US"]()
    first = us.lookup(LEGACY, triple)
    again = us.lookup(LEGACY, first.triple)
    if first.rule is not None:
        assert again.rule == first.rule
