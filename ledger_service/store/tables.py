"""The ledger's tables, as SQLAlchemy Core metadata.

The schema is created only by Alembic (migrations/); these definitions are what the code queries through and
what the first migration was written from. Every table carries the subsidiary, so the schema can later be
distributed by subsidiary (Citus). Amounts are integers of the commodity's minor unit (see money.py) so that SUM
is exact on both engines.

Immutable: events, entries, postings (triggers refuse UPDATE and DELETE). Projections, rebuilt from those:
balances, month_balances, chain_heads. Reference data the journal points at, whose identity is fixed once written
(migration 0006): subsidiaries (code, functional currency), accounts (subsidiary, name, type; description and
netsuite_id are configuration and may change), commodities (every column). Configuration: api_tokens.

The ForeignKeys of events, entries and postings are foreign keys on SQLite; on PostgreSQL, migration 0004
enforces them once per INSERT statement over the inserted rows (same refusal, a fraction of the cost of a
row-level check on every posting COPY writes).
"""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

subsidiaries = Table(
    "subsidiaries",
    metadata,
    Column("code", String(32), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("functional_currency", String(3), nullable=False),
    Column("valuation_method", String(16), nullable=False),  # fifo | average
    Column("created_at", DateTime, nullable=False),
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("subsidiary", String(32), ForeignKey("subsidiaries.code"), nullable=False),
    Column("name", String(300), nullable=False),
    Column("type", String(16), nullable=False),  # asset | liability | equity | income | expense
    Column("description", Text, nullable=False, default=""),
    Column("netsuite_id", String(64)),
    UniqueConstraint("subsidiary", "name", name="uq_accounts_subsidiary_name"),
)

commodities = Table(
    "commodities",
    metadata,
    Column("code", String(100), primary_key=True),
    Column("kind", String(16), nullable=False),  # currency | units
    Column("exponent", Integer, nullable=False),
)

events = Table(
    "events",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("subsidiary", String(32), ForeignKey("subsidiaries.code"), nullable=False),
    Column("seq", BigInteger, nullable=False),  # position in the subsidiary's hash chain, from 1
    Column("kind", String(64), nullable=False),
    Column("occurred_at", DateTime, nullable=False),  # naive UTC
    Column("recorded_at", DateTime, nullable=False),  # naive UTC
    Column("idempotency_key", String(500), nullable=False),
    Column("input_hash", String(64), nullable=False),
    Column("source_system", String(64), nullable=False),
    Column("source_document", String(500)),
    Column("source_sha256", String(64)),
    Column("source_line", Integer),
    Column("source_page", String(200)),
    Column("raw", Text, nullable=False),  # the source row or payload, verbatim
    Column("payload", Text),  # the parsed record as canonical JSON (what posting rules and reports read)
    Column("actor", String(200)),  # who wrote it through the API (`token:NAME`); NULL from the CLI (migration 0005)
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    UniqueConstraint("subsidiary", "idempotency_key", name="uq_events_idempotency"),
    UniqueConstraint("subsidiary", "seq", name="uq_events_chain"),
)

entries = Table(
    "entries",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("subsidiary", String(32), ForeignKey("subsidiaries.code"), nullable=False),
    Column("event_id", BigInteger, ForeignKey("events.id"), nullable=False),
    Column("effective_date", Date, nullable=False),
    Column("currency", String(3), nullable=False),  # transaction currency
    Column("rate", String(40), nullable=False),  # transaction -> functional currency, decimal string
    Column("description", Text, nullable=False),
    Column("state", String(16), nullable=False),  # posted | pending
    Column("reverses_entry_id", BigInteger, ForeignKey("entries.id"), unique=True),  # reversed at most once
    Column("reason", Text),
    Column("original_date", Date),  # a late entry's own date, when it was moved into an open period (0009)
    Index("ix_entries_subsidiary_date", "subsidiary", "effective_date"),
    Index("ix_entries_event", "event_id"),
)

postings = Table(
    "postings",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("entry_id", BigInteger, ForeignKey("entries.id"), nullable=False),
    Column("subsidiary", String(32), nullable=False),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False),
    Column("commodity", String(100), ForeignKey("commodities.code"), nullable=False),
    Column("quantity", BigInteger, nullable=False),  # minor units of the commodity (cents, or whole SKU units)
    Column("cost_per_unit", String(40)),  # decimal string, in the entry currency; units postings only
    Column("amount", BigInteger, nullable=False),  # weight in the entry currency, minor units
    Column("functional_amount", BigInteger, nullable=False),  # in the subsidiary's functional currency
    Column("marketplace", String(64)),
    Column("settlement_id", String(64)),
    Column("order_id", String(64)),
    Column("sku", String(100)),
    Column("location", String(64)),
    Column("dimensions", Text),  # further dimensions as canonical JSON
    Column("source_line", Integer),  # the source file's line the amount was read from (migration 0003)
    Index("ix_postings_entry", "entry_id"),
    Index("ix_postings_settlement", "subsidiary", "settlement_id"),
    Index("ix_postings_order", "subsidiary", "order_id"),  # a sale's postings by order (migration 0012)
)

# Running aggregates, maintained in the transaction that writes the postings; rebuildable from them.
balances = Table(
    "balances",
    metadata,
    Column("subsidiary", String(32), primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), primary_key=True),
    Column("commodity", String(100), primary_key=True),
    Column("weight_currency", String(3), primary_key=True),
    Column("state", String(16), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("quantity", BigInteger, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("functional_amount", BigInteger, nullable=False),
    Column("postings", BigInteger, nullable=False),
)

# Month-end balances (migration 0010): per key of `balances`, the CUMULATIVE balance at the end of each month (every
# day up to the month's last), kept dense: one row for every month from the key's first month with a posting to the
# subsidiary's last. A balance as of a day is a month-end row per key and the daily rows between it and the day (at
# most 16: balances.queries), so its cost grows with the keys, not with the days of history. Maintained in the
# transaction that writes the postings (journal.writer.add_to_month_balances), rebuilt and verified
# (balances.integrity).
month_balances = Table(
    "month_balances",
    metadata,
    Column("subsidiary", String(32), primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), primary_key=True),
    Column("commodity", String(100), primary_key=True),
    Column("weight_currency", String(3), primary_key=True),
    Column("state", String(16), primary_key=True),
    Column("month", Date, primary_key=True),  # the first day of the month
    Column("quantity", BigInteger, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("functional_amount", BigInteger, nullable=False),
    Column("postings", BigInteger, nullable=False),
    Index("ix_month_balances_subsidiary_month", "subsidiary", "month"),
)
# The days since the month-end, read by subsidiary and day range (migration 0010)
Index("ix_balances_subsidiary_day", balances.c.subsidiary, balances.c.day)

chain_heads = Table(
    "chain_heads",
    metadata,
    Column("subsidiary", String(32), ForeignKey("subsidiaries.code"), primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
)

# API bearer tokens (migration 0005): configuration, not journal. Only the secret's sha256 is kept; a token is
# revoked by setting revoked_at, never deleted, and its name is never reused, because events name it as their actor.
api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), nullable=False),
    Column("secret_sha256", String(64), nullable=False),
    Column("role", String(16), nullable=False),  # viewer | poster | controller | admin
    Column("subsidiaries", Text),  # JSON list of codes; NULL: every subsidiary
    Column("created_at", DateTime, nullable=False),  # naive UTC
    Column("revoked_at", DateTime),
    UniqueConstraint("name", name="uq_api_tokens_name"),
    UniqueConstraint("secret_sha256", name="uq_api_tokens_secret"),
)

# Exchange rates (migration 0008): reference data, append-only in spirit. Importing a rate the table holds is a
# no-op; a different rate for the same date and pair is refused (rates.service), never overwritten.
rates = Table(
    "rates",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("date", Date, nullable=False),
    Column("from_currency", String(3), nullable=False),
    Column("to_currency", String(3), nullable=False),
    Column("rate", String(40), nullable=False),  # units of to_currency per 1 from_currency, decimal string
    Column("source", String(500), nullable=False),  # "ecb", or the imported file's name
    Column("imported_at", DateTime, nullable=False),  # naive UTC
    UniqueConstraint("date", "from_currency", "to_currency", name="uq_rates_date_pair"),
    Index("ix_rates_pair_date", "from_currency", "to_currency", "date"),
)

# Periods (migration 0009): the projection of `period_closed` / `period_reopened` events, one row per period ever
# closed, written in the event's transaction; journal.writer reads it under the chain-head lock.
periods = Table(
    "periods",
    metadata,
    Column("subsidiary", String(32), ForeignKey("subsidiaries.code"), primary_key=True),
    Column("period", String(7), primary_key=True),  # YYYY-MM
    Column("status", String(8), nullable=False),  # closed | open
    Column("event_id", BigInteger, nullable=False),
    Column("changed_at", DateTime, nullable=False),
)

# The catalog (migration 0011): the projection of `catalog_import` events (catalog.service), written in the event's
# transaction. An Amazon identity (marketplace, MSKU) is effective-dated: a change closes the row in force (valid_to)
# and opens a new one, so a lookup on any day finds the brand SKU, ASIN and FNSKU of that day.
items = Table(
    "items",
    metadata,
    Column("subsidiary", String(32), ForeignKey("subsidiaries.code"), primary_key=True),
    Column("sku", String(100), primary_key=True),  # the brand's SKU: the item, the commodity its units post as
    Column("title", Text, nullable=False),
    Column("is_bundle", Boolean, nullable=False),  # consumes components (bundle_components) instead of own units
    Column("event_id", BigInteger, nullable=False),  # the import that last changed it
)

item_identities = Table(
    "item_identities",
    metadata,
    Column("subsidiary", String(32), ForeignKey("subsidiaries.code"), primary_key=True),
    Column("marketplace", String(64), primary_key=True),  # lower case: amazon.com, amazon.co.uk
    Column("msku", String(100), primary_key=True),  # the seller SKU, as written (leading zeros kept)
    Column("valid_from", Date, primary_key=True),
    Column("valid_to", Date),  # the last day in force; NULL: in force
    Column("sku", String(100), nullable=False),
    Column("asin", String(10)),
    Column("fnsku", String(10)),
    Column("parent_asin", String(10)),
    Column("event_id", BigInteger, nullable=False),
    Column("source_line", Integer),  # the line of the imported file
    Index("ix_item_identities_fnsku", "subsidiary", "fnsku"),
    Index("ix_item_identities_asin", "subsidiary", "asin"),
    Index("ix_item_identities_sku", "subsidiary", "sku"),
)

bundle_components = Table(
    "bundle_components",
    metadata,
    Column("subsidiary", String(32), ForeignKey("subsidiaries.code"), primary_key=True),
    Column("bundle_sku", String(100), primary_key=True),
    Column("component_sku", String(100), primary_key=True),
    Column("valid_from", Date, primary_key=True),
    Column("valid_to", Date),
    Column("quantity", Integer, nullable=False),  # component units one bundle unit consumes
    Column("event_id", BigInteger, nullable=False),
    Column("source_line", Integer),
)

# Locations and lanes (migration 0011): the projection of `locations_config` events (locations.service).
locations = Table(
    "locations",
    metadata,
    Column("subsidiary", String(32), ForeignKey("subsidiaries.code"), primary_key=True),
    Column("code", String(64), primary_key=True),  # FBA-US, WH-NJ: its state accounts are Assets:Inventory:<code>:*
    Column("kind", String(16), nullable=False),  # warehouse | 3pl | fba | transit
    Column("marketplace", String(64)),  # an FBA location's marketplace
    Column("currency", String(3), nullable=False),
    Column("name", String(200), nullable=False),
    Column("event_id", BigInteger, nullable=False),
)

lanes = Table(
    "lanes",
    metadata,
    Column("subsidiary", String(32), ForeignKey("subsidiaries.code"), primary_key=True),
    Column("lane", String(16), primary_key=True),  # FBA | FBM | MCF | WHOLESALE | RETAIL_3PL
    Column("location", String(64), primary_key=True),  # a location the lane may draw from
    Column("event_id", BigInteger, nullable=False),
)

IMMUTABLE_TABLES = ("events", "entries", "postings")

# The triggers the ledger's guarantees rest on, per engine, as (trigger, table): the journal is append-only (0001),
# its references are checked per INSERT statement on PostgreSQL (0004), and what it refers to keeps its identity
# (commodities 0004 on PostgreSQL, 0006 elsewhere). A superuser can drop or disable any of them; `verify` checks
# that each is present (and, on PostgreSQL, enabled) and names the one that is not.
GUARD_TRIGGERS: dict[str, tuple[tuple[str, str], ...]] = {
    "postgresql": (
        ("events_immutable", "events"), ("events_no_truncate", "events"), ("events_references", "events"),
        ("entries_immutable", "entries"), ("entries_no_truncate", "entries"), ("entries_references", "entries"),
        ("postings_immutable", "postings"), ("postings_no_truncate", "postings"),
        ("postings_references", "postings"),
        ("commodities_append_only", "commodities"), ("commodities_no_truncate", "commodities"),
        ("accounts_identity", "accounts"), ("accounts_no_delete", "accounts"), ("accounts_no_truncate", "accounts"),
        ("subsidiaries_identity", "subsidiaries"), ("subsidiaries_no_delete", "subsidiaries"),
        ("subsidiaries_no_truncate", "subsidiaries"),
    ),
    "sqlite": (
        ("events_no_update", "events"), ("events_no_delete", "events"),
        ("entries_no_update", "entries"), ("entries_no_delete", "entries"),
        ("postings_no_update", "postings"), ("postings_no_delete", "postings"),
        ("commodities_no_update", "commodities"), ("commodities_no_delete", "commodities"),
        ("accounts_identity", "accounts"), ("accounts_no_delete", "accounts"),
        ("subsidiaries_identity", "subsidiaries"), ("subsidiaries_no_delete", "subsidiaries"),
        ("balances_integer_insert", "balances"), ("balances_integer_update", "balances"),  # migration 0007
        ("month_balances_integer_insert", "month_balances"),  # migration 0010
        ("month_balances_integer_update", "month_balances"),
    ),
}
