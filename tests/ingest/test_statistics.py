"""The planner's statistics are fresh after an ingest that grew the tables (a new database's first file included),
and the precedence pass reads only the settlement's own postings."""

from sqlalchemy import text

from ledger_service.ingest.service import ingest_bytes
from tests.support.settlement_files import sale, v2


def stats(conn) -> int:
    """Rows the planner believes `events` holds (PostgreSQL), or whether SQLite has analyzed it (1/0)."""
    if conn.dialect.name == "postgresql":
        return int(conn.execute(text("SELECT reltuples FROM pg_class WHERE oid = 'events'::regclass")).scalar())
    tables = conn.execute(text("SELECT name FROM sqlite_master WHERE name = 'sqlite_stat1'")).all()
    if not tables:
        return 0
    return conn.execute(text("SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'events'")).scalar()


def test_statistics_are_fresh_after_the_first_ingest(engine):
    rows = [row for n in range(40) for row in sale(f"111-{n:07d}-0000001", "2026-05-03")]
    ingest_bytes(engine, v2("7801", "2026-05-01", "2026-05-14", "2026-05-16", f"{80 * 40}.00", rows), "s.txt", "US")
    with engine.connect() as conn:
        # 40 orders (one event each) and the summary: the planner knows the table is no longer empty
        assert stats(conn) >= (41 if engine.dialect.name == "postgresql" else 1)
