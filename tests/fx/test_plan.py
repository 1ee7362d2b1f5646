"""The planner stays pure: rates and what clearing carries are calls it makes, answered here by dicts."""

from datetime import date
from decimal import Decimal as D

import pytest

from ledger_service.errors import NotFound
from ledger_service.ingest.plan import Planner
from ledger_service.mapping.loader import load_mapping
from ledger_service.settings import DEFAULT_ACCOUNTS_DIR
from ledger_service.sources.amazon import parse_document
from ledger_service.sources.model import ParseError
from tests.fx.support import eur_settlement

RATES = {date(2026, 7, 2): D("0.85123"), date(2026, 7, 9): D("0.86"), date(2026, 7, 14): D("0.87"),
         date(2026, 7, 16): D("0.88")}


def records():
    doc = parse_document(eur_settlement(), "de.txt")
    return [*doc.settlements, *doc.amounts]


def planner(**kwargs) -> Planner:
    return Planner("UK", "GBP", load_mapping(DEFAULT_ACCOUNTS_DIR, "UK"), set(), "de.txt", **kwargs)


def test_without_rates_a_foreign_amount_is_refused_as_before():
    with pytest.raises(ParseError, match=r"^de.txt:3: amount in EUR for subsidiary UK \(functional GBP\): no "
                                         "exchange rate source configured"):
        list(planner().plan(records()))


def test_each_entry_takes_its_days_rate_and_the_summary_converts_against_what_is_carried():
    asked = []

    def rates(currency, day):
        asked.append((currency, day))
        if day not in RATES:
            raise NotFound(f"no {currency}->GBP rate on {day}")
        return RATES[day]

    def carried(settlement_id, flat_file):
        assert (settlement_id, flat_file) == ("7001", True)
        return D("93.80")

    posted = list(planner(rates=rates, carried=carried).plan(records()))
    assert [e.rate for p in posted for e in p.entries] == [D("0.85123"), D("0.86"), D("0.87"), D("0.88"), D(1)]
    assert asked == [("EUR", date(2026, 7, 2)), ("EUR", date(2026, 7, 9)), ("EUR", date(2026, 7, 14)),
                     ("EUR", date(2026, 7, 16))]  # once per entry: the cache is the caller's
    exchange, deposit = posted[-1].entries
    assert [(p.account, p.amount, p.functional_amount) for p in exchange.postings] == [
        ("Assets:Amazon:Clearing", D("-110.00"), D("-93.80")),
        ("Assets:Amazon:Conversion", D("110.00"), D("96.80")),
        ("Income:FX:Realized", D(0), D("-3.00"))]
    assert [(p.account, p.amount) for p in deposit.postings] == [
        ("Assets:Bank:Operating", D("96.80")), ("Assets:Amazon:Conversion", D("-96.80"))]


def test_a_missing_rate_names_the_line_pair_and_day():
    def rates(currency, day):
        if day == date(2026, 7, 9):
            raise NotFound(f"no {currency}->GBP rate on {day}")
        return RATES[day]

    with pytest.raises(ParseError, match=r"^de.txt:6: .* on 2026-07-09: no EUR->GBP rate on 2026-07-09"):
        list(planner(rates=rates, carried=lambda *_: D(0)).plan(records()))
