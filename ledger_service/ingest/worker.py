"""Ingest off the server's process: uploads are ingested by a small pool of worker processes.

The problem: an ingest is CPU-bound Python. Run on a thread of the API's process, it shares the interpreter lock
with the event loop, so while a 50 MB settlement posts, /health and every other request wait their turn behind
it (a third of a second at times on PostgreSQL, where the writer thread adds its own share). A worker process has
its own interpreter: the API process only spools the upload to a temporary file and waits on a future, on a thread
of its own, and keeps answering.

The pool (LEDGER_INGEST_WORKERS processes, started with `spawn` when the API starts, at a lower CPU priority than
the server) keeps one engine per database URL.
A worker returns the report as a dict, or the error as (class name, message), which the caller raises again as
the same LedgerError (a ParseError becomes Invalid naming file:line), so the API answers as before: 422, 409...
"""

from __future__ import annotations

import atexit
import importlib
import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from ledger_service import errors
from ledger_service.settings import Settings

WORKER_NICENESS = 10
_pool: ProcessPoolExecutor | None = None
_lock = threading.Lock()
_engines: dict = {}  # in a worker: database URL -> engine


def ingest_in_worker(database_url: str, path: Path, subsidiary: str, settings: Settings, *, actor: str | None,
                     document: str, **kwargs) -> dict:
    """Ingest the file in a worker process; the report as a dict, or the worker's error raised here."""
    outcome = _executor(settings.ingest_workers).submit(_run, database_url, str(path), subsidiary, settings, actor,
                                                        document, kwargs).result()
    if "report" in outcome:
        return outcome["report"]
    kind, message = outcome["error"]
    raise getattr(errors, kind, errors.Invalid)(message)


def warm(workers: int) -> None:
    """Start every worker process now (the API calls this at startup, on a thread). A pool starts its processes
    on demand; one starting during an upload competes for the CPU with the ingest and the server (a spawned
    interpreter spends a second importing), and the server's answers wait. Each warm-up task lasts long enough
    that no worker can take two, so all of them start."""
    pool = _executor(workers)
    for future in [pool.submit(_settle, 0.5) for _ in range(workers)]:
        future.result()


def _settle(seconds: float) -> None:
    importlib.import_module("ledger_service.ingest.service")  # what an ingest needs, loaded before the first one
    time.sleep(seconds)


def _executor(workers: int) -> ProcessPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            _pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                        initializer=_lower_priority)
            atexit.register(_pool.shutdown, wait=False, cancel_futures=True)
        return _pool


def _lower_priority() -> None:
    """Ingest is batch work: on a busy machine the scheduler should run the server's answers first."""
    try:
        os.nice(WORKER_NICENESS)
    except OSError:  # not permitted here: run at the server's priority
        pass


def _run(database_url: str, path: str, subsidiary: str, settings: Settings, actor: str | None, document: str,
         kwargs: dict) -> dict:
    """In the worker: ingest, and turn what went wrong into something that crosses the process boundary."""
    from sqlalchemy.exc import DBAPIError

    from ledger_service.ingest.service import ingest_file
    from ledger_service.sources.model import ParseError
    from ledger_service.store.engine import make_engine

    engine = _engines.get(database_url)
    if engine is None:
        engine = _engines[database_url] = make_engine(database_url)
    try:
        return {"report": ingest_file(engine, Path(path), subsidiary, settings, actor=actor, document=document,
                                      **kwargs).as_dict()}
    except ParseError as exc:
        return {"error": ("Invalid", str(exc))}
    except errors.LedgerError as exc:
        return {"error": (type(exc).__name__, exc.message)}
    except DBAPIError as exc:
        return {"error": ("Unavailable", f"the database could not take the ingest: {str(exc.orig)[:300]}")}
