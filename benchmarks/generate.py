"""A deterministic, streaming generator of journal work for the benchmarks.

`generate(n, seed)` yields n (EventDraft, [EntryDraft]) pairs, one entry per event, built from a seeded
random.Random, so the same (n, seed) always gives the same work. Nothing is kept between items: memory stays
flat in n.

The mix, per entry (about 4 postings on average):
  - 25% two postings: a storage fee or a disbursement (money), or an inbound-to-available inventory move
    (units at cost);
  - 50% four postings: a sale without cost of goods (principal, shipping, referral fee, clearing) or a refund
    (refund, refunded commission, refund administration fee, clearing);
  - 25% six postings: a sale with its cost of goods (principal, referral, fulfilment, clearing, COGS, and the
    units leaving FBA:Available at cost).
Subsidiaries: 80% US (USD), 20% UK (GBP); 5% of money-only entries are in a foreign currency (CAD for US, EUR
for UK) with an exchange rate; 5% are pending. Dates move through one year (2024) in posting order with a few
days of jitter. Dimensions: marketplace, settlement_id (one settlement per 14 days), order_id, sku.
"""

from __future__ import annotations

import json
import random
import sys
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Iterator

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from ledger_service.eventlog.model import EventDraft, Source  # noqa: E402
from ledger_service.journal.model import EntryDraft, Posting, dims, money_posting, units_posting  # noqa: E402

START = date(2024, 1, 1)
DAYS = 366  # 2024 is a leap year
SKUS = 200

SUBSIDIARIES = {
    # code: (functional currency, marketplace, foreign currency, rate foreign -> functional)
    "US": ("USD", "amazon.com", "CAD", Decimal("0.7312")),
    "UK": ("GBP", "amazon.co.uk", "EUR", Decimal("0.8571")),
}

CLEARING = "Assets:Amazon:Clearing"


def _money(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


def _cost(sku_index: int) -> Decimal:
    """A fixed cost per unit for each SKU (2 to 30, with cents), so COGS is stable per SKU."""
    return _money(200 + (sku_index * 7919) % 2800)


def _units(account: str, sku: str, units: Decimal, cost: Decimal, currency: str, **dimensions: str) -> Posting:
    """A units posting at cost that also carries the sku dimension (units_posting takes `sku` as the commodity)."""
    return units_posting(account, sku, units, cost, currency)._replace(dimensions=dims(sku=sku, **dimensions))


def generate(n: int, seed: int = 42) -> Iterator[tuple[EventDraft, list[EntryDraft]]]:
    rnd = random.Random(seed)
    for i in range(n):
        sub = "US" if rnd.random() < 0.8 else "UK"
        functional, marketplace, foreign, rate = SUBSIDIARIES[sub]
        day = min(DAYS - 1, max(0, i * DAYS // max(n, 1) + rnd.randint(-3, 3)))
        on = START + timedelta(days=day)
        settlement = f"{sub}-S{day // 14:03d}"
        order = f"{100 + rnd.randint(0, 899)}-{rnd.randint(0, 9_999_999):07d}-{i:07d}"
        sku_index = rnd.randrange(SKUS)
        sku = f"SKU-{sku_index:04d}"
        state = "pending" if rnd.random() < 0.05 else "posted"
        shape = rnd.random()
        currency, entry_rate = functional, Decimal(1)

        if shape < 0.25:  # two postings
            pick = rnd.random()
            if pick < 0.4:
                kind, description = "storage-fee", f"FBA storage fee {settlement}"
                x = _money(rnd.randint(100, 50_000))
                postings = (
                    money_posting("Expenses:Amazon:Fees:Storage", x, settlement_id=settlement, marketplace=marketplace),
                    money_posting(CLEARING, -x, settlement_id=settlement, marketplace=marketplace),
                )
            elif pick < 0.7:
                kind, description = "disbursement", f"Disbursement of settlement {settlement}"
                x = _money(rnd.randint(10_000, 5_000_000))
                postings = (
                    money_posting("Assets:Bank:Operating", x, settlement_id=settlement),
                    money_posting(CLEARING, -x, settlement_id=settlement),
                )
            else:
                kind, description = "fba-receipt", f"{sku} received at FBA"
                units, cost = Decimal(rnd.randint(1, 200)), _cost(sku_index)
                postings = (
                    _units("Assets:Inventory:FBA:Inbound", sku, -units, cost, currency, location="FBA"),
                    _units("Assets:Inventory:FBA:Available", sku, units, cost, currency, location="FBA"),
                )
        elif shape < 0.75:  # four postings
            if rnd.random() < 0.05:
                currency, entry_rate = foreign, rate
            p = rnd.randint(500, 20_000)
            fee = p * 15 // 100
            tags = {"settlement_id": settlement, "order_id": order, "sku": sku, "marketplace": marketplace}
            if rnd.random() < 0.85:
                kind, description = "order", f"Order {order}"
                s = rnd.choice((199, 299, 399, 599, 999))
                postings = (
                    money_posting(CLEARING, _money(p + s - fee), **tags),
                    money_posting("Income:Amazon:Sales:Principal", _money(-p), **tags),
                    money_posting("Income:Amazon:Sales:Shipping", _money(-s), **tags),
                    money_posting("Expenses:Amazon:Fees:Referral", _money(fee), **tags),
                )
            else:
                kind, description = "refund", f"Refund of order {order}"
                refunded_fee = fee * 80 // 100
                admin = fee - refunded_fee
                postings = (
                    money_posting("Income:Amazon:Refunds", _money(p), **tags),
                    money_posting("Expenses:Amazon:Fees:Referral", _money(-refunded_fee), **tags),
                    money_posting("Expenses:Amazon:Fees:RefundAdministration", _money(admin), **tags),
                    money_posting(CLEARING, _money(-(p - refunded_fee + admin)), **tags),
                )
        else:  # six postings: a sale with its cost of goods
            kind, description = "order", f"Order {order} with COGS"
            units, cost = Decimal(rnd.randint(1, 4)), _cost(sku_index)
            p = int(units) * rnd.randint(1_500, 6_000)
            fee = p * 15 // 100
            fulfilment = int(units) * rnd.randint(300, 600)
            tags = {"settlement_id": settlement, "order_id": order, "marketplace": marketplace}
            out = _units("Assets:Inventory:FBA:Available", sku, -units, cost, currency, **tags)
            tags["sku"] = sku
            postings = (
                money_posting(CLEARING, _money(p - fee - fulfilment), **tags),
                money_posting("Income:Amazon:Sales:Principal", _money(-p), **tags),
                money_posting("Expenses:Amazon:Fees:Referral", _money(fee), **tags),
                money_posting("Expenses:Amazon:Fees:Fulfillment", _money(fulfilment), **tags),
                money_posting("Expenses:COGS", -out.amount, **tags),
                out,
            )

        occurred = datetime.combine(on, time(0, 0), tzinfo=timezone.utc) + timedelta(seconds=rnd.randrange(86_400))
        raw = json.dumps({"n": i, "type": kind, "order_id": order, "settlement_id": settlement, "sku": sku},
                         sort_keys=True, separators=(",", ":"))
        event = EventDraft(
            subsidiary=sub,
            kind=kind,
            occurred_at=occurred,
            idempotency_key=f"bench:{seed}:{i}",
            raw=raw,
            source=Source(system="benchmark", document=f"generate-{seed}", line=i + 1),
        )
        entry = EntryDraft(
            subsidiary=sub, date=on, currency=currency, description=description, postings=postings,
            rate=entry_rate, state=state,
        )
        yield event, [entry]


if __name__ == "__main__":  # a quick look: python benchmarks/generate.py 5
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    for ev, es in generate(count):
        print(ev.subsidiary, ev.kind, ev.idempotency_key, es[0].date, es[0].currency, es[0].rate, es[0].state)
        for posting in es[0].postings:
            print("   ", posting.account, posting.amount, posting.units or "", posting.commodity or "", posting.dimensions)
