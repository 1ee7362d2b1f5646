"""Posting to the real database: idempotency, conflicts, atomic batches, reversals, units."""

from datetime import date
from decimal import Decimal as D

import pytest
from sqlalchemy import func, select

from ledger_service.balances.queries import balances_view, trial_balance
from ledger_service.errors import Conflict, Invalid, NotFound, UnbalancedEntry
from ledger_service.journal.model import EntryDraft, money_posting, units_posting
from ledger_service.journal.service import entry_view, post, reverse
from ledger_service.journal.writer import post_batch
from ledger_service.store.engine import write_transaction
from ledger_service.store.tables import entries, events, postings
from tests.support.builders import event, transfer


def count(engine, table):
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar()


def test_post_and_repost_same_key_changes_nothing(engine):
    first = post(engine, event("k1"), [transfer("Expenses:Amazon:Fees:Storage", "Liabilities:Accrued", "125.40")])
    again = post(engine, event("k1"), [transfer("Expenses:Amazon:Fees:Storage", "Liabilities:Accrued", "125.40")])
    assert not first.duplicate and again.duplicate
    assert again.event_id == first.event_id and again.entry_ids == first.entry_ids
    assert (count(engine, events), count(engine, entries), count(engine, postings)) == (1, 1, 2)


def test_same_key_other_content_is_a_conflict(engine):
    post(engine, event("k1", raw='{"a": 1}'), [transfer("Assets:Bank:Operating", "Equity:OpeningBalances", "1.00")])
    with pytest.raises(Conflict, match="'k1' of subsidiary US was already used by event 1 with different content"):
        post(engine, event("k1", raw='{"a": 2}'), [transfer("Assets:Bank:Operating", "Equity:OpeningBalances", "2.00")])


def test_a_batch_with_one_bad_entry_writes_nothing(engine):
    good = (event("g1"), [transfer("Assets:Bank:Operating", "Equity:OpeningBalances", "10.00")])
    bad = (event("b1"), [EntryDraft("US", date(2026, 10, 31), "USD", "bad", (
        money_posting("Assets:Bank:Operating", D("5.00")), money_posting("Equity:OpeningBalances", D("-4.00"))))])
    with pytest.raises(UnbalancedEntry, match="USD postings sum to 1.00"):
        with write_transaction(engine) as conn:
            post_batch(conn, [good, bad])
    assert (count(engine, events), count(engine, entries), count(engine, postings)) == (0, 0, 0)


def test_unknown_account_and_subsidiary_are_named(engine):
    with pytest.raises(Invalid, match="unknown account 'Assets:Nope' in subsidiary US"):
        post(engine, event("x"), [transfer("Assets:Nope", "Equity:OpeningBalances", "1.00")])
    with pytest.raises(NotFound, match="unknown subsidiary 'ZZ'"):
        post(engine, event("x", subsidiary="ZZ"), [transfer("Assets:Bank:Operating", "Equity:OpeningBalances", "1.00", subsidiary="ZZ")])


def test_reversal_is_linked_and_happens_once(engine):
    original = post(engine, event("k"), [transfer("Expenses:Amazon:Fees:Storage", "Liabilities:Accrued", "125.40")])
    entry_id = original.entry_ids[0]
    rev = reverse(engine, entry_id, "accrued twice", date(2026, 11, 1))
    with engine.connect() as conn:
        view = entry_view(conn, rev.entry_ids[0])
        orig_view = entry_view(conn, entry_id)
        assert view["links"]["reverses"] == entry_id and view["reason"] == "accrued twice"
        assert orig_view["links"]["reversed_by"] == rev.entry_ids[0]
        assert [p["amount"] for p in view["postings"]] == ["-125.40", "125.40"]
        assert balances_view(conn, "US", account="Liabilities:Accrued") == []  # nets to zero: no row
        before = balances_view(conn, "US", as_of=date(2026, 10, 31), account="Liabilities:Accrued")
        assert before[0]["balance"] == "-125.40"
    # Reversing again (other key, so not an idempotent repeat) is refused.
    with pytest.raises(Conflict, match=f"entry {entry_id} was already reversed by entry {rev.entry_ids[0]}"):
        reverse(engine, entry_id, "again", idempotency_key="second-try")
    # The same reversal request again is an idempotent no-op.
    assert reverse(engine, entry_id, "accrued twice", date(2026, 11, 1)).duplicate


def test_foreign_currency_entry_balances_in_both(engine):
    # 100.00 GBP at 1.2731 USD/GBP -> 127.31 USD in the US subsidiary's functional currency.
    post(engine, event("fx"), [transfer("Assets:Bank:Operating", "Equity:OpeningBalances", "100.00",
                                        currency="GBP", rate="1.2731")])
    with engine.connect() as conn:
        tb = trial_balance(conn, "US")
    bank = next(r for r in tb["rows"] if r["account"] == "Assets:Bank:Operating")
    assert (bank["commodity"], bank["balance"], bank["functional_balance"]) == ("GBP", "100.00", "127.31")
    assert [(t["commodity"], t["balance"]) for t in tb["totals"]] == [("GBP", "0.00")]
    assert tb["functional_total"] == "0.00"


def test_units_move_between_states_at_cost(engine):
    sku, cost = "NX-HD-1200", D("4.25")
    receive = EntryDraft("US", date(2026, 10, 1), "USD", "receive 10 units", (
        units_posting("Assets:Inventory:FBA:Inbound", sku, D(10), cost, "USD"),
        money_posting("Liabilities:AccountsPayable", D("-42.50"))))
    move = EntryDraft("US", date(2026, 10, 5), "USD", "FBA received 10", (
        units_posting("Assets:Inventory:FBA:Available", sku, D(10), cost, "USD"),
        units_posting("Assets:Inventory:FBA:Inbound", sku, D(-10), cost, "USD")))
    sell = EntryDraft("US", date(2026, 10, 9), "USD", "sold 3", (
        units_posting("Assets:Inventory:FBA:Available", sku, D(-3), cost, "USD"),
        money_posting("Expenses:COGS", D("12.75"))))
    post(engine, event("r"), [receive])
    post(engine, event("m"), [move])
    post(engine, event("s"), [sell])
    with engine.connect() as conn:
        rows = balances_view(conn, "US", account="Assets:Inventory")
        tb = trial_balance(conn, "US")
        mid = balances_view(conn, "US", as_of=date(2026, 10, 4), account="Assets:Inventory")
    assert [(r["account"], r["commodity"], r["balance"], r["value"]) for r in rows] == [
        ("Assets:Inventory:FBA:Available", sku, "7", "29.75")]
    assert [(r["account"], r["balance"]) for r in mid] == [("Assets:Inventory:FBA:Inbound", "10")]
    assert [(t["commodity"], t["balance"]) for t in tb["totals"]] == [("USD", "0.00")]
