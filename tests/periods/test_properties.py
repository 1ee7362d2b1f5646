"""Property: whatever is posted after a month closes, and whenever it is dated, the closed month does not move.

Random entries dated from January to early March, a close of January at a random point among them: after every
operation the balances as of January 31 equal a fold of the entries posted before the close (by hand, in Python),
every entry posted after the close that was dated in January sits on February 1 with its own date kept, the trial
balance is zero, and `verify` is clean (the chain hash covers original_date).
"""

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import select

from ledger_service.balances.integrity import verify
from ledger_service.balances.queries import balances_view, trial_balance
from ledger_service.journal.model import EntryDraft, money_posting
from ledger_service.journal.service import post
from ledger_service.periods import service
from ledger_service.store.engine import write_transaction
from ledger_service.store.tables import entries
from tests.balances.test_properties import ACCOUNTS, new_subsidiary
from tests.support.builders import event

JAN_END = date(2026, 1, 31)
cents = st.integers(min_value=-10**7, max_value=10**7).filter(bool)
entry = st.tuples(st.integers(min_value=0, max_value=65),
                  st.lists(st.tuples(st.sampled_from(ACCOUNTS), cents), min_size=1, max_size=4))


def draft(sub: str, day: int, lines) -> EntryDraft:
    postings = [money_posting(a, Decimal(c) / 100) for a, c in lines]
    postings.append(money_posting("Equity:OpeningBalances", -sum(Decimal(c) for _, c in lines) / 100))
    return EntryDraft(sub, date(2026, 1, 1) + timedelta(days=day), "USD", "random", tuple(postings))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(before=st.lists(entry, max_size=6), after=st.lists(entry, min_size=1, max_size=6))
def test_a_closed_month_never_moves(engine, before, after):
    sub = new_subsidiary(engine)
    january: dict[str, Decimal] = defaultdict(Decimal)
    for n, (day, lines) in enumerate(before):
        d = draft(sub, day, lines)
        post(engine, event(f"b{n}", subsidiary=sub), [d])
        if d.date <= JAN_END:
            for p in d.postings:
                january[p.account] += p.amount
    with write_transaction(engine) as conn:
        service.close_period(conn, sub, "2026-01", reason="property")
    for n, (day, lines) in enumerate(after):
        d = draft(sub, day, lines)
        result = post(engine, event(f"a{n}", subsidiary=sub), [d])
        with engine.connect() as conn:
            row = conn.execute(select(entries).where(entries.c.id == result.entry_ids[0])).one()
            if d.date <= JAN_END:
                assert (row.effective_date, row.original_date) == (date(2026, 2, 1), d.date)
            else:
                assert (row.effective_date, row.original_date) == (d.date, None)
            got = {r["account"]: Decimal(r["balance"]) for r in balances_view(conn, sub, JAN_END)}
            assert got == {k: v for k, v in january.items() if v != 0}
    with engine.connect() as conn:
        assert Decimal(trial_balance(conn, sub)["functional_total"]) == 0
        assert verify(conn).ok
