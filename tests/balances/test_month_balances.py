"""Month-end balances (migration 0010): reads from them equal the daily sums and a fold over what was posted, at
any date; the writer keeps them equal to a rebuild, back-dated postings and new months included; verify names a
row that differs; the migration fills them from the daily balances; they refuse to overflow. And the trial
balance's minor units written out as money.fmt writes them.

The property test posts into a subsidiary of its own per example (the database is shared by the examples), in
batches of entries whose dates are drawn over sixteen months in any order, so that a batch may open new months,
back-date into old ones and add keys whose first month is earlier than the subsidiary's last, all at once.
"""

from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from alembic import command
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import delete, insert, select, text

from ledger_service.balances.integrity import (computed_month_balances, rebuild, stored_balances,
                                               stored_month_balances, verify)
from ledger_service.balances.queries import (_decimal, _text, balance_rows, balance_rows_from_days, trial_balance,
                                             trial_balance_from_days)
from ledger_service.chart.loader import accounts_for, load_chart
from ledger_service.chart.model import Subsidiary
from ledger_service.chart.service import add_subsidiary
from ledger_service.errors import Invalid
from ledger_service.journal.model import EntryDraft, balance, money_posting, reversal_of, units_posting
from ledger_service.journal.service import post
from ledger_service.journal.writer import post_batch
from ledger_service.money import fmt, from_minor
from ledger_service.settings import DEFAULT_ACCOUNTS_DIR
from ledger_service.store.engine import make_engine, write_transaction
from ledger_service.store.migrate import alembic_config, upgrade
from ledger_service.store.tables import accounts, month_balances, periods
from tests.support.builders import event, transfer

ACCOUNTS = ["Assets:Bank:Operating", "Assets:Amazon:Clearing", "Income:Amazon:Sales:Principal",
            "Expenses:Amazon:Fees:Referral", "Liabilities:Accrued"]
CHART = load_chart(DEFAULT_ACCOUNTS_DIR)
DAY0 = date(2025, 11, 15)
SPAN = 480  # days: sixteen months, from the middle of one to the start of another
_subs = iter(range(1, 10**6))

cents = st.integers(min_value=-10**8, max_value=10**8).filter(bool)
entry_strategy = st.tuples(
    st.integers(min_value=0, max_value=SPAN),  # day offset
    st.sampled_from(["USD", "EUR"]),
    st.sampled_from(["posted", "posted", "pending"]),
    st.lists(st.tuples(st.sampled_from(ACCOUNTS), cents), min_size=1, max_size=4),
    st.one_of(st.none(), st.tuples(st.integers(min_value=-300, max_value=300).filter(bool),
                                   st.integers(min_value=1, max_value=99_999))),
)
# a batch: entries, and reversals of earlier entries (index, day offset of the reversal)
batch_strategy = st.tuples(st.lists(entry_strategy, min_size=0, max_size=4),
                           st.lists(st.tuples(st.integers(min_value=0, max_value=40),
                                              st.integers(min_value=0, max_value=SPAN)), max_size=2))
as_of_strategy = st.lists(st.integers(min_value=-40, max_value=SPAN + 60), min_size=3, max_size=8)


def new_subsidiary(engine) -> str:
    code = f"M{next(_subs)}"
    with write_transaction(engine) as conn:
        add_subsidiary(conn, Subsidiary(code, code, "USD"), accounts_for(CHART, code))
    return code


def make_entry(sub, day, currency, state, lines, units=None) -> EntryDraft:
    postings = [money_posting(a, Decimal(c) / 100) for a, c in lines]
    if units is not None:
        n, cost = Decimal(units[0]), Decimal(units[1]) / 100
        postings += [units_posting("Assets:Inventory:FBA:Available", "SKU-M", n, cost, currency),
                     units_posting("Assets:Inventory:FBA:Inbound", "SKU-M", -n, cost, currency)]
    postings.append(money_posting("Equity:OpeningBalances", -sum(Decimal(c) for _, c in lines) / 100))
    rate = Decimal("1") if currency == "USD" else Decimal("1.0837")
    return EntryDraft(sub, DAY0 + timedelta(days=day), currency, "random", tuple(postings), rate=rate, state=state)


def folded(drafts: list[EntryDraft], as_of: date | None) -> dict:
    """What balance_rows must say, from the balanced drafts themselves: (account, commodity, value currency) ->
    (balance, pending, functional balance, value)."""
    sums: dict[tuple, list[Decimal]] = defaultdict(lambda: [Decimal(0)] * 6)
    for d in drafts:
        if as_of is not None and d.date > as_of:
            continue
        for p in d.postings:
            key = (p.account, p.commodity if p.is_units else d.currency, d.currency if p.is_units else None)
            at = 0 if d.state == "posted" else 3
            s = sums[key]
            s[at] += p.units if p.is_units else p.amount
            s[at + 1] += p.amount
            s[at + 2] += p.functional_amount
    return {k: (s[0], s[3], s[2], s[1] if k[2] else None) for k, s in sums.items() if any(s)}


def as_read(rows: list[dict]) -> dict:
    return {(r["account"], r["commodity"], r.get("value_currency")):
            (r["balance"], r["pending"], r["functional_balance"], r.get("value")) for r in rows}


def only(sub: str, rows: dict) -> dict:
    return {k: v for k, v in rows.items() if k[0] == sub}


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=st.lists(batch_strategy, min_size=1, max_size=6), days=as_of_strategy)
def test_month_end_reads_equal_daily_sums_and_the_postings(engine, batches, days):
    sub = new_subsidiary(engine)
    drafts: list[EntryDraft] = []  # everything posted, balanced (functional amounts filled)
    originals: list[tuple[int, EntryDraft]] = []  # (entry id, draft) of the entries that may be reversed
    reversed_ids: set[int] = set()
    n = 0
    for entries_, reversals in batches:
        items = []
        for spec in entries_:
            items.append((event(f"e{n}", subsidiary=sub), [balance(make_entry(sub, *spec), "USD")]))
            n += 1
        for index, day in reversals:  # dated anywhere in the span: before its original, or months after it
            if not originals or originals[index % len(originals)][0] in reversed_ids:
                continue
            target, original = originals[index % len(originals)]
            undo = reversal_of(original, DAY0 + timedelta(days=day), "test", target)
            items.append((event(f"r{target}", subsidiary=sub, kind="reversal"), [undo]))
            reversed_ids.add(target)
        if not items:
            continue
        with write_transaction(engine) as conn:
            results = post_batch(conn, items)
        for result, (_event, (draft,)) in zip(results, items):
            drafts.append(draft)
            if draft.reverses_entry_id is None:
                originals.append((result.entry_ids[0], draft))
    with engine.connect() as conn:
        live = only(sub, stored_month_balances(conn))
        assert live == only(sub, computed_month_balances(conn))
        dates = [None, DAY0 - timedelta(days=1)] + [DAY0 + timedelta(days=d) for d in days]
        months = sorted({k[5] for k in live})
        dates += [m - timedelta(days=1) for m in months] + months  # every month's last and first day
        for as_of in dates:
            by_months = balance_rows(conn, sub, as_of)
            assert by_months == balance_rows_from_days(conn, sub, as_of), as_of
            assert as_read(by_months) == folded(drafts, as_of), as_of
            tb = trial_balance(conn, sub, as_of)
            assert tb == trial_balance_from_days(conn, sub, as_of)
            assert all(Decimal(t["balance"]) == 0 for t in tb["totals"]) and Decimal(tb["functional_total"]) == 0
    with write_transaction(engine) as conn:
        rebuild(conn)
    with engine.connect() as conn:
        assert only(sub, stored_month_balances(conn)) == live


def test_rows_are_dense_and_back_dating_moves_every_later_month(engine):
    post(engine, event("jan"), [transfer("Assets:Bank:Operating", "Equity:OpeningBalances", "10.00",
                                         on=date(2026, 1, 10))])
    post(engine, event("apr"), [transfer("Expenses:Amazon:Fees:Referral", "Assets:Bank:Operating", "1.00",
                                         on=date(2026, 4, 2))])
    post(engine, event("back"), [transfer("Assets:Bank:Operating", "Equity:OpeningBalances", "5.00",
                                          on=date(2026, 2, 27))])
    with engine.connect() as conn:
        bank = conn.execute(text("SELECT id FROM accounts WHERE subsidiary = 'US' AND name = 'Assets:Bank:Operating'")
                            ).scalar()
        rows = conn.execute(select(month_balances.c.month, month_balances.c.amount, month_balances.c.postings)
                            .where(month_balances.c.account_id == bank).order_by(month_balances.c.month)).all()
        # every month from January to April, cumulative: the February posting moved February, March and April
        assert [(r.month, r.amount, r.postings) for r in rows] == [
            (date(2026, 1, 1), 1000, 1), (date(2026, 2, 1), 1500, 2), (date(2026, 3, 1), 1500, 2),
            (date(2026, 4, 1), 1400, 3)]
        fees = conn.execute(select(month_balances.c.month).join(accounts, accounts.c.id == month_balances.c.account_id)
                            .where(accounts.c.name == "Expenses:Amazon:Fees:Referral")).scalars().all()
        assert fees == [date(2026, 4, 1)]  # a key starts at its first month
        assert stored_month_balances(conn) == computed_month_balances(conn)
        for as_of, want in [(date(2026, 1, 9), None), (date(2026, 2, 26), "10.00"), (date(2026, 3, 15), "15.00"),
                            (date(2026, 4, 1), "15.00"), (date(2030, 1, 1), "14.00")]:
            got = {r["account"]: r["balance"] for r in balance_rows(conn, "US", as_of)}.get("Assets:Bank:Operating")
            assert got == (None if want is None else Decimal(want)), as_of


def test_verify_names_a_month_end_row_that_differs(engine, superuser_conn):
    post(engine, event("a"), [transfer("Assets:Bank:Operating", "Equity:OpeningBalances", "10.00",
                                       on=date(2026, 1, 10))])
    post(engine, event("b"), [transfer("Assets:Bank:Operating", "Equity:OpeningBalances", "1.00",
                                       on=date(2026, 2, 10))])
    event_id = superuser_conn.execute(text("SELECT max(id) FROM events")).scalar()
    superuser_conn.execute(insert(periods).values(subsidiary="US", period="2026-01", status="closed",
                                                  event_id=event_id, changed_at=datetime(2026, 2, 1)))
    superuser_conn.execute(text("UPDATE month_balances SET amount = amount + 1, quantity = quantity + 1 "
                                "WHERE amount = 1000"))
    superuser_conn.commit()
    with engine.connect() as conn:
        report = verify(conn)
    assert not report.ok
    assert "1 month-end balance row(s) differ from a rebuild over the postings" in report.problems[0]
    assert any("month-end balance of US Assets:Bank:Operating USD (posted) at the end of 2026-01 (a closed period): "
               "stored quantity 1001, amount 1001" in p and "from the postings quantity 1000, amount 1000" in p
               for p in report.problems), report.problems
    assert not any("daily balances differ" in p for p in report.problems)
    superuser_conn.execute(delete(month_balances).where(month_balances.c.month == date(2026, 2, 1)))
    superuser_conn.commit()
    with engine.connect() as conn:
        problems = verify(conn).problems
    assert any("at the end of 2026-02: stored no row" in p for p in problems), problems
    with write_transaction(engine) as conn:
        rebuild(conn)
    with engine.connect() as conn:
        assert verify(conn).ok


def test_the_migration_fills_month_ends_from_the_daily_balances(engine, db_url):
    for i, (on, amount) in enumerate([(date(2025, 12, 31), "3.00"), (date(2026, 3, 1), "4.00"),
                                      (date(2026, 1, 15), "5.00")]):
        post(engine, event(f"k{i}"), [transfer("Assets:Bank:Operating", "Equity:OpeningBalances", amount, on=on)])
    post(engine, event("uk", subsidiary="UK"), [transfer("Assets:Bank:Operating", "Equity:OpeningBalances", "1.00",
                                        subsidiary="UK", currency="GBP", on=date(2026, 5, 5))])
    with engine.connect() as conn:
        live, daily = stored_month_balances(conn), stored_balances(conn)
    engine.dispose()
    command.downgrade(alembic_config(db_url), "0009")
    down = make_engine(db_url)
    with down.connect() as conn:
        assert "month_balances" not in {r[0] for r in conn.execute(text(
            "SELECT name FROM sqlite_master WHERE type = 'table'" if down.dialect.name == "sqlite" else
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"))}
    down.dispose()
    upgrade(db_url)
    up = make_engine(db_url)
    with up.connect() as conn:
        assert stored_balances(conn) == daily
        assert stored_month_balances(conn) == live == computed_month_balances(conn)
        assert len([k for k in live if k[0] == "US"]) == 2 * 4  # two keys, December to March
        assert verify(conn).ok
    up.dispose()


NEAR_MAX = 2**63 - 100


def test_a_month_end_balance_that_would_overflow_is_refused(engine, superuser_conn):
    post(engine, event("first"), [transfer("Assets:Bank:Operating", "Liabilities:Accrued", "1.00",
                                           on=date(2026, 4, 30))])
    # behind the ledger's back: the month-end row near its limit, the daily row not (a cumulative of many days)
    superuser_conn.execute(text("UPDATE month_balances SET amount = :v, functional_amount = :v WHERE amount > 0"),
                           {"v": NEAR_MAX})
    superuser_conn.commit()
    with pytest.raises(Invalid, match="a month-end balance would overflow a 64-bit integer"):
        post(engine, event("second"), [transfer("Assets:Bank:Operating", "Liabilities:Accrued", "2.00",
                                                on=date(2026, 4, 1))])
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM events")).scalar() == 1
        if engine.dialect.name == "sqlite":
            kinds = {r[0] for r in conn.execute(text("SELECT typeof(amount) FROM month_balances"))}
            assert kinds == {"integer"}


@given(minor=st.integers(min_value=-2**63, max_value=2**63 - 1), exp=st.sampled_from([0, 1, 2, 3]))
def test_trial_balance_writes_minor_units_as_money_fmt_does(minor, exp):
    assert _text(minor, exp) == fmt(from_minor(minor, exp))
    assert _decimal(minor, exp).as_tuple() == from_minor(minor, exp).as_tuple()
