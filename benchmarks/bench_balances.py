"""Trial balance as of any date: month-end balances plus the days since, beside the sum of every daily row.

    .venv/bin/python benchmarks/bench_balances.py --engine postgresql --postings 10000000

One subsidiary (BENCH, USD, the default chart of accounts) with two years of activity (2024-01-01..2025-12-31)
equivalent to --postings postings, on a fresh database (PostgreSQL: CREATE DATABASE bench_bal_<random> on --pg-url,
dropped at the end unless --keep; SQLite: a file under benchmarks/out/; or --database URL). Then `trial_balance`
(a month-end row per key and the days between it and the date, balances.queries) as of --runs random dates, and
`trial_balance_from_days` (the daily-aggregate query it replaced: SUM over every daily row up to the date) as of
the first --daily-runs of the same dates (all of them by default; each takes 0.3-1 s at 10M postings, so
`--daily-runs 300` shortens a run of about seven minutes), in two blocks, after a warm-up call of each and with the
process's objects frozen out of the cyclic collector's reach as the API server does (gc.freeze); p50/p95/p99/max
of each and their ratio; the two answers compared on every date timed both ways.

What is written: only the tables a balance read touches, `balances` and `month_balances`, not the postings
themselves. For each day and key (account, commodity, weight currency, state) the number of postings is drawn from
a Poisson distribution whose mean is the key's share of the day's postings (--postings spread over the days, the
volume growing from 0.7x to 1.3x over the two years), and the row carries that count and the sum of their amounts;
each day's rows are balanced per weight currency and state (and in functional currency) through the clearing
account, so every trial balance is zero, as a journal's would be. Money in USD (80%), CAD, MXN, EUR and GBP;
units of --skus SKUs in four FBA states at cost (25% of postings); 5% of Amazon postings pending. The month-end
rows are computed from the daily ones by `balances.integrity.month_ends`, the function `rebuild` uses: the same
rows the writer would have kept. This is the daily-row count and key count that --postings postings make, at a
fraction of the time writing them would take (the write path is bench_journal's and bench_ingest's subject).
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import random
import secrets
import sys
import time
from collections import defaultdict
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from sqlalchemy import create_engine, func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from ledger_service.balances.integrity import month_ends  # noqa: E402
from ledger_service.balances.queries import trial_balance, trial_balance_from_days  # noqa: E402
from ledger_service.chart.loader import accounts_for, load_chart  # noqa: E402
from ledger_service.chart.model import Subsidiary  # noqa: E402
from ledger_service.chart.service import add_subsidiary, ensure_commodity  # noqa: E402
from ledger_service.journal.writer import BALANCE_KEYS, BALANCE_VALUES, MONTH_KEYS  # noqa: E402
from ledger_service.settings import DEFAULT_ACCOUNTS_DIR  # noqa: E402
from ledger_service.store.bulk import prepare_rows, write_rows  # noqa: E402
from ledger_service.store.engine import make_engine, write_transaction  # noqa: E402
from ledger_service.store.migrate import upgrade  # noqa: E402
from ledger_service.store.tables import accounts, balances, month_balances  # noqa: E402

OUT = REPO_ROOT / "benchmarks" / "out"
PG_ADMIN_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
SUB = "BENCH"
START, DAYS = date(2024, 1, 1), 731  # 2024-01-01..2025-12-31
CURRENCIES = {"USD": (0.80, 1.0), "CAD": (0.08, 0.73), "MXN": (0.04, 0.055), "EUR": (0.04, 1.08),
              "GBP": (0.04, 1.27)}  # share of money postings, rate to USD
UNIT_STATES = ("Assets:Inventory:FBA:Inbound", "Assets:Inventory:FBA:Available", "Assets:Inventory:FBA:Reserved",
               "Assets:Inventory:FBA:Unfulfillable")
UNITS_SHARE, PENDING_SHARE = 0.25, 0.05
CLEARING = "Assets:Amazon:Clearing"
WRITE_CHUNK = 50_000


def log(message: str) -> None:
    print(f"[{datetime.now().strftime('%H:%M:%S')}] {message}", flush=True)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def poisson(rng: random.Random, mean: float) -> int:
    if mean > 30:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


# --- the work ----------------------------------------------------------------------------------------------------

def keys(ids: dict[str, int], skus: int, rng: random.Random) -> list[tuple]:
    """(account_id, commodity, weight currency, state, share of the day's postings, mean amount, cost) per key."""
    money_accounts = sorted(name for name in ids if name not in UNIT_STATES)
    rng.shuffle(money_accounts)
    weights = [1 / (rank + 1) ** 0.8 for rank in range(len(money_accounts))]  # a few accounts take most postings
    out = []
    for currency, (share, _rate) in CURRENCIES.items():
        used = money_accounts if currency == "USD" else [a for a in money_accounts if rng.random() < 0.6]
        total = sum(weights[money_accounts.index(a)] for a in used)
        for name in used:
            key_share = (1 - UNITS_SHARE) * share * weights[money_accounts.index(name)] / total
            mean = rng.choice((800, 2500, 9000, 40000))
            amazon = name.split(":")[1] == "Amazon"
            for state, part in (("posted", 1 - PENDING_SHARE), ("pending", PENDING_SHARE)) if amazon else \
                    (("posted", 1.0),):
                out.append((ids[name], currency, currency, state, key_share * part, mean, None))
    for n in range(skus):
        sku, cost = f"SKU-{n:05d}", rng.randint(150, 4000)  # cost per unit in cents
        sku_share = UNITS_SHARE / skus
        for name, part in zip(UNIT_STATES, (0.3, 0.45, 0.15, 0.10)):
            out.append((ids[name], sku, "USD", "posted", sku_share * part, None, cost))
    return out


def daily_rows(postings: int, key_list: list[tuple], clearing_id: int, seed: int) -> tuple[dict, int]:
    """{(subsidiary, account_id, commodity, weight_currency, state, day): [quantity, amount, functional, count]}
    and the number of postings they stand for."""
    rng = random.Random(seed)
    rows: dict[tuple, list[int]] = {}
    per_day = postings / DAYS
    made = 0
    for d in range(DAYS):
        day = START + timedelta(days=d)
        volume = per_day * (0.7 + 0.6 * d / (DAYS - 1))
        net: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])  # (weight currency, state) -> amount, functional
        for account_id, commodity, weight, state, share, mean, cost in key_list:
            n = poisson(rng, volume * share)
            if not n:
                continue
            if cost is None:  # money
                amount = round(n * mean * rng.uniform(-1.0, 1.0))
                quantity = amount
            else:  # units, at cost
                quantity = round(n * rng.uniform(-3.0, 3.0))
                amount = quantity * cost
            functional = round(amount * CURRENCIES[weight][1])
            rows[(SUB, account_id, commodity, weight, state, day)] = [quantity, amount, functional, n]
            net[(weight, state)][0] += amount
            net[(weight, state)][1] += functional
            made += n
        for (weight, state), (amount, functional) in net.items():  # the clearing account balances the day
            row = rows.setdefault((SUB, clearing_id, weight, weight, state, day), [0, 0, 0, 0])
            row[0] -= amount
            row[1] -= amount
            row[2] -= functional
            row[3] += 1
            made += 1
    return rows, made


def generate(engine, args) -> dict:
    chart = load_chart(DEFAULT_ACCOUNTS_DIR)
    with write_transaction(engine) as conn:
        add_subsidiary(conn, Subsidiary(SUB, "Benchmark", "USD"), accounts_for(chart, SUB))
        ids = {r.name: r.id for r in conn.execute(select(accounts.c.id, accounts.c.name)
                                                  .where(accounts.c.subsidiary == SUB))}
        for currency in CURRENCIES:
            ensure_commodity(conn, currency, "currency")
        for n in range(args.skus):
            ensure_commodity(conn, f"SKU-{n:05d}", "units")
    t0 = time.perf_counter()
    key_list = keys(ids, args.skus, random.Random(args.seed))
    daily, made = daily_rows(args.postings, key_list, ids[CLEARING], args.seed + 1)
    months = month_ends(daily)
    t1 = time.perf_counter()
    with write_transaction(engine) as conn:
        for table, columns, data in ((balances, (*BALANCE_KEYS, *BALANCE_VALUES), daily),
                                     (month_balances, (*MONTH_KEYS, *BALANCE_VALUES), months)):
            items = [(*k, *v) for k, v in data.items()]
            for start in range(0, len(items), WRITE_CHUNK):
                write_rows(conn, prepare_rows(conn, table, columns, items[start:start + WRITE_CHUNK]))
    t2 = time.perf_counter()
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE balances")
            conn.exec_driver_sql("VACUUM ANALYZE month_balances")
            conn.exec_driver_sql("CHECKPOINT")  # the bulk load's dirty pages written now, not during the timing
    else:
        with engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
    t3 = time.perf_counter()
    return {"postings": made, "daily_rows": len(daily), "month_rows": len(months),
            "keys": len({k[1:5] for k in daily}), "accounts": len({k[1] for k in daily}),
            "compute_seconds": round(t1 - t0, 1), "write_seconds": round(t2 - t1, 1),
            "analyze_seconds": round(t3 - t2, 1)}


# --- the reads ---------------------------------------------------------------------------------------------------

def timed(runs: int, daily_runs: int, seed: int, engine) -> dict:
    """trial_balance as of every date, then trial_balance_from_days as of the first `daily_runs` of them, in two
    blocks (the daily sums' parallel scans would otherwise disturb the timing of the month-end reads next to them);
    the answers compared date by date."""
    rng = random.Random(seed)
    dates = [START + timedelta(days=rng.randrange(DAYS)) for _ in range(runs)]
    daily_runs = min(runs, daily_runs)
    by_months, by_days, answers, differ = [], [], [], []
    with engine.connect() as conn:
        for method in (trial_balance, trial_balance_from_days):  # warm up
            method(conn, SUB, dates[0])
            conn.rollback()
        gc.collect()
        gc.freeze()  # as the API server does after startup (api/app.py): no full collection walks the imports
        load = {}
        for method, samples, count in ((trial_balance, by_months, runs),
                                       (trial_balance_from_days, by_days, daily_runs)):
            load[method.__name__] = [os.getloadavg()[0]]
            for i, as_of in enumerate(dates[:count]):
                t0 = time.perf_counter()
                answer = method(conn, SUB, as_of)
                samples.append(time.perf_counter() - t0)
                conn.rollback()
                if i < daily_runs:
                    # kept as JSON text: a thousand answers as dicts are a million objects that every full
                    # collection of the cyclic collector walks, in the middle of the timed calls
                    serialised = json.dumps(answer, sort_keys=True)
                    if method is trial_balance:
                        answers.append(serialised)
                    elif serialised != answers[i]:
                        differ.append(as_of.isoformat())
            load[method.__name__].append(os.getloadavg()[0])
        gc.unfreeze()
        zero = trial_balance(conn, SUB, dates[-1])
    return {"dates": runs, "daily_dates": daily_runs, "month_end": stats(by_months), "daily": stats(by_days),
            "samples_ms": {"month_end": [round(x * 1000, 2) for x in by_months],
                           "daily": [round(x * 1000, 2) for x in by_days]},
            "load": load, "differ": differ, "zero": all(t["balance"].strip("0.-") == "" for t in zero["totals"])
            and zero["functional_total"].strip("0.-") == ""}


def stats(samples: list[float]) -> dict:
    ms = [s * 1000 for s in samples] or [math.nan]
    return {q: round(percentile(ms, p), 2) for q, p in (("p50", 50), ("p95", 95), ("p99", 99), ("max", 100))}


# --- the run -----------------------------------------------------------------------------------------------------

def database(args) -> tuple[str, str | None]:
    """The URL to use and, when this run created a PostgreSQL database, its name (to drop afterwards)."""
    if args.database:
        return args.database, None
    if args.engine == "sqlite":
        OUT.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{OUT / f'balances-{secrets.token_hex(4)}.db'}", None
    name = f"bench_bal_{secrets.token_hex(4)}"
    admin = create_engine(args.pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(args.pg_url).set(database=name).render_as_string(hide_password=False), name


def report(r: dict) -> str:
    g, t = r["generated"], r["trial_balance"]
    m, d = t["month_end"], t["daily"]
    lines = [
        f"engine: {r['engine']} ({r['server']}); subsidiary {SUB}, {START}..{START + timedelta(days=DAYS - 1)}",
        f"generated: the aggregates of {g['postings']:,} postings (not the postings themselves): "
        f"{g['daily_rows']:,} daily rows, {g['month_rows']:,} month-end rows, {g['keys']:,} keys over "
        f"{g['accounts']} accounts; computed {g['compute_seconds']} s, written {g['write_seconds']} s, analyzed "
        f"{g['analyze_seconds']} s",
        f"trial balance as of random dates, ms{'dates':>12}{'p50':>10}{'p95':>10}{'p99':>10}{'max':>10}",
        f"  {'month-end + days (trial_balance)':<36}{t['dates']:>10}{m['p50']:>10.2f}{m['p95']:>10.2f}"
        f"{m['p99']:>10.2f}{m['max']:>10.2f}",
        f"  {'daily sums (trial_balance_from_days)':<36}{t['daily_dates']:>10}{d['p50']:>10.2f}{d['p95']:>10.2f}"
        f"{d['p99']:>10.2f}{d['max']:>10.2f}",
        f"  (1-minute load average before / after: month-end {_load(t, 'trial_balance')}, daily "
        f"{_load(t, 'trial_balance_from_days')}; {os.cpu_count()} CPUs, shared by client and server)",
        f"  {'ratio daily / month-end':<46}" + "".join(f"{d[q] / m[q]:>9.1f}x" for q in ("p50", "p95", "p99", "max")),
        f"answers equal on the {t['daily_dates']} dates timed both ways: "
        f"{'yes' if not t['differ'] else 'NO: ' + ', '.join(t['differ'][:5])}; "
        f"totals zero: {'yes' if t['zero'] else 'NO'}",
    ]
    return "\n".join(lines)


def _load(t: dict, name: str) -> str:
    values = t["load"].get(name)
    return " / ".join(f"{v:.2f}" for v in values) if values else "-"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postings", type=int, default=10_000_000, help="postings over the two years")
    parser.add_argument("--engine", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--database", help="use this database URL (migrated here; must not hold subsidiary BENCH)")
    parser.add_argument("--pg-url", default=PG_ADMIN_URL, help="PostgreSQL server to create the database on")
    parser.add_argument("--runs", type=int, default=1000, help="random dates timed with trial_balance")
    parser.add_argument("--daily-runs", type=int, default=1000,
                        help="how many of those dates are also timed with the daily sums (each takes ~0.3-1 s at 10M)")
    parser.add_argument("--skus", type=int, default=100, help="SKUs held in four FBA states")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--keep", action="store_true", help="keep the database this run created")
    args = parser.parse_args(argv)
    if args.database:
        args.engine = "sqlite" if args.database.startswith("sqlite") else "postgresql"

    started = time.perf_counter()
    url, created = database(args)
    try:
        log(f"{args.engine}: migrating {make_url(url).render_as_string(hide_password=True)}")
        upgrade(url)
        engine = make_engine(url)
        with engine.connect() as conn:
            server = ("SQLite " + conn.exec_driver_sql("select sqlite_version()").scalar()
                      if engine.dialect.name == "sqlite" else
                      "PostgreSQL " + conn.exec_driver_sql("show server_version").scalar())
        log(f"generating the aggregates of {args.postings:,} postings over {DAYS} days")
        generated = generate(engine, args)
        log(f"{generated['daily_rows']:,} daily rows, {generated['month_rows']:,} month-end rows written; "
            f"timing {args.runs} trial balances, {min(args.runs, args.daily_runs)} of them also from the daily rows")
        results = {"engine": args.engine, "server": server, "generated": generated,
                   "trial_balance": timed(args.runs, args.daily_runs, args.seed + 2, engine)}
        with engine.connect() as conn:
            results["sizes"] = {t.name: conn.execute(select(func.count()).select_from(t)).scalar()
                                for t in (balances, month_balances)}
        engine.dispose()
    finally:
        if created and not args.keep:
            admin = create_engine(args.pg_url, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{created}" WITH (FORCE)'))
            admin.dispose()
        elif args.engine == "sqlite" and not args.database and not args.keep:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{make_url(url).database}{suffix}").unlink(missing_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    results["run"] = {"command": " ".join([Path(sys.executable).name, *sys.argv]), "args": vars(args),
                      "total_seconds": round(time.perf_counter() - started, 1), "finished_utc": stamp,
                      "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                                  "python": platform.python_version()}}
    OUT.mkdir(parents=True, exist_ok=True)
    out = OUT / f"balances-{args.engine}-{stamp}.json"
    out.write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
    print()
    print(report(results))
    print(f"results: {out.relative_to(REPO_ROOT)} ({results['run']['total_seconds']} s in all)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
