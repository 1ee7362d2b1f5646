"""Settlement ingest benchmark: streamed, batched ingest against a naive event-at-a-time baseline.

    .venv/bin/python benchmarks/bench_ingest.py --engine postgresql --rows 1000000 --baseline-rows 20000

For each engine, on fresh databases (see bench_journal.fresh_database), with a V2 settlement file written by
benchmarks/settlement_file.py:

  (a) ingest: `ledger_service.ingest.service.ingest_file` (the path `ledger-service ingest` takes: streamed parse,
      batches of 2,000 events, one transaction per file) of --rows rows; rows/s and the process's peak RSS;
  (b) the same at a quarter of the rows, to show memory flat in file size (peak RSS of both);
  (c) naive baseline: the same parser and posting rules, one transaction per event (parse_document, ingest.plan,
      then post_batch of one event per write_transaction), for --baseline-rows rows; its measured rate, nothing
      extrapolated.
Each run is a separate Python process so that its peak RSS (ru_maxrss) is its own. After (a) the settlements are
reconciled and the result is checked. Results: a table on stdout and JSON in benchmarks/out/ingest-<engine>-<ts>.json.
"""

from __future__ import annotations

import argparse
import json
import resource
import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
for path in (REPO_ROOT, REPO_ROOT / "benchmarks"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from bench_journal import OUT, PG_ADMIN_URL, fresh_database, prepare, server_version  # noqa: E402
from settlement_file import write_v2  # noqa: E402


def run_child(mode: str, url: str, file: Path) -> dict:
    out = subprocess.run([sys.executable, __file__, mode, "--url", url, "--file", str(file)],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def child(mode: str, url: str, file: Path) -> None:
    from ledger_service.ingest.service import ingest_file
    from ledger_service.settlements.reconcile import settlements
    from ledger_service.store.engine import make_engine

    engine = make_engine(url)
    server_before, started, cpu_before = server_cpu_seconds(), time.perf_counter(), time.process_time()
    if mode == "_ingest":
        report = ingest_file(engine, file, "US")
        rows = report.rows
        extra = {"events": report.events, "suspense": report.suspense}
    else:
        rows, extra = naive(engine, file), {}
    seconds = time.perf_counter() - started
    cpu, server = time.process_time() - cpu_before, server_cpu_seconds() - server_before
    extra["client_cpu_us_per_row"] = round(cpu / rows * 1e6, 1)
    if url.startswith("postgresql") and server > 0:
        extra["server_cpu_us_per_row"] = round(server / rows * 1e6, 1)
    with engine.connect() as conn:
        status = {s["status"] for s in settlements(conn, "US")}
    print(json.dumps({"rows": rows, "seconds": seconds, "rows_per_s": rows / seconds, "status": sorted(status),
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, **extra}))


def server_cpu_seconds() -> float:
    """CPU seconds (user + system) of every PostgreSQL process on this machine, from /proc (0 when unreadable):
    the backend, the WAL writer and the checkpointer all do work that ingest causes."""
    total, tick = 0, os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        name, fields = text[text.index("(") + 1 : text.rindex(")")], text[text.rindex(")") + 2 :].split()
        if name.startswith("postgres"):
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / tick


def naive(engine, file: Path) -> int:
    """The same parser and posting rules (ingest.plan), one database transaction per event."""
    from ledger_service.ingest.plan import Planner
    from ledger_service.journal.writer import post_batch
    from ledger_service.mapping.loader import load_mapping
    from ledger_service.settings import DEFAULT_ACCOUNTS_DIR
    from ledger_service.sources.amazon import parse_document
    from ledger_service.store.engine import write_transaction

    parsed = parse_document(file.read_bytes(), file.name)
    planner = Planner("US", "USD", load_mapping(DEFAULT_ACCOUNTS_DIR, "US"), set(), file.name)
    for posted in planner.plan((*parsed.settlements, *parsed.amounts)):
        with write_transaction(engine) as conn:
            post_batch(conn, [(posted.event, list(posted.entries))])
    return len(parsed.amounts)


def run_engine(engine_name: str, args) -> dict:
    OUT.mkdir(parents=True, exist_ok=True)
    results: dict = {"engine": engine_name}
    for label, rows in (("full", args.rows), ("quarter", args.rows // 4), ("naive", args.baseline_rows)):
        file = OUT / f"settlement-{rows}.txt"
        if not file.exists():
            write_v2(file, rows, seed=1)
        with fresh_database(engine_name, f"ingest-{label}", args) as url:
            engine = prepare(url)
            results.setdefault("server", server_version(engine))
            engine.dispose()
            print(f"[{datetime.now():%H:%M:%S}] {engine_name} {label}: {rows} rows", flush=True)
            results[label] = run_child("_naive" if label == "naive" else "_ingest", url, file)
            print(f"    {results[label]}", flush=True)
    results["ratio_batched_vs_naive"] = results["full"]["rows_per_s"] / results["naive"]["rows_per_s"]
    results["rss_full_vs_quarter"] = results["full"]["peak_rss_mb"] / results["quarter"]["peak_rss_mb"]
    return results


def table(r: dict) -> str:
    f, q, n = r["full"], r["quarter"], r["naive"]
    lines = [f"engine: {r['engine']} ({r['server']})",
             f"ingest {f['rows']:>9,} rows: {f['rows_per_s']:>9,.0f} rows/s  peak RSS {f['peak_rss_mb']:7.1f} MB  {f['status']}",
             f"ingest {q['rows']:>9,} rows: {q['rows_per_s']:>9,.0f} rows/s  peak RSS {q['peak_rss_mb']:7.1f} MB  {q['status']}",
             f"naive  {n['rows']:>9,} rows: {n['rows_per_s']:>9,.0f} rows/s  peak RSS {n['peak_rss_mb']:7.1f} MB",
             f"CPU µs per row ({f['rows']:,} rows): client {f.get('client_cpu_us_per_row')}, "
             f"database server {f.get('server_cpu_us_per_row', 'n/a')}",
             f"ratio streamed+batched / naive: {r['ratio_batched_vs_naive']:.1f}x; "
             f"peak RSS full / quarter: {r['rss_full_vs_quarter']:.2f}"]
    return "\n".join(lines)


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1].startswith("_"):
        mode = sys.argv[1]
        p = argparse.ArgumentParser()
        p.add_argument("--url")
        p.add_argument("--file", type=Path)
        a = p.parse_args(sys.argv[2:])
        child(mode, a.url, a.file)
        return 0
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--engine", choices=["sqlite", "postgresql", "both"], default="both")
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--baseline-rows", type=int, default=20_000)
    p.add_argument("--pg-url", default=PG_ADMIN_URL)
    p.add_argument("--keep-db", action="store_true")
    args = p.parse_args()
    for engine_name in (["sqlite", "postgresql"] if args.engine == "both" else [args.engine]):
        result = run_engine(engine_name, args)
        print(table(result))
        path = OUT / f"ingest-{engine_name}-{datetime.now():%Y%m%dT%H%M%S}.json"
        path.write_text(json.dumps(result, indent=2))
        print(f"results: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
