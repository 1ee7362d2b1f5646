"""Mapping coverage: how much of Amazon's money lands in suspense, per layout and marketplace.

The problem: the settlement total always reconciles (what is not mapped sits in Assets:Suspense:Amazon), so a
green reconciliation says nothing about how much of the money the mapping actually understood. This script
measures it on everything we have: the public sample settlement file and SP-API Finances v0 pages
(/work/shared/samples/amazon/), a freshly generated V2 demo quarter (US, UK) and the legacy-layout quarter before
it (US, CA), each ingested into its subsidiary in a fresh temporary SQLite database, through the CLI for setup
(`init`, `subsidiaries add CA`) and ingest_file for the files.

Then, from the database: the postings of live, posted entries of events of kind "amazon_amount", without the
Amazon clearing lines (the other side of every amount). One amount is the non-clearing postings of one entry
that share a source line and an Amazon type: a VAT carve-out splits one amount over two postings, and it must
still count once. Per layout (events.source_system) and marketplace (the posting's dimension, "(none)" when
blank) and currency: amounts, amounts in suspense and their share, absolute amount, absolute amount in suspense
and its share.

The sample Finances pages are ingested as CLOSED groups (group_final=True): pages of an open group post pending
entries of kind amazon_amount_provisional, which this count leaves out, and only their types matter here.

    .venv/bin/python benchmarks/coverage.py            # a table
    .venv/bin/python benchmarks/coverage.py --json     # the same as JSON
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sqlalchemy import select  # noqa: E402

from ledger_service.demo.amazon_generator import generate  # noqa: E402
from ledger_service.demo.legacy_generator import generate_legacy  # noqa: E402
from ledger_service.journal.service import live_entries  # noqa: E402
from ledger_service.money import currency_exponent, from_minor  # noqa: E402
from ledger_service.store.tables import accounts, entries, events, postings  # noqa: E402

# shared/ beside the checkout (as CI lays it out), else /work/shared
SAMPLES = next((p for p in (REPO.parent / "shared" / "samples" / "amazon", Path("/work/shared/samples/amazon"))
                if p.is_dir()), REPO.parent / "shared" / "samples" / "amazon")
CLEARING = "Assets:Amazon:Clearing"
SUSPENSE = "Assets:Suspense:Amazon"
LAYOUTS = {"amazon-settlement-v2": "settlement-v2", "amazon-settlement-legacy": "settlement-legacy",
           "sp-api-finances-v0": "finances-v0", "sp-api-finances-2024-06-19": "finances-2024"}


def cli(*args: str, env: dict) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("ledger-service")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "ledger_service.cli.main"]
    return subprocess.run(command + list(args), env=env, cwd=REPO, capture_output=True, text=True)


def setup(env: dict) -> str:
    """init (US, UK from accounts/) and a CA subsidiary; returns the command that created CA."""
    done = cli("init", env=env)
    if done.returncode:
        raise SystemExit(f"ledger-service init failed: {done.stderr or done.stdout}")
    args = ("subsidiaries", "add", "CA", "--currency", "CAD", "--tax-profile", "ca")
    done = cli(*args, env=env)
    if done.returncode:
        raise SystemExit(f"could not add subsidiary CA: {done.stderr or done.stdout}")
    return " ".join(args)


def work(folder: Path, orders: int, seed: int) -> list[tuple[Path, str, dict]]:
    """(file, subsidiary, ingest kwargs) in ingest order: samples, then each market's settlements by date."""
    files = [(p, "US", {}) for p in sorted(SAMPLES.glob("*.txt"))]
    files += [(p, "US", {"group_final": True}) for p in sorted(SAMPLES.glob("*listFinancialEvents*.json"))]
    generated = generate(folder, orders=orders, seed=seed, finances=False) + \
        generate_legacy(folder, orders=orders, seed=seed)
    for path in generated:
        code = path.parent.parent.name if path.parent.name == "legacy" else path.parent.name
        files.append((path, code, {}))
    return files


def ingest(url: str, files: list[tuple[Path, str, dict]]) -> tuple[list[dict], list[dict]]:
    from ledger_service.ingest.service import ingest_file
    from ledger_service.settings import Settings
    from ledger_service.store.engine import make_engine

    settings, engine = Settings(url, Settings.from_env().accounts_dir), make_engine(url)
    done, failed = [], []
    for path, code, kwargs in files:
        try:
            report = ingest_file(engine, path, code, settings, **kwargs)
            done.append({"document": path.name, "subsidiary": code, "format": report.format, "rows": report.rows})
        except Exception as exc:  # a sample the parser or the rules refuse is reported, not fatal
            failed.append({"document": path.name, "subsidiary": code, "error": getattr(exc, "message", None) or str(exc)})
    return done, failed


def coverage(url: str) -> list[dict]:
    from ledger_service.store.engine import make_engine

    query = (select(events.c.source_system, postings.c.entry_id, postings.c.source_line, postings.c.dimensions,
                    postings.c.marketplace, postings.c.commodity, postings.c.amount, accounts.c.name)
             .select_from(postings.join(entries, postings.c.entry_id == entries.c.id)
                          .join(events, entries.c.event_id == events.c.id)
                          .join(accounts, postings.c.account_id == accounts.c.id))
             .where(events.c.kind == "amazon_amount", entries.c.state == "posted", live_entries(),
                    accounts.c.name != CLEARING))
    amounts: dict[tuple, list] = {}  # (layout, marketplace, currency, entry, line, amazon type) -> [minor, suspense]
    with make_engine(url).connect() as conn:
        for system, entry_id, line, extra, marketplace, currency, minor, account in conn.execute(query):
            amazon_type = json.loads(extra).get("amazon_type") if extra else None
            key = (LAYOUTS.get(system, system), marketplace or "(none)", currency, entry_id, line, amazon_type)
            slot = amounts.setdefault(key, [0, False])
            slot[0] += minor
            slot[1] = slot[1] or account == SUSPENSE
    groups: dict[tuple, list] = defaultdict(lambda: [0, 0, Decimal(0), Decimal(0)])
    for (layout, marketplace, currency, *_), (minor, in_suspense) in amounts.items():
        g = groups[(layout, marketplace, currency)]
        value = abs(from_minor(minor, currency_exponent(currency)))
        g[0], g[2] = g[0] + 1, g[2] + value
        if in_suspense:
            g[1], g[3] = g[1] + 1, g[3] + value
    return [{"layout": layout, "marketplace": marketplace, "currency": currency, "rows": n, "suspense_rows": ns,
             "suspense_row_share": _share(Decimal(ns), Decimal(n)), "amount": amount, "suspense_amount": suspense,
             "suspense_amount_share": _share(suspense, amount)}
            for (layout, marketplace, currency), (n, ns, amount, suspense) in sorted(groups.items())]


def _share(part: Decimal, whole: Decimal) -> str:
    return f"{part / whole * 100:.1f}%" if whole else "-"


def table(rows: list[dict]) -> str:
    columns = ("layout", "marketplace", "currency", "rows", "suspense_rows", "suspense_row_share", "amount",
               "suspense_amount", "suspense_amount_share")
    heads = ("layout", "marketplace", "cur", "rows", "in susp.", "share", "abs amount", "abs in susp.", "share")
    cells = [[str(r[c]) for c in columns] for r in rows]
    widths = [max(len(x) for x in col) for col in zip(heads, *cells)]
    lines = ["  ".join(h.ljust(w) if i < 3 else h.rjust(w) for i, (h, w) in enumerate(zip(line, widths)))
             for line in [heads, *cells]]
    return "\n".join([lines[0], "-" * len(lines[0]), *lines[1:]])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--orders", type=int, default=300, help="orders per generated quarter (V2 and legacy)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the temporary database and files")
    args = parser.parse_args(argv)
    started = time.monotonic()
    folder = Path(tempfile.mkdtemp(prefix="ledger-coverage-"))
    url = f"sqlite:///{folder / 'coverage.db'}"
    os.environ["LEDGER_DATABASE_URL"] = url  # for anything in-process that reads Settings.from_env
    try:
        ca_command = setup(dict(os.environ))
        done, failed = ingest(url, work(folder / "files", args.orders, args.seed))
        rows = coverage(url)
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    seconds = round(time.monotonic() - started, 1)
    if args.json:
        print(json.dumps({"ca_subsidiary": ca_command, "ingested": done, "failed": failed, "coverage": rows,
                          "seconds": seconds, "database": url if args.keep else None}, default=str, indent=2))
        return 0
    formats = defaultdict(int)
    for d in done:
        formats[d["format"]] += 1
    print(f"CA subsidiary: ledger-service {ca_command}")
    print("ingested: " + ", ".join(f"{n} {f}" for f, n in sorted(formats.items())))
    for f in failed:
        print(f"skipped {f['document']} ({f['subsidiary']}): {f['error']}")
    print()
    print(table(rows))
    print(f"\n{seconds}s" + (f"; database kept at {url}" if args.keep else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
