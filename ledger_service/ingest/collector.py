"""Fewer cyclic-garbage collections while a file is ingested.

The problem: CPython's cyclic collector runs a young-generation pass every 700 net allocations of container
objects, and now and then a pass over every object the process holds. Ingest allocates a dozen tuples, dicts and
records per settlement row, all acyclic and freed by reference counting the moment a batch is written, so those
passes find nothing to collect; measured with benchmarks/ingest_stages.py they were about a third of ingest's CPU.

While at least one ingest runs, the young generation's threshold is raised (nothing else changes: cycles are
still collected, only less often, and memory stays bounded because acyclic garbage never waited for the
collector). The previous thresholds come back when the last concurrent ingest ends.
"""

from __future__ import annotations

import gc
import threading
from contextlib import contextmanager
from typing import Iterator

YOUNG_THRESHOLD = 100_000  # allocations between young-generation passes (CPython's default is 700)

_lock = threading.Lock()
_active = 0
_saved: tuple[int, int, int] | None = None


@contextmanager
def fewer_collections() -> Iterator[None]:
    global _active, _saved
    with _lock:
        if _active == 0:
            _saved = gc.get_threshold()
            gc.set_threshold(max(YOUNG_THRESHOLD, _saved[0]), *_saved[1:])
        _active += 1
    try:
        yield
    finally:
        with _lock:
            _active -= 1
            if _active == 0 and _saved is not None:
                gc.set_threshold(*_saved)
                _saved = None
