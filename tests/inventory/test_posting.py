"""Posting unit movements by hand: a purchase with freight, a transfer to FBA with a shortage that is researched,
written off and found, FIFO sales across two lots, returns by disposition, a removal, a bundle, adjustments by
reason code, a cross-lane sale refused and a flagged movement. The arithmetic is written out beside each check.
Every entry produced is balanced by journal.model.balance. Pure: no database."""

from datetime import date
from decimal import Decimal as D

import pytest
from hypothesis import given, settings, strategies as st

from ledger_service.errors import Invalid
from ledger_service.inventory.adjustments import pending_legs
from ledger_service.inventory.facts import (
    Adjustment, CustomerReturn, FbaReceipt, Flagged, InboundShipment, PurchaseLine, PurchaseReceipt, Removal, Sale,
    StateMove, WhseTransfer, WriteOff, from_movement, state_account,
)
from ledger_service.inventory.holdings import InventoryState
from ledger_service.inventory.model import AVERAGE, BY_UNITS, Lot, ShortOfUnits
from ledger_service.inventory.moves import Books, LaneRefused, slice_postings
from ledger_service.inventory.posting import post, post_all
from ledger_service.inventory.valuation import consume
from ledger_service.journal.model import balance, units_posting
from ledger_service.sources.model import InventoryMovement, SourceRef

LANES = {("FBA", "FBA-US"), ("FBM", "WH-NJ")}
BOOKS = Books("US", "USD", allowed=lambda lane, location: (lane, location) in LANES,
              bundles={"KIT-1": (("WIDGET", 2), ("GADGET", 1))})
WH, FBA = "WH-NJ", "FBA-US"


def run(facts, books=BOOKS, state=None):
    done = post_all(facts, state or InventoryState(), books)
    for e in done.entries:
        balance(e, "USD")
    return done


def lines(entry):
    """(account, sku or None, units, amount, lot) per posting; money postings have no units."""
    return [(p.account.replace("Assets:Inventory:", ""), p.commodity, None if p.units is None else int(p.units),
             p.amount, p.dimension("lot")) for p in entry.postings]


PO1 = PurchaseReceipt("PO-1", "Acme", date(2026, 1, 5), WH, "USD",
                      (PurchaseLine("WIDGET", 10, D("4.00")), PurchaseLine("GADGET", 5, D("2.00"))),
                      (D("3.00"),), BY_UNITS)
PO2 = PurchaseReceipt("PO-2", "Acme", date(2026, 2, 1), WH, "USD", (PurchaseLine("WIDGET", 4, D("5.00")),))
TO_FBA = [
    InboundShipment("FBA1", "WIDGET", 6, WH, FBA, date(2026, 1, 10), "working"),
    InboundShipment("FBA1", "WIDGET", 6, WH, FBA, date(2026, 1, 11), "shipped"),
    FbaReceipt("FBA1", "WIDGET", 5, FBA, date(2026, 1, 15)),  # one short: it stays in Inbound:Shipped
    StateMove("research-1", "WIDGET", 1, FBA, "Inbound:Shipped", "Researching", date(2026, 2, 1)),
    WriteOff("lost-1", "WIDGET", 1, FBA, "Researching", date(2026, 3, 1)),
]
FOUND = Adjustment("adj-F", "WIDGET", 1, FBA, date(2026, 3, 10), "SELLABLE", "F")
# The second shipment takes the warehouse's oldest units first: the 4 left of PO-1:1, then the 4 of PO-2:1.
SECOND_LOT = [PO2, InboundShipment("FBA2", "WIDGET", 8, WH, FBA, date(2026, 2, 5), "working"),
              InboundShipment("FBA2", "WIDGET", 8, WH, FBA, date(2026, 2, 6), "shipped"),
              InboundShipment("FBA2", "WIDGET", 8, WH, FBA, date(2026, 2, 7), "receiving"),
              FbaReceipt("FBA2", "WIDGET", 8, FBA, date(2026, 2, 9))]
SALES = [Sale("111", "WIDGET", 4, FBA, date(2026, 3, 12)), Sale("222", "WIDGET", 8, FBA, date(2026, 3, 13))]


def test_purchase_receipt_creates_lots_at_landed_cost():
    # Freight 3.00 spread by units over 15 units: WIDGET 10/15 = 2.00, GADGET 5/15 = 1.00.
    # WIDGET 10 x 4.00 + 2.00 = 42.00 -> 4.20 a unit; GADGET 5 x 2.00 + 1.00 = 11.00 -> 2.20. AP: 50.00 + 3.00.
    done = run([PO1])
    (e,) = done.entries
    assert lines(e) == [("WH-NJ:Available", "WIDGET", 10, D("42.00"), "PO-1:1"),
                        ("WH-NJ:Available", "GADGET", 5, D("11.00"), "PO-1:2"),
                        ("Liabilities:AccountsPayable", None, None, D("-50.00"), None),
                        ("Liabilities:AccountsPayable", None, None, D("-3.00"), None)]
    assert [(lot.lot_id, lot.unit_cost, lot.units) for lot in done.state.lots_at("WIDGET", WH, "Available")] == [
        ("PO-1:1", D("4.2"), 10)]
    with pytest.raises(Invalid, match="already received"):
        run([PO1], state=done.state)


def test_transfer_to_fba_shortage_researched_written_off_then_found():
    done = run([PO1, *TO_FBA])
    working, shipped, received, research, loss = done.entries[1:]
    # 6 x 4.20 = 25.20 leaves the warehouse for FBA-US Inbound:Working, then moves on to Inbound:Shipped.
    assert lines(working) == [("FBA-US:Inbound:Working", "WIDGET", 6, D("25.20"), "PO-1:1"),
                              ("WH-NJ:Available", "WIDGET", -6, D("-25.20"), "PO-1:1")]
    assert lines(shipped)[0] == ("FBA-US:Inbound:Shipped", "WIDGET", 6, D("25.20"), "PO-1:1")
    # Amazon receives 5 (21.00); the sixth unit (4.20) stays inbound, then goes to Researching, then is lost.
    assert lines(received) == [("FBA-US:Available", "WIDGET", 5, D("21.00"), "PO-1:1"),
                               ("FBA-US:Inbound:Shipped", "WIDGET", -5, D("-21.00"), "PO-1:1")]
    assert lines(research)[0] == ("FBA-US:Researching", "WIDGET", 1, D("4.20"), "PO-1:1")
    assert lines(loss) == [("FBA-US:Researching", "WIDGET", -1, D("-4.20"), "PO-1:1"),
                           ("Expenses:Inventory:WriteOff:Lost", None, None, D("4.20"), None)]
    s = done.state
    assert (s.units("WIDGET", FBA, "Inbound:Shipped"), s.units("WIDGET", FBA, "Researching")) == (0, 0)
    # A unit found later reverses the loss at the cost it was written off: 4.20 back into Available.
    found = run([FOUND], state=s)
    assert lines(found.entries[0]) == [("FBA-US:Available", "WIDGET", 1, D("4.20"), "PO-1:1"),
                                       ("Expenses:Inventory:WriteOff:Lost", None, None, D("-4.20"), None)]
    assert found.state.units("WIDGET", FBA, "Available") == 6 and found.exceptions == ()


def test_found_unit_still_researching_comes_back_from_researching():
    done = run([PO1, *TO_FBA[:4], FOUND])
    assert lines(done.entries[-1]) == [("FBA-US:Available", "WIDGET", 1, D("4.20"), "PO-1:1"),
                                       ("FBA-US:Researching", "WIDGET", -1, D("-4.20"), "PO-1:1")]


def test_two_fifo_sales_across_two_lots_then_returns_by_disposition_and_a_removal():
    done = run([PO1, *TO_FBA, *SECOND_LOT, FOUND, *SALES])
    first, second = done.entries[-2:]
    # FBA-US Available: PO-1:1 10 @ 4.20 (5 + 4 received, 1 found), PO-2:1 4 @ 5.00.
    # Sale 111: 4 x 4.20 = 16.80. Sale 222: 6 x 4.20 = 25.20 (PO-1:1 emptied) + 2 x 5.00 = 10.00; COGS 35.20.
    assert lines(first) == [("FBA-US:Available", "WIDGET", -4, D("-16.80"), "PO-1:1"),
                            ("Expenses:COGS", None, None, D("16.80"), None)]
    assert lines(second) == [("FBA-US:Available", "WIDGET", -6, D("-25.20"), "PO-1:1"),
                             ("FBA-US:Available", "WIDGET", -2, D("-10.00"), "PO-2:1"),
                             ("Expenses:COGS", None, None, D("35.20"), None)]
    assert first.date == date(2026, 3, 12) and first.postings[0].dimension("order_id") == "111"
    # A sellable return of one unit of 222 comes back at the cost it left with: the last slice, PO-2:1 at 5.00
    # (not today's FIFO cost), COGS reversed. A damaged one goes to Unfulfillable at 5.00, COGS reversed too.
    back = run([CustomerReturn("222", "WIDGET", 1, FBA, date(2026, 3, 20), "SELLABLE"),
                CustomerReturn("222", "WIDGET", 1, FBA, date(2026, 3, 21), "CUSTOMER_DAMAGED"),
                Removal("RM-1", "WIDGET", 1, FBA, date(2026, 3, 25), "Unfulfillable")], state=done.state)
    sellable, damaged, removal = back.entries
    assert lines(sellable) == [("FBA-US:Available", "WIDGET", 1, D("5.00"), "PO-2:1"),
                               ("Expenses:COGS", None, None, D("-5.00"), None)]
    assert lines(damaged) == [("FBA-US:Unfulfillable", "WIDGET", 1, D("5.00"), "PO-2:1"),
                              ("Expenses:COGS", None, None, D("-5.00"), None)]
    # The removal (disposed: no removal location) takes the unfulfillable unit out at 5.00 to shrinkage.
    assert lines(removal) == [("FBA-US:Unfulfillable", "WIDGET", -1, D("-5.00"), "PO-2:1"),
                              ("Expenses:Inventory:Shrinkage", None, None, D("5.00"), None)]
    s = back.state
    assert [(lot.lot_id, lot.units) for lot in s.lots_at("WIDGET", FBA, "Available")] == [("PO-2:1", 3)]
    assert s.value("WIDGET", FBA, "Available", "USD") == D("15.00") and s.units("WIDGET", FBA, "Unfulfillable") == 0
    # Sale 222's memory now holds its six PO-1:1 units only: a third return comes back at 4.20.
    third = run([CustomerReturn("222", "WIDGET", 1, FBA, date(2026, 3, 22), "SELLABLE")], state=s)
    assert lines(third.entries[0])[0] == ("FBA-US:Available", "WIDGET", 1, D("4.20"), "PO-1:1")


def test_awaiting_inspection_goes_to_returns_hold_and_a_removal_to_the_warehouse():
    books = BOOKS._replace(removal_location=WH)
    done = run([PO1, *TO_FBA[:3], SALES[0],
                CustomerReturn("111", "WIDGET", 1, FBA, date(2026, 3, 20), "AWAITING_INSPECTION"),
                Removal("RM-2", "WIDGET", 1, FBA, date(2026, 3, 25))], books)
    hold, removal = done.entries[-2:]
    assert lines(hold)[0] == ("FBA-US:ReturnsHold", "WIDGET", 1, D("4.20"), "PO-1:1")
    assert lines(removal) == [("WH-NJ:Inbound:Shipped", "WIDGET", 1, D("4.20"), "PO-1:1"),
                              ("FBA-US:Available", "WIDGET", -1, D("-4.20"), "PO-1:1")]


def test_a_return_of_an_unknown_order_comes_back_at_the_current_cost_and_is_flagged():
    done = run([PO1, *TO_FBA[:3], CustomerReturn("999", "WIDGET", 1, FBA, date(2026, 3, 20), "SELLABLE")])
    assert lines(done.entries[-1]) == [("FBA-US:Available", "WIDGET", 1, D("4.20"), "PO-1:1"),
                                       ("Expenses:COGS", None, None, D("-4.20"), None)]
    assert [x.kind for x in done.exceptions] == ["return-without-sale"]
    nothing = run([CustomerReturn("999", "GIZMO", 1, FBA, date(2026, 3, 20), "SELLABLE", key="k1")])
    assert nothing.entries == () and [x.kind for x in nothing.exceptions] == ["return-without-cost"]


def test_a_bundle_sale_consumes_its_components_and_its_return_restores_them():
    # KIT-1 = 2 WIDGET + 1 GADGET, sold by the FBM lane from the warehouse: 2 x 4.20 + 1 x 2.20 = 10.60.
    done = run([PO1, Sale("333", "KIT-1", 1, WH, date(2026, 1, 20), lane="FBM")])
    assert lines(done.entries[-1]) == [("WH-NJ:Available", "WIDGET", -2, D("-8.40"), "PO-1:1"),
                                       ("Expenses:COGS", None, None, D("8.40"), None),
                                       ("WH-NJ:Available", "GADGET", -1, D("-2.20"), "PO-1:2"),
                                       ("Expenses:COGS", None, None, D("2.20"), None)]
    assert {p.dimension("bundle") for p in done.entries[-1].postings} == {"KIT-1"}
    back = run([CustomerReturn("333", "KIT-1", 1, WH, date(2026, 1, 25), "SELLABLE", lane="FBM")], state=done.state)
    assert back.state.units("WIDGET", WH, "Available") == 10 and back.state.units("GADGET", WH, "Available") == 5


def test_a_movement_outside_its_lane_is_refused_naming_lane_and_location():
    with pytest.raises(LaneRefused, match="lane FBA may not draw units from location WH-NJ"):
        run([PO1, Sale("444", "WIDGET", 1, WH, date(2026, 1, 20), lane="FBA")])


def test_too_few_units_is_refused_naming_the_state():
    with pytest.raises(ShortOfUnits, match="WIDGET at FBA-US Available"):
        run([PO1, Sale("555", "WIDGET", 1, FBA, date(2026, 1, 20))])


def _movement(event_type, quantity, disposition="SELLABLE", reason=None, reference="ref", flags=()):
    return InventoryMovement(f"inventory-ledger:{event_type}:{quantity}:{reason}", date(2026, 3, 1), None, "X00A",
                             "B00A", "WIDGET", "Widget", event_type, reference, quantity, "PHX7", disposition, reason,
                             "US", None, None, SourceRef("amazon-inventory-ledger", "f.tsv", "0" * 64, 2, None, ""),
                             flags)


def test_inventory_ledger_rows_become_facts_and_flagged_rows_exception_items():
    assert from_movement(_movement("Shipments", -2), FBA) == Sale("ref", "WIDGET", 2, FBA, date(2026, 3, 1), "FBA",
                                                                  None, "inventory-ledger:Shipments:-2:None")
    assert isinstance(from_movement(_movement("Receipts", 3, "CARRIER_DAMAGED"), FBA), FbaReceipt)
    assert from_movement(_movement("Receipts", 3, "CARRIER_DAMAGED"), FBA).state == "Unfulfillable"
    assert isinstance(from_movement(_movement("WhseTransfers", -1), FBA), WhseTransfer)
    assert from_movement(_movement("Shipments", 2), FBA).flags == ("unexpected-sign",)
    flagged = from_movement(_movement("Adjustments", -1, reason="X", flags=("unknown-reason",)), FBA)
    assert isinstance(flagged, Flagged)
    done = run([flagged, from_movement(_movement("WhseTransfers", -1), FBA)])
    assert done.entries == () and [(x.kind, x.key) for x in done.exceptions] == [
        ("unknown-reason", "inventory-ledger:Adjustments:-1:X")]


def test_adjustment_legs_pair_into_one_move_and_reasons_follow_the_table():
    start = run([PO1, *TO_FBA[:3]]).state  # FBA-US Available: 5 WIDGET at 4.20
    e_leg = Adjustment("adj-E", "WIDGET", -1, FBA, date(2026, 3, 1), "SELLABLE", "E")
    p_leg = Adjustment("adj-P", "WIDGET", 1, FBA, date(2026, 3, 1), "WAREHOUSE_DAMAGED", "P")
    waiting = run([e_leg], state=start)
    assert waiting.entries == () and pending_legs(waiting.state) == (e_leg,)
    paired = run([p_leg], state=waiting.state)
    assert lines(paired.entries[0]) == [("FBA-US:Unfulfillable", "WIDGET", 1, D("4.20"), "PO-1:1"),
                                        ("FBA-US:Available", "WIDGET", -1, D("-4.20"), "PO-1:1")]
    assert pending_legs(paired.state) == ()
    # H then P (customer damaged -> warehouse damaged): one state account, nothing posts.
    h = run([Adjustment("h", "WIDGET", -1, FBA, date(2026, 3, 2), "CUSTOMER_DAMAGED", "H"),
             Adjustment("p", "WIDGET", 1, FBA, date(2026, 3, 2), "WAREHOUSE_DAMAGED", "P")], state=paired.state)
    assert h.entries == () and pending_legs(h.state) == ()
    # M (misplaced) moves to Researching; with lost_to="write-off" it is written off at once. D disposes at cost.
    m = Adjustment("m", "WIDGET", -1, FBA, date(2026, 3, 3), "SELLABLE", "M")
    assert lines(run([m], state=start).entries[0])[0] == ("FBA-US:Researching", "WIDGET", 1, D("4.20"), "PO-1:1")
    written = run([m], BOOKS._replace(lost_to="write-off"), start)
    assert lines(written.entries[0])[1] == ("Expenses:Inventory:WriteOff:Lost", None, None, D("4.20"), None)
    d = run([Adjustment("d", "WIDGET", -2, FBA, date(2026, 3, 3), "SELLABLE", "D")], state=start)
    assert lines(d.entries[0])[-1] == ("Expenses:Inventory:Shrinkage", None, None, D("8.40"), None)
    # A sign the table does not document is an exception item, not a guess.
    wrong = run([Adjustment("w", "WIDGET", 1, FBA, date(2026, 3, 3), "SELLABLE", "M")], state=start)
    assert wrong.entries == () and [x.kind for x in wrong.exceptions] == ["unexpected-sign"]


def test_catalog_transfer_moves_units_and_cost_to_the_other_sku():
    start = run([PO1, *TO_FBA[:3]]).state
    done = run([Adjustment("4", "WIDGET", -2, FBA, date(2026, 3, 1), "SELLABLE", "4"),
                Adjustment("3", "WIDGET-V2", 2, FBA, date(2026, 3, 1), "SELLABLE", "3")], state=start)
    assert lines(done.entries[0]) == [("FBA-US:Available", "WIDGET-V2", 2, D("8.40"), "PO-1:1"),
                                      ("FBA-US:Available", "WIDGET", -2, D("-8.40"), "PO-1:1")]
    assert done.state.units("WIDGET-V2", FBA, "Available") == 2


def test_moving_average_moves_units_at_the_average():
    # WH-NJ WIDGET: 10 at 4.20 (42.00) + 4 at 5.00 (20.00) = 62.00 / 14 = 4.428571; 7 units cost 31.00.
    books = BOOKS._replace(method=AVERAGE)
    done = run([PO1, PO2, InboundShipment("S", "WIDGET", 7, WH, FBA, date(2026, 2, 2), "working")], books)
    assert lines(done.entries[-1])[0][3] == D("31.00")
    assert done.state.value("WIDGET", WH, "Available", "USD") == D("31.00")


def test_a_foreign_currency_receipt_is_refused():
    with pytest.raises(Invalid, match="functional currency USD"):
        run([PO1._replace(currency="EUR")])


def test_accounts_are_named_in_one_place():
    assert state_account("FBA-US", "Inbound:Shipped") == "Assets:Inventory:FBA-US:Inbound:Shipped"
    with pytest.raises(ValueError):
        state_account("FBA-US", "Lost")
    with pytest.raises(Invalid, match="no posting rule"):
        post(object(), InventoryState(), BOOKS)


def test_specific_lot_sales_name_their_lot_and_only_they_do():
    books = BOOKS._replace(method="specific")
    done = run([PO1, PO2, Sale("666", "WIDGET", 2, WH, date(2026, 2, 3), "FBM", lot_id="PO-2:1")], books)
    assert lines(done.entries[-1])[0] == ("WH-NJ:Available", "WIDGET", -2, D("-10.00"), "PO-2:1")
    with pytest.raises(Invalid, match="a lot is named on a sale"):
        run([PO1, Sale("667", "WIDGET", 1, WH, date(2026, 2, 3), "FBM")], books)
    with pytest.raises(Invalid, match="a lot is named on a sale"):
        run([PO1, Sale("668", "WIDGET", 1, WH, date(2026, 2, 3), "FBM", lot_id="PO-1:1")])


def test_a_lane_check_that_raises_is_used_as_it_is():
    def check_lane(lane, location):  # the catalog's locations.model.check_lane: raises, else returns None
        if (lane, location) not in LANES:
            raise Invalid(f"lane {lane} may not draw from {location}")

    books = BOOKS._replace(allowed=check_lane)
    assert run([PO1, Sale("777", "WIDGET", 1, WH, date(2026, 1, 20), lane="FBM")], books).entries
    with pytest.raises(Invalid, match="lane FBA may not draw from WH-NJ"):
        run([PO1, Sale("778", "WIDGET", 1, WH, date(2026, 1, 20), lane="FBA")], books)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 500), st.decimals(D("0"), D("99.9999"), places=4)), min_size=1,
                max_size=4), st.sampled_from(["USD", "JPY"]), st.sampled_from([1, -1]),
       st.sampled_from([{}, {"order_id": "113-1"}, {"bundle": "KIT-1", "order_id": "113-1"}, {"reference": "x"}]))
def test_slice_postings_are_the_journals_units_postings(lots, currency, sign, dims):
    """moves.slice_postings builds each posting directly (the slice's cost as its amount, the lot put in its sorted
    place among the dimensions): the same postings journal.model.units_posting computes the slow way."""
    held = [Lot(f"PO-{i}:1", "SKU", FBA, date(2024, 1, 1 + i), cost, n) for i, (n, cost) in enumerate(lots)]
    units = sum(n for n, _ in lots) // 2 + 1
    slices = consume("fifo", held, units, currency).slices
    books = Books("US", currency)
    built = slice_postings(books, "Assets:Inventory:FBA-US:Available", "SKU", slices, sign, **dims)
    assert built == [units_posting("Assets:Inventory:FBA-US:Available", "SKU", D(sign * s.units), s.unit_cost,
                                   currency, lot=s.lot_id, **dims) for s in slices]
    with pytest.raises(ValueError, match="names its own lot"):
        slice_postings(books, "Assets:Inventory:FBA-US:Available", "SKU", slices, sign, lot="PO-9:1")
