"""Postings looked up by order id

The problem: a customer return comes back at the cost its sale took, so the inventory ledger ingest reads, per
chunk of rows, the units postings of the orders the chunk's returns name (inventory.loading.sold_of), and the
settlement's order rows ask which order items another source already took (inventory.settlement_units). Without an
index each of those lookups scans every posting of the subsidiary: a million-row report would scan the postings
five hundred times. An index on (subsidiary, order_id) makes each a range lookup.

Revision ID: 0012
Revises: 0011
"""
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_postings_order", "postings", ["subsidiary", "order_id"])


def downgrade() -> None:
    op.drop_index("ix_postings_order", table_name="postings")
