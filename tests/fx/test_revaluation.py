"""Revaluation at period end: pure figures by hand, then through the ledger with its reversal."""

from datetime import date
from decimal import Decimal as D

import pytest
from sqlalchemy import func, select

from ledger_service.balances.queries import balance_rows, trial_balance
from ledger_service.balances.integrity import verify
from ledger_service.errors import Invalid
from ledger_service.fx.revaluation import OpenBalance, is_monetary, revaluation_entries, revaluation_lines
from ledger_service.fx.service import revalue_period
from ledger_service.ingest.service import ingest_bytes
from ledger_service.journal.model import balance
from ledger_service.journal.service import entry_view, post
from ledger_service.store.engine import write_transaction
from ledger_service.store.tables import events
from tests.fx.support import RATES, eur_settlement, import_eur_gbp
from tests.support.builders import event, transfer


def test_lines_and_entries_by_hand():
    balances = [
        OpenBalance("Assets:Amazon:Clearing", "EUR", D("200.00"), D("170.00")),  # 200 x 0.8612 = 172.24: +2.24
        OpenBalance("Liabilities:Amazon:Payable", "EUR", D("-50.00"), D("-43.00")),  # -43.06: -0.06
        OpenBalance("Assets:Amazon:Reserve", "EUR", D("0.00"), D("0.10")),  # nothing left: restated to 0, -0.10
        OpenBalance("Assets:Amazon:Reserve", "EUR", D("10.00"), D("8.61")),  # 8.612 -> 8.61: already right
        OpenBalance("Assets:Bank:Operating", "USD", D("100.00"), D("78.00")),  # 100 x 0.79 = 79.00: +1.00
        OpenBalance("Assets:Bank:Operating", "GBP", D("5.00"), D("5.00")),  # the functional currency: never
    ]
    lines = revaluation_lines(balances, {"EUR": D("0.8612"), "USD": D("0.79")}, "GBP")
    assert [(l.account, l.currency, l.revalued, l.adjustment) for l in lines] == [
        ("Assets:Amazon:Clearing", "EUR", D("172.24"), D("2.24")),
        ("Assets:Amazon:Reserve", "EUR", D("0.00"), D("-0.10")),
        ("Liabilities:Amazon:Payable", "EUR", D("-43.06"), D("-0.06")),
        ("Assets:Bank:Operating", "USD", D("79.00"), D("1.00"))]
    assert lines[0].as_dict() == {"account": "Assets:Amazon:Clearing", "currency": "EUR", "foreign_balance": "200.00",
                                  "rate": "0.8612", "carried": "170.00", "revalued": "172.24", "adjustment": "2.24"}
    eur, usd = revaluation_entries("UK", date(2026, 7, 31), "GBP", lines)
    assert (eur.currency, eur.rate, eur.date) == ("EUR", D("0.8612"), date(2026, 7, 31))
    assert [(p.account, p.amount, p.functional_amount) for p in eur.postings] == [
        ("Assets:Amazon:Clearing", 0, D("2.24")), ("Assets:Amazon:Reserve", 0, D("-0.10")),
        ("Liabilities:Amazon:Payable", 0, D("-0.06")),
        ("Income:FX:Unrealized", 0, D("-2.08"))]  # 2.24 - 0.10 - 0.06: a gain, credited
    assert [(p.account, p.functional_amount) for p in usd.postings] == [
        ("Assets:Bank:Operating", D("1.00")), ("Income:FX:Unrealized", D("-1.00"))]
    for entry in (eur, usd):
        assert balance(entry, "GBP") == entry  # amounts sum to zero in EUR, functional amounts in GBP
    with pytest.raises(Invalid, match="no EUR->GBP rate"):
        revaluation_lines(balances, {"USD": D("0.79")}, "GBP")


def test_what_is_monetary():
    assert is_monetary("Assets:Amazon:Clearing", "asset", True)
    assert is_monetary("Liabilities:AccountsPayable", "liability", True)
    assert not is_monetary("Assets:Amazon:Conversion", "asset", True)  # a trading account
    assert not is_monetary("Assets:Inventory:FBA:Available", "asset", False)  # SKU units keep their cost
    assert not is_monetary("Income:Amazon:Sales:Principal", "income", True)


def rows(engine, as_of=None) -> dict:
    with engine.connect() as conn:
        return {(r["account"], r["commodity"]): (r["balance"], r["functional_balance"])
                for r in balance_rows(conn, "UK", as_of)}


def test_revalue_a_period_then_reverse_it_the_next_day(engine):
    """Settlement 7001 (tests/fx/support.py) paid out on 08-03: at 07-31 clearing holds 110.00 EUR carried at 93.80
    GBP; at 07-31's 0.87 that is 95.70, an unrealized gain of 1.90, reversed on 08-01. The disbursement at 08-03's
    0.88 (96.80) then realizes 3.00 against the 93.80 clearing really carried: the revaluation changed nothing."""
    import_eur_gbp(engine, RATES | {"2026-07-31": "0.87", "2026-08-03": "0.88"})
    ingest_bytes(engine, eur_settlement(deposit="2026-08-03"), "de.txt", "UK")
    with write_transaction(engine) as conn:
        result = revalue_period(conn, "UK", "2026-07", "close-1")
    assert result["lines"] == [{"account": "Assets:Amazon:Clearing", "currency": "EUR", "foreign_balance": "110.00",
                                "rate": "0.87", "carried": "93.80", "revalued": "95.70", "adjustment": "1.90"}]
    with engine.connect() as conn:
        [reval] = [entry_view(conn, i) for i in result["entries"]]
        [undo] = [entry_view(conn, i) for i in result["reversal_entries"]]
        kinds = conn.execute(select(events.c.kind, events.c.idempotency_key, events.c.occurred_at)
                             .where(events.c.kind.like("fx_revaluation%")).order_by(events.c.id)).all()
    assert [(k, key, at.date()) for k, key, at in kinds] == [
        ("fx_revaluation", "fx-revaluation:2026-07:close-1", date(2026, 7, 31)),
        ("fx_revaluation_reversal", "fx-revaluation-reversal:2026-07:close-1", date(2026, 8, 1))]
    assert (reval["date"], reval["currency"], reval["rate"]) == ("2026-07-31", "EUR", "0.87")
    assert [(p["account"], p["amount"], p["functional_amount"]) for p in reval["postings"]] == [
        ("Assets:Amazon:Clearing", "0.00", "1.90"), ("Income:FX:Unrealized", "0.00", "-1.90")]
    assert (undo["date"], undo["links"]["reverses"]) == ("2026-08-01", reval["id"])
    assert [(p["account"], p["amount"], p["functional_amount"]) for p in undo["postings"]] == [
        ("Assets:Amazon:Clearing", "0.00", "-1.90"), ("Income:FX:Unrealized", "0.00", "1.90")]

    july = rows(engine, date(2026, 7, 31))
    assert july[("Assets:Amazon:Clearing", "EUR")] == (D("110.00"), D("95.70"))
    assert july[("Income:FX:Unrealized", "EUR")] == (D("0.00"), D("-1.90"))
    after = rows(engine)
    assert after[("Income:FX:Realized", "EUR")] == (D("0.00"), D("-3.00"))
    assert ("Income:FX:Unrealized", "EUR") not in after  # revalued and reversed: nothing left
    assert ("Assets:Amazon:Clearing", "EUR") not in after
    with engine.connect() as conn:
        for as_of in (date(2026, 7, 31), date(2026, 8, 1), None):
            assert D(trial_balance(conn, "UK", as_of)["functional_total"]) == 0
        assert verify(conn).ok


def test_closing_again_revalues_only_what_is_still_off(engine):
    import_eur_gbp(engine, RATES | {"2026-07-31": "0.87", "2026-08-03": "0.88"})
    ingest_bytes(engine, eur_settlement(deposit="2026-08-03"), "de.txt", "UK")
    with write_transaction(engine) as conn:
        first = revalue_period(conn, "UK", "2026-07", "close-1")
    with write_transaction(engine) as conn:  # nothing moved since: nothing to post
        assert revalue_period(conn, "UK", "2026-07", "close-2") == {
            "period": "2026-07", "as_of": "2026-07-31", "lines": [], "entries": [], "reversal_entries": []}
    # reopened: a late EUR entry dated in July, 10.00 at 0.86 = 8.60 GBP
    post(engine, event("late", subsidiary="UK"), [transfer("Assets:Amazon:Clearing", "Income:Amazon:Sales:Principal",
                                                           "10.00", subsidiary="UK", currency="EUR",
                                                           on=date(2026, 7, 20), rate="0.86")])
    with write_transaction(engine) as conn:
        second = revalue_period(conn, "UK", "2026-07", "close-3")
    # clearing: 120.00 EUR carried at 93.80 + 1.90 (the first revaluation, dated 07-31) + 8.60 = 104.30; at 0.87
    # that is 104.40: 0.10 more
    assert [(l["carried"], l["revalued"], l["adjustment"]) for l in second["lines"]] == [("104.30", "104.40", "0.10")]
    assert len(first["entries"]) == len(second["entries"]) == len(second["reversal_entries"]) == 1
    assert rows(engine, date(2026, 7, 31))[("Assets:Amazon:Clearing", "EUR")] == (D("120.00"), D("104.40"))
    with engine.connect() as conn:
        assert D(trial_balance(conn, "UK")["functional_total"]) == 0
        assert verify(conn).ok


def test_a_missing_period_end_rate_posts_nothing(engine):
    import_eur_gbp(engine, RATES | {"2026-08-03": "0.88"})  # the latest before 07-31 is 07-12: too old
    ingest_bytes(engine, eur_settlement(deposit="2026-08-03"), "de.txt", "UK")
    with engine.connect() as conn:
        before = conn.execute(select(func.count()).select_from(events)).scalar()
    with pytest.raises(Invalid, match=r"EUR->GBP.*2026-07-31"):
        with write_transaction(engine) as conn:
            revalue_period(conn, "UK", "2026-07", "close-1")
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(events)).scalar() == before


def test_conversion_and_functional_balances_are_left_alone(engine):
    """After the disbursement nothing foreign is open but Conversion (a trading account): nothing to revalue."""
    import_eur_gbp(engine, RATES | {"2026-07-16": "0.88", "2026-07-31": "0.90"})
    ingest_bytes(engine, eur_settlement(), "de.txt", "UK")
    with write_transaction(engine) as conn:
        assert revalue_period(conn, "UK", "2026-07", "close-1")["lines"] == []
