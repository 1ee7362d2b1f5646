"""The inventory ledger ingest part of bench_inventory.py: rows/s and peak RSS of ingest_ledger per file size.

The problem: the issue asks for memory flat in file size at a million rows, and peak RSS is per process, so each
size runs `inventory.service.ingest_ledger` (as `ledger-service inventory ingest` does: the file's path, streamed,
one write transaction) in a fresh Python process on a fresh database. The database first gets what the report
needs to post whole: location FBA-US (lane FBA), the catalog mapping each MSKU and FNSKU to its SKU, and the units
each SKU receives in the file as lots in `Assets:Inventory:FBA-US:Inbound:Shipped` (post_batch). Afterwards the
units per state account are compared with the generator's counts and every row must be an event.

`--trace` (bench_inventory.py --memory-sites) runs the child under tracemalloc and records the traced heap by
source file at the first and the latest call of the writer (prepare_batch, or post_batch for a whole-file ingest):
what ingest holds, and whether it grows from chunk to chunk.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import time
import tracemalloc
from datetime import date, datetime, time as clock
from decimal import Decimal
from pathlib import Path

from sqlalchemy import text

import generate_inventory as gen
from bench_ingest import server_cpu_seconds
from bench_journal import OUT, fresh_database, log, prepare
from ledger_service.catalog.service import import_catalog
from ledger_service.eventlog.model import EventDraft, Source
from ledger_service.inventory import facts as f
from ledger_service.journal.model import EntryDraft, money_posting, units_posting
from ledger_service.journal.writer import post_batch
from ledger_service.locations.service import add_location, set_lane
from ledger_service.store.engine import make_engine, write_transaction

SUB, CURRENCY, LOC = "US", "USD", gen.LOCATION
LOT_UNITS = 500  # inbound units per lot
REPO = Path(__file__).resolve().parent.parent


def ledger_file(rows: int, args) -> tuple[Path, dict]:
    """The report of `rows` rows (written once, kept in benchmarks/out/) and what the generator says of it."""
    path = OUT / f"inventory-ledger-{rows}-k{args.ledger_skus}-s{args.seed}.tsv"
    meta = path.with_suffix(".json")
    if not (path.exists() and meta.exists()):
        log(f"writing {path.name}")
        meta.write_text(json.dumps(gen.write_ledger(path, rows, args.ledger_skus, args.seed)._asdict()))
    return path, json.loads(meta.read_text())


def setup(engine, ledger: dict, skus: int, seed: int) -> None:
    with write_transaction(engine) as conn:
        add_location(conn, SUB, LOC, "fba", marketplace=gen.MARKETPLACE)
        set_lane(conn, SUB, "FBA", [LOC])
        import_catalog(conn, SUB, gen.catalog_csv(skus).encode(), "catalog.csv")
    rng, batch = random.Random(seed), []
    inbound = f.state_account(LOC, f.SHIPPED)
    for sku, units in sorted(ledger["inbound"].items()):
        postings = []
        for k, start in enumerate(range(0, units, LOT_UNITS)):
            n = min(LOT_UNITS, units - start)
            postings.append(units_posting(inbound, sku, Decimal(n), Decimal(rng.randint(100, 4000)).scaleb(-2),
                                          CURRENCY, lot=f"IN-{sku}-{k:03d}"))
        postings.append(money_posting(f.PAYABLE, -sum((p.amount for p in postings), Decimal(0))))
        day = date(2024, 12, 15)
        batch.append((EventDraft(SUB, "bench_inbound", datetime.combine(day, clock()), f"bench-inbound:{sku}", sku,
                                 Source(system="bench-inventory")),
                      [EntryDraft(SUB, day, CURRENCY, f"inbound {sku}", tuple(postings))]))
    for i in range(0, len(batch), 500):
        with write_transaction(engine) as conn:
            post_batch(conn, batch[i:i + 500])


def check(engine, ledger: dict) -> dict:
    """Units per state account of FBA-US against the generator's counts; every row an event."""
    with engine.connect() as conn:
        held = {r[0].removeprefix(f"Assets:Inventory:{LOC}:"): int(r[1]) for r in conn.execute(text(
            "SELECT a.name, SUM(b.quantity) FROM balances b JOIN accounts a ON a.id = b.account_id "
            "JOIN commodities c ON c.code = b.commodity WHERE b.subsidiary = :sub AND c.kind = 'units' "
            "AND a.name LIKE :prefix GROUP BY a.name"), {"sub": SUB, "prefix": f"Assets:Inventory:{LOC}:%"})}
        events = conn.execute(text("SELECT COUNT(*) FROM events WHERE subsidiary = :sub AND kind = "
                                   "'inventory_movement'"), {"sub": SUB}).scalar()
    expected = {k: v for k, v in ledger["expected"].items()}
    got = {k: held.get(k, 0) for k in expected}
    return {"units": got, "expected": expected, "events": events,
            "ok": got == expected and events == ledger["rows"]}


def run_ingest(engine_name: str, args, script: Path) -> dict:
    sizes = [int(x) for x in args.rows.split(",") if x.strip()]
    out: dict = {"sizes": []}
    for rows in sizes:
        path, ledger = ledger_file(rows, args)
        with fresh_database(engine_name, f"inv-ledger-{rows}", args) as url:
            engine = prepare(url)
            setup(engine, ledger, args.ledger_skus, args.seed)
            engine.dispose()
            log(f"ingest: {rows:,} rows ({path.stat().st_size / 2**20:.1f} MB), in a fresh process")
            result = child(script, url, path, limit_mb=args.child_memory_limit_mb)
            if "failed" not in result:
                engine = make_engine(url)
                result["check"] = check(engine, ledger)
                engine.dispose()
        result["file_mb"] = round(path.stat().st_size / 2**20, 1)
        result["kinds"] = ledger["kinds"]
        log(f"    {result}")
        out["sizes"].append(result)
        if args.memory_sites:
            small, ledger_small = ledger_file(max(1000, rows // 10), args)
            with fresh_database(engine_name, f"inv-trace-{rows}", args) as url:
                engine = prepare(url)
                setup(engine, ledger_small, args.ledger_skus, args.seed)
                engine.dispose()
                log(f"ingest under tracemalloc: {ledger_small['rows']:,} rows")
                out.setdefault("memory_sites", []).append(child(script, url, small, trace=True))
    runs = [x for x in out["sizes"] if "failed" not in x]
    if len(runs) > 1:
        out["rss_largest_over_smallest"] = round(runs[-1]["peak_rss_mb"] / runs[0]["peak_rss_mb"], 2)
        out["rows_largest_over_smallest"] = round(runs[-1]["rows"] / runs[0]["rows"], 2)
    return out


def child(script: Path, url: str, path: Path, trace: bool = False, limit_mb: int = 0) -> dict:
    """The ingest in its own process; a failure (MemoryError past --child-memory-limit-mb, ...) is a result."""
    command = [sys.executable, str(script), "_ingest", "--url", url, "--file", str(path),
               "--limit-mb", str(limit_mb)] + (["--trace"] * trace)
    t0 = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        return {"rows": None, "file": path.name, "returncode": done.returncode,
                "failed": done.stderr.strip().splitlines()[-1:] or [f"exit status {done.returncode}"],
                "seconds_until_failure": round(time.perf_counter() - t0, 1), "memory_limit_mb": limit_mb}
    return json.loads(done.stdout.strip().splitlines()[-1])


def watch(module, name: str) -> dict:
    """Replace module.name (when it has one) by a wrapper that records the traced heap by source file at its first
    and at its latest call: with a streamed ingest, the two should hold about the same."""
    real, seen = getattr(module, name, None), {}
    if real is None:
        return seen

    def watched(*args, **kwargs):
        current, peak = tracemalloc.get_traced_memory()
        top = tracemalloc.take_snapshot().statistics("filename")[:8]
        seen["calls"] = seen.get("calls", 0) + 1
        seen["first" if "first" not in seen else "last"] = {
            "call": seen["calls"], "mb": round(current / 2**20, 1), "peak_so_far_mb": round(peak / 2**20, 1),
            "top": [{"file": str(s.traceback[0].filename).removeprefix(str(REPO) + "/"),
                     "mb": round(s.size / 2**20, 2), "blocks": s.count} for s in top]}
        return real(*args, **kwargs)

    setattr(module, name, watched)
    return seen


def ingest_child(argv: list[str]) -> int:
    import resource

    from ledger_service.inventory import service

    p = argparse.ArgumentParser()
    p.add_argument("--url")
    p.add_argument("--file", type=Path)
    p.add_argument("--trace", action="store_true")
    p.add_argument("--limit-mb", type=int, default=0)
    a = p.parse_args(argv)
    if a.limit_mb:  # address space: a MemoryError here rather than the machine's OOM killer on a shared machine
        resource.setrlimit(resource.RLIMIT_AS, (a.limit_mb * 2**20, a.limit_mb * 2**20))
    engine = make_engine(a.url)
    rss_ready = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    watched: dict[str, dict] = {}
    if a.trace:
        tracemalloc.start(1)
        home = sys.modules[service.ingest_ledger.__module__]  # the module ingest_ledger writes from
        watched = {name: watch(home, name) for name in ("prepare_batch", "post_batch")}
    server0, cpu0, t0 = server_cpu_seconds(), time.process_time(), time.perf_counter()
    with write_transaction(engine) as conn:  # the path, streamed, as `ledger-service inventory ingest` passes it
        report = service.ingest_ledger(conn, SUB, a.file, a.file.name, LOC)
    seconds = time.perf_counter() - t0
    cpu, server = time.process_time() - cpu0, server_cpu_seconds() - server0
    rows = report["rows"]
    kinds: dict = {}
    for x in report["exceptions"]:
        kinds[x["kind"]] = kinds.get(x["kind"], 0) + 1
    result = {"rows": rows, "posted": report["posted"], "entries": report["entries"], "exceptions": kinds,
              "pending_legs": len(report["pending_legs"]), "seconds": round(seconds, 2),
              "rows_per_s": round(rows / seconds, 1), "peak_rss_mb": round(
                  resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1), "rss_before_ingest_mb": round(
                  rss_ready, 1), "client_cpu_us_per_row": round(cpu / rows * 1e6, 1)}
    if a.url.startswith("postgresql") and server > 0:
        result["server_cpu_us_per_row"] = round(server / rows * 1e6, 1)
    if a.trace:
        result |= {"traced": {name: seen for name, seen in watched.items() if seen},
                   "traced_peak_mb": round(tracemalloc.get_traced_memory()[1] / 2**20, 1)}
    print(json.dumps(result))
    return 0


def ingest_table(r: dict) -> str:
    lines = ["inventory ledger ingest (ingest_ledger, a fresh process per size):",
             f"  {'rows':>10}{'file MB':>9}{'rows/s':>10}{'peak RSS MB':>13}{'CPU µs/row client/db':>22}  check"]
    for x in r["sizes"]:
        if "failed" in x:
            lines.append(f"  {x['file']}: FAILED after {x['seconds_until_failure']} s (address-space limit "
                         f"{x['memory_limit_mb']} MB): {' '.join(x['failed'])}")
            continue
        lines.append(f"  {x['rows']:>10,}{x['file_mb']:>9.1f}{x['rows_per_s']:>10,.0f}{x['peak_rss_mb']:>13,.1f}"
                     f"{str(x['client_cpu_us_per_row']) + ' / ' + str(x.get('server_cpu_us_per_row', '-')):>22}  "
                     f"{'ok' if x['check']['ok'] else 'FAILED ' + json.dumps(x['check'])}")
    if "rss_largest_over_smallest" in r:
        lines.append(f"  peak RSS largest / smallest: {r['rss_largest_over_smallest']:.2f} for "
                     f"{r['rows_largest_over_smallest']:.0f}x the rows")
    for t in r.get("memory_sites", []):
        lines.append(f"  tracemalloc at {t['rows']:,} rows (traced peak {t['traced_peak_mb']} MB): the heap by file")
        for name, seen in t["traced"].items():
            for when in ("first", "last"):
                if when in seen:
                    s = seen[when]
                    lines.append(f"    at {name} call {s['call']} of {seen['calls']}: {s['mb']} MB")
                    lines += [f"      {x['mb']:>8.1f} MB {x['blocks']:>9,} blocks  {x['file']}" for x in s["top"][:6]]
    return "\n".join(lines)
