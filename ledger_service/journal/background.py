"""A batch writer on a second thread: the server stores batch N while Python parses and posts batch N+1.

The problem: a large file's ingest alternates CPU work in Python (parse, resolve, post, prepare) with waiting on
the database (write). On PostgreSQL the driver releases the GIL while it sends and waits, so the two can overlap,
but one connection must never be used by two threads at once. `BatchWriter` keeps at most one write in flight and
the caller calls `wait()` before any database call of its own; SQLite writes inline (its connections belong to
one thread). Used by the settlement ingest (ingest.service) and the inventory ledger ingest
(inventory.ledger_ingest).
"""

from __future__ import annotations

from concurrent import futures
from concurrent.futures import Future, ThreadPoolExecutor

from sqlalchemy import Connection

from ledger_service.journal.writer import PreparedBatch, write_batch


class BatchWriter:
    """`submit(prepared)` writes a prepare_batch result, in the caller's transaction; `wait()` returns when the
    write in flight is done, raising its error there. Leaving the block waits for the last write, or, after an
    error, lets it finish before the transaction rolls back (the first error is the one raised)."""

    def __init__(self, conn: Connection):
        self.conn = conn
        self.pool = ThreadPoolExecutor(1, "ledger-writer") if conn.dialect.name == "postgresql" else None
        self.pending: Future | None = None

    def __enter__(self) -> BatchWriter:
        return self

    def wait(self) -> None:
        if self.pending is not None:
            pending, self.pending = self.pending, None
            pending.result()  # a failed write raises here, in the ingest's transaction

    def submit(self, batch: PreparedBatch) -> None:
        self.wait()
        if self.pool is None:
            write_batch(self.conn, batch)
        else:
            self.pending = self.pool.submit(write_batch, self.conn, batch)

    def __exit__(self, exc_type, *_) -> None:
        try:
            if exc_type is None:
                self.wait()
            elif self.pending is not None:
                futures.wait([self.pending])  # let it finish before the transaction rolls back; keep the first error
        finally:
            if self.pool is not None:
                self.pool.shutdown()
