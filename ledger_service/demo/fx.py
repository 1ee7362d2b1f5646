"""The demo's foreign-currency story: the UK subsidiary (GBP) also sells on amazon.de, paid in EUR.

`write_eur_demo` writes a quarter of amazon.de settlement flat files (EUR, 14-day settlements, VAT rows as Amazon's
VAT Calculation Service reports them: the UK subsidiary's tax profile for amazon.de is eu-vcs) with the same
generator as the US and UK files (demo.amazon_generator), under out_dir/UK/EUR/, and a rates file,
out_dir/rates/eur-rates.csv (`date,from,to,rate`): EUR->GBP for every day from the legacy quarter's start to six
weeks after the V2 quarter's end (a random walk between 0.8520 and 0.8780), and EUR->USD (1.0700 to 1.1100) so that
the UK's USD supplier invoice (demo.manual_journals) can be revalued at a period end through the cross rate.
`ingest_eur_demo` writes them, imports the rates, then ingests the files into UK: every amount at its day's rate,
every positive settlement converted into the GBP bank account at its deposit date's rate with its realized FX.

Deterministic: the same seed writes the same bytes; the files of demo.amazon_generator are unchanged by this.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine

from ledger_service.demo.amazon_generator import SETTLEMENT_DAYS, Market, _market_files

SUBSIDIARY = "UK"
# amazon.de: prices a little above the UK's, VAT rows at the German 19% (collected and withheld, as the demo's US
# marketplace-facilitator rows are), a EUR subscription; settlement ids offset from the US (0) and UK (500) ones.
AMAZON_DE = Market("EUR", "EUR", "amazon.de", "30", Decimal("0.1667"), Decimal("1.10"), (Decimal("0.19"),),
                   Decimal("39.00"), 250)
RATE_WALKS = {"GBP": (8650, 8520, 8780), "USD": (10850, 10700, 11100)}  # start, low, high, in 1/10000


def write_eur_demo(out_dir: Path, orders: int = 50, start: date = date(2026, 7, 1), days: int = 91,
                   seed: int = 7) -> tuple[list[Path], Path]:
    """The amazon.de settlement files (by date) and the rates file."""
    out_dir = Path(out_dir)
    base_id = random.Random(seed).randrange(10_000_000_000, 89_000_000_000)  # as amazon_generator.generate's
    files = _market_files(random.Random(f"{seed}:{SUBSIDIARY}:{AMAZON_DE.code}"), AMAZON_DE, out_dir / SUBSIDIARY,
                          orders, start, days, base_id)
    rates = write_rates(out_dir / "rates" / "eur-rates.csv", start - timedelta(days=days),
                        start + timedelta(days=days + SETTLEMENT_DAYS + 31), seed)
    return files, rates


def write_rates(path: Path, first: date, last: date, seed: int = 7) -> Path:
    """EUR->GBP and EUR->USD for every day from `first` to `last`, four decimals, a bounded random walk."""
    rng = random.Random(f"{seed}:rates")
    level = {currency: walk[0] for currency, walk in RATE_WALKS.items()}
    lines = ["date,from,to,rate"]
    day = first
    while day <= last:
        for currency, (_, low, high) in RATE_WALKS.items():
            level[currency] = min(high, max(low, level[currency] + rng.randint(-18, 18)))
            lines.append(f"{day.isoformat()},EUR,{currency},{Decimal(level[currency]).scaleb(-4)}")
        day += timedelta(days=1)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def ingest_eur_demo(engine: Engine, out_dir: Path, orders: int = 300, seed: int = 7) -> str:
    """Write the amazon.de files and rates, import the rates, ingest the files into UK; one line saying what
    happened. `orders` is the demo's total: amazon.de gets a sixth of it."""
    from ledger_service.ingest.service import ingest_file
    from ledger_service.rates.service import import_file

    files, rates_path = write_eur_demo(out_dir, orders=max(1, orders // 6), seed=seed)
    rates = import_file(engine, rates_path)
    events = duplicates = 0
    for path in files:
        report = ingest_file(engine, path, SUBSIDIARY)
        events, duplicates = events + report.events, duplicates + report.duplicates
    return (f"amazon.de for {SUBSIDIARY}: {len(files)} EUR settlement files ingested ({events} events, {duplicates} "
            f"already there); {rates['imported']} rates imported from {rates_path} ({rates['duplicates']} already "
            "there)")
