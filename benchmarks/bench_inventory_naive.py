"""Part (c) of bench_inventory.py, the naive FIFO baseline, and the checks of the COGS it and (a)/(b) give.

The problem: a rate means nothing beside a wrong answer, and the baseline must be the obvious way to do it. The
naive run asks the database, per sale, for the SKU's lots with units left (a GROUP BY over the units postings of
FBA-US:Available by lot, oldest first), posts the sale against those lots only (inventory.posting.post) and writes
its one event in its own transaction. The checks sum the COGS postings in SQL, and compute FIFO in SQL apart from
the posting rules (window sums over the receipts' postings against the units each SKU sold): exact to the cent
because the generated unit costs have 2 decimals.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import datetime
from decimal import Decimal

from sqlalchemy import text

import generate_inventory as gen
from ledger_service.chart.service import get_subsidiary
from ledger_service.eventlog.model import EventDraft, Source
from ledger_service.inventory import facts as f
from ledger_service.inventory import loading
from ledger_service.inventory.holdings import InventoryState, PMap
from ledger_service.inventory.model import Lot
from ledger_service.inventory.moves import Books
from ledger_service.inventory.posting import post
from ledger_service.journal.writer import post_batch
from ledger_service.money import from_minor
from ledger_service.store.engine import write_transaction

SUB, CURRENCY, LOC = "US", "USD", gen.LOCATION
AVAILABLE_ACCOUNT = f.state_account(LOC, f.AVAILABLE)


def books_of(conn) -> Books:
    return loading.books_of(conn, get_subsidiary(conn, SUB))  # as ingest_ledger does


def sale_event(s: f.Sale) -> EventDraft:
    return EventDraft(SUB, "bench_sale", datetime.combine(s.date, datetime.min.time()), s.key, s.order_ref,
                      Source(system="bench-inventory"))


def cogs(entries) -> Decimal:
    return sum((p.amount for e in entries for p in e.postings if p.account == f.COGS), Decimal(0))


def lot_expr(engine) -> str:
    if engine.dialect.name == "postgresql":
        return "(CAST(p.dimensions AS json) ->> 'lot')"
    return "json_extract(p.dimensions, '$.lot')"


def naive_query(engine):
    lot = lot_expr(engine)
    return text(f"""
        SELECT {lot} AS lot, MIN(e.effective_date) AS received, MIN(p.cost_per_unit) AS unit_cost,
               SUM(p.quantity) AS units, SUM(p.functional_amount) AS value
        FROM postings p JOIN entries e ON e.id = p.entry_id JOIN accounts a ON a.id = p.account_id
        WHERE p.subsidiary = :sub AND a.name = :account AND p.commodity = :sku AND e.state = 'posted'
        GROUP BY {lot} HAVING SUM(p.quantity) > 0
        ORDER BY MIN(e.effective_date), {lot}""")


def naive(engine, args) -> dict:
    query, key = naive_query(engine), None
    costs, n, seconds = [], 0, 0.0
    with engine.connect() as conn:
        books = books_of(conn)
    for sale in gen.sales(args.sales, args.lots, args.per_sku, args.seed):
        if n >= args.baseline_sales:
            break
        t0 = time.perf_counter()
        with write_transaction(engine) as conn:
            rows = conn.execute(query, {"sub": SUB, "account": AVAILABLE_ACCOUNT, "sku": sale.sku}).all()
            lots = tuple(Lot(r.lot, sale.sku, LOC, _day(r.received), Decimal(r.unit_cost), int(r.units),
                             from_minor(int(r.value), 2)) for r in rows)
            key = (sale.sku, LOC, f.AVAILABLE)
            done = post(sale, InventoryState(holdings=PMap().set(key, lots)), books)
            post_batch(conn, [(sale_event(sale), list(done.entries))])
        seconds += time.perf_counter() - t0
        costs.append(cogs(done.entries))
        n += 1
    return {"sales": n, "seconds": round(seconds, 3), "sales_per_s": round(n / seconds, 1),
            "cogs": str(sum(costs, Decimal(0))), "_costs": costs}


def _day(value):
    return value if not isinstance(value, str) else datetime.strptime(value[:10], "%Y-%m-%d").date()


def sql_cogs(engine) -> Decimal:
    """The COGS postings of the subsidiary in the database, summed."""
    with engine.connect() as conn:
        minor = conn.execute(text(
            "SELECT COALESCE(SUM(p.functional_amount), 0) FROM postings p JOIN accounts a ON a.id = p.account_id "
            "WHERE p.subsidiary = :sub AND a.name = :cogs"), {"sub": SUB, "cogs": f.COGS}).scalar()
    return from_minor(int(minor), 2)


def sql_fifo(engine, sold: Counter) -> Decimal:
    """FIFO in SQL, apart from the posting rules: each SKU's receipts in (date, lot) order, a running sum of their
    units, and the first `sold` units of them at their receipt's unit cost (exact: 2-decimal unit costs)."""
    lot, c = lot_expr(engine), ' COLLATE "C"' if engine.dialect.name == "postgresql" else ""
    with engine.begin() as conn:
        conn.execute(text("CREATE TEMPORARY TABLE bench_sold (sku VARCHAR(100) PRIMARY KEY, units BIGINT)"))
        conn.execute(text("INSERT INTO bench_sold VALUES (:sku, :units)"),
                     [{"sku": k, "units": v} for k, v in sold.items()])
        minor = conn.execute(text(f"""
            WITH lots AS (
                SELECT p.commodity AS sku, {lot} AS lot, e.effective_date AS received, p.quantity AS units,
                       p.amount / p.quantity AS cost
                FROM postings p JOIN entries e ON e.id = p.entry_id JOIN events v ON v.id = e.event_id
                JOIN accounts a ON a.id = p.account_id
                WHERE p.subsidiary = :sub AND a.name = :account AND v.kind = 'purchase_receipt'),
            runs AS (
                SELECT sku, units, cost, SUM(units) OVER (PARTITION BY sku ORDER BY received, lot{c}
                                                          ROWS UNBOUNDED PRECEDING) - units AS before
                FROM lots)
            SELECT COALESCE(SUM(CASE WHEN s.units - r.before >= r.units THEN r.units
                                     WHEN s.units > r.before THEN s.units - r.before ELSE 0 END * r.cost), 0)
            FROM runs r JOIN bench_sold s ON s.sku = r.sku"""), {"sub": SUB, "account": AVAILABLE_ACCOUNT}).scalar()
        conn.execute(text("DROP TABLE bench_sold"))
    return from_minor(int(minor), 2)


