"""PostgreSQL: the journal's references checked once per statement instead of once per row

A foreign key in PostgreSQL is a row-level trigger: every posting written runs three lookups (its entry, account
and commodity), about two thirds of the cost of COPYing a posting (measured in docs/performance.md). Ingest
writes postings thousands at a time, so the same guarantee is enforced set-wise: an AFTER INSERT ... FOR EACH
STATEMENT trigger with the inserted rows as a transition table refuses the whole statement when any row
references a missing parent, with SQLSTATE 23503 (foreign_key_violation) like the constraint it replaces.

The other direction (a parent removed from under the journal) is already closed: entries and events are
append-only (0001), an account with postings has daily balances whose foreign key stays, a subsidiary with events
has a chain head whose foreign key stays, and commodities become append-only here.

SQLite keeps its row-level foreign keys (checked in C, cheaply).

Revision ID: 0004
Revises: 0003
"""
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# (table, column, parent table, parent column): the references that become statement-level checks
REFERENCES = (
    ("postings", "entry_id", "entries", "id"),
    ("postings", "account_id", "accounts", "id"),
    ("postings", "commodity", "commodities", "code"),
    ("entries", "event_id", "events", "id"),
    ("entries", "subsidiary", "subsidiaries", "code"),
    ("events", "subsidiary", "subsidiaries", "code"),
)


def _constraint(table: str, column: str) -> str:
    """The name PostgreSQL gave the foreign key (0001 left it to the default)."""
    row = op.get_bind().exec_driver_sql(
        "SELECT c.conname FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid "
        "AND a.attnum = ANY (c.conkey) WHERE c.contype = 'f' AND c.conrelid = %(t)s::regclass AND a.attname = %(c)s",
        {"t": table, "c": column}).first()
    return row[0]


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in sorted({t for t, *_ in REFERENCES}):
        checks = "\n".join(
            f"""    SELECT n.{column} INTO missing FROM new_rows n LEFT JOIN {parent} p ON p.{key} = n.{column}
     WHERE p.{key} IS NULL LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'insert or update on table "{table}" violates foreign key: {column} % is not in {parent}',
            missing USING ERRCODE = 'foreign_key_violation';
    END IF;"""
            for t, column, parent, key in REFERENCES if t == table)
        op.execute(f"""
CREATE FUNCTION ledger_check_{table}_references() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE missing text;
BEGIN
{checks}
    RETURN NULL;
END $$""")
        op.execute(f"CREATE TRIGGER {table}_references AFTER INSERT ON {table} REFERENCING NEW TABLE AS new_rows "
                   f"FOR EACH STATEMENT EXECUTE FUNCTION ledger_check_{table}_references()")
    for table, column, _parent, _key in REFERENCES:
        op.execute(f"ALTER TABLE {table} DROP CONSTRAINT {_constraint(table, column)}")
    op.execute("""
CREATE FUNCTION ledger_refuse_commodity_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger: % on commodities is refused: commodities are append-only', TG_OP
        USING ERRCODE = 'raise_exception';
END $$""")
    op.execute("CREATE TRIGGER commodities_append_only BEFORE UPDATE OR DELETE ON commodities "
               "FOR EACH ROW EXECUTE FUNCTION ledger_refuse_commodity_change()")
    op.execute("CREATE TRIGGER commodities_no_truncate BEFORE TRUNCATE ON commodities "
               "FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_commodity_change()")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS commodities_append_only ON commodities")
    op.execute("DROP TRIGGER IF EXISTS commodities_no_truncate ON commodities")
    op.execute("DROP FUNCTION IF EXISTS ledger_refuse_commodity_change()")
    for table, column, parent, key in REFERENCES:
        op.execute(f"ALTER TABLE {table} ADD FOREIGN KEY ({column}) REFERENCES {parent} ({key})")
    for table in sorted({t for t, *_ in REFERENCES}):
        op.execute(f"DROP TRIGGER IF EXISTS {table}_references ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS ledger_check_{table}_references()")
