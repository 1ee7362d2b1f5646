"""The database itself refuses to change the log: UPDATE and DELETE on events, entries and postings fail."""

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

from ledger_service.balances.integrity import verify
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


# What the journal refers to keeps its identity (migration 0006): an account's subsidiary, name and type, a
# subsidiary's code and functional currency, and every column of a commodity, on both engines.
REFERENCE_CHANGES = [
    "UPDATE accounts SET name = name || '-x' WHERE subsidiary = 'US'",
    "UPDATE accounts SET type = 'income' WHERE name = 'Liabilities:Accrued'",
    "UPDATE accounts SET subsidiary = 'UK' WHERE name = 'Liabilities:Accrued' AND subsidiary = 'US'",
    "UPDATE accounts SET id = id + 100000",
    "UPDATE subsidiaries SET functional_currency = 'EUR' WHERE code = 'US'",
    "UPDATE subsidiaries SET code = 'XX' WHERE code = 'US'",
    "UPDATE commodities SET exponent = 0 WHERE code = 'USD'",
    "UPDATE commodities SET kind = 'units' WHERE code = 'USD'",
    "DELETE FROM commodities WHERE code = 'GBP'",
    "DELETE FROM accounts WHERE id IN (SELECT account_id FROM postings)",
    "DELETE FROM subsidiaries WHERE code = 'US'",
]


@pytest.mark.parametrize("statement", REFERENCE_CHANGES)
def test_reference_identity_is_refused(engine, statement):
    post(engine, event("k"), [transfer("Expenses:Amazon:Fees:Storage", "Liabilities:Accrued", "125.40")])
    table = statement.split()[1] if statement.startswith("UPDATE") else statement.split()[2]
    with pytest.raises(DBAPIError, match=f"on {table} is refused"):
        with engine.begin() as conn:
            conn.execute(text(statement))


def test_reference_configuration_may_change(engine):
    """An account's description and NetSuite id, a subsidiary's name, and an unused account may still change."""
    post(engine, event("k"), [transfer("Expenses:Amazon:Fees:Storage", "Liabilities:Accrued", "125.40")])
    with engine.begin() as conn:
        conn.execute(text("UPDATE accounts SET description = 'accrued', netsuite_id = '2100' "
                          "WHERE name = 'Liabilities:Accrued'"))
        conn.execute(text("UPDATE accounts SET name = name WHERE subsidiary = 'US'"))  # no change: no refusal
        conn.execute(text("UPDATE subsidiaries SET name = 'Example Brand Inc.' WHERE code = 'US'"))
        unused = conn.execute(text("SELECT count(*) FROM accounts WHERE subsidiary = 'UK'")).scalar()
        assert conn.execute(text("DELETE FROM accounts WHERE subsidiary = 'UK' AND id NOT IN "
                                 "(SELECT account_id FROM postings)")).rowcount == unused
    with engine.connect() as conn:
        assert verify(conn).ok


def test_truncate_of_reference_tables_refused_on_postgresql(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("TRUNCATE exists only on PostgreSQL")
    for table in ("accounts", "subsidiaries"):
        with pytest.raises(DBAPIError, match=f"TRUNCATE on {table} is refused"):
            with engine.begin() as conn:
                conn.execute(text(f"TRUNCATE {table} CASCADE"))
