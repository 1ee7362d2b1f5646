"""Month-end balances, so that a balance as of any date stays fast

The problem: `balances` holds each day's net movement per (subsidiary, account, commodity, weight currency,
state), so a balance or trial balance as of a date summed every day up to it: its cost grew with the days of
history (two years of a busy subsidiary is hundreds of thousands of daily rows per trial balance). `month_balances`
keeps, per key and month, the cumulative balance at the end of the month (all days up to its last). A balance as
of a date is then a month-end row per key and the daily rows between it and the date (the month before's end plus
the days since, or the date's month's end less the days after: at most 16 days): its cost grows with the accounts
(keys), not with the days.

Rows are dense: every key has a row for every month from its first month with a posting through the subsidiary's
last month with one, so that a read looks up one known month (`WHERE subsidiary = ? AND month = ?`, the index added
here) instead of searching for each key's latest row. The writer maintains them in the postings' transaction; a
back-dated posting adds to the rows of its month and every later one. `rebuild` recomputes them, `verify` compares
them with a recomputation from the postings and names the rows that differ. A closed period's rows are final: a
late entry is moved into an open period (journal.writer), so while every period before it is closed too, nothing
posts at or before its end.

`balances` gets an index on (subsidiary, day), for the days since the month-end. On SQLite, triggers refuse a
month-end balance that is not an integer, as 0007 does for the daily ones (a cumulative sum can overflow where no
single day does). The upgrade fills the table from the daily balances already there.

Revision ID: 0010
Revises: 0009
"""
from collections import defaultdict
from datetime import date

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

KEYS = ("subsidiary", "account_id", "commodity", "weight_currency", "state")
VALUES = ("quantity", "amount", "functional_amount", "postings")
MESSAGE = "balance overflow: a month-end balance would exceed a 64-bit integer of minor units"
CHUNK = 5000


def upgrade() -> None:
    op.create_table(
        "month_balances",
        sa.Column("subsidiary", sa.String(32), primary_key=True),
        sa.Column("account_id", sa.Integer, sa.ForeignKey("accounts.id"), primary_key=True),
        sa.Column("commodity", sa.String(100), primary_key=True),
        sa.Column("weight_currency", sa.String(3), primary_key=True),
        sa.Column("state", sa.String(16), primary_key=True),
        sa.Column("month", sa.Date, primary_key=True),  # the first day of the month
        sa.Column("quantity", sa.BigInteger, nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("functional_amount", sa.BigInteger, nullable=False),
        sa.Column("postings", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_month_balances_subsidiary_month", "month_balances", ["subsidiary", "month"])
    op.create_index("ix_balances_subsidiary_day", "balances", ["subsidiary", "day"])
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        condition = " OR ".join(f"typeof(NEW.{c}) != 'integer'" for c in VALUES)
        for when in ("INSERT", "UPDATE"):
            op.execute(f"CREATE TRIGGER month_balances_integer_{when.lower()} BEFORE {when} ON month_balances "
                       f"WHEN {condition} BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END")
    _fill(bind)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for when in ("insert", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS month_balances_integer_{when}")
    op.drop_index("ix_balances_subsidiary_day", table_name="balances")
    op.drop_index("ix_month_balances_subsidiary_month", table_name="month_balances")
    op.drop_table("month_balances")


def _fill(bind) -> None:
    """The month-end rows of the daily balances already stored (the same definition as balances.integrity's
    month_ends, written out here so that this migration keeps meaning what it meant when the code moves on)."""
    month = "date_trunc('month', day)::date" if bind.dialect.name == "postgresql" else "strftime('%Y-%m-01', day)"
    rows = bind.execute(sa.text(
        f"SELECT {', '.join(KEYS)}, {month} AS month, {', '.join(f'SUM({v})' for v in VALUES)} FROM balances "
        f"GROUP BY {', '.join(KEYS)}, {month}")).all()
    movements: dict[tuple, dict[date, tuple]] = defaultdict(dict)
    last: dict[str, date] = {}
    for r in rows:
        first = r.month if isinstance(r.month, date) else date.fromisoformat(r.month)
        movements[tuple(r[:5])][first] = tuple(int(x) for x in r[6:])
        last[r.subsidiary] = max(last.get(r.subsidiary, first), first)
    table = sa.table("month_balances", *(sa.column(c) for c in KEYS), sa.column("month", sa.Date),
                     *(sa.column(c, sa.BigInteger) for c in VALUES))
    out = []
    for key in sorted(movements, key=lambda k: tuple(str(x) for x in k)):
        months = movements[key]
        total = [0, 0, 0, 0]
        current = min(months)
        while current <= last[key[0]]:
            total = [t + m for t, m in zip(total, months.get(current, (0, 0, 0, 0)))]
            out.append(dict(zip((*KEYS, "month", *VALUES), (*key, current, *total))))
            current = date(current.year + current.month // 12, current.month % 12 + 1, 1)
            if len(out) >= CHUNK:
                bind.execute(table.insert(), out)
                out = []
    if out:
        bind.execute(table.insert(), out)
