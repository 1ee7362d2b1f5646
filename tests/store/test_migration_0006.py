"""Migration 0006 (what the journal refers to keeps its identity) goes down and up again on a ledger with events:
the reference triggers go and come back, and every chain still verifies (0006 changes no row, and the hash
version is inside each hashed record, not in a column a downgrade would drop)."""

import pytest
from alembic import command
from sqlalchemy import text

from ledger_service.balances.integrity import guard_problems, verify
from ledger_service.store.engine import make_engine
from ledger_service.store.migrate import alembic_config, upgrade
from tests.api.seed import post_journal

RETYPE = "UPDATE accounts SET type = 'income' WHERE name = 'Liabilities:Accrued'"


def test_down_to_0005_and_up_again(engine, db_url):
    post_journal(engine, "US")
    engine.dispose()
    command.downgrade(alembic_config(db_url), "0005")
    down = make_engine(db_url)
    with down.connect() as conn:
        missing = guard_problems(conn)
        assert any("accounts_identity" in p for p in missing) and any("subsidiaries_no_delete" in p for p in missing)
    with down.begin() as conn:  # unguarded again, as before 0006: a retype goes through (and is put back)
        conn.execute(text(RETYPE))
        conn.execute(text("UPDATE accounts SET type = 'liability' WHERE name = 'Liabilities:Accrued'"))
    down.dispose()
    upgrade(db_url)
    up = make_engine(db_url)
    with up.connect() as conn:
        report = verify(conn)
    assert report.ok and report.events == 1 and report.legacy_events == 0, report.problems
    with pytest.raises(Exception, match="on accounts is refused"), up.begin() as conn:
        conn.execute(text(RETYPE))
    up.dispose()
