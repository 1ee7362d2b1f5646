"""Stress: concurrent ingesters on overlapping files, and repeated kill -9 at scale; then the ledger is checked.

    .venv/bin/python benchmarks/stress.py --engine postgresql --workers 8 --orders 20000 --kills 10
    .venv/bin/python benchmarks/stress.py --engine sqlite --workers 4 --orders 5000 --kills 5

1. Generates a quarter of demo settlements (US and UK) with --orders orders.
2. Concurrency: --workers processes each ingest ALL the files of both subsidiaries, in a different order, at the
   same time, into one fresh database. Afterwards: every settlement is posted exactly once (one summary event per
   settlement id), every subsidiary's trial balance is zero, and `verify` passes.
3. Kills: --kills runs of the same ingest into a second fresh database, each killed with SIGKILL at a random
   moment, then one run that finishes. The result must equal a clean run's, event for event and balance for
   balance, with `verify` passing.
Prints what it checked and how long each phase took; exits 1 on any failure. Not part of the test suite (see
tests/ingest/test_kill.py and tests/journal/test_concurrency.py for the small versions).
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from sqlalchemy import func, select  # noqa: E402

from bench_journal import PG_ADMIN_URL, fresh_database, prepare  # noqa: E402
from ledger_service.balances.integrity import verify  # noqa: E402
from ledger_service.balances.queries import balances_view, trial_balance  # noqa: E402
from ledger_service.demo.amazon_generator import generate  # noqa: E402
from ledger_service.store.engine import make_engine  # noqa: E402
from ledger_service.store.tables import events  # noqa: E402

CODES = ("US", "UK")


def ingest_command(code: str, paths: list[Path]) -> list[str]:
    return [sys.executable, "-m", "ledger_service.cli.main", "ingest", *map(str, paths), "-s", code, "--format", "json"]


def ingest_all(url: str, files: dict[str, list[Path]], seed: int) -> subprocess.Popen:
    """One worker: both subsidiaries' files, shuffled by `seed`, in one shell process chain."""
    rng = random.Random(seed)
    steps = []
    for code in rng.sample(CODES, len(CODES)):
        paths = rng.sample(files[code], len(files[code]))
        command = ingest_command(code, paths)
        steps.append(" ".join(f"'{c}'" for c in command) + " > /dev/null")
    # its own process group, so that a kill takes the shell and the ingest it is running
    return subprocess.Popen(["sh", "-c", " && ".join(steps)], env=os.environ | {"LEDGER_DATABASE_URL": url},
                            stderr=subprocess.PIPE, start_new_session=True)


def snapshot(url: str) -> dict:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            report = verify(conn)
            out = {"verify": report.ok, "problems": report.problems[:5]}
            for code in CODES:
                summaries = conn.execute(select(events.c.idempotency_key, func.count())
                                         .where(events.c.subsidiary == code, events.c.kind == "amazon_settlement")
                                         .group_by(events.c.idempotency_key)).all()
                out[code] = {
                    "settlements": len(summaries), "each_once": all(n == 1 for _, n in summaries),
                    "tb_zero": all(t["balance"] == "0.00" for t in trial_balance(conn, code)["totals"]),
                    "events": sorted(conn.execute(select(events.c.idempotency_key, events.c.input_hash)
                                                  .where(events.c.subsidiary == code)).all()),
                    "balances": sorted((r["account"], r["commodity"], r["balance"], r["pending"])
                                       for r in balances_view(conn, code)),
                }
        return out
    finally:
        engine.dispose()


def concurrency(url: str, files: dict, workers: int) -> bool:
    started = time.perf_counter()
    procs = [ingest_all(url, files, seed) for seed in range(workers)]
    failures = [p.communicate()[1].decode()[-500:] for p in procs if p.wait() != 0]
    state = snapshot(url)
    ok = not failures and state["verify"] and all(state[c]["each_once"] and state[c]["tb_zero"] for c in CODES)
    print(f"concurrency: {workers} workers in {time.perf_counter() - started:.1f} s; failures {len(failures)}; "
          + "; ".join(f"{c}: {state[c]['settlements']} settlements, each once {state[c]['each_once']}, "
                      f"trial balance zero {state[c]['tb_zero']}" for c in CODES)
          + f"; verify {state['verify']}")
    for failure in failures[:3]:
        print("  worker failed:", failure)
    return ok


def kills(url: str, clean_url: str, files: dict, count: int, seed: int) -> bool:
    rng, started, died = random.Random(seed), time.perf_counter(), 0
    for _ in range(count):
        process = ingest_all(url, files, rng.randrange(1000))
        time.sleep(rng.uniform(0.3, 6.0))
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:  # it finished first
            pass
        died += process.wait() != 0
    finish = ingest_all(url, files, 0)
    finish.wait()
    clean = ingest_all(clean_url, files, 0)
    clean.wait()
    got, want = snapshot(url), snapshot(clean_url)
    same = all(got[c]["events"] == want[c]["events"] and got[c]["balances"] == want[c]["balances"] for c in CODES)
    print(f"kills: {count} runs ({died} died), then one to the end, in {time.perf_counter() - started:.1f} s; "
          f"equal to a clean run {same}; verify {got['verify']}")
    return same and got["verify"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--orders", type=int, default=5000)
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--pg-url", default=PG_ADMIN_URL)
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        paths = generate(folder / "files", orders=args.orders, seed=args.seed)
        files = {c: [p for p in paths if p.parent.name == c] for c in CODES}
        print(f"{sum(len(v) for v in files.values())} files, "
              f"{sum(len(p.read_text().splitlines()) for v in files.values() for p in v):,} lines")
        with fresh_database(args.engine, "stress", args) as a, fresh_database(args.engine, "kills", args) as b, \
                fresh_database(args.engine, "clean", args) as c:
            for url in (a, b, c):
                prepare(url).dispose()
            ok = concurrency(a, files, args.workers)
            ok = kills(b, c, files, args.kills, args.seed) and ok
    print("ok" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
