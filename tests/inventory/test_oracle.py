"""An independent oracle for the valuation methods, on a generated year.

FIFO: the year is written as beancount text (receipts as `N SKU {cost USD, "lot"}` against the bank, sales as
`-N SKU {}` reductions against Expenses:COGS under `option "booking_method" "FIFO"`, sellable returns as
augmentations at the cost and date of the lot they came from) and booked by beancount's own FIFO
(parser/booking_method.py: matching lots sorted by cost date). Its booked reductions per sale, its COGS per SKU
and month (the interpolated Expenses:COGS postings) and the lots left in the account at year end (realization)
must equal ours to the cent. A return's lot is taken from our slices of its sale; beancount's booking of that sale
is checked to be those same slices, so the return says what beancount's own booking implies.

Moving average: a plain fold in integer cents and Fractions per SKU (value += units x cost on a receipt; a sale of
n of N units costs value x n / N rounded half up, all of it when n == N; a return comes back at its share of its
sale's cost), written apart from valuation.py, must give the same COGS per SKU and month and the same holdings.
"""

import random
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal as D
from fractions import Fraction

from beancount import loader
from beancount.core import data, realization

from ledger_service.inventory.model import AVERAGE, FIFO, Lot
from ledger_service.inventory.valuation import consume, receive, return_units, returned_slices

SKUS = ("WIDGET-A", "WIDGET-B", "GADGET-C", "GIZMO-D", "SPROCKET-E")
LOC, ACCOUNT, START = "FBA-US", "Assets:Inventory:FBA-US:Available", date(2026, 1, 1)


def generate_year(seed=2026):
    """~50 receipts (10 a SKU, each on its own day, 2-decimal costs), ~400 sales and ~25 sellable returns across
    2026, in posting order. Sales never take more units than are held (trimmed or dropped); each return takes back
    part or all of one earlier sale."""
    rng = random.Random(seed)
    raw = []
    for s, sku in enumerate(SKUS):
        days = [rng.randrange(0, 5)] + sorted(rng.sample(range(5, 330), 9))  # ten distinct days, the first early
        for i, day in enumerate(days):
            cost = D(rng.randrange(150, 4000)) / 100
            raw.append((day, 0, "receipt", sku, f"PO-{s + 1}{i:02d}:1", rng.randrange(10, 41), cost))
    for n in range(420):
        raw.append((rng.randrange(0, 365), 1, "sale", rng.choice(SKUS), f"S-{n:03d}", rng.randrange(1, 6), None))
    raw.sort(key=lambda e: (e[0], e[1], e[4]))
    held, events = defaultdict(int), []
    for day, rank, kind, sku, ref, units, cost in raw:
        if kind == "sale":
            units = min(units, held[sku])
            if not units:
                continue
        held[sku] += units if kind == "receipt" else -units
        events.append((day, rank, kind, sku, ref, units, cost))
    sales = [e for e in events if e[2] == "sale"]
    for day, _, _, sku, ref, units, _ in rng.sample(sales, 25):
        if day + 1 < 365:
            back = rng.randrange(1, units + 1)
            events.append((rng.randrange(day + 1, min(day + 30, 365)), 2, "return", sku, ref, back, None))
    events.sort(key=lambda e: (e[0], e[1], e[4]))
    return [(START + timedelta(days=day), kind, sku, ref, n, cost) for day, _, kind, sku, ref, n, cost in events]


def run_ours(method, year):
    """The year through valuation.py: COGS per (SKU, month), the slices of each sale, the lots left."""
    lots, originals, cogs, taken, reopened = defaultdict(tuple), {}, defaultdict(D), {}, 0
    for on, kind, sku, ref, units, cost in year:
        if kind == "receipt":
            originals[ref] = Lot(ref, sku, LOC, on, cost, units)
            lots[sku] = receive(method, lots[sku], originals[ref], "USD")
        elif kind == "sale":
            c = consume(method, lots[sku], units, "USD")
            lots[sku], taken[ref] = c.remaining, c.slices
            cogs[(sku, f"{on:%Y-%m}")] += c.cost
        else:
            for back in returned_slices(taken[ref], units, "USD"):
                reopened += all(x.lot_id != back.lot_id for x in lots[sku])
                lots[sku] = return_units(method, lots[sku], back, "USD", lot=originals.get(back.lot_id))
                cogs[(sku, f"{on:%Y-%m}")] -= back.cost
    return cogs, taken, lots, reopened


def beancount_text(year, taken):
    out = ['option "operating_currency" "USD"', 'option "booking_method" "FIFO"', "",
           f"2025-12-31 open {ACCOUNT}", "2025-12-31 open Assets:Bank:Operating USD",
           "2025-12-31 open Expenses:COGS USD", ""]
    received = {}
    for on, kind, sku, ref, units, cost in year:
        if kind == "receipt":
            received[ref] = on
            out += [f'{on} * "receipt {ref}"', f'  {ACCOUNT}  {units} {sku} {{{cost} USD, "{ref}"}}',
                    "  Assets:Bank:Operating", ""]
        elif kind == "sale":
            out += [f'{on} * "sale {ref}"', f'  sale: "{ref}"', f"  {ACCOUNT}  -{units} {sku} {{}}",
                    "  Expenses:COGS", ""]
        else:
            out += [f'{on} * "return of {ref}"']
            for back in returned_slices(taken[ref], units, "USD"):
                out.append(f'  {ACCOUNT}  {back.units} {sku} {{{back.unit_cost} USD, {received[back.lot_id]}, '
                           f'"{back.lot_id}"}}')
            out += ["  Expenses:COGS", ""]
    return "\n".join(out)


def test_the_generated_year_exercises_the_rules():
    year = generate_year()
    kinds = [e[1] for e in year]
    assert kinds.count("receipt") == 50 and 350 <= kinds.count("sale") <= 420 and kinds.count("return") >= 20
    assert len({e[0].month for e in year}) == 12
    *_, reopened = run_ours(FIFO, year)
    assert reopened > 0  # some returns re-open a lot that had been emptied


def test_fifo_equals_beancount_booking():
    year = generate_year()
    cogs, taken, lots, _ = run_ours(FIFO, year)
    entries, errors, _ = loader.load_string(beancount_text(year, taken))
    assert errors == []

    theirs, booked = defaultdict(D), {}
    for entry in entries:
        if not isinstance(entry, data.Transaction):
            continue
        stock = [p for p in entry.postings if p.account == ACCOUNT]
        if "sale" in entry.meta:
            booked[entry.meta["sale"]] = [(p.cost.label, -p.units.number, p.cost.number) for p in stock]
        for p in entry.postings:
            if p.account == "Expenses:COGS":
                assert p.units.currency == "USD"
                theirs[(stock[0].units.currency, f"{entry.date:%Y-%m}")] += p.units.number

    assert booked == {ref: [(s.lot_id, s.units, s.unit_cost) for s in slices] for ref, slices in taken.items()}
    assert {k: v for k, v in theirs.items() if v} == {k: v for k, v in cogs.items() if v}
    assert sum(cogs.values()) > 0

    real = realization.get(realization.realize(entries), ACCOUNT)
    left = sorted((pos.units.currency, pos.cost.label, pos.cost.date, int(pos.units.number), pos.cost.number,
                   pos.units.number * pos.cost.number) for pos in real.balance if pos.units.number)
    ours = sorted((x.sku, x.lot_id, x.received, x.units, x.unit_cost, x.value if x.value is not None else
                   x.units * x.unit_cost) for held in lots.values() for x in held)
    assert left == ours and len(ours) > 5


def half_up(fraction):
    return int(fraction + Fraction(1, 2)) if fraction >= 0 else -half_up(-fraction)


def test_moving_average_equals_a_plain_fold():
    year = generate_year()
    cogs, _, lots, _ = run_ours(AVERAGE, year)

    units, cents, sold, theirs = defaultdict(int), defaultdict(int), {}, defaultdict(int)
    for on, kind, sku, ref, n, cost in year:
        month = (sku, f"{on:%Y-%m}")
        if kind == "receipt":
            units[sku] += n
            cents[sku] += n * int(cost * 100)
        elif kind == "sale":
            c = cents[sku] if n == units[sku] else half_up(Fraction(cents[sku] * n, units[sku]))
            units[sku], cents[sku], sold[ref] = units[sku] - n, cents[sku] - c, (c, n)
            theirs[month] += c
        else:
            c, of = sold[ref]
            back = c if n == of else half_up(Fraction(c * n, of))
            units[sku], cents[sku] = units[sku] + n, cents[sku] + back
            theirs[month] -= back
        assert units[sku] or not cents[sku]

    assert {k: D(v) / 100 for k, v in theirs.items() if v} == {k: v for k, v in cogs.items() if v}
    for sku in SKUS:
        (holding,) = lots[sku]
        assert (holding.units, holding.value) == (units[sku], D(cents[sku]) / 100)
        if units[sku]:
            assert holding.unit_cost == D(half_up(Fraction(cents[sku] * 10**4, units[sku]))) / 10**6
