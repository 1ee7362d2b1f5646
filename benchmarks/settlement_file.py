"""Write a large Settlement report V2 flat file, streaming: N data rows, memory flat in N.

Settlements of 20,000 rows each, USD on amazon.com; each order contributes Principal, Tax, the matching
marketplace-facilitator withholding, Commission and the FBA per-unit fee, with refunds, storage fees and one unknown
fee triple per settlement. Each settlement's total-amount is the exact (integer-cent) sum of its rows, so every
settlement reconciles. Seeded: the same (rows, seed) gives the same bytes.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

HEADER = ("settlement-id\tsettlement-start-date\tsettlement-end-date\tdeposit-date\ttotal-amount\tcurrency\t"
          "transaction-type\torder-id\tmerchant-order-id\tadjustment-id\tshipment-id\tmarketplace-name\tamount-type\t"
          "amount-description\tamount\tfulfillment-id\tposted-date\tposted-date-time\torder-item-code\t"
          "merchant-order-item-id\tmerchant-adjustment-item-id\tsku\tquantity-purchased\tpromotion-id")
PER_SETTLEMENT = 20_000


def _cents(c: int) -> str:
    sign = "-" if c < 0 else ""
    return f"{sign}{abs(c) // 100}.{abs(c) % 100:02d}"


def _order_rows(rng: random.Random, n: int, day: date) -> list[tuple[str, str, str, int, str, str]]:
    """(transaction-type, amount-type, amount-description, cents, order-id, sku) for one order or fee."""
    order = f"11{rng.randrange(10**8):08d}-{n:07d}"
    sku = f"SKU-{rng.randrange(500):04d}"
    price = rng.randrange(999, 9999)
    if rng.random() < 0.05:
        return [("Refund", "ItemPrice", "Principal", -price, order, sku),
                ("Refund", "ItemFees", "Commission", price * 15 // 100, order, sku),
                ("Refund", "ItemFees", "RefundCommission", -min(500, price * 3 // 100), order, sku)]
    tax = price * 8 // 100
    return [("Order", "ItemPrice", "Principal", price, order, sku),
            ("Order", "ItemPrice", "Tax", tax, order, sku),
            ("Order", "ItemWithheldTax", "MarketplaceFacilitatorTax-Principal", -tax, order, sku),
            ("Order", "ItemFees", "Commission", -(price * 15 // 100), order, sku),
            ("Order", "ItemFees", "FBAPerUnitFulfillmentFee", -rng.randrange(300, 700), order, sku)]


def write_v2(path: Path, rows: int, seed: int = 1) -> int:
    """Write `rows` data rows (rounded up to whole orders) and return how many were written."""
    rng = random.Random(seed)
    written, settlement, n = 0, 0, 0
    start = date(2025, 1, 1)
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        out.write(HEADER + "\n")
        while written < rows:
            settlement += 1
            sid = str(10_000_000_000 + seed * 100_000 + settlement)
            begin = start + timedelta(days=14 * (settlement - 1))
            body, total, count = [], 0, 0
            fees = [("ServiceFee", "other-transaction", "Storage Fee", -rng.randrange(5000, 90000), "", ""),
                    ("ServiceFee", "other-transaction", "BenchUnknownFee", -rng.randrange(100, 900), "", "")]
            while count < min(PER_SETTLEMENT, rows - written) - len(fees):
                n += 1
                day = begin + timedelta(days=n % 14)
                for tt, at, ad, cents, order, sku in _order_rows(rng, n, day):
                    body.append((tt, at, ad, cents, order, sku, day))
                    total += cents
                    count += 1
            for tt, at, ad, cents, order, sku in fees:
                body.append((tt, at, ad, cents, order, sku, begin + timedelta(days=13)))
                total += cents
                count += 1
            end, deposit = begin + timedelta(days=13), begin + timedelta(days=15)
            out.write(f"{sid}\t{begin} 00:00:00 UTC\t{end} 23:59:59 UTC\t{deposit} 00:00:00 UTC\t{_cents(total)}\tUSD"
                      + "\t" * 18 + "\n")
            for tt, at, ad, cents, order, sku, day in body:
                qty = "1" if order else ""
                out.write(f"{sid}\t\t\t\t\tUSD\t{tt}\t{order}\t\t\t\tamazon.com\t{at}\t{ad}\t{_cents(cents)}\tAFN\t"
                          f"{day} 00:00:00 UTC\t{day} 12:00:00 UTC\t\t\t\t{sku}\t{qty}\t\n")
            written += count
    return written
