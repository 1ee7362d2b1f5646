"""Where ingest's time goes: CPU per settlement row for each stage of the pipeline, best of three.

    .venv/bin/python benchmarks/ingest_stages.py --rows 60000 [--engine postgresql|sqlite]

Stages, in the order ingest runs them on one thread (ingest.service):
  survey   first pass over the file: sha256, encoding, decimal convention (sources/amazon/stream.py);
  records  second pass: rows -> SettlementSummary / AmazonAmount (settlement_v2.records);
  plan     rows grouped into Amazon transactions, posting rules, summary digest (ingest/plan.py);
  balance  every entry checked and its functional amounts filled (journal.model.balance);
  prepare  the rest of journal.writer.prepare_batch on a fresh database: known keys, ids, event/entry/posting rows,
           chain hashes, COPY text (it balances again; `balance` is subtracted out).
The writes themselves (COPY, daily balances) run on a second thread on PostgreSQL and are not in these figures.
Every stage runs under ingest's own collector policy (ingest.collector.fewer_collections).
CPU time (time.process_time), so that the figures do not include waiting on the database.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
for path in (REPO_ROOT, REPO_ROOT / "benchmarks"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from bench_journal import OUT, PG_ADMIN_URL, fresh_database, prepare  # noqa: E402
from settlement_file import write_v2  # noqa: E402

from ledger_service.ingest.collector import fewer_collections  # noqa: E402
from ledger_service.ingest.plan import Planner  # noqa: E402
from ledger_service.settings import DEFAULT_ACCOUNTS_DIR  # noqa: E402
from ledger_service.journal.model import balance  # noqa: E402
from ledger_service.journal.writer import prepare_batch  # noqa: E402
from ledger_service.mapping.loader import load_mapping  # noqa: E402
from ledger_service.sources.amazon.stream import open_settlement_file  # noqa: E402


def best_of(runs: int, fn):
    result, times = None, []
    for _ in range(runs):
        started = time.process_time()
        result = fn()
        times.append(time.process_time() - started)
    return result, min(times)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, default=60_000)
    p.add_argument("--engine", choices=["sqlite", "postgresql"], default="postgresql")
    p.add_argument("--pg-url", default=PG_ADMIN_URL)
    p.add_argument("--keep-db", action="store_true")
    args = p.parse_args()
    with fewer_collections():
        return stages(args)


def stages(args) -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    file = OUT / f"settlement-{args.rows}.txt"
    if not file.exists():
        write_v2(file, args.rows, seed=1)
    mapping = load_mapping(DEFAULT_ACCOUNTS_DIR, "US")
    survey, t_survey = best_of(3, lambda: open_settlement_file(file))
    records, t_records = best_of(3, lambda: list(survey.records()))
    rows = survey.rows
    posted, t_plan = best_of(3, lambda: list(
        Planner("US", "USD", mapping, set(), file.name).plan(records)))
    _, t_balance = best_of(3, lambda: [balance(e, "USD") for x in posted for e in x.entries])
    items = [(x.event, list(x.entries)) for x in posted]
    with fresh_database(args.engine, "stages", args) as url:
        engine = prepare(url)
        times = []
        for _ in range(3):  # a transaction that is rolled back each time: nothing is written
            with engine.connect() as conn, conn.begin() as tx:
                started = time.process_time()
                for i in range(0, len(items), 2000):
                    prepare_batch(conn, items[i : i + 2000])
                times.append(time.process_time() - started)
                tx.rollback()
        engine.dispose()
    t_prepare = min(times) - t_balance
    us = lambda t: t / rows * 1e6  # noqa: E731
    stages = {"survey": t_survey, "records": t_records, "plan": t_plan, "balance": t_balance, "prepare": t_prepare}
    print(f"{rows:,} rows, {len(posted):,} events, {args.engine}; CPU µs per row (best of 3):")
    for name, t in stages.items():
        print(f"  {name:<8} {us(t):6.1f}")
    print(f"  {'total':<8} {us(sum(stages.values())):6.1f}  (one thread: at most {rows / sum(stages.values()):,.0f} rows/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
