"""The database itself refuses to change the log: UPDATE and DELETE on events, entries and postings fail."""

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

from ledger_service.journal.service import post
from tests.support.builders import event, transfer

STATEMENTS = [
    "UPDATE events SET raw = 'x'",
    "DELETE FROM events",
    "UPDATE entries SET description = 'x'",
    "DELETE FROM entries",
    "UPDATE postings SET amount = amount + 1",
    "DELETE FROM postings",
]


@pytest.mark.parametrize("statement", STATEMENTS)
def test_database_refuses_changes(engine, statement):
    post(engine, event("k"), [transfer("Expenses:Amazon:Fees:Storage", "Liabilities:Accrued", "125.40")])
    table = statement.split()[1] if statement.startswith("UPDATE") else statement.split()[2]
    with pytest.raises(DBAPIError, match=f"on {table} is refused: the journal is append-only"):
        with engine.begin() as conn:
            conn.execute(text(statement))
    with engine.connect() as conn:
        assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar() >= 1


def test_truncate_refused_on_postgresql(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("TRUNCATE exists only on PostgreSQL")
    post(engine, event("k"), [transfer("Expenses:Amazon:Fees:Storage", "Liabilities:Accrued", "125.40")])
    with pytest.raises(DBAPIError, match="TRUNCATE on postings is refused"):
        with engine.begin() as conn:
            conn.execute(text("TRUNCATE postings"))


# A posting, entry or event that points at nothing is refused on both engines: SQLite by its foreign keys,
# PostgreSQL by statement-level checks over the inserted rows (migration 0004), with the same SQLSTATE class.
DANGLING = [
    ("postings", "INSERT INTO postings (entry_id, subsidiary, account_id, commodity, quantity, amount, "
                 "functional_amount) SELECT 999999, 'US', account_id, commodity, 1, 1, 1 FROM postings LIMIT 1"),
    ("postings", "INSERT INTO postings (entry_id, subsidiary, account_id, commodity, quantity, amount, "
                 "functional_amount) SELECT entry_id, 'US', 999999, commodity, 1, 1, 1 FROM postings LIMIT 1"),
    ("postings", "INSERT INTO postings (entry_id, subsidiary, account_id, commodity, quantity, amount, "
                 "functional_amount) SELECT entry_id, 'US', account_id, 'NOPE', 1, 1, 1 FROM postings LIMIT 1"),
    ("entries", "INSERT INTO entries (subsidiary, event_id, effective_date, currency, rate, description, state) "
                "SELECT 'US', 999999, effective_date, currency, rate, 'x', state FROM entries LIMIT 1"),
    ("entries", "INSERT INTO entries (subsidiary, event_id, effective_date, currency, rate, description, state) "
                "SELECT 'XX', event_id, effective_date, currency, rate, 'x', state FROM entries LIMIT 1"),
]


@pytest.mark.parametrize("table, statement", DANGLING)
def test_database_refuses_dangling_references(engine, table, statement):
    post(engine, event("k"), [transfer("Expenses:Amazon:Fees:Storage", "Liabilities:Accrued", "125.40")])
    with engine.connect() as conn:
        before = conn.execute(text(f"SELECT count(*) FROM {table}")).scalar()
    with pytest.raises(IntegrityError, match="(?i)foreign key"):
        with engine.begin() as conn:
            conn.execute(text(statement))
    with engine.connect() as conn:
        assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar() == before


def test_commodities_in_use_cannot_be_removed(engine):
    post(engine, event("k"), [transfer("Expenses:Amazon:Fees:Storage", "Liabilities:Accrued", "125.40")])
    with pytest.raises(DBAPIError):
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM commodities WHERE code = 'USD'"))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM commodities WHERE code = 'USD'")).scalar() == 1
