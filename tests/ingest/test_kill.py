"""kill -9 during an ingest leaves nothing half-posted: after a few killed runs and one that finishes, the ledger
equals a clean run's (the same events, the same balances, chains intact).

Each ingest runs in its own process (`python -m ledger_service.cli.main ingest`), killed with SIGKILL at a few
points while it writes; the database is the test's own (both engines).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import select

from ledger_service.balances.integrity import verify
from ledger_service.balances.queries import balances_view
from ledger_service.demo.amazon_generator import generate
from ledger_service.store.engine import make_engine
from ledger_service.store.tables import events

KILL_AFTER = (0.4, 0.9, 1.5)  # seconds into a run: interpreter start-up, parsing, writing


def run_ingest(url: str, paths: list[Path], kill_after: float | None) -> int | None:
    env = os.environ | {"LEDGER_DATABASE_URL": url}
    command = [sys.executable, "-m", "ledger_service.cli.main", "ingest", *map(str, paths), "-s", "US",
               "--format", "json"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if kill_after is None:
        _, err = process.communicate(timeout=300)
        assert process.returncode == 0, err.decode()[-2000:]
        return process.returncode
    time.sleep(kill_after)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    return process.returncode


def ledger(url: str) -> tuple[list, list]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            assert verify(conn).ok
            keys = sorted(conn.execute(select(events.c.idempotency_key, events.c.input_hash)
                                       .where(events.c.subsidiary == "US")).all())
            rows = sorted((r["account"], r["commodity"], r["balance"], r["pending"]) for r in balances_view(conn, "US"))
        return keys, rows
    finally:
        engine.dispose()


def test_killed_ingests_then_a_full_one_equal_a_clean_run(template, tmp_path):
    fresh, _ = template
    files = [p for p in generate(tmp_path / "files", orders=2400, days=28, seed=11) if p.parent.name == "US"]
    assert sum(len(p.read_text().splitlines()) for p in files) > 8000  # long enough to be killed mid-write
    killed, clean = fresh(tmp_path), fresh(tmp_path)
    codes = [run_ingest(killed, files, after) for after in KILL_AFTER]
    assert -signal.SIGKILL in codes  # at least one run really died by the signal (not finished first)
    run_ingest(killed, files, None)
    run_ingest(clean, files, None)
    assert ledger(killed) == ledger(clean)
