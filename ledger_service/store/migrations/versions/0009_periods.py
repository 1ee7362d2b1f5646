"""Periods that close, and the original date of a late entry

The problem: month-end close locks a period per subsidiary, and every writer must see the lock in the same
transaction that would post into it. The log holds the truth (`period_closed` and `period_reopened` events in the
subsidiary's hash chain, with who, when and why); `periods` is their projection, one row per period ever closed,
written in the transaction of the event and read by journal.writer under the chain-head lock.

An entry dated in a closed period is moved into the first open period (or refused, by subsidiary setting); the
date it carried is kept on the entry as `original_date` (NULL for every entry posted on its own date). The chain
hash covers it when it is set (eventlog.model), so the hashes of every earlier entry are unchanged.

Revision ID: 0009
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("entries", sa.Column("original_date", sa.Date, nullable=True))
    op.create_table(
        "periods",
        sa.Column("subsidiary", sa.String(32), sa.ForeignKey("subsidiaries.code"), primary_key=True),
        sa.Column("period", sa.String(7), primary_key=True),  # YYYY-MM
        sa.Column("status", sa.String(8), nullable=False),  # closed | open (reopened)
        sa.Column("event_id", sa.BigInteger, nullable=False),  # the close or reopen event in force
        sa.Column("changed_at", sa.DateTime, nullable=False),  # naive UTC
    )


def downgrade() -> None:
    op.drop_table("periods")
    # ALTER TABLE ... DROP COLUMN on both engines (SQLite >= 3.35): a batch copy of entries would need DROP TABLE,
    # which the immutability triggers and foreign keys refuse
    op.execute("ALTER TABLE entries DROP COLUMN original_date")
