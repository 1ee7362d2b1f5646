"""API tokens, and who wrote each event

`api_tokens` holds the REST API's bearer tokens: a name (unique, never reused), the sha256 of the secret (the
secret itself is shown once and never stored), a role, a subsidiary scope (a JSON list; NULL for every
subsidiary), when it was made and when it was revoked. It is configuration, not journal: revoking sets revoked_at.

`events.actor` names who wrote an event through the API (`token:NAME`). Nullable: older events, and what the CLI
writes, have none, and the chain hash covers the actor only when it is set, so older chains keep their hashes.
A downgrade drops the actors, so events written through the API no longer match their hashes (verify names them):
downgrade only a ledger that has none.

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("secret_sha256", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("subsidiaries", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name", name="uq_api_tokens_name"),
        sa.UniqueConstraint("secret_sha256", name="uq_api_tokens_secret"),
    )
    # ADD COLUMN is not an UPDATE of rows: the immutability triggers stay as they are.
    op.add_column("events", sa.Column("actor", sa.String(length=200), nullable=True))


def downgrade() -> None:
    # A plain DROP COLUMN (SQLite >= 3.35 has it), not a batch copy of the table, which would drop the
    # immutability triggers of events with the old table.
    op.drop_column("events", "actor")
    op.drop_table("api_tokens")
