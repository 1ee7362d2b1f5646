"""Pure checks of the balancing rule, with amounts worked out by hand."""

from datetime import date
from decimal import Decimal as D

import pytest

from ledger_service.errors import Invalid, UnbalancedEntry
from ledger_service.journal.model import EntryDraft, balance, money_posting, reversal_of, units_posting


def entry(*postings, currency="USD", rate=D(1)):
    return EntryDraft("US", date(2026, 10, 31), currency, "test", tuple(postings), rate=rate)


def test_unbalanced_entry_names_the_imbalance():
    e = entry(money_posting("Expenses:Amazon:Fees:Storage", D("125.40")),
              money_posting("Liabilities:Accrued", D("-125.39")))
    with pytest.raises(UnbalancedEntry) as err:
        balance(e, "USD")
    assert "USD postings sum to 0.01" in err.value.message
    assert "debits 125.40, credits -125.39" in err.value.message


def test_functional_rounding_residual_goes_to_the_largest_posting():
    # 3 x 0.01 EUR at 1.5 -> each 0.015 rounds half up to 0.02 (sum 0.06); -0.03 EUR -> -0.045 -> -0.05.
    # Residual +0.01 is taken off the largest functional amount (-0.05 -> ... the largest |x| is -0.05).
    e = entry(money_posting("Assets:Bank:Operating", D("0.01")), money_posting("Assets:Bank:Operating", D("0.01")),
              money_posting("Assets:Bank:Operating", D("0.01")), money_posting("Liabilities:Accrued", D("-0.03")),
              currency="EUR", rate=D("1.5"))
    result = balance(e, "USD")
    assert [p.functional_amount for p in result.postings] == [D("0.02"), D("0.02"), D("0.02"), D("-0.06")]


def test_units_weigh_units_times_cost():
    p = units_posting("Assets:Inventory:FBA:Available", "NX-HD-1200", D(3), D("4.335"), "USD")
    assert p.amount == D("13.01")  # 13.005 rounded half up
    e = entry(p, money_posting("Liabilities:AccountsPayable", D("-13.01")))
    assert balance(e, "USD").postings[0].functional_amount == D("13.01")


def test_units_must_match_their_weight():
    bad = units_posting("Assets:Inventory:FBA:Available", "SKU1", D(2), D("5"), "USD")
    bad = bad._replace(amount=D("9.99"))
    with pytest.raises(Invalid, match="worth 10.00 USD, not 9.99"):
        balance(entry(bad, money_posting("Liabilities:AccountsPayable", D("-9.99"))), "USD")


@pytest.mark.parametrize("value", ["NaN", "sNaN", "Infinity", "-Infinity"])
def test_not_a_number_refused(value):
    with pytest.raises(Invalid, match=f"amount {value} is not a finite number"):
        balance(entry(money_posting("Assets:Bank:Operating", D(value)), money_posting("Equity:Opening", D("-1"))), "USD")


def test_units_and_costs_that_are_not_numbers_refused():
    p = units_posting("Assets:Inventory:FBA:Available", "SKU1", D(2), D("5"), "USD")
    with pytest.raises(Invalid, match="units Infinity is not a finite number"):
        balance(entry(p._replace(units=D("Infinity")), money_posting("Liabilities:AccountsPayable", D("-10"))), "USD")
    with pytest.raises(Invalid, match="cost per unit NaN is not a finite number"):
        balance(entry(p._replace(cost_per_unit=D("NaN")), money_posting("Liabilities:AccountsPayable", D("-10"))), "USD")


def test_too_many_decimals_refused():
    with pytest.raises(Invalid, match="more decimals than JPY allows"):
        balance(entry(money_posting("Assets:Bank:Operating", D("1.5")),
                      money_posting("Liabilities:Accrued", D("-1.5")), currency="JPY", rate=D("0.0067")), "USD")


def test_reversal_negates_exactly():
    e = balance(entry(money_posting("Assets:Bank:Operating", D("10.00")),
                      money_posting("Liabilities:Accrued", D("-10.00")), currency="GBP", rate=D("1.2731")), "USD")
    r = reversal_of(e, date(2026, 11, 1), "wrong account", 7)
    assert [p.amount for p in r.postings] == [D("-10.00"), D("10.00")]
    assert [p.functional_amount for p in r.postings] == [D("-12.73"), D("12.73")]
    assert r.reverses_entry_id == 7 and r.reason == "wrong account"
