"""Journal write and trial-balance benchmark: batched post_batch against a naive row-at-a-time baseline.

    .venv/bin/python benchmarks/bench_journal.py --engine sqlite --entries 250000 --batch 2000 --baseline-entries 20000

For each engine, on fresh databases (SQLite: files under benchmarks/out/; PostgreSQL: CREATE DATABASE bench_<random>,
dropped at the end), migrated with store.migrate.upgrade and loaded with the chart of accounts/:

  (a) batched: post_batch with --batch events per write_transaction, --entries entries from benchmarks/generate.py;
  (b) naive: post_batch with one event per write_transaction (per-entry transaction, per-row inserts), for
      --baseline-entries entries, on its own fresh database; its measured rate is reported, nothing extrapolated;
  (c) trial balance for US at full size, --tb-runs times, cycling through "latest" and four quarter-end as_of
      dates: trial_balance() (answered from the daily aggregates) against a scan that sums the postings
      (SUM over postings joined to entries, GROUP BY account, commodity, currency, state);
  (d) ledger_service.balances.integrity.verify once, timed.

Write rates count only the time inside write_transaction (generating the drafts is timed apart). Everything is
measured with time.perf_counter. Results: a table on stdout and JSON in benchmarks/out/<engine>-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import hashlib
import io
import json
import math
import os
import platform
import pstats
import secrets
import sqlite3
import sys
import time
from datetime import date, datetime, timezone
from itertools import islice
from pathlib import Path
from typing import Iterator

REPO_ROOT = Path(__file__).resolve().parent.parent
for path in (REPO_ROOT, REPO_ROOT / "benchmarks"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from sqlalchemy import create_engine, func, select, text  # noqa: E402

from generate import generate  # noqa: E402
from ledger_service.balances.integrity import verify  # noqa: E402
from ledger_service.balances.queries import trial_balance  # noqa: E402
from ledger_service.chart.service import load_accounts_dir  # noqa: E402
from ledger_service.settings import DEFAULT_ACCOUNTS_DIR  # noqa: E402
from ledger_service.journal.writer import post_batch  # noqa: E402
from ledger_service.store.engine import make_engine, write_transaction  # noqa: E402
from ledger_service.store.migrate import upgrade  # noqa: E402
from ledger_service.store.tables import balances, entries, postings  # noqa: E402

OUT = REPO_ROOT / "benchmarks" / "out"
PG_ADMIN_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
AS_OF_CYCLE = (None, date(2024, 3, 31), date(2024, 6, 30), date(2024, 9, 30), date(2024, 12, 31))


CODE_FILES = ("ledger_service/journal/writer.py", "ledger_service/store/bulk.py", "ledger_service/journal/model.py",
              "ledger_service/eventlog/model.py", "ledger_service/balances/queries.py", "ledger_service/store/engine.py")


def code_fingerprint() -> dict:
    """sha256 (first 12 hex) and mtime of the code under test: the tree is edited while benchmarks run."""
    out = {}
    for name in CODE_FILES:
        path = REPO_ROOT / name
        if path.exists():
            data = path.read_bytes()
            out[name] = {"sha256_12": hashlib.sha256(data).hexdigest()[:12],
                         "mtime_utc": datetime.fromtimestamp(path.stat().st_mtime, timezone.utc).isoformat(timespec="seconds")}
    return out


def log(message: str) -> None:
    print(f"[{datetime.now().strftime('%H:%M:%S')}] {message}", flush=True)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def latency_ms(samples: list[float]) -> dict:
    ms = [s * 1000 for s in samples]
    return {"runs": len(ms), "p50_ms": round(percentile(ms, 50), 3), "p99_ms": round(percentile(ms, 99), 3),
            "min_ms": round(min(ms), 3), "max_ms": round(max(ms), 3)}


# --- databases ---------------------------------------------------------------------------------------------------

@contextlib.contextmanager
def fresh_database(engine_name: str, tag: str, args) -> Iterator[str]:
    """A new, empty database; removed afterwards (SQLite files are kept with --keep-db)."""
    if engine_name == "sqlite":
        OUT.mkdir(parents=True, exist_ok=True)
        path = OUT / f"sqlite-{tag}-{datetime.now().strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(3)}.db"
        try:
            yield f"sqlite:///{path}"
        finally:
            if not args.keep_db:
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    name = f"bench_{secrets.token_hex(6)}"
    admin = create_engine(args.pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    base = admin.url
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def prepare(url: str):
    upgrade(url)
    engine = make_engine(url)
    with write_transaction(engine) as conn:
        load_accounts_dir(conn, DEFAULT_ACCOUNTS_DIR)
    return engine


def server_version(engine) -> str:
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            return "SQLite " + conn.exec_driver_sql("select sqlite_version()").scalar()
        return conn.exec_driver_sql("show server_version").scalar()


# --- (a) and (b): writing ----------------------------------------------------------------------------------------

def ingest(engine, n: int, batch: int, seed: int, label: str, profile_to: Path | None = None) -> dict:
    work = generate(n, seed)
    n_batches = math.ceil(n / batch)
    report_every = max(1, n_batches // 10)
    done_entries = done_postings = done_batches = 0
    t_db = t_gen = 0.0
    batch_times: list[float] = []
    deciles: list[dict] = []
    mark = (0, 0, 0.0)  # entries, postings, db seconds at the previous progress line
    profiler = cProfile.Profile() if profile_to else None
    wall0 = time.perf_counter()
    while True:
        g0 = time.perf_counter()
        items = list(islice(work, batch))
        t_gen += time.perf_counter() - g0
        if not items:
            break
        if profiler:
            profiler.enable()
        t0 = time.perf_counter()
        with write_transaction(engine) as conn:
            post_batch(conn, items)
        elapsed = time.perf_counter() - t0
        if profiler:
            profiler.disable()
        t_db += elapsed
        batch_times.append(elapsed)
        done_batches += 1
        done_entries += sum(len(drafts) for _, drafts in items)
        done_postings += sum(len(d.postings) for _, drafts in items for d in drafts)
        if done_batches % report_every == 0 or done_entries >= n:
            de, dp, dt = done_entries - mark[0], done_postings - mark[1], t_db - mark[2]
            deciles.append({"entries_so_far": done_entries, "entries_per_s": round(de / dt, 1) if dt else None,
                            "postings_per_s": round(dp / dt, 1) if dt else None})
            log(f"{label}: {done_entries}/{n} entries, {done_postings} postings, db {t_db:.1f}s, "
                f"recent {de / dt if dt else 0:,.0f} entries/s")
            mark = (done_entries, done_postings, t_db)
    wall = time.perf_counter() - wall0
    result = {
        "entries": done_entries,
        "postings": done_postings,
        "events": done_entries,
        "batch": batch,
        "transactions": done_batches,
        "db_seconds": round(t_db, 3),
        "generate_seconds": round(t_gen, 3),
        "wall_seconds": round(wall, 3),
        "entries_per_s": round(done_entries / t_db, 1),
        "postings_per_s": round(done_postings / t_db, 1),
        "transaction_ms": latency_ms(batch_times),
        "progress": deciles,
    }
    if profiler:
        profiler.dump_stats(str(profile_to))
        buffer = io.StringIO()
        pstats.Stats(profiler, stream=buffer).sort_stats("cumulative").print_stats(30)
        result["profile"] = str(profile_to)
        log(f"profile of {label} written to {profile_to}\n{buffer.getvalue()}")
    return result


# --- (c): trial balance ------------------------------------------------------------------------------------------

def scan_query(as_of: date | None):
    """The naive trial balance: sum every posting, no aggregate table."""
    q = (
        select(postings.c.account_id, postings.c.commodity, entries.c.currency, entries.c.state,
               func.sum(postings.c.quantity), func.sum(postings.c.amount), func.sum(postings.c.functional_amount))
        .join(entries, entries.c.id == postings.c.entry_id)
        .where(postings.c.subsidiary == "US")
        .group_by(postings.c.account_id, postings.c.commodity, entries.c.currency, entries.c.state)
    )
    if as_of is not None:
        q = q.where(entries.c.effective_date <= as_of)
    return q


def aggregate_query(as_of: date | None):
    q = (
        select(balances.c.account_id, balances.c.commodity, balances.c.weight_currency, balances.c.state,
               func.sum(balances.c.quantity), func.sum(balances.c.amount), func.sum(balances.c.functional_amount))
        .where(balances.c.subsidiary == "US")
        .group_by(balances.c.account_id, balances.c.commodity, balances.c.weight_currency, balances.c.state)
    )
    if as_of is not None:
        q = q.where(balances.c.day <= as_of)
    return q


def as_dict(rows) -> dict:
    return {tuple(r[:4]): tuple(int(x) for x in r[4:]) for r in rows}


def trial_balances(engine, runs: int, scan_runs: int) -> dict:
    tb_all, tb_latest, tb_as_of = [], [], []
    scan_all, scan_latest, scan_as_of = [], [], []
    balanced = True
    with engine.connect() as conn:
        trial_balance(conn, "US")  # warm up: caches, first connection
        conn.rollback()
        for k in range(runs):
            as_of = AS_OF_CYCLE[k % len(AS_OF_CYCLE)]
            t0 = time.perf_counter()
            tb = trial_balance(conn, "US", as_of)
            elapsed = time.perf_counter() - t0
            conn.rollback()
            tb_all.append(elapsed)
            (tb_latest if as_of is None else tb_as_of).append(elapsed)
            balanced &= all(t["balance"].strip("0.") in ("", "-") for t in tb["totals"])
        conn.execute(scan_query(None)).all()  # warm up
        conn.rollback()
        for k in range(scan_runs):
            as_of = AS_OF_CYCLE[k % len(AS_OF_CYCLE)]
            t0 = time.perf_counter()
            conn.execute(scan_query(as_of)).all()
            elapsed = time.perf_counter() - t0
            conn.rollback()
            scan_all.append(elapsed)
            (scan_latest if as_of is None else scan_as_of).append(elapsed)
        same = all(as_dict(conn.execute(scan_query(d))) == as_dict(conn.execute(aggregate_query(d)))
                   for d in AS_OF_CYCLE)
        conn.rollback()
        counts = {
            "postings": conn.execute(select(func.count()).select_from(postings)).scalar(),
            "us_postings": conn.execute(select(func.count()).select_from(postings)
                                        .where(postings.c.subsidiary == "US")).scalar(),
            "balance_rows": conn.execute(select(func.count()).select_from(balances)).scalar(),
            "us_balance_rows": conn.execute(select(func.count()).select_from(balances)
                                            .where(balances.c.subsidiary == "US")).scalar(),
        }
    return {
        "as_of_cycle": [d.isoformat() if d else "latest" for d in AS_OF_CYCLE],
        "aggregate": {"all": latency_ms(tb_all), "latest": latency_ms(tb_latest), "as_of": latency_ms(tb_as_of)},
        "scan": {"all": latency_ms(scan_all), "latest": latency_ms(scan_latest), "as_of": latency_ms(scan_as_of)},
        "totals_zero": balanced,
        "scan_equals_aggregate": same,
        "sizes": counts,
    }


# --- (d): verify -------------------------------------------------------------------------------------------------

def timed_verify(engine) -> dict:
    t0 = time.perf_counter()
    with engine.connect() as conn:
        report = verify(conn)
    seconds = time.perf_counter() - t0
    return {"ok": report.ok, "seconds": round(seconds, 3), "events": report.events, "entries": report.entries,
            "problems": report.problems[:5]}


# --- the run -----------------------------------------------------------------------------------------------------

def run_engine(engine_name: str, args, stamp: str) -> dict:
    results: dict = {"engine": engine_name}
    log(f"{engine_name}: batched run, {args.entries} entries in batches of {args.batch}")
    with fresh_database(engine_name, "batched", args) as url:
        engine = prepare(url)
        results["server"] = server_version(engine)
        profile_to = OUT / f"{engine_name}-{stamp}.prof" if args.profile else None
        results["batched"] = ingest(engine, args.entries, args.batch, args.seed, f"{engine_name} batched", profile_to)
        log(f"{engine_name}: trial balance x{args.tb_runs}, scan x{args.scan_runs}")
        results["trial_balance"] = trial_balances(engine, args.tb_runs, args.scan_runs)
        log(f"{engine_name}: verify")
        results["verify"] = timed_verify(engine)
        engine.dispose()
    log(f"{engine_name}: naive run, {args.baseline_entries} entries, one transaction each")
    with fresh_database(engine_name, "naive", args) as url:
        engine = prepare(url)
        results["naive"] = ingest(engine, args.baseline_entries, 1, args.seed, f"{engine_name} naive")
        engine.dispose()
    b, n, tb = results["batched"], results["naive"], results["trial_balance"]
    results["ratios"] = {
        "entries_per_s_batched_over_naive": round(b["entries_per_s"] / n["entries_per_s"], 2),
        "postings_per_s_batched_over_naive": round(b["postings_per_s"] / n["postings_per_s"], 2),
        "tb_p50_scan_over_aggregate": round(tb["scan"]["all"]["p50_ms"] / tb["aggregate"]["all"]["p50_ms"], 2),
        "tb_p99_scan_over_aggregate": round(tb["scan"]["all"]["p99_ms"] / tb["aggregate"]["all"]["p99_ms"], 2),
    }
    return results


def table(r: dict) -> str:
    b, n, tb, v, ratio = r["batched"], r["naive"], r["trial_balance"], r["verify"], r["ratios"]
    agg, scan = tb["aggregate"], tb["scan"]
    lines = [
        f"engine: {r['engine']} ({r['server']})",
        f"{'measure':<46}{'value':>16}",
        f"{'-' * 62}",
        f"{'batched: entries / postings':<46}{b['entries']:>8} / {b['postings']:<7}",
        f"{'batched: batch size, transactions':<46}{b['batch']:>8} / {b['transactions']:<7}",
        f"{'batched: db seconds (generation apart)':<46}{b['db_seconds']:>16.1f}",
        f"{'batched: entries/s':<46}{b['entries_per_s']:>16,.0f}",
        f"{'batched: postings/s':<46}{b['postings_per_s']:>16,.0f}",
        f"{'batched: transaction p50 / p99 ms':<46}{b['transaction_ms']['p50_ms']:>8.0f} / {b['transaction_ms']['p99_ms']:<7.0f}",
        f"{'naive: entries / postings':<46}{n['entries']:>8} / {n['postings']:<7}",
        f"{'naive: entries/s':<46}{n['entries_per_s']:>16,.0f}",
        f"{'naive: postings/s':<46}{n['postings_per_s']:>16,.0f}",
        f"{'ratio batched/naive entries/s':<46}{ratio['entries_per_s_batched_over_naive']:>15.2f}x",
        f"{'TB aggregate (trial_balance) p50 / p99 ms':<46}{agg['all']['p50_ms']:>8.2f} / {agg['all']['p99_ms']:<7.2f}",
        f"{'  latest only p50 / p99 ms':<46}{agg['latest']['p50_ms']:>8.2f} / {agg['latest']['p99_ms']:<7.2f}",
        f"{'  with as_of p50 / p99 ms':<46}{agg['as_of']['p50_ms']:>8.2f} / {agg['as_of']['p99_ms']:<7.2f}",
        f"{'TB scan of postings p50 / p99 ms':<46}{scan['all']['p50_ms']:>8.1f} / {scan['all']['p99_ms']:<7.1f}",
        f"{'  latest only p50 / p99 ms':<46}{scan['latest']['p50_ms']:>8.1f} / {scan['latest']['p99_ms']:<7.1f}",
        f"{'  with as_of p50 / p99 ms':<46}{scan['as_of']['p50_ms']:>8.1f} / {scan['as_of']['p99_ms']:<7.1f}",
        f"{'ratio TB scan/aggregate p50 / p99':<46}{ratio['tb_p50_scan_over_aggregate']:>7.1f}x / {ratio['tb_p99_scan_over_aggregate']:.1f}x",
        f"{'TB runs (aggregate / scan)':<46}{agg['all']['runs']:>8} / {scan['all']['runs']:<7}",
        f"{'TB totals zero; scan equals aggregate':<46}{str(tb['totals_zero']):>8} / {tb['scan_equals_aggregate']}",
        f"{'US postings / US balance rows':<46}{tb['sizes']['us_postings']:>8} / {tb['sizes']['us_balance_rows']}",
        f"{'verify: ok, seconds':<46}{str(v['ok']):>8} / {v['seconds']:.1f}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", choices=("sqlite", "postgresql", "all"), default="sqlite")
    parser.add_argument("--entries", type=int, default=250_000, help="entries for the batched run")
    parser.add_argument("--batch", type=int, default=2000, help="events per write transaction (batched run)")
    parser.add_argument("--baseline-entries", type=int, default=20_000, help="entries for the naive run")
    parser.add_argument("--tb-runs", type=int, default=200, help="trial_balance calls")
    parser.add_argument("--scan-runs", type=int, default=200, help="scan-of-postings trial balances")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--pg-url", default=PG_ADMIN_URL, help="PostgreSQL server (admin database) URL")
    parser.add_argument("--keep-db", action="store_true", help="keep the SQLite files in benchmarks/out/")
    parser.add_argument("--profile", action="store_true", help="cProfile the batched run (.prof in benchmarks/out/)")
    args = parser.parse_args(argv)

    OUT.mkdir(parents=True, exist_ok=True)
    engines = ("sqlite", "postgresql") if args.engine == "all" else (args.engine,)
    for engine_name in engines:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        started = time.perf_counter()
        code_before = code_fingerprint()
        results = run_engine(engine_name, args, stamp)
        code_after = code_fingerprint()
        results["run"] = {
            "command": " ".join([Path(sys.executable).name, *sys.argv]),
            "args": vars(args),
            "started_utc": stamp,
            "total_seconds": round(time.perf_counter() - started, 1),
            "code": code_before,
            "code_changed_during_run": code_before != code_after,
            "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                        "sqlite_library": sqlite3.sqlite_version, "processor": platform.processor() or None},
        }
        out = OUT / f"{engine_name}-{stamp}.json"
        out.write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
        print()
        print(table(results))
        if code_before != code_after:
            print("WARNING: the code under test changed during the run (see run.code in the JSON)")
        print(f"code: writer.py {code_before.get(CODE_FILES[0], {}).get('sha256_12')}")
        print(f"results: {out.relative_to(REPO_ROOT)}\n", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
