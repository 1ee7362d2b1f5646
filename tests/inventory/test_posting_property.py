"""Properties of the unit posting rules over random sequences of facts (FIFO and moving average): every entry
balances; for every (SKU, location, state) the units held equal a plain fold of the facts; and the inventory
accounts (each posting summed per account and SKU) equal the holdings' units and valuation to the cent.
Pure: no database."""

import random
import time
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal as D

from hypothesis import given, settings, strategies as st

from ledger_service.inventory.facts import (
    INBOUND, STAGES, Adjustment, CustomerReturn, FbaReceipt, InboundShipment, PurchaseLine, PurchaseReceipt,
    Removal, Sale, StateMove, WriteOff, disposition_state, state_account,
)
from ledger_service.inventory.holdings import InventoryState
from ledger_service.inventory.model import AVERAGE, FIFO, ShortOfUnits
from ledger_service.inventory.moves import Books, LaneRefused
from ledger_service.inventory.posting import post, post_all
from ledger_service.journal.model import balance

WH, FBA = "WH-NJ", "FBA-US"
BUNDLES = {"K": (("A", 2), ("B", 1))}
STATES = ("Available", "Unfulfillable", "Researching", "ReturnsHold", "Reserved")
DISPOSITIONS = ("SELLABLE", "CUSTOMER_DAMAGED", "WAREHOUSE_DAMAGED")
LANES = {("FBA", FBA), ("FBM", WH)}

sku = st.sampled_from(("A", "B"))
n = st.integers(1, 6)
ship = st.tuples(st.just("ship"), sku, st.integers(1, 12), st.sampled_from(("Available", "Unfulfillable")))
op = st.one_of(
    ship, ship, ship,
    st.tuples(st.just("buy"), sku, st.integers(1, 20), st.sampled_from(("4.00", "1.2345", "0.33", "7.1", "0")),
              st.sampled_from(("0", "1.01", "0.07"))),
    st.tuples(st.just("inbound"), sku, n, st.sampled_from(tuple(STAGES))),
    st.tuples(st.just("receive"), sku, n, st.sampled_from(("Available", "Unfulfillable"))),
    st.tuples(st.just("sell"), st.sampled_from(("A", "B", "K")), st.integers(1, 4), st.integers(0, 3),
              st.sampled_from((WH, FBA)), st.booleans()),
    st.tuples(st.just("return"), st.sampled_from(("A", "B", "K")), st.integers(1, 3), st.integers(0, 4),
              st.sampled_from(("SELLABLE", "CUSTOMER_DAMAGED", "AWAITING_INSPECTION")), st.sampled_from((WH, FBA))),
    st.tuples(st.just("move"), sku, n, st.sampled_from(STATES), st.sampled_from(STATES)),
    st.tuples(st.just("writeoff"), sku, n, st.sampled_from(STATES), st.sampled_from(("lost", "damaged"))),
    st.tuples(st.just("adjust"), sku, n, st.sampled_from(("M", "F", "D", "O", "2", "J")),
              st.sampled_from(DISPOSITIONS)),
    st.tuples(st.just("damage"), sku, n),
    st.tuples(st.just("remove"), sku, n, st.sampled_from(STATES)),
)


def facts_of(i, item, day):
    kind, s, units = item[0], item[1], item[2]
    if kind == "buy":
        return [PurchaseReceipt(f"PO-{i}", "S", day, WH, "USD", (PurchaseLine(s, units, D(item[3])),),
                                (D(item[4]),))]
    if kind == "inbound":
        return [InboundShipment(f"S-{i}", s, units, WH, FBA, day, item[3])]
    if kind == "ship":  # working, shipped and received in full
        return [InboundShipment(f"S-{i}", s, units, WH, FBA, day, "working"),
                InboundShipment(f"S-{i}", s, units, WH, FBA, day, "shipped"),
                FbaReceipt(f"S-{i}", s, units, FBA, day, item[3])]
    if kind == "receive":
        return [FbaReceipt(f"S-{i}", s, units, FBA, day, item[3])]
    if kind == "sell":
        lane = ("FBA" if item[4] == FBA else "FBM") if item[5] else "FBA"
        return [Sale(f"O-{item[3]}", s, units, item[4], day, lane)]
    if kind == "return":
        lane = "FBA" if item[5] == FBA else "FBM"
        return [CustomerReturn(f"O-{item[3]}", s, units, item[5], day, item[4], lane, f"r-{i}")]
    if kind == "move":
        return [StateMove(f"m-{i}", s, units, FBA, item[3], item[4], day)]
    if kind == "writeoff":
        return [WriteOff(f"w-{i}", s, units, FBA, item[3], day, item[4])]
    if kind == "adjust":
        sign = 1 if item[3] in ("F", "J") else -1
        return [Adjustment(f"a-{i}", s, sign * units, FBA, day, item[4], item[3])]
    if kind == "damage":
        return [Adjustment(f"e-{i}", s, -units, FBA, day, "SELLABLE", "E"),
                Adjustment(f"p-{i}", s, units, FBA, day, "WAREHOUSE_DAMAGED", "P")]
    return [Removal(f"RM-{i}", s, units, FBA, day, item[3], f"rm-{i}")]


def fold(units: Counter, fact, posted: bool, books: Books, researching: int) -> None:
    """What each fact does to the units by state, written apart from the rules (only facts that posted)."""
    if not posted:
        return
    if isinstance(fact, PurchaseReceipt):
        units[(fact.lines[0].sku, WH, "Available")] += fact.lines[0].units
    elif isinstance(fact, InboundShipment):
        src = (WH, "Available") if fact.stage == "working" else (
            FBA, "Inbound:Working" if fact.stage == "shipped" else "Inbound:Shipped")
        units[(fact.sku, *src)] -= fact.units
        units[(fact.sku, FBA, STAGES[fact.stage])] += fact.units
    elif isinstance(fact, FbaReceipt):
        need = fact.units
        for stock in (*INBOUND, "Researching"):  # beyond the inbound units: a shortage received late
            take = min(need, units[(fact.sku, FBA, stock)])
            units[(fact.sku, FBA, stock)] -= take
            need -= take
        units[(fact.sku, FBA, fact.state)] += fact.units
    elif isinstance(fact, (Sale, CustomerReturn)):
        sign = -1 if isinstance(fact, Sale) else 1
        stock = "Available" if isinstance(fact, Sale) else disposition_state(fact.disposition)
        for part, each in BUNDLES.get(fact.sku, ((fact.sku, 1),)):
            units[(part, fact.location, stock)] += sign * fact.units * each
    elif isinstance(fact, StateMove):
        units[(fact.sku, FBA, fact.from_state)] -= fact.units
        units[(fact.sku, FBA, fact.to_state)] += fact.units
    elif isinstance(fact, (WriteOff, Removal)):
        units[(fact.sku, FBA, fact.state)] -= fact.units
        if isinstance(fact, Removal) and books.removal_location:
            units[(fact.sku, books.removal_location, "Inbound:Shipped")] += fact.units
    elif isinstance(fact, Adjustment) and fact.reason == "E":
        pass  # the first leg waits for its pair
    elif isinstance(fact, Adjustment) and fact.reason == "P":
        units[(fact.sku, FBA, "Available")] -= fact.quantity
        units[(fact.sku, FBA, "Unfulfillable")] += fact.quantity
    elif isinstance(fact, Adjustment):
        here = (fact.sku, FBA, disposition_state(fact.disposition))
        units[here] += fact.quantity
        if fact.reason == "M" and books.lost_to == "Researching":
            units[(fact.sku, FBA, "Researching")] += -fact.quantity
        if fact.reason == "F":
            units[(fact.sku, FBA, "Researching")] -= min(fact.quantity, researching)


def check(entries, state: InventoryState, units: Counter, currency="USD") -> None:
    for e in entries:
        balance(e, currency)
    journal: dict = {}
    for e in entries:
        for p in e.postings:
            if p.units is not None:
                u, v = journal.get((p.account, p.commodity), (0, D(0)))
                journal[(p.account, p.commodity)] = (u + int(p.units), v + p.amount)
    held = {(state_account(loc, stock), s): (sum(lot.units for lot in lots), state.value(s, loc, stock, currency))
            for (s, loc, stock), lots in state.holdings.items()}
    assert {k: v for k, v in journal.items() if v != (0, 0)} == {k: v for k, v in held.items() if v != (0, 0)}
    assert all(v == 0 for (u, v) in held.values() if u == 0)
    folded = {(state_account(loc, stock), s): u for (s, loc, stock), u in units.items() if u}
    assert folded == {k: u for k, (u, _) in held.items() if u}


@settings(max_examples=200, deadline=None)
@given(st.lists(op, min_size=5, max_size=60), st.sampled_from((FIFO, AVERAGE)), st.sampled_from(("Researching", "write-off")),
       st.sampled_from((None, WH)))
def test_units_fold_values_equal_the_accounts_and_every_entry_balances(items, method, lost_to, removal_to):
    books = Books("US", "USD", method, lambda lane, loc: (lane, loc) in LANES, BUNDLES, lost_to, removal_to)
    state, entries, units, day = InventoryState(), [], Counter(), date(2026, 1, 1)
    for i, item in enumerate(items):
        day += timedelta(days=1)
        batch = facts_of(i, item, day)
        try:
            done = post_all(batch, state, books)
        except (ShortOfUnits, LaneRefused):
            continue
        for fact in batch:
            researching = state.units(fact.sku, FBA, "Researching") if isinstance(fact, Adjustment) else 0
            fold(units, fact, bool(done.entries), books, researching)
        state = done.state
        entries.extend(done.entries)
    check(entries, state, units)


def test_a_year_of_tens_of_thousands_of_movements_posts_in_seconds():
    rng, books = random.Random(12), Books("US", "USD", FIFO, lambda lane, loc: True, BUNDLES)
    state, entries, start = InventoryState(), [], time.perf_counter()
    skus = [f"SKU-{k}" for k in range(200)]
    for day_no in range(365):
        day = date(2026, 1, 1) + timedelta(days=day_no)
        batch = [PurchaseReceipt(f"PO-{day_no}-{k}", "S", day, FBA, "USD",
                                 (PurchaseLine(s, 40, D(rng.choice(("3.10", "2.7", "1.2345")))),))
                 for k, s in enumerate(rng.sample(skus, 4))]
        for k in range(90):
            s = rng.choice(skus)
            if state.units(s, FBA, "Available") >= 2:
                batch.append(Sale(f"O-{day_no}-{k}", s, 1, FBA, day))
                if k % 10 == 0:
                    batch.append(CustomerReturn(f"O-{day_no}-{k}", s, 1, FBA, day, "SELLABLE"))
        done = post_all(batch, state, books)
        state = done.state
        entries.extend(done.entries)
    elapsed = time.perf_counter() - start
    assert len(entries) > 30_000 and elapsed < 30, (len(entries), elapsed)  # seconds, not minutes
    check(entries, state, Counter({k: sum(lot.units for lot in v) for k, v in state.holdings.items()}))
    assert post(Sale("x", "SKU-0", 1, FBA, date(2027, 1, 1)), state, books).state is not state
