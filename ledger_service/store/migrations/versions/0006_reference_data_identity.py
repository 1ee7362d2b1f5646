"""What the journal refers to keeps its identity: accounts, subsidiaries and commodities, on both engines

A posting means what its account, its commodity and its subsidiary say: `Expenses:Amazon:Fees` of type expense,
USD with two decimals, a subsidiary whose functional currency is USD. Until now those rows could be changed under
the journal: nothing refused an UPDATE of an account's name or type or of a subsidiary's functional currency,
and on SQLite nothing refused an UPDATE of a commodity (0004 made commodities append-only on PostgreSQL only).

Triggers now refuse, on both engines:
  - accounts: an UPDATE of id, subsidiary, name or type (description and netsuite_id stay updatable: they are
    configuration, which `init` refreshes from accounts/), and a DELETE of an account that has postings;
  - subsidiaries: an UPDATE of code or functional_currency (name and valuation_method are configuration), and a
    DELETE of a subsidiary that has events;
  - commodities (SQLite; PostgreSQL has had it since 0004): any UPDATE or DELETE;
  - PostgreSQL also refuses TRUNCATE of accounts and subsidiaries.
An unused account or subsidiary may still be deleted (a mistake made before anything was posted).

The triggers are the first line; the second is the chain hash, which from this release on covers every column of
events, entries and postings and the identity of the rows they refer to (eventlog.model, hash version 2), and
`verify`, which names a guard trigger that was dropped or disabled (store.tables.GUARD_TRIGGERS).

No row changes: events written before this migration keep their version 1 hashes, and verify recognises them.

Revision ID: 0006
Revises: 0005
"""
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# table -> (its identity columns, a query that finds the row in use, why an UPDATE (or TRUNCATE) is refused, why a
# DELETE is)
REFERENCE = {
    "accounts": (("id", "subsidiary", "name", "type"), "SELECT 1 FROM postings WHERE account_id = OLD.id",
                 "an account's subsidiary, name and type are fixed once written (description and netsuite_id may "
                 "change)", "the account has postings"),
    "subsidiaries": (("code", "functional_currency"), "SELECT 1 FROM events WHERE subsidiary = OLD.code",
                     "a subsidiary's code and functional currency are fixed once written", "the subsidiary has events"),
}
COMMODITY_MESSAGE = "commodities are append-only"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _postgresql_up()
    else:
        _sqlite_up()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in REFERENCE:
            for kind in ("identity", "no_delete", "no_truncate"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_{kind} ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS ledger_refuse_{table}_identity()")
            op.execute(f"DROP FUNCTION IF EXISTS ledger_refuse_{table}_delete()")
    else:
        for table in REFERENCE:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_identity")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
        op.execute("DROP TRIGGER IF EXISTS commodities_no_update")
        op.execute("DROP TRIGGER IF EXISTS commodities_no_delete")


def _quote(text: str) -> str:
    return text.replace("'", "''")


def _postgresql_up() -> None:
    for table, (columns, in_use, reason, used) in REFERENCE.items():
        changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in columns)
        op.execute(f"""
CREATE FUNCTION ledger_refuse_{table}_identity() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger: % on {table} is refused: {_quote(reason)}', TG_OP USING ERRCODE = 'raise_exception';
END $$""")
        # a trigger's WHEN clause cannot hold a subquery: the delete check is in its function
        op.execute(f"""
CREATE FUNCTION ledger_refuse_{table}_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS ({in_use}) THEN
        RAISE EXCEPTION 'ledger: DELETE on {table} is refused: {used}' USING ERRCODE = 'raise_exception';
    END IF;
    RETURN OLD;
END $$""")
        op.execute(f"CREATE TRIGGER {table}_identity BEFORE UPDATE ON {table} FOR EACH ROW WHEN ({changed}) "
                   f"EXECUTE FUNCTION ledger_refuse_{table}_identity()")
        op.execute(f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} FOR EACH ROW "
                   f"EXECUTE FUNCTION ledger_refuse_{table}_delete()")
        op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} FOR EACH STATEMENT "
                   f"EXECUTE FUNCTION ledger_refuse_{table}_identity()")


def _sqlite_up() -> None:
    for table, (columns, in_use, reason, used) in REFERENCE.items():
        changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in columns)
        op.execute(f"CREATE TRIGGER {table}_identity BEFORE UPDATE ON {table} WHEN {changed} BEGIN "
                   f"SELECT RAISE(ABORT, 'ledger: UPDATE on {table} is refused: {_quote(reason)}'); END")
        op.execute(f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} WHEN EXISTS ({in_use}) BEGIN "
                   f"SELECT RAISE(ABORT, 'ledger: DELETE on {table} is refused: {used}'); END")
    for action in ("UPDATE", "DELETE"):
        op.execute(f"CREATE TRIGGER commodities_no_{action.lower()} BEFORE {action} ON commodities BEGIN "
                   f"SELECT RAISE(ABORT, 'ledger: {action} on commodities is refused: {COMMODITY_MESSAGE}'); END")
