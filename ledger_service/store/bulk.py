"""Bulk writes: ids allocated up front, then COPY (PostgreSQL) or executemany (SQLite).

Writing a batch row by row, or with INSERT ... RETURNING to learn the ids, costs a round trip or a large
statement per few rows. Instead the writer asks for n ids at once (a sequence on PostgreSQL; on SQLite the
writer holds the database's write lock, so max(id) + 1 onwards is free) and streams the rows: COPY FROM STDIN in
CSV on PostgreSQL, the driver's C executemany on SQLite. Both run inside the caller's transaction.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Sequence

from sqlalchemy import Connection, Date, DateTime, Table, func, select, text


def allocate_ids(conn: Connection, table: Table, n: int) -> list[int]:
    if n == 0:
        return []
    if conn.dialect.name == "postgresql":
        rows = conn.execute(
            text(f"SELECT nextval(pg_get_serial_sequence('{table.name}', 'id')) FROM generate_series(1, :n)"),
            {"n": n},
        )
        return [r[0] for r in rows]
    start = conn.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar() + 1
    return list(range(start, start + n))


@dataclass(frozen=True)
class PreparedRows:
    """Rows ready to write: CSV text for COPY (PostgreSQL), or converted tuples for executemany (SQLite)."""

    table: str
    columns: tuple[str, ...]
    rows: Sequence[Sequence] | None = None
    csv: str | None = None


def prepare_rows(conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[Sequence]) -> PreparedRows:
    """The CPU half of an insert, done while no write is in flight (see journal.writer.write_batch)."""
    if conn.dialect.name == "postgresql":
        return PreparedRows(table.name, tuple(columns), csv=csv_text(rows))
    return PreparedRows(table.name, tuple(columns), rows=_sqlite_rows(table, columns, rows))


def csv_text(rows: Sequence[Sequence]) -> str:
    """Rows as COPY's CSV: strings quoted (so "" is an empty string), None unquoted-empty, numbers and dates bare.

    For strings and numbers this is the csv module's QUOTE_NONNUMERIC text (tests/store/test_bulk.py), which took
    three times as long on events, whose raw rows and JSON payloads are two kilobytes of text full of quotes: it
    examines every character, where str.replace does one scan. The csv module writes None as a quoted empty
    string, which COPY stores as ""; here None is NULL, so both engines store exactly what the writer gave.
    """
    return "".join([",".join(map(_csv_value, row)) + "\n" for row in rows])


def _csv_value(value: object) -> str:
    kind = type(value)
    if kind is str:
        return '"' + value.replace('"', '""') + '"'  # newlines and commas are literal inside quotes
    if value is None:
        return ""
    if kind is int:
        return str(value)
    if kind is date or kind is datetime:
        return value.isoformat()
    if kind is bool:
        return "true" if value else "false"
    if kind is Decimal:
        return format(value, "f")
    raise TypeError(f"no COPY form for {kind.__name__}")


def write_rows(conn: Connection, prepared: PreparedRows) -> None:
    """COPY in CSV (see csv_text: "" and NULL stay apart, as executemany keeps them on SQLite), or executemany."""
    columns = ", ".join(prepared.columns)
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        if prepared.csv is not None:
            if not prepared.csv:
                return
            # one read of the whole buffer: copy_expert's reads need the GIL, the send and the wait do not
            cursor.copy_expert(f"COPY {prepared.table} ({columns}) FROM STDIN WITH (FORMAT csv)",
                               io.StringIO(prepared.csv), size=max(len(prepared.csv), 8192))
        elif prepared.rows:
            placeholders = ", ".join("?" for _ in prepared.columns)
            cursor.executemany(f"INSERT INTO {prepared.table} ({columns}) VALUES ({placeholders})", prepared.rows)
    finally:
        cursor.close()


def _sqlite_rows(table: Table, columns: Sequence[str], rows: Sequence[Sequence]) -> Sequence[Sequence]:
    """Convert only the date and time columns (found once by position): most rows need no conversion at all."""
    temporal = [i for i, c in enumerate(columns) if isinstance(table.c[c].type, (Date, DateTime))]
    if not temporal:
        return rows
    out = []
    for row in rows:
        row = list(row)
        for i in temporal:
            row[i] = _sqlite_value(row[i])
        out.append(row)
    return out


def _sqlite_value(value: object) -> object:
    # The same text forms SQLAlchemy's SQLite dialect writes, so that reads through the ORM types agree.
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    return value


def upsert_add(conn: Connection, table: Table, keys: Sequence[str], values: Sequence[str],
               rows: Sequence[Sequence]) -> None:
    """INSERT rows (keys + values columns); on a key conflict, add the values to the stored ones."""
    if not rows:
        return
    columns = ", ".join((*keys, *values))
    update = ", ".join(f"{v} = {table.name}.{v} + excluded.{v}" for v in values)
    conflict = f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {update}"
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        if conn.dialect.name == "postgresql":
            from psycopg2.extras import execute_values

            execute_values(cursor, f"INSERT INTO {table.name} ({columns}) VALUES %s {conflict}", rows, page_size=1000)
        else:
            placeholders = ", ".join("?" for _ in (*keys, *values))
            cursor.executemany(f"INSERT INTO {table.name} ({columns}) VALUES ({placeholders}) {conflict}",
                               _sqlite_rows(table, (*keys, *values), rows))
    finally:
        cursor.close()


def refresh_statistics(conn: Connection, tables: Sequence[Table]) -> None:
    """ANALYZE inside a long write transaction (PostgreSQL): its own uncommitted rows count as live in the sample.

    Autovacuum cannot see rows a transaction has not committed, so while one transaction writes a million rows the
    planner still believes the tables are nearly empty and picks plans (a scan of every event of the subsidiary to
    check idempotency keys) whose cost grows with every batch. Refreshing the statistics as the tables grow keeps
    the lookups on the unique index.
    """
    if conn.dialect.name == "postgresql":
        for table in tables:
            conn.exec_driver_sql(f"ANALYZE {table.name}")


def refresh_statistics_after(conn: Connection, tables: Sequence[Table], written: int) -> bool:
    """Fresh planner statistics at the end of every write that grew the tables noticeably; True if refreshed.

    Autovacuum analyzes a table only after a large share of it changed, so a new database that took a 60,000-row
    file kept its empty-table statistics and the next reconciliation chose plans that took 20 s instead of 60 ms.
    PostgreSQL: ANALYZE when the first table grew by a tenth or more (its reltuples estimate against the rows
    written; ANALYZE samples a bounded number of rows, so its cost does not grow with the table). SQLite:
    PRAGMA optimize, which analyzes only what it judges stale.
    """
    if written <= 0:
        return False
    if conn.dialect.name == "postgresql":
        estimate = conn.exec_driver_sql(
            f"SELECT reltuples FROM pg_class WHERE oid = '{tables[0].name}'::regclass").scalar()
        if estimate is not None and estimate > 0 and written * 10 < estimate:
            return False
        refresh_statistics(conn, tables)
        return True
    conn.exec_driver_sql("PRAGMA optimize")
    return True
