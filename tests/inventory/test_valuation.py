"""Cost lots by hand: FIFO, moving average and specific lot, returns and landed cost, with the arithmetic written
out; then properties over random lots (conservation, oldest first, order independence). Pure: no database."""

import random
from datetime import date, timedelta
from decimal import Decimal as D

import pytest
from hypothesis import given, settings, strategies as st

from ledger_service.errors import Invalid
from ledger_service.inventory.model import (
    AVERAGE, FIFO, SPECIFIC, Lot, ReceiptLine, ShortOfUnits, Slice, UnknownLot,
)
from ledger_service.inventory.valuation import (
    average_holding, consume, holding_id, landed_cost, receive, receive_average, return_units, returned_slices,
    value_of,
)
from ledger_service.money import round_money

SKU, LOC = "NX-HD-1200", "FBA-US"


def lot(lot_id, day, unit_cost, units, value=None):
    return Lot(lot_id, SKU, LOC, day, D(unit_cost), units, None if value is None else D(value))


OLD = lot("PO-1:1", date(2026, 1, 5), "4.99", 3)
NEW = lot("PO-2:1", date(2026, 2, 1), "5.25", 10)


# -- FIFO -------------------------------------------------------------------------------------------------------

def test_fifo_takes_the_oldest_lot_first_slice_by_slice():
    # 5 units: all 3 of PO-1:1 at 4.99 = 14.97, then 2 of PO-2:1 at 5.25 = 10.50; COGS 25.47.
    # PO-2:1 keeps 8 units worth 52.50 - 10.50 = 42.00. Lots given newest first: sorted here.
    c = consume(FIFO, [NEW, OLD], 5, "USD")
    assert c.slices == (Slice("PO-1:1", 3, D("4.99"), D("14.97")), Slice("PO-2:1", 2, D("5.25"), D("10.50")))
    assert (c.units, c.cost) == (5, D("25.47"))
    assert c.remaining == (NEW._replace(units=8, value=D("42.00")),)


def test_fifo_same_day_lots_go_by_lot_id():
    a, b = lot("PO-7:2", date(2026, 3, 1), "2.00", 1), lot("PO-7:1", date(2026, 3, 1), "3.00", 1)
    assert consume(FIFO, [a, b], 1, "USD").slices == (Slice("PO-7:1", 1, D("3.00"), D("3.00")),)


def test_fifo_lot_with_a_landed_cost_of_more_decimals_keeps_its_cents():
    # 10 units at 1.2345 were received at round(12.345) = 12.35. Taking 3: 12.35 x 3/10 = 3.705 -> 3.71 (units x
    # unit cost would be 3.7035 -> 3.70, and the lot would end a cent over). Posted unit cost 3.71 / 3 = 1.236667
    # (3 x 1.236667 = 3.710001 -> 3.71). The last 7 units take what is left: 12.35 - 3.71 = 8.64.
    landed = lot("PO-3:1", date(2026, 1, 9), "1.2345", 10)
    first = consume(FIFO, [landed], 3, "USD")
    assert first.slices == (Slice("PO-3:1", 3, D("1.236667"), D("3.71")),)
    assert first.remaining == (landed._replace(units=7, value=D("8.64")),)
    last = consume(FIFO, first.remaining, 7, "USD")
    assert last.cost == D("8.64") and last.remaining == ()
    assert first.cost + last.cost == value_of(landed, "USD") == D("12.35")


def test_a_zero_unit_lot_is_skipped_and_dropped():
    c = consume(FIFO, [OLD._replace(units=0), NEW], 1, "USD")
    assert [s.lot_id for s in c.slices] == ["PO-2:1"] and [x.lot_id for x in c.remaining] == ["PO-2:1"]


# -- specific lot ----------------------------------------------------------------------------------------------

def test_specific_takes_only_the_named_lot():
    # 2 of PO-2:1 at 5.25 = 10.50, although PO-1:1 is older.
    c = consume(SPECIFIC, [OLD, NEW], 2, "USD", lot_id="PO-2:1")
    assert c.slices == (Slice("PO-2:1", 2, D("5.25"), D("10.50")),)
    assert c.remaining == (OLD, NEW._replace(units=8, value=D("42.00")))


def test_specific_refuses_an_unknown_lot_and_a_short_one():
    with pytest.raises(UnknownLot, match="PO-9:1"):
        consume(SPECIFIC, [OLD, NEW], 1, "USD", lot_id="PO-9:1")
    with pytest.raises(ShortOfUnits) as err:
        consume(SPECIFIC, [OLD, NEW], 4, "USD", lot_id="PO-1:1")  # 13 held in all, but PO-1:1 has 3
    assert (err.value.lot_id, err.value.wanted, err.value.held) == ("PO-1:1", 4, 3)


def test_a_lot_id_is_for_specific_lot_only():
    with pytest.raises(Invalid, match="specific"):
        consume(FIFO, [OLD], 1, "USD", lot_id="PO-1:1")
    with pytest.raises(Invalid, match="specific"):
        consume(SPECIFIC, [OLD], 1, "USD")


# -- moving average ----------------------------------------------------------------------------------------------

def test_moving_average_reaverages_on_receipt():
    # 3 at 10.00 (30.00) then 7 at 12.50 (87.50): 10 units worth 117.50, average 11.75.
    # Selling 4 costs 117.50 x 4/10 = 47.00; 6 units worth 70.50 stay, still 11.75 each.
    h = average_holding(SKU, LOC, date(2026, 1, 1))
    h = receive_average(h, 3, D("10.00"), "USD", date(2026, 1, 2))
    h = receive_average(h, 7, D("12.50"), "USD", date(2026, 1, 20))
    assert (h.units, h.value, h.unit_cost, h.received) == (10, D("117.50"), D("11.75"), date(2026, 1, 20))
    c = consume(AVERAGE, [h], 4, "USD")
    assert c.slices == (Slice(holding_id(SKU, LOC), 4, D("11.75"), D("47.00")),)
    assert c.remaining == (h._replace(units=6, value=D("70.50")),)


def test_average_residue_the_last_unit_takes_what_is_left():
    # 3 units worth 100.00 (average 33.333333). One at a time: 100.00/3 = 33.333 -> 33.33, leaving 66.67 for 2;
    # 66.67/2 = 33.335 -> 33.34 (half up), leaving 33.33 for 1; the last unit takes 33.33 exactly.
    # 33.33 + 33.34 + 33.33 = 100.00 and the emptied holding is worth 0.00 (3 x round(33.333333) = 99.99 would
    # have left a stray cent).
    h = receive_average(average_holding(SKU, LOC, date(2026, 1, 1)), 3, D("33.333333"), "USD")
    assert (h.value, h.unit_cost) == (D("100.00"), D("33.333333"))
    costs = []
    for _ in range(3):
        c = consume(AVERAGE, [h], 1, "USD")
        costs.append(c.cost)
        (h,) = c.remaining
        assert round_money(c.slices[0].units * c.slices[0].unit_cost, "USD") == c.cost  # postable
    assert costs == [D("33.33"), D("33.34"), D("33.33")]
    assert (h.units, h.value) == (0, D("0.00"))


def test_average_pools_lots_given_as_separate_receipts():
    # 3 x 4.99 = 14.97 plus 10 x 5.25 = 52.50: 13 units worth 67.47, average 5.19 exactly; 2 cost 10.38.
    c = consume(AVERAGE, [NEW, OLD], 2, "USD")
    assert c.cost == D("10.38") and c.remaining[0].units == 11 and c.remaining[0].value == D("57.09")


# -- errors ------------------------------------------------------------------------------------------------------

def test_short_of_units_names_sku_location_wanted_and_held():
    with pytest.raises(ShortOfUnits) as err:
        consume(FIFO, [OLD, NEW], 14, "USD")
    assert (err.value.sku, err.value.location, err.value.wanted, err.value.held) == (SKU, LOC, 14, 13)
    assert err.value.message == f"short of units: 14 of {SKU} at {LOC} wanted, 13 held (short 1)"
    with pytest.raises(ShortOfUnits, match="short of units: 1 of OTHER at WH-NJ wanted, 0 held"):
        consume(AVERAGE, [], 1, "USD", sku="OTHER", location="WH-NJ")


@pytest.mark.parametrize("units", [0, -1, D("1.5"), True, 2.0, D("NaN")])
def test_units_must_be_a_positive_whole_number(units):
    with pytest.raises(Invalid):
        consume(FIFO, [NEW], units, "USD")


def test_lots_of_another_sku_a_duplicate_id_or_an_unknown_method_are_refused():
    with pytest.raises(Invalid, match="one SKU at one location"):
        consume(FIFO, [OLD, NEW._replace(sku="OTHER")], 1, "USD")
    with pytest.raises(Invalid, match="given twice"):
        consume(FIFO, [OLD, OLD], 1, "USD")
    with pytest.raises(Invalid, match="valuation method"):
        consume("lifo", [OLD], 1, "USD")
    with pytest.raises(Invalid, match="worth"):
        consume(FIFO, [OLD._replace(units=0, value=D("1.00"))], 1, "USD")


# -- returns -----------------------------------------------------------------------------------------------------

def test_fifo_return_reopens_the_lots_at_the_cost_they_left_with():
    # The sale took 3 of PO-1:1 (14.97) and 2 of PO-2:1 (10.50). 3 come back, the last taken first: 2 of PO-2:1
    # at 10.50, then 1 of PO-1:1 at 14.97 x 1/3 = 4.99. PO-2:1 is back to 10 units worth 52.50; PO-1:1, emptied,
    # is re-opened from the lot as received (its date keeps it first in FIFO order) with 1 unit worth 4.99.
    sale = consume(FIFO, [OLD, NEW], 5, "USD")
    back = returned_slices(sale.slices, 3, "USD")
    assert back == (Slice("PO-2:1", 2, D("5.25"), D("10.50")), Slice("PO-1:1", 1, D("4.99"), D("4.99")))
    lots = return_units(FIFO, sale.remaining, back[0], "USD")
    assert lots == (NEW._replace(value=D("52.50")),)
    with pytest.raises(UnknownLot, match="PO-1:1"):
        return_units(FIFO, lots, back[1], "USD")
    lots = return_units(FIFO, lots, back[1], "USD", lot=OLD)
    assert lots == (OLD._replace(units=1, value=D("4.99")), NEW._replace(value=D("52.50")))
    assert consume(FIFO, lots, 1, "USD").slices[0].lot_id == "PO-1:1"


def test_average_return_comes_back_at_its_cost_and_reaverages():
    # 10 units worth 117.50 (11.75); 4 sold for 47.00; 4 received at 15.00 (60.00): 10 units worth 130.50.
    # 2 of the 4 sold come back at 47.00 x 2/4 = 23.50: 12 units worth 154.00, average 12.833333.
    h = receive_average(average_holding(SKU, LOC, date(2026, 1, 1)), 10, D("11.75"), "USD")
    sale = consume(AVERAGE, [h], 4, "USD")
    (h,) = receive(AVERAGE, sale.remaining, lot("PO-5:1", date(2026, 2, 1), "15.00", 4), "USD")
    assert (h.units, h.value, h.unit_cost) == (10, D("130.50"), D("13.05"))
    (back,) = returned_slices(sale.slices, 2, "USD")
    assert back.cost == D("23.50")
    (h,) = return_units(AVERAGE, [h], back, "USD")
    assert (h.units, h.value, h.unit_cost) == (12, D("154.00"), D("12.833333"))


def test_a_return_of_more_than_was_taken_is_refused():
    sale = consume(FIFO, [OLD], 2, "USD")
    with pytest.raises(Invalid, match="3 units returned, but the consumption took 2"):
        returned_slices(sale.slices, 3, "USD")


def test_receiving_a_lot_id_already_held_or_no_units_is_refused():
    with pytest.raises(Invalid, match="given twice"):
        receive(FIFO, [OLD, NEW], OLD._replace(units=1), "USD")
    with pytest.raises(Invalid, match="positive"):
        receive(AVERAGE, [], NEW._replace(units=0), "USD")


# -- landed cost -------------------------------------------------------------------------------------------------

def test_landed_cost_by_units_residue_to_the_largest_line():
    # 0.10 over 2 + 1 + 1 units: 0.05, 0.025 -> 0.03, 0.025 -> 0.03 = 0.11; residue -0.01 to the 2-unit line.
    lines = [ReceiptLine(2, D("1.00")), ReceiptLine(1, D("1.00")), ReceiptLine(1, D("1.00"))]
    landed = landed_cost(lines, D("0.10"), "units", "USD")
    assert landed.charges == (D("0.04"), D("0.03"), D("0.03"))
    assert landed.values == (D("2.04"), D("1.03"), D("1.03")) and landed.total == D("4.10")
    assert landed.unit_costs == (D("1.02"), D("1.03"), D("1.03"))


def test_landed_cost_by_value():
    # Lines worth 3 x 10.00 = 30.00 and 7 x 2.50 = 17.50 (47.50); freight 0.60 + duty 0.40 = 1.00:
    # 30/47.5 = 0.6316 -> 0.63, 17.5/47.5 = 0.3684 -> 0.37; no residue. 17.87 / 7 = 2.552857 (7 x 2.552857 =
    # 17.869999 -> 17.87).
    lines = [ReceiptLine(3, D("10.00")), ReceiptLine(7, D("2.50"))]
    landed = landed_cost(lines, [D("0.60"), D("0.40")], "value", "USD")
    assert landed.charges == (D("0.63"), D("0.37")) and landed.values == (D("30.63"), D("17.87"))
    assert landed.unit_costs == (D("10.21"), D("2.552857")) and landed.total == D("48.50")


def test_landed_cost_by_weight_residue_to_the_heaviest_line():
    # Weights 3 x 0.5 = 1.5, 7 x 0.1 = 0.7, 1 x 0.8 = 0.8 (3.0 kg); freight 10.01: 5.005 -> 5.01,
    # 2.335667 -> 2.34, 2.669333 -> 2.67 = 10.02; residue -0.01 to the 1.5 kg line: 5.00.
    lines = [ReceiptLine(3, D("4.00"), D("0.5")), ReceiptLine(7, D("1.00"), D("0.1")),
             ReceiptLine(1, D("9.99"), D("0.8"))]
    landed = landed_cost(lines, D("10.01"), "weight", "USD")
    assert landed.charges == (D("5.00"), D("2.34"), D("2.67"))
    assert landed.values == (D("17.00"), D("9.34"), D("12.66"))
    assert landed.total == D("12.00") + D("7.00") + D("9.99") + D("10.01") == D("39.00")
    assert landed.unit_costs == (D("5.666667"), D("1.334286"), D("12.66"))


def test_landed_cost_refusals():
    line = ReceiptLine(1, D("1.00"))
    with pytest.raises(Invalid, match="unit weight"):
        landed_cost([line], D("1.00"), "weight", "USD")
    with pytest.raises(Invalid, match="rule"):
        landed_cost([line], D("1.00"), "volume", "USD")
    with pytest.raises(Invalid, match="decimals"):
        landed_cost([line], D("1.005"), "units", "USD")
    with pytest.raises(Invalid, match="total value is zero"):
        landed_cost([ReceiptLine(1, D("0"))], D("1.00"), "value", "USD")
    with pytest.raises(Invalid, match="at least one line"):
        landed_cost([], D("1.00"), "units", "USD")


# -- properties --------------------------------------------------------------------------------------------------

costs = st.decimals(min_value=D("0"), max_value=D("500"), places=4)
lot_specs = st.lists(st.tuples(st.integers(0, 40), costs, st.integers(1, 60)), min_size=1, max_size=8)


def make_lots(specs):
    return [lot(f"PO-{i}:1", date(2026, 1, 1) + timedelta(days=day), str(c), n) for i, (day, c, n) in enumerate(specs)]


def total_value(lots):
    return sum((value_of(x, "USD") for x in lots), D(0))


@settings(max_examples=150, deadline=None)
@given(specs=lot_specs, method=st.sampled_from([FIFO, AVERAGE, SPECIFIC]), data=st.data())
def test_conservation_units_and_value(specs, method, data):
    lots = make_lots(specs)
    named = data.draw(st.sampled_from(lots)) if method == SPECIFIC else None
    held = named.units if named else sum(x.units for x in lots)
    n = data.draw(st.integers(1, held))
    c = consume(method, lots, n, "USD", lot_id=named.lot_id if named else None)
    assert sum(s.units for s in c.slices) == c.units == n
    assert sum(s.cost for s in c.slices) == c.cost
    assert sum(x.units for x in c.remaining) == sum(x.units for x in lots) - n
    assert total_value(lots) == c.cost + total_value(c.remaining)
    for s in c.slices:
        assert s.cost >= 0 and round_money(s.units * s.unit_cost, "USD") == s.cost  # journal.model's check
    if all(D(str(cost)) == round_money(D(str(cost)), "USD") for _, cost, _ in specs) and method != AVERAGE:
        assert all(s.cost == s.units * dict((x.lot_id, x.unit_cost) for x in lots)[s.lot_id] for s in c.slices)


@settings(max_examples=150, deadline=None)
@given(specs=lot_specs, data=st.data())
def test_fifo_takes_oldest_first_and_ignores_input_order(specs, data):
    lots = make_lots(specs)
    n = data.draw(st.integers(1, sum(x.units for x in lots)))
    c = consume(FIFO, lots, n, "USD")
    shuffled = list(lots)
    random.Random(data.draw(st.integers(0, 2**32))).shuffle(shuffled)
    assert consume(FIFO, shuffled, n, "USD") == c
    ordered = sorted(lots, key=lambda x: (x.received, x.lot_id))
    taken = [s.lot_id for s in c.slices]
    assert taken == [x.lot_id for x in ordered[:len(taken)]]  # a prefix of the lot order
    assert all(s.units == x.units for s, x in zip(c.slices[:-1], ordered))  # all but the last emptied
    assert c.remaining[len(c.remaining) - (len(ordered) - len(taken)):] == tuple(ordered[len(taken):])


@settings(max_examples=100, deadline=None)
@given(steps=st.lists(st.tuples(st.booleans(), st.integers(1, 30), costs), min_size=1, max_size=30))
def test_average_holding_never_negative_and_empty_means_zero(steps):
    h, value_in, value_out = average_holding(SKU, LOC, date(2026, 1, 1)), D(0), D(0)
    for is_receipt, n, cost in steps:
        if is_receipt or h.units == 0:
            h = receive_average(h, n, cost, "USD")
            value_in += round_money(n * cost, "USD")
        else:
            c = consume(AVERAGE, [h], min(n, h.units), "USD")
            (h,), value_out = c.remaining, value_out + c.cost
        assert h.value >= 0 and value_in == value_out + h.value
        assert h.units > 0 or h.value == 0


@settings(max_examples=100, deadline=None)
@given(lines=st.lists(st.tuples(st.integers(1, 500), costs, st.decimals(D("0.001"), D("50"), places=3)),
                      min_size=1, max_size=6),
       charge=st.integers(0, 100000), rule=st.sampled_from(["units", "value", "weight"]))
def test_landed_cost_total_is_lines_plus_charges(lines, charge, rule):
    receipt = [ReceiptLine(n, c, w) for n, c, w in lines]
    if rule == "value" and all(round_money(n * c, "USD") == 0 for n, c, _ in lines):
        return
    landed = landed_cost(receipt, D(charge) / 100, rule, "USD")
    assert landed.total == sum((round_money(n * c, "USD") for n, c, _ in lines), D(0)) + D(charge) / 100
    assert sum(landed.charges, D(0)) == D(charge) / 100
    for line, value, cost in zip(receipt, landed.values, landed.unit_costs):
        assert round_money(line.units * cost, "USD") == value
