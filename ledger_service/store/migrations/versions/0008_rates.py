"""Exchange rates as data

The problem: converting a transaction into a subsidiary's functional currency needs the rate of its day, and a
rate typed into a journal by hand cannot be checked or found again. `rates` holds one rate per date and currency
pair (units of `to_currency` per 1 `from_currency`, a decimal string), where it came from (`ecb`, or the file's
name) and when it was imported. Unique per (date, from, to): importing it again is a no-op, a different value is
refused (rates.service); corrections are a later concern.

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rates",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("date", sa.Date, nullable=False),
        sa.Column("from_currency", sa.String(3), nullable=False),
        sa.Column("to_currency", sa.String(3), nullable=False),
        sa.Column("rate", sa.String(40), nullable=False),
        sa.Column("source", sa.String(500), nullable=False),
        sa.Column("imported_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("date", "from_currency", "to_currency", name="uq_rates_date_pair"),
    )
    op.create_index("ix_rates_pair_date", "rates", ["from_currency", "to_currency", "date"])


def downgrade() -> None:
    op.drop_index("ix_rates_pair_date", table_name="rates")
    op.drop_table("rates")
