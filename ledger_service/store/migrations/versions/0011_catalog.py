"""The catalog (items, their Amazon identities, bundles), locations and lanes

The problem: units post as the brand's SKU, but Amazon names them by seller SKU (MSKU), ASIN and FNSKU per
marketplace, and those change (ASINs merge and split, FNSKUs are relabelled); a lookup must find the SKU of the
day of the event, not of today. And units sit at locations (own warehouse, 3PL, FBA per marketplace, in transit)
from which only some lanes (FBA, FBM, MCF, wholesale, retail 3PL) may draw.

Both are reference data with a trail: each change is an event of the subsidiary's log (`catalog_import`,
`locations_config`, with its author), and these tables are its projection, written in the event's transaction.
An identity row is in force from valid_from to valid_to (NULL: still in force); a change closes the row in force
and opens another, so history is kept. Every table carries the subsidiary.

Revision ID: 0011
Revises: 0010
"""
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def _subsidiary() -> sa.Column:
    return sa.Column("subsidiary", sa.String(32), sa.ForeignKey("subsidiaries.code"), primary_key=True)


def upgrade() -> None:
    op.create_table(
        "items",
        _subsidiary(),
        sa.Column("sku", sa.String(100), primary_key=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("is_bundle", sa.Boolean, nullable=False),
        sa.Column("event_id", sa.BigInteger, nullable=False),  # the import that last changed it
    )
    op.create_table(
        "item_identities",
        _subsidiary(),
        sa.Column("marketplace", sa.String(64), primary_key=True),
        sa.Column("msku", sa.String(100), primary_key=True),
        sa.Column("valid_from", sa.Date, primary_key=True),
        sa.Column("valid_to", sa.Date, nullable=True),  # the last day in force; NULL: in force
        sa.Column("sku", sa.String(100), nullable=False),
        sa.Column("asin", sa.String(10)),
        sa.Column("fnsku", sa.String(10)),
        sa.Column("parent_asin", sa.String(10)),
        sa.Column("event_id", sa.BigInteger, nullable=False),
        sa.Column("source_line", sa.Integer),
    )
    op.create_index("ix_item_identities_fnsku", "item_identities", ["subsidiary", "fnsku"])
    op.create_index("ix_item_identities_asin", "item_identities", ["subsidiary", "asin"])
    op.create_index("ix_item_identities_sku", "item_identities", ["subsidiary", "sku"])
    op.create_table(
        "bundle_components",
        _subsidiary(),
        sa.Column("bundle_sku", sa.String(100), primary_key=True),
        sa.Column("component_sku", sa.String(100), primary_key=True),
        sa.Column("valid_from", sa.Date, primary_key=True),
        sa.Column("valid_to", sa.Date, nullable=True),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("event_id", sa.BigInteger, nullable=False),
        sa.Column("source_line", sa.Integer),
    )
    op.create_table(
        "locations",
        _subsidiary(),
        sa.Column("code", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),  # warehouse | 3pl | fba | transit
        sa.Column("marketplace", sa.String(64)),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("event_id", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "lanes",
        _subsidiary(),
        sa.Column("lane", sa.String(16), primary_key=True),  # FBA | FBM | MCF | WHOLESALE | RETAIL_3PL
        sa.Column("location", sa.String(64), primary_key=True),
        sa.Column("event_id", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("lanes")
    op.drop_table("locations")
    op.drop_table("bundle_components")
    op.drop_index("ix_item_identities_sku", table_name="item_identities")
    op.drop_index("ix_item_identities_asin", table_name="item_identities")
    op.drop_index("ix_item_identities_fnsku", table_name="item_identities")
    op.drop_table("item_identities")
    op.drop_table("items")
