"""The daily balances never overflow or change type: a batch that would push one past a 64-bit integer of minor
units is refused, nothing of it written (both engines; SQLite by migration 0007's guard)."""

from datetime import date

import pytest
from sqlalchemy import func, select, text

from ledger_service.balances.integrity import verify
from ledger_service.errors import Invalid
from ledger_service.journal.service import post
from ledger_service.store.tables import events
from tests.support.builders import event, transfer

NEAR_MAX = 2**63 - 100  # minor units


def test_a_balance_that_would_overflow_is_refused(engine, superuser_conn):
    post(engine, event("first"), [transfer("Assets:Bank:Operating", "Liabilities:Accrued", "1.00", on=date(2026, 5, 1))])
    # behind the ledger's back: the projection near its limit (as a million huge postings on one day would leave it)
    superuser_conn.execute(text("UPDATE balances SET amount = :v, functional_amount = :v WHERE amount > 0"),
                           {"v": NEAR_MAX})
    superuser_conn.commit()
    with pytest.raises(Invalid, match="a daily balance would overflow a 64-bit integer"):
        post(engine, event("second"), [transfer("Assets:Bank:Operating", "Liabilities:Accrued", "2.00",
                                                on=date(2026, 5, 1))])
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(events)).scalar() == 1  # nothing of it was written
        if engine.dialect.name == "sqlite":
            kinds = {r[0] for r in conn.execute(text("SELECT typeof(amount) FROM balances"))}
            assert kinds == {"integer"}


def test_verify_names_a_dropped_balance_guard_on_sqlite(engine, superuser_conn):
    if engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL's BIGINT arithmetic raises on overflow by itself")
    superuser_conn.execute(text("DROP TRIGGER balances_integer_update"))
    superuser_conn.commit()
    with engine.connect() as conn:
        report = verify(conn)
    assert not report.ok and any("balances_integer_update" in p for p in report.problems)
