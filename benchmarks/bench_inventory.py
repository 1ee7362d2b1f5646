"""Inventory benchmark (issue 12): FIFO consumption of sales against lots, and inventory ledger ingest.

    .venv/bin/python benchmarks/bench_inventory.py --engine postgresql --lots 100000 --sales 1000000
    .venv/bin/python benchmarks/bench_inventory.py --engine sqlite --lots 2000 --sales 20000 --rows 10000,40000

The problem it measures: a subsidiary's sales take lots FIFO, each at its cost, through the pure posting rule
(inventory.posting.post) over holdings rebuilt from the database (inventory.service.load_state); the issue asks for
20,000 sales/s at a million sales against 100,000 lots on PostgreSQL, beside a naive baseline, and for the
inventory ledger's ingest rate and memory at a million rows. generate_inventory.py makes the work (seeded, streamed).

FIFO (`--part fifo`), a US subsidiary on FIFO with location FBA-US, on a fresh database (bench_journal.fresh_database):
  lots: --lots lots (--per-sku receipts of each SKU, POs of 10 lines) posted by post_purchase and post_batch,
        --batch POs per transaction; then a copy of that database for (c) (PostgreSQL: CREATE DATABASE .. TEMPLATE;
        SQLite: the file copied);
  (a) consumption only, as inventory.ledger_ingest runs it: load_state of every SKU, then post() of each of
      --sales sales (slices, costs, the entry drafts) folded over the state, no writes: in chunks of the ingest's
      CHUNK sales under its collector policy (ingest.collector.fewer_collections, a young collection every
      COLLECT_EVERY chunks), what each sale took (state.sold) dropped after each chunk, as the ingest drops it once
      the chunk's postings hold it. Sales/s over load + fold; the generation of the sales is timed apart;
  (a1) one fold over every sale, every sale's slices kept in state.sold, under the default collector: the measure
      of earlier runs, which no product path runs (the cyclic collector walks the growing state);
  (b) end to end: load_state again, then per --batch sales the fold and post_batch of their events and entries in
      one write transaction (the state carried in memory between transactions: one writer);
  (c) naive, on the copy: per sale one SQL query for the SKU's lots with units left (the sum of the units postings
      by lot, oldest first), post() against those lots only, and post_batch of its one event, in one transaction per
      sale, for the first --baseline-sales sales. Its measured rate; nothing extrapolated.
  Checks: the COGS of (a), of (b), of the COGS postings in the database after (b), and of an SQL FIFO computation
  (window sums over the receipts' postings against the units each SKU sold) are equal to the cent; (c)'s cost of
  each sale equals (a)'s for the same sale.
Ingest (`--part ingest`): for each size of --rows, a report of that many rows (generate_inventory.write_ledger,
cached in benchmarks/out/) ingested from its path by inventory.service.ingest_ledger in a fresh Python process on a
fresh database that holds the catalog and the inbound lots: rows/s and that process's peak RSS (ru_maxrss), then the
units per state checked against the generator's. --memory-sites adds, at 1/10 of each size, what the Python heap
holds at the first and the latest call of the writer (tracemalloc, by source file; slow: its rates are not quoted).
--child-memory-limit-mb caps each ingest process's address space (a shared machine).
Results: a table on stdout and benchmarks/out/inventory-<engine>-<UTC stamp>.json (machine, command, code sha256).
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import hashlib
import io
import json
import os
import platform
import pstats
import resource
import shutil
import sys
import time
from collections import Counter
from contextlib import contextmanager, nullcontext
from datetime import datetime, time as clock, timezone
from decimal import Decimal
from itertools import islice
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
for path in (REPO_ROOT, REPO_ROOT / "benchmarks"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

import generate_inventory as gen  # noqa: E402
from bench_inventory_ingest import ingest_child, ingest_table, run_ingest  # noqa: E402
from bench_inventory_naive import books_of, cogs, naive, sale_event, sql_cogs, sql_fifo  # noqa: E402
from bench_journal import OUT, PG_ADMIN_URL, fresh_database, log, prepare, server_version  # noqa: E402
from ledger_service.eventlog.model import EventDraft, Source  # noqa: E402
from ledger_service.ingest.collector import fewer_collections  # noqa: E402
from ledger_service.inventory.holdings import InventoryState, PMap  # noqa: E402
from ledger_service.inventory.ledger_ingest import (  # noqa: E402
    CHUNK as INGEST_CHUNK, COLLECT_EVERY, COLLECT_GENERATION,
)
from ledger_service.inventory.moves import Books  # noqa: E402
from ledger_service.inventory.posting import post  # noqa: E402
from ledger_service.inventory.service import load_state  # noqa: E402
from ledger_service.journal.writer import post_batch  # noqa: E402
from ledger_service.locations.service import add_location, set_lane  # noqa: E402
from ledger_service.store.engine import make_engine, write_transaction  # noqa: E402

SUB, CURRENCY, LOC = "US", "USD", gen.LOCATION
CODE_FILES = ("ledger_service/inventory/valuation.py", "ledger_service/inventory/holdings.py",
              "ledger_service/inventory/moves.py", "ledger_service/inventory/posting.py",
              "ledger_service/inventory/service.py", "ledger_service/inventory/loading.py",
              "ledger_service/inventory/ledger_ingest.py", "ledger_service/journal/writer.py",
              "ledger_service/sources/amazon/inventory_ledger.py", "benchmarks/generate_inventory.py")
CHUNK = 10_000  # sales generated per step of (a), outside the timing


def code_fingerprint() -> dict:
    return {name: hashlib.sha256((REPO_ROOT / name).read_bytes()).hexdigest()[:12]
            for name in CODE_FILES if (REPO_ROOT / name).exists()}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- lots, and a copy of the database ----------------------------------------------------------------------------

def write_lots(engine, args) -> dict:
    with write_transaction(engine) as conn:
        add_location(conn, SUB, LOC, "fba", marketplace=gen.MARKETPLACE)
        set_lane(conn, SUB, "FBA", [LOC])
    books, batch, lots, seconds = Books(SUB, CURRENCY), [], 0, 0.0

    def flush() -> float:
        t0 = time.perf_counter()
        with write_transaction(engine) as conn:
            post_batch(conn, batch)
        batch.clear()
        return time.perf_counter() - t0

    for po in gen.receipts(args.lots, args.per_sku, args.sales, args.seed):
        done = post(po, InventoryState(), books)
        batch.append((EventDraft(SUB, "purchase_receipt", datetime.combine(po.date, clock()), f"bench:{po.po}",
                                 po.po, Source(system="bench-inventory")), list(done.entries)))
        lots += len(po.lines)
        if len(batch) >= args.batch:
            seconds += flush()
    seconds += flush() if batch else 0.0
    analyze(engine)
    return {"lots": lots, "skus": gen.shape(args.lots, args.per_sku)[0], "seconds": round(seconds, 2),
            "lots_per_s": round(lots / seconds, 1)}


def analyze(engine) -> None:
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
            conn.exec_driver_sql("CHECKPOINT")
    else:
        with engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")


@contextmanager
def copy_of(url: str, args):
    """A copy of the database at `url` (which no connection may hold): the naive run's own, with the same lots."""
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        target = Path(f"{u.database}.naive.db")
        shutil.copyfile(u.database, target)
        try:
            yield f"sqlite:///{target}"
        finally:
            target.unlink(missing_ok=True)
        return
    name = f"{u.database}_naive"
    admin = create_engine(args.pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{u.database}"'))
    try:
        yield u.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# --- (a) consumption only, (b) end to end ------------------------------------------------------------------------

def skus_of(args) -> list[str]:
    return [gen.sku(n) for n in range(gen.shape(args.lots, args.per_sku)[0])]


def consume_only(engine, args, profile_to: Path | None, as_ingest: bool = True) -> dict:
    """(a) with `as_ingest`: the fold run the way inventory.ledger_ingest runs it: in chunks of its CHUNK sales,
    under its collector policy (ingest.collector.fewer_collections, a young collection every COLLECT_EVERY chunks),
    and what each sale took (`state.sold`) dropped after each chunk, as the ingest drops it once the chunk's
    postings hold it. Without `as_ingest`, (a1): one fold over every sale, keeping every sale's slices in memory,
    under the default collector (the measure of earlier runs)."""
    profiler = cProfile.Profile() if profile_to else None
    t0 = time.perf_counter()
    if profiler:
        profiler.enable()
    with engine.connect() as conn:
        state, books = load_state(conn, SUB, skus_of(args)), books_of(conn)
    if profiler:
        profiler.disable()
    load = time.perf_counter() - t0
    work = gen.sales(args.sales, args.lots, args.per_sku, args.seed)
    fold = generate = 0.0
    total, sample, sold, slices, n, chunks = Decimal(0), [], Counter(), 0, 0, 0
    with fewer_collections() if as_ingest else nullcontext():
        while True:
            g0 = time.perf_counter()
            chunk = list(islice(work, INGEST_CHUNK if as_ingest else CHUNK))
            generate += time.perf_counter() - g0
            if not chunk:
                break
            chunks += 1
            amounts, widths = [], []
            if profiler:
                profiler.enable()
            t0 = time.perf_counter()
            if as_ingest and chunks % COLLECT_EVERY == 0:
                gc.collect(COLLECT_GENERATION)
            for sale in chunk:
                done = post(sale, state, books)
                state = done.state
                # only the COGS posting's amount (the entry's last posting) is kept: keeping the entries would
                # hold a chunk's objects at a time for the cyclic collector to walk, which the product never does
                lines = done.entries[0].postings
                amounts.append(lines[-1].amount)
                widths.append(len(lines))
            if as_ingest:
                state = state._replace(sold=PMap())
            fold += time.perf_counter() - t0
            if profiler:
                profiler.disable()
            for sale, cost, width in zip(chunk, amounts, widths):  # outside the timing: the answer, for the checks
                total += cost
                if n < args.baseline_sales:
                    sample.append(cost)
                sold[sale.sku] += sale.units
                slices += width - 1
                n += 1
    result = {"sales": n, "units": sum(sold.values()), "slices": slices, "load_seconds": round(load, 3),
              "fold_seconds": round(fold, 3), "generate_seconds": round(generate, 3),
              "sales_per_s": round(n / (load + fold), 1), "fold_sales_per_s": round(n / fold, 1),
              "cogs": str(total), "peak_rss_mb": round(peak_rss_mb(), 1),
              "chunk": INGEST_CHUNK if as_ingest else None}
    if profiler:
        profiler.dump_stats(str(profile_to))
        buffer = io.StringIO()
        pstats.Stats(profiler, stream=buffer).sort_stats("tottime").print_stats(25)
        result["profile"] = str(profile_to.relative_to(REPO_ROOT))
        log(f"profile of (a) written to {profile_to} (rates under the profiler are not quoted)\n{buffer.getvalue()}")
    return result | {"_sample": sample, "_sold": sold}


def end_to_end(engine, args) -> dict:
    t0 = time.perf_counter()
    with engine.connect() as conn:
        state, books = load_state(conn, SUB, skus_of(args)), books_of(conn)
    load = time.perf_counter() - t0
    work = gen.sales(args.sales, args.lots, args.per_sku, args.seed)
    fold = write = generate = 0.0
    total, n, postings = Decimal(0), 0, 0
    while True:
        g0 = time.perf_counter()
        chunk = list(islice(work, args.batch))
        generate += time.perf_counter() - g0
        if not chunk:
            break
        t0 = time.perf_counter()
        items = []
        for sale in chunk:
            done = post(sale, state, books)
            state = done.state
            items.append((sale_event(sale), list(done.entries)))
        t1 = time.perf_counter()
        with write_transaction(engine) as conn:
            post_batch(conn, items)
        t2 = time.perf_counter()
        fold, write = fold + t1 - t0, write + t2 - t1
        total += sum((cogs(entries) for _, entries in items), Decimal(0))
        postings += sum(len(e.postings) for _, entries in items for e in entries)
        n += len(chunk)
        if n % (args.batch * 50) == 0:
            log(f"(b) {n:,} sales written, {n / (load + fold + write):,.0f} sales/s so far")
    seconds = load + fold + write
    return {"sales": n, "postings": postings, "batch": args.batch, "load_seconds": round(load, 3),
            "fold_seconds": round(fold, 3), "write_seconds": round(write, 3), "generate_seconds": round(generate, 3),
            "sales_per_s": round(n / seconds, 1), "write_share": round(write / seconds, 3), "cogs": str(total)}


def run_fifo(engine_name: str, args, stamp: str) -> dict:
    results: dict = {}
    with fresh_database(engine_name, "inventory", args) as url:
        engine = prepare(url)
        results["server"] = server_version(engine)
        log(f"{engine_name}: writing {args.lots:,} lots")
        results["lots"] = write_lots(engine, args)
        log(f"lots: {results['lots']}")
        engine.dispose()
        with copy_of(url, args) as naive_url:
            profile_to = OUT / f"inventory-{engine_name}-{stamp}.prof" if args.profile else None
            log(f"(a) consumption only, as ingest_ledger runs it: load_state + post() of {args.sales:,} sales")
            a = consume_only(engine, args, profile_to)
            sample, sold = a.pop("_sample"), a.pop("_sold")
            log(f"(a) {a}")
            results["consume"] = a
            log("(a1) one fold over every sale, every sale's slices kept, the default collector")
            a1 = consume_only(engine, args, None, as_ingest=False)
            same = a1.pop("_sample") == sample and a1.pop("_sold") == sold and a1["cogs"] == a["cogs"]
            results["consume_whole"] = a1 | {"same_answer_as_a": same}
            log(f"(a1) {results['consume_whole']}")
            if not args.skip_write:
                log(f"(b) end to end: {args.sales:,} sales written in batches of {args.batch}")
                results["end_to_end"] = end_to_end(engine, args)
                log(f"(b) {results['end_to_end']}")
            log(f"(c) naive: {args.baseline_sales:,} sales, one query and one transaction each")
            naive_engine = make_engine(naive_url)
            c = naive(naive_engine, args)
            naive_engine.dispose()
            costs = c.pop("_costs")
            results["naive"] = c
            log(f"(c) {c}")
            checks = {"fifo_in_sql": str(sql_fifo(engine, sold)), "consume": a["cogs"],
                      "naive_sample_equals_consume_sample": costs == sample[:len(costs)],
                      "naive_sample": c["cogs"], "consume_sample": str(sum(sample[:len(costs)], Decimal(0)))}
            if "end_to_end" in results:
                checks |= {"end_to_end": results["end_to_end"]["cogs"], "cogs_postings": str(sql_cogs(engine))}
            totals = {v for k, v in checks.items() if k in ("fifo_in_sql", "consume", "end_to_end", "cogs_postings")}
            checks["totals_equal"] = len(totals) == 1
            results["checks"] = checks
            engine.dispose()
    a, c = results["consume"], results["naive"]
    results["ratios"] = {"consume_over_naive": round(a["sales_per_s"] / c["sales_per_s"], 1)}
    if "end_to_end" in results:
        results["ratios"]["end_to_end_over_naive"] = round(results["end_to_end"]["sales_per_s"] / c["sales_per_s"], 1)
    return results


def fifo_table(r: dict) -> str:
    lots, a, c, k = r["lots"], r["consume"], r["naive"], r["checks"]
    lines = [f"FIFO: {lots['lots']:,} lots of {lots['skus']:,} SKUs ({r['server']}), written at "
             f"{lots['lots_per_s']:,.0f} lots/s",
             f"{'(a) consumption as ingest_ledger runs it, no writes':<58}{a['sales_per_s']:>12,.0f} sales/s",
             f"{'    load_state / fold seconds':<58}{a['load_seconds']:>12.2f} / {a['fold_seconds']:.2f}",
             f"{'    fold only':<58}{a['fold_sales_per_s']:>12,.0f} sales/s",
             f"{'    sales / units / slices':<58}{a['sales']:>12,} / {a['units']:,} / {a['slices']:,}"]
    if "consume_whole" in r:
        a1 = r["consume_whole"]
        lines.append(f"{'(a1) one fold, every sale kept, default collector':<58}{a1['sales_per_s']:>12,.0f} sales/s "
                     f"(fold only {a1['fold_sales_per_s']:,.0f}; same answer: "
                     f"{'yes' if a1['same_answer_as_a'] else 'NO'})")
    if "end_to_end" in r:
        b = r["end_to_end"]
        lines += [f"{'(b) end to end: + post_batch per ' + str(b['batch']) + ' sales':<58}{b['sales_per_s']:>12,.0f} "
                  f"sales/s",
                  f"{'    load / fold / write seconds':<58}{b['load_seconds']:>12.2f} / {b['fold_seconds']:.2f} / "
                  f"{b['write_seconds']:.2f}"]
    lines += [f"{'(c) naive: a query and a transaction per sale':<58}{c['sales_per_s']:>12,.1f} sales/s "
              f"({c['sales']:,} sales)",
              f"{'ratio (a) / (c)':<58}{r['ratios']['consume_over_naive']:>11,.1f}x"]
    if "end_to_end_over_naive" in r["ratios"]:
        lines.append(f"{'ratio (b) / (c)':<58}{r['ratios']['end_to_end_over_naive']:>11,.1f}x")
    lines += [f"COGS: (a) {k['consume']}, (b) {k.get('end_to_end', '-')}, postings {k.get('cogs_postings', '-')}, "
              f"SQL FIFO {k['fifo_in_sql']}: {'equal' if k['totals_equal'] else 'DIFFERENT'}",
              f"naive sample {k['naive_sample']} = (a) on the same sales {k['consume_sample']}, sale by sale: "
              f"{'yes' if k['naive_sample_equals_consume_sample'] else 'NO'}"]
    return "\n".join(lines)


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "_ingest":
        return ingest_child(sys.argv[2:])
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--engine", choices=("postgresql", "sqlite", "both"), default="postgresql")
    p.add_argument("--part", choices=("fifo", "ingest", "all"), default="all")
    p.add_argument("--lots", type=int, default=100_000, help="lots: SKUs x --per-sku receipts")
    p.add_argument("--per-sku", type=int, default=100, help="receipts (lots) of each SKU")
    p.add_argument("--sales", type=int, default=1_000_000)
    p.add_argument("--baseline-sales", type=int, default=5_000, help="sales of the naive run (c)")
    p.add_argument("--batch", type=int, default=2_000, help="events per write transaction (lots, and (b))")
    p.add_argument("--skip-write", action="store_true", help="leave out (b)")
    p.add_argument("--rows", default="100000,250000,1000000", help="inventory ledger sizes, comma-separated")
    p.add_argument("--ledger-skus", type=int, default=1_000, help="SKUs of the inventory ledger report")
    p.add_argument("--memory-sites", action="store_true", help="tracemalloc run at 1/10 of each --rows size")
    p.add_argument("--child-memory-limit-mb", type=int, default=0,
                   help="address-space limit of each ingest process (0: none); past it the size is reported failed")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--pg-url", default=PG_ADMIN_URL, help="PostgreSQL server (admin database) URL")
    p.add_argument("--keep-db", action="store_true", help="keep the SQLite files in benchmarks/out/")
    p.add_argument("--profile", action="store_true", help="cProfile (a); writes benchmarks/out/inventory-*.prof")
    args = p.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    for engine_name in (("sqlite", "postgresql") if args.engine == "both" else (args.engine,)):
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        started, code = time.perf_counter(), code_fingerprint()
        load = [os.getloadavg()[0]]
        results: dict = {"engine": engine_name}
        if args.part in ("fifo", "all"):
            results["fifo"] = run_fifo(engine_name, args, stamp)
        if args.part in ("ingest", "all"):
            results["ingest"] = run_ingest(engine_name, args, Path(__file__))
        load.append(os.getloadavg()[0])
        results["run"] = {"command": " ".join([Path(sys.executable).name, *sys.argv]), "args": vars(args),
                          "started_utc": stamp, "total_seconds": round(time.perf_counter() - started, 1),
                          "load_average_1m_before_after": load, "code": code,
                          "code_changed_during_run": code != code_fingerprint(),
                          "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                                      "python": platform.python_version(), "processor": platform.processor() or None}}
        out = OUT / f"inventory-{engine_name}-{stamp}.json"
        out.write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
        print(f"\nengine: {engine_name}; 1-minute load average before / after: {load[0]:.2f} / {load[1]:.2f} "
              f"({os.cpu_count()} CPUs, shared by client and server)")
        if "fifo" in results:
            print(fifo_table(results["fifo"]))
        if "ingest" in results:
            print(ingest_table(results["ingest"]))
        if results["run"]["code_changed_during_run"]:
            print("WARNING: the code under test changed during the run (see run.code in the JSON)")
        print(f"results: {out.relative_to(REPO_ROOT)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
