"""The daily balances never overflow or change type (SQLite)

The balances projection adds each batch's deltas to the stored sums (`amount = amount + excluded.amount`). On
PostgreSQL a BIGINT that would overflow raises "bigint out of range"; on SQLite the sum silently becomes a REAL
(a float), after which balances are inexact and `verify` cannot compare them. Amounts are capped far below that
(limits.MAX_AMOUNT), but the projection must hold whatever the journal adds up to: triggers refuse any daily
balance that is not an integer, so the batch that would overflow fails (journal.writer names it) and nothing of it
is written.

Revision ID: 0007
Revises: 0006
"""
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

COLUMNS = ("quantity", "amount", "functional_amount", "postings")
MESSAGE = "balance overflow: a daily balance would exceed a 64-bit integer of minor units"


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return  # BIGINT arithmetic raises on overflow
    condition = " OR ".join(f"typeof(NEW.{c}) != 'integer'" for c in COLUMNS)
    for when in ("INSERT", "UPDATE"):
        op.execute(f"CREATE TRIGGER balances_integer_{when.lower()} BEFORE {when} ON balances "
                   f"WHEN {condition} BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for when in ("insert", "update"):
        op.execute(f"DROP TRIGGER IF EXISTS balances_integer_{when}")
