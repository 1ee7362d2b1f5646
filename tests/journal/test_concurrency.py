"""Concurrent writers: the chain-head lock (PostgreSQL) or the write lock (SQLite) keeps one chain per subsidiary."""

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select

from ledger_service.balances.integrity import verify
from ledger_service.balances.queries import trial_balance
from ledger_service.journal.service import post
from ledger_service.store.tables import events
from tests.support.builders import event, transfer


def test_four_writers_on_two_subsidiaries_keep_the_chains_whole(engine):
    def writer(n: int) -> None:
        sub = "US" if n % 2 == 0 else "UK"
        currency = "USD" if sub == "US" else "GBP"
        for i in range(15):
            post(engine, event(f"w{n}-{i}", subsidiary=sub),
                 [transfer("Assets:Bank:Operating", "Equity:OpeningBalances", "1.00", subsidiary=sub, currency=currency)])
            # the same key again from another writer's point of view: a duplicate, never a second event
            post(engine, event(f"w{n}-{i}", subsidiary=sub),
                 [transfer("Assets:Bank:Operating", "Equity:OpeningBalances", "1.00", subsidiary=sub, currency=currency)])

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(writer, range(4)))
    with engine.connect() as conn:
        for sub in ("US", "UK"):
            seqs = [r.seq for r in conn.execute(select(events.c.seq).where(events.c.subsidiary == sub)
                                                .order_by(events.c.seq))]
            assert seqs == list(range(1, 31))
            bank = next(r for r in trial_balance(conn, sub)["rows"] if r["account"] == "Assets:Bank:Operating")
            assert bank["balance"] == "30.00"
        report = verify(conn)
    assert report.ok, report.problems
