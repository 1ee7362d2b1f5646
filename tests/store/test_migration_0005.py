"""Migration 0005 (API tokens, events.actor) goes down and up again on a ledger with events, keeping the
immutability triggers of events and every chain hash (events without an actor hash as before 0005)."""

import pytest
from alembic import command
from sqlalchemy import inspect, text

from ledger_service.balances.integrity import verify
from ledger_service.store.engine import make_engine
from ledger_service.store.migrate import alembic_config, upgrade
from tests.api.seed import post_journal


def test_down_to_0004_and_up_again(engine, db_url):
    post_journal(engine, "US")
    post_journal(engine, "UK")
    engine.dispose()
    command.downgrade(alembic_config(db_url), "0004")
    down = make_engine(db_url)
    with down.connect() as conn:
        assert "actor" not in {c["name"] for c in inspect(conn).get_columns("events")}
        assert "api_tokens" not in inspect(conn).get_table_names()
    down.dispose()
    upgrade(db_url)
    up = make_engine(db_url)
    with up.connect() as conn:
        report = verify(conn)
    assert report.ok and report.events == 2, report.problems
    with pytest.raises(Exception, match="append-only"), up.begin() as conn:
        conn.execute(text("UPDATE events SET kind = 'x'"))
    up.dispose()
