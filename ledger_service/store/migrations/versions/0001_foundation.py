"""foundation: subsidiaries, accounts, commodities, the event log, the journal, balances, immutability triggers

Revision ID: 0001
Revises: 
Create Date: 2026-11-26 16:06:44.967121
"""
from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('commodities',
    sa.Column('code', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('exponent', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('code')
    )
    op.create_table('subsidiaries',
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('functional_currency', sa.String(length=3), nullable=False),
    sa.Column('valuation_method', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('code')
    )
    op.create_table('accounts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subsidiary', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('type', sa.String(length=16), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('netsuite_id', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['subsidiary'], ['subsidiaries.code'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('subsidiary', 'name', name='uq_accounts_subsidiary_name')
    )
    op.create_table('chain_heads',
    sa.Column('subsidiary', sa.String(length=32), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['subsidiary'], ['subsidiaries.code'], ),
    sa.PrimaryKeyConstraint('subsidiary')
    )
    op.create_table('events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('subsidiary', sa.String(length=32), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('occurred_at', sa.DateTime(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=500), nullable=False),
    sa.Column('input_hash', sa.String(length=64), nullable=False),
    sa.Column('source_system', sa.String(length=64), nullable=False),
    sa.Column('source_document', sa.String(length=500), nullable=True),
    sa.Column('source_sha256', sa.String(length=64), nullable=True),
    sa.Column('source_line', sa.Integer(), nullable=True),
    sa.Column('source_page', sa.String(length=200), nullable=True),
    sa.Column('raw', sa.Text(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['subsidiary'], ['subsidiaries.code'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('subsidiary', 'idempotency_key', name='uq_events_idempotency'),
    sa.UniqueConstraint('subsidiary', 'seq', name='uq_events_chain')
    )
    op.create_table('balances',
    sa.Column('subsidiary', sa.String(length=32), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('commodity', sa.String(length=100), nullable=False),
    sa.Column('weight_currency', sa.String(length=3), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('quantity', sa.BigInteger(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('functional_amount', sa.BigInteger(), nullable=False),
    sa.Column('postings', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ),
    sa.PrimaryKeyConstraint('subsidiary', 'account_id', 'commodity', 'weight_currency', 'state', 'day')
    )
    op.create_table('entries',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('subsidiary', sa.String(length=32), nullable=False),
    sa.Column('event_id', sa.BigInteger(), nullable=False),
    sa.Column('effective_date', sa.Date(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('rate', sa.String(length=40), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('reverses_entry_id', sa.BigInteger(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], ),
    sa.ForeignKeyConstraint(['reverses_entry_id'], ['entries.id'], ),
    sa.ForeignKeyConstraint(['subsidiary'], ['subsidiaries.code'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('reverses_entry_id')
    )
    with op.batch_alter_table('entries', schema=None) as batch_op:
        batch_op.create_index('ix_entries_event', ['event_id'], unique=False)
        batch_op.create_index('ix_entries_subsidiary_date', ['subsidiary', 'effective_date'], unique=False)

    op.create_table('postings',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('entry_id', sa.BigInteger(), nullable=False),
    sa.Column('subsidiary', sa.String(length=32), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('commodity', sa.String(length=100), nullable=False),
    sa.Column('quantity', sa.BigInteger(), nullable=False),
    sa.Column('cost_per_unit', sa.String(length=40), nullable=True),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('functional_amount', sa.BigInteger(), nullable=False),
    sa.Column('marketplace', sa.String(length=64), nullable=True),
    sa.Column('settlement_id', sa.String(length=64), nullable=True),
    sa.Column('order_id', sa.String(length=64), nullable=True),
    sa.Column('sku', sa.String(length=100), nullable=True),
    sa.Column('location', sa.String(length=64), nullable=True),
    sa.Column('dimensions', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ),
    sa.ForeignKeyConstraint(['commodity'], ['commodities.code'], ),
    sa.ForeignKeyConstraint(['entry_id'], ['entries.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('postings', schema=None) as batch_op:
        batch_op.create_index('ix_postings_entry', ['entry_id'], unique=False)
        batch_op.create_index('ix_postings_settlement', ['subsidiary', 'settlement_id'], unique=False)

    create_immutability_triggers()


def downgrade() -> None:
    drop_immutability_triggers()
    with op.batch_alter_table('postings', schema=None) as batch_op:
        batch_op.drop_index('ix_postings_settlement')
        batch_op.drop_index('ix_postings_entry')

    op.drop_table('postings')
    with op.batch_alter_table('entries', schema=None) as batch_op:
        batch_op.drop_index('ix_entries_subsidiary_date')
        batch_op.drop_index('ix_entries_event')

    op.drop_table('entries')
    op.drop_table('balances')
    op.drop_table('events')
    op.drop_table('chain_heads')
    op.drop_table('accounts')
    op.drop_table('subsidiaries')
    op.drop_table('commodities')


# The database itself refuses to change the log: events, entries and postings take INSERT only.
IMMUTABLE = ("events", "entries", "postings")


def create_immutability_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'ledger: % on % is refused: the journal is append-only; post a reversing entry',
                    TG_OP, TG_TABLE_NAME USING ERRCODE = 'raise_exception';
            END $$
            """
        )
        for table in IMMUTABLE:
            op.execute(
                f"CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change()"
            )
    else:
        for table in IMMUTABLE:
            for action in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} BEGIN "
                    f"SELECT RAISE(ABORT, 'ledger: {action} on {table} is refused: the journal is append-only; "
                    f"post a reversing entry'); END"
                )


def drop_immutability_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in IMMUTABLE:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_immutable ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        op.execute("DROP FUNCTION IF EXISTS ledger_refuse_change()")
    else:
        for table in IMMUTABLE:
            for action in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{action}")
