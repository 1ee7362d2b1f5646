"""Properties over random journals: trial balance zero, balances equal a fold, rebuild equals live, idempotency.

Each example posts into a subsidiary of its own (the database is shared by the examples of one test), so the
assertions are per subsidiary. The independent computation is a plain Python fold over what was posted.
"""

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import select

from ledger_service.balances.integrity import computed_balances, rebuild, stored_balances, verify
from ledger_service.balances.queries import balances_view, trial_balance
from ledger_service.chart.loader import accounts_for, load_chart
from ledger_service.chart.model import Subsidiary
from ledger_service.chart.service import add_subsidiary
from ledger_service.journal.model import EntryDraft, money_posting, units_posting
from ledger_service.journal.service import post, reverse
from ledger_service.settings import DEFAULT_ACCOUNTS_DIR
from ledger_service.store.engine import write_transaction
from ledger_service.store.tables import events
from tests.support.builders import event

ACCOUNTS = ["Assets:Bank:Operating", "Assets:Amazon:Clearing", "Income:Amazon:Sales:Principal",
            "Expenses:Amazon:Fees:Referral", "Liabilities:Accrued", "Equity:OpeningBalances"]
CHART = load_chart(DEFAULT_ACCOUNTS_DIR)
_subs = iter(range(1, 10**6))

cents = st.integers(min_value=-10**9, max_value=10**9).filter(bool)
entry_strategy = st.tuples(
    st.integers(min_value=0, max_value=60),  # day offset
    st.sampled_from(["USD", "EUR"]),
    st.lists(st.tuples(st.sampled_from(ACCOUNTS), cents), min_size=1, max_size=5),
    # units of a SKU moving between two inventory states at cost (units, cost in cents), or none
    st.one_of(st.none(), st.tuples(st.integers(min_value=-500, max_value=500).filter(bool),
                                   st.integers(min_value=1, max_value=99_999))),
)
ops = st.lists(st.one_of(st.tuples(st.just("post"), entry_strategy),
                         st.tuples(st.just("reverse"), st.integers(min_value=0, max_value=50))), min_size=1, max_size=12)


def new_subsidiary(engine) -> str:
    code = f"P{next(_subs)}"
    with write_transaction(engine) as conn:
        add_subsidiary(conn, Subsidiary(code, code, "USD"), accounts_for(CHART, code))
    return code


def make_entry(sub, day, currency, lines, units=None):
    postings = [money_posting(a, Decimal(c) / 100) for a, c in lines]
    if units is not None:  # a state change of inventory: balanced in units and in value by itself
        n, cost = Decimal(units[0]), Decimal(units[1]) / 100
        postings += [units_posting("Assets:Inventory:FBA:Available", "SKU-P", n, cost, currency),
                     units_posting("Assets:Inventory:FBA:Inbound", "SKU-P", -n, cost, currency)]
    total = sum(Decimal(c) for _, c in lines) / 100
    postings.append(money_posting("Equity:OpeningBalances", -total))  # closes the entry; may be a zero posting
    rate = Decimal("1") if currency == "USD" else Decimal("1.0837")
    return EntryDraft(sub, date(2026, 1, 1) + timedelta(days=day), currency, "random", tuple(postings), rate=rate)


def _key(p, entry) -> tuple:
    """Units of one SKU held at costs in two currencies are two balances, as in the ledger."""
    return (p.account, p.commodity or entry.currency, entry.currency if p.is_units else None)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=ops)
def test_random_journals_keep_every_invariant(engine, operations):
    sub = new_subsidiary(engine)
    fold: dict[tuple, Decimal] = defaultdict(Decimal)  # (account, commodity, cost currency) -> balance, by hand
    posted: list[tuple[int, EntryDraft]] = []
    reversed_ids: set[int] = set()
    for n, (kind, arg) in enumerate(operations):
        if kind == "post":
            entry = make_entry(sub, *arg)
            result = post(engine, event(f"e{n}", subsidiary=sub), [entry])
            posted.append((result.entry_ids[0], entry))
            for p in entry.postings:
                fold[_key(p, entry)] += p.units if p.is_units else p.amount
        elif posted:
            entry_id, entry = posted[arg % len(posted)]
            if entry_id in reversed_ids:
                continue
            reverse(engine, entry_id, "property test")
            reversed_ids.add(entry_id)
            for p in entry.postings:
                fold[_key(p, entry)] -= p.units if p.is_units else p.amount

    # Idempotency: posting the first event again changes nothing.
    with engine.connect() as conn:
        before = stored_balances(conn)
        n_events = len(conn.execute(select(events.c.id).where(events.c.subsidiary == sub)).all())
    if posted:
        again = post(engine, event("e0", subsidiary=sub), [posted[0][1]]) if operations[0][0] == "post" else None
        assert again is None or again.duplicate
    with engine.connect() as conn:
        assert stored_balances(conn) == before
        assert len(conn.execute(select(events.c.id).where(events.c.subsidiary == sub)).all()) == n_events

        tb = trial_balance(conn, sub)
        assert all(Decimal(t["balance"]) == 0 for t in tb["totals"]), tb["totals"]
        assert Decimal(tb["functional_total"]) == 0
        got = {(r["account"], r["commodity"], r.get("value_currency")): Decimal(r["balance"])
               for r in balances_view(conn, sub)}
        assert got == {k: v for k, v in fold.items() if v != 0}
        assert stored_balances(conn) == computed_balances(conn)
    with write_transaction(engine) as conn:
        rebuild(conn)
    with engine.connect() as conn:
        assert stored_balances(conn) == before
        assert verify(conn).ok
