"""Generated, seeded, streamed work for bench_inventory.py: FIFO lots and sales, and an FBA inventory ledger report.

The problem: the inventory benchmark needs work of any size (2,000 lots to 100,000, 20,000 sales to a million, a
ledger report of 10,000 rows to a million) that the posting rules accept whole: a sale never asks for more units
than its SKU holds (ShortOfUnits would refuse it), a Receipts row never receives more than is inbound, a return
names an order that shipped that SKU. So each generator keeps the counts the books will keep, and the same seed
gives the same work. Nothing here is held per row: memory is flat in the size (counters per SKU, and a bounded
window of recent orders for returns).

- `receipts(lots, per_sku, sales, seed)`: purchase receipts (inventory.facts.PurchaseReceipt) at FBA-US of
  lots // per_sku SKUs x per_sku receipts, PO of up to 10 lines (one lot per line, `<po>:<line>`), unit costs of
  2 decimals (1.00..40.00, so a slice costs exactly units x unit cost and an SQL sum can check FIFO to the cent),
  dated through 2024 (receipt k of every SKU on one day, so a SKU's lots have distinct dates). Lot sizes cover 1.5x
  the units `sales` sales take on average.
- `sales(n, lots, per_sku, seed)`: n Sale facts of 1-3 units of random SKUs at FBA-US, dated in order through 2025,
  never more than a SKU holds.
- `write_ledger(path, rows, skus, seed)`: an inventory ledger detail report (SP-API layout, tab-separated) at
  FBA-US through 2025, in date order: about 71% Shipments, 12% Receipts, 7% CustomerReturns (70% SELLABLE), 10%
  Adjustments (E -1 SELLABLE + P +1 WAREHOUSE_DAMAGED pairs, M lost, F found, D disposed). Returns `Ledger`: the
  units each SKU must have inbound before the file (the setup posts them as lots) and the unit totals per state
  the books must show after it.

    .venv/bin/python benchmarks/generate_inventory.py 12     # a sample of each
"""

from __future__ import annotations

import math
import random
import sys
from collections import deque
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Iterator, NamedTuple

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from ledger_service.inventory.facts import PurchaseLine, PurchaseReceipt, Sale  # noqa: E402

LOCATION = "FBA-US"
MARKETPLACE = "amazon.com"
LOTS_START, SALES_START, LEDGER_START = date(2024, 1, 1), date(2025, 1, 1), date(2025, 1, 1)
LINES_PER_PO = 10
UNITS_PER_SALE = 2  # the mean of 1..3
COVER = 1.5  # lots hold this many times the units the sales take on average
FCS = ("PHX6", "LGB3", "ONT8", "SDF8", "MDW2", "TPA1", "BFI4", "CLT2")
LEDGER_HEADER = ("Date\tFNSKU\tASIN\tMSKU\tTitle\tEventType\tReferenceID\tQuantity\tFulfillmentCenter\t"
                 "Disposition\tReason\tCountry\n")


def sku(n: int) -> str:
    return f"SKU-{n:05d}"


def msku(n: int) -> str:
    return f"M{n:05d}-US"  # the seller SKU Amazon reports; the catalog maps it to sku(n)


def fnsku(n: int) -> str:
    return f"X{n:09d}"


def asin(n: int) -> str:
    return f"B0{n:08d}"


# --- FIFO: lots and sales ----------------------------------------------------------------------------------------

def shape(lots: int, per_sku: int) -> tuple[int, int]:
    """(SKUs, receipts per SKU) for about `lots` lots."""
    per_sku = max(1, min(per_sku, lots))
    return max(1, lots // per_sku), per_sku


def receipts(lots: int, per_sku: int, sales: int, seed: int) -> Iterator[PurchaseReceipt]:
    skus, rounds = shape(lots, per_sku)
    rng = random.Random(seed)
    mean = max(1.0, COVER * UNITS_PER_SALE * sales / (skus * rounds))
    low, high = max(1, math.floor(0.8 * mean)), max(1, math.ceil(1.2 * mean))
    for k in range(rounds):
        day = LOTS_START + timedelta(days=k * 360 // rounds)
        for block in range(0, skus, LINES_PER_PO):
            lines = tuple(PurchaseLine(sku(n), rng.randint(low, high), Decimal(rng.randint(100, 4000)).scaleb(-2))
                          for n in range(block, min(block + LINES_PER_PO, skus)))
            yield PurchaseReceipt(f"PO-{k:05d}-{block // LINES_PER_PO:05d}", "Bench Supplier", day, LOCATION, "USD",
                                  lines)


def held(lots: int, per_sku: int, sales: int, seed: int) -> list[int]:
    """Units each SKU receives (by index)."""
    out = [0] * shape(lots, per_sku)[0]
    for po in receipts(lots, per_sku, sales, seed):
        for line in po.lines:
            out[int(line.sku[4:])] += line.units
    return out


def sales(n: int, lots: int, per_sku: int, seed: int) -> Iterator[Sale]:
    left = held(lots, per_sku, n, seed)
    rng = random.Random(seed + 1)
    skus, total = len(left), sum(left)
    for i in range(n):
        units = rng.randint(1, 3)
        if total < units:
            raise ValueError(f"the lots hold too few units for {n} sales")
        s = rng.randrange(skus)
        while left[s] < units:  # never more than a SKU holds: the next SKU instead
            s = (s + 1) % skus
        left[s] -= units
        total -= units
        yield Sale(f"ORD-{i:08d}", sku(s), units, LOCATION, SALES_START + timedelta(days=i * 365 // n), "FBA", None,
                   f"bench-sale:{i:08d}")


# --- the inventory ledger report -----------------------------------------------------------------------------------

class Ledger(NamedTuple):
    rows: int
    inbound: dict[str, int]  # units each SKU must have inbound at FBA-US before the file
    expected: dict[str, int]  # units per state after the file: Available, Unfulfillable, Researching, inbound left
    kinds: dict[str, int]  # rows per event type (and adjustment reason)


def write_ledger(path: Path, rows: int, skus: int, seed: int) -> Ledger:
    """Write the report; every row posts (no exception items) against the inbound lots the result names."""
    rng = random.Random(seed)
    available, damaged, researching = [0] * skus, [0] * skus, [0] * skus
    received = [0] * skus
    orders: deque[list] = deque(maxlen=20_000)  # [order id, sku index, units shipped, units returned]
    kinds: dict[str, int] = {}
    written = 0
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write(LEDGER_HEADER)

        def row(s: int, event: str, ref: str, qty: int, disposition: str = "SELLABLE", reason: str = "") -> None:
            nonlocal written
            day = LEDGER_START + timedelta(days=written * 365 // rows)
            out.write(f"{day.isoformat()}\t{fnsku(s)}\t{asin(s)}\t{msku(s)}\tProduct {s}\t{event}\t{ref}\t{qty}\t"
                      f"{rng.choice(FCS)}\t{disposition}\t{reason}\tUS\n")
            written += 1
            kind = f"{event} {reason}".strip()
            kinds[kind] = kinds.get(kind, 0) + 1

        def receipt(s: int) -> None:
            q = rng.randint(10, 30)
            received[s] += q
            available[s] += q
            row(s, "Receipts", f"FBA15{s:05d}{received[s]:06d}", q)

        while written < rows:
            s, r = rng.randrange(skus), rng.random()
            if r < 0.10:
                receipt(s)
            elif r < 0.85:
                q = rng.randint(1, 3)
                if available[s] < q:
                    receipt(s)
                    continue
                order = f"{rng.randint(100, 999)}-{written:07d}-{rng.randint(1000000, 9999999)}"
                available[s] -= q
                orders.append([order, s, q, 0])
                row(s, "Shipments", order, -q)
            elif r < 0.92:
                o = orders[rng.randrange(len(orders))] if orders else None
                if o is None or o[3] >= o[2]:
                    receipt(s)
                    continue
                o[3] += 1
                disposition = "SELLABLE" if rng.random() < 0.7 else rng.choice(("CUSTOMER_DAMAGED", "DEFECTIVE"))
                if disposition == "SELLABLE":
                    available[o[1]] += 1
                else:
                    damaged[o[1]] += 1
                row(o[1], "CustomerReturns", o[0], 1, disposition)
            elif r < 0.95:
                if available[s] < 1 or written + 2 > rows:
                    receipt(s)
                    continue
                available[s] -= 1
                damaged[s] += 1
                ref = f"{rng.randint(10**9, 10**10 - 1)}"
                row(s, "Adjustments", ref, -1, "SELLABLE", "E")
                row(s, "Adjustments", ref, 1, "WAREHOUSE_DAMAGED", "P")
            elif r < 0.97:
                if available[s] < 1:
                    receipt(s)
                    continue
                available[s] -= 1
                researching[s] += 1
                row(s, "Adjustments", f"{rng.randint(10**9, 10**10 - 1)}", -1, "SELLABLE", "M")
            elif r < 0.985:
                if researching[s] < 1:
                    receipt(s)
                    continue
                researching[s] -= 1
                available[s] += 1
                row(s, "Adjustments", f"{rng.randint(10**9, 10**10 - 1)}", 1, "SELLABLE", "F")
            else:
                if damaged[s] < 1:
                    receipt(s)
                    continue
                damaged[s] -= 1
                row(s, "Adjustments", f"{rng.randint(10**9, 10**10 - 1)}", -1, "WAREHOUSE_DAMAGED", "D")
    return Ledger(written, {sku(s): received[s] for s in range(skus) if received[s]},
                  {"Available": sum(available), "Unfulfillable": sum(damaged), "Researching": sum(researching),
                   "Inbound:Shipped": 0}, dict(sorted(kinds.items())))


def catalog_csv(skus: int) -> str:
    """The catalog the report resolves through: each SKU an item with its MSKU, ASIN and FNSKU on amazon.com."""
    lines = ["sku,title,marketplace,msku,asin,fnsku,parent_asin,valid_from"]
    lines += [f"{sku(n)},Product {n},{MARKETPLACE},{msku(n)},{asin(n)},{fnsku(n)},," for n in range(skus)]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    import tempfile

    count = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    for po in list(receipts(200, 20, 1000, 42))[:2]:
        print(po)
    for sale in list(sales(1000, 200, 20, 42))[:count]:
        print(sale)
    with tempfile.TemporaryDirectory() as tmp:
        ledger = write_ledger(Path(tmp) / "ledger.tsv", max(count, 1000), 20, 42)
        print("".join((Path(tmp) / "ledger.tsv").read_text().splitlines(keepends=True)[:count + 1]), end="")
        print(ledger.kinds, ledger.expected)
