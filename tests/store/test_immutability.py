"""The database itself refuses to change the log: UPDATE and DELETE on events, entries and postings fail."""

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

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
