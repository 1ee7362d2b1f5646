"""postings.source_line: the file line each amount was read from

One Amazon transaction (an order item's principal, tax, fees, ...) now posts as one event and one entry; each of
its postings keeps the line of the row it came from, so an auditor still walks from any posting to its row.

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # ADD COLUMN is not an UPDATE of rows: the immutability triggers stay as they are.
    op.add_column("postings", sa.Column("source_line", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("postings") as batch:
        batch.drop_column("source_line")
