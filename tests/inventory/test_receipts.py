"""Purchase receipts into lots, by hand, on both engines: parsing with file:line, landed cost, idempotency, refusals.

The file (US, USD, FIFO; WH-NJ):
  PO-7 (Acme, 03-02): W-1 10 x 4.00 = 40.00 (0.5 kg each: 5 kg), W-2 5 x 10.00 = 50.00 (2 kg each: 10 kg);
        freight 6.00 + duty 3.00 = 9.00
    by units  (10:5):   6.00 + 3.00 -> W-1 46.00 (4.60 a unit), W-2 53.00 (10.60)
    by value  (40:50):  4.00 + 5.00 -> W-1 44.00 (4.40),        W-2 55.00 (11.00)
    by weight (5:10):   3.00 + 6.00 -> W-1 43.00 (4.30),        W-2 56.00 (11.20)
  PO-8 (Bolt, 03-05): W-1 3 x 1.00 = 3.00, no charges (lot PO-8:1), written as the MSKU 0042 of W-1
Total 93.00 + 9.00 = 102.00 whatever the rule: what Accounts Payable is credited and the inventory holds.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal as D

import pytest
from sqlalchemy import func, select

from ledger_service.catalog.service import import_catalog
from ledger_service.errors import Conflict, Invalid
from ledger_service.inventory import facts as f
from ledger_service.inventory.holdings import InventoryState
from ledger_service.inventory.moves import Books
from ledger_service.inventory.posting import post_all
from ledger_service.inventory.receipts import parse_receipts
from ledger_service.inventory.service import load_state, receive_file
from ledger_service.inventory.views import inventory_balances, valuation
from ledger_service.locations.service import add_location
from ledger_service.store.engine import write_transaction
from ledger_service.store.tables import events

HEADER = "po,supplier,sku,units,unit_cost,currency,date,weight,charge,amount\n"
FILE = (HEADER
        + "PO-7,Acme,W-1,10,4.00,USD,2026-03-02,0.5,,\n"
        + "PO-7,Acme,W-2,5,10.00,USD,2026-03-02,2,,\n"
        + "PO-7,,,,,USD,,,freight,6.00\n"
        + "PO-7,,,,,,,,duty,3.00\n"
        + "PO-8,Bolt,0042,3,1.00,USD,2026-03-05,,,\n")
CATALOG = ("sku,title,marketplace,msku,asin,fnsku,parent_asin,valid_from\n"
           "W-1,Blue widget,amazon.com,0042,B00000000A,X00000000A,,\n"
           "W-2,Red widget,,,,,,\n")
EXPECTED = {"units": {"PO-7:1": D("4.6"), "PO-7:2": D("10.6")}, "value": {"PO-7:1": D("4.4"), "PO-7:2": D("11")},
            "weight": {"PO-7:1": D("4.3"), "PO-7:2": D("11.2")}}


@pytest.fixture
def books(engine):
    with write_transaction(engine) as conn:
        add_location(conn, "US", "WH-NJ", "warehouse")
        add_location(conn, "US", "FBA-US", "fba", marketplace="amazon.com")
        import_catalog(conn, "US", CATALOG.encode(), "catalog.csv")
    return engine


def receive(engine, text: str = FILE, rule: str = "units", location: str = "WH-NJ", sub: str = "US") -> dict:
    with write_transaction(engine) as conn:
        return receive_file(conn, sub, text.encode(), "r.csv", location, rule)


def n_events(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(events).where(events.c.kind == "purchase_receipt")
                            ).scalar()


def test_parse_reads_lines_and_charges_per_po():
    po7, po8 = parse_receipts(FILE.encode(), "r.csv", "weight")
    assert (po7.po, po7.supplier, po7.date, po7.currency) == ("PO-7", "Acme", date(2026, 3, 2), "USD")
    assert [(x.line, x.sku, x.units, x.unit_cost, x.weight) for x in po7.lines] == [
        (2, "W-1", 10, D("4.00"), D("0.5")), (3, "W-2", 5, D("10.00"), D("2"))]
    assert [(c.line, c.kind, c.amount) for c in po7.charges] == [(4, "freight", D("6.00")), (5, "duty", D("3.00"))]
    assert (po8.lines[0].line, po8.lines[0].sku, po8.charges, po8.first_line) == (6, "0042", (), 6)
    assert po7.key.startswith("receipt:PO-7:") and po7.key == parse_receipts(FILE, "other.csv", "weight")[0].key
    assert po7.key != parse_receipts(FILE, "r.csv", "units")[0].key  # the rule is part of what the PO says
    assert po8.key == parse_receipts(FILE, "r.csv", "units")[1].key  # ... when it has charges to spread
    assert po7.raw.splitlines()[0] == HEADER.strip() and len(po7.raw.splitlines()) == 5


@pytest.mark.parametrize("row, line, message", [
    ("PO-9,Acme,W-1,1.5,4.00,USD,2026-03-02,,,", 2, "units must be a whole number"),
    ("PO-9,Acme,W-1,0,4.00,USD,2026-03-02,,,", 2, "units must be a whole number"),
    ("PO-9,Acme,W-1,2000000000,4.00,USD,2026-03-02,,,", 2, "units must be a whole number"),
    ("PO-9,Acme,W-1,1,-4.00,USD,2026-03-02,,,", 2, "unit_cost must be from 0"),
    ("PO-9,Acme,W-1,1,abc,USD,2026-03-02,,,", 2, "is not a number"),
    ("PO-9,Acme,W-1,1,4.00,USD,2026-13-02,,,", 2, "date"),
    ("PO-9,Acme,W-1,1,4.00,USD,2101-01-01,,,", 2, "outside"),
    ("PO-9,Acme,W-1,1,4.00,us1,2026-03-02,,,", 2, "not an ISO 4217 code"),
    ("PO-9,,W-1,1,4.00,USD,2026-03-02,,,", 2, "supplier is empty"),
    ("PO-9,Acme,W-1,1,4.00,USD,2026-03-02,,,\nPO-9,Acme,W-2,1,4.00,EUR,2026-03-02,,,", 3, "one PO is one currency"),
    ("PO-9,Acme,W-1,1,4.00,USD,2026-03-02,,,\nPO-9,Acme,W-2,1,4.00,USD,2026-03-03,,,", 3, "one PO is one date"),
    ("PO-9,Acme,W-1,1,4.00,USD,2026-03-02,,,\nPO-9,,,,,,,,insurance,1.00", 3, "charge must be one of"),
    ("PO-9,Acme,W-1,1,4.00,USD,2026-03-02,,,\nPO-9,,,,,,,,freight,-1.00", 3, "must be above 0"),
    ("PO-9,Acme,W-1,1,4.00,USD,2026-03-02,,,\nPO-9,,,,,,,,freight,1.001", 3, "more decimals than USD"),
    ("PO-9,,,,,USD,,,freight,1.00", 2, "has charges but no line"),
    ("PO-9,Acme,W-1,1,4.00,USD,2026-03-02,,freight,1.00", 2, "a charge is a row of its own"),
    ("PO-9,Acme,W-1,1,4.00,USD,2026-03-02,,,,extra", 2, "the header has 10 columns"),
    ("PO-9,Acme,W\x00,1,4.00,USD,2026-03-02,,,", 2, "control character"),
])
def test_parse_refuses_bad_rows_naming_file_and_line(row, line, message):
    with pytest.raises(Invalid) as info:
        parse_receipts((HEADER + row + "\n").encode(), "r.csv")
    assert info.value.message.startswith(f"r.csv:{line}: ") and message in info.value.message


def test_parse_refuses_a_bad_header_and_weightless_lines_by_weight():
    with pytest.raises(Invalid, match=r"r.csv:1: the header lacks unit_cost"):
        parse_receipts(b"po,supplier,sku,units,currency,date\n", "r.csv")
    with pytest.raises(Invalid, match=r"r.csv:3: --allocate weight needs a weight"):
        parse_receipts(FILE.replace("10.00,USD,2026-03-02,2,", "10.00,USD,2026-03-02,,"), "r.csv", "weight")
    assert parse_receipts(FILE, "r.csv", "weight")[1].lines[0].weight is None  # PO-8 has no charges to spread
    with pytest.raises(Invalid, match="--allocate must be one of"):
        parse_receipts(FILE, "r.csv", "price")


@pytest.mark.parametrize("rule", ["units", "value", "weight"])
def test_receive_posts_lots_at_hand_worked_landed_cost(books, rule):
    result = receive(books, FILE, rule)
    assert (result["posted"], result["duplicates"], result["total"]) == (2, 0, "102.00")
    costs = {x["lot"]: D(x["unit_cost"]) for x in result["lots"]}
    assert costs == EXPECTED[rule] | {"PO-8:1": D("1.00")}
    assert {x["lot"]: x["sku"] for x in result["lots"]} == {"PO-7:1": "W-1", "PO-7:2": "W-2", "PO-8:1": "W-1"}
    with books.connect() as conn:
        view = valuation(conn, "US")
        held = inventory_balances(conn, "US", None)
    assert view["total"] == "102.00" and view["units"] == 18
    assert {x["lot"]: (x["sku"], x["account"], x["units"], D(x["unit_cost"])) for x in view["lots"]} == {
        lot: (sku, "Assets:Inventory:WH-NJ:Available", units, costs[lot])
        for lot, sku, units in (("PO-7:1", "W-1", 10), ("PO-7:2", "W-2", 5), ("PO-8:1", "W-1", 3))}
    assert sum(v for _, v in held.values()) == D("102.00")


def test_cli_receive_then_valuation_and_a_second_run_changes_nothing(books, cli, tmp_path):
    path = tmp_path / "po.csv"
    path.write_text(FILE)
    first = cli("inventory", "receive", str(path), "-s", "US", "--location", "WH-NJ", "--allocate", "value",
                "--format", "json")
    assert first.exit_code == 0, first.output
    assert json.loads(first.output)["posted"] == 2
    out = cli("inventory", "valuation", "-s", "US", "--format", "json")
    data = json.loads(out.output)
    assert data["total"] == "102.00"
    assert {x["lot"]: D(x["unit_cost"]) for x in data["lots"]} == EXPECTED["value"] | {"PO-8:1": D("1")}
    again = cli("inventory", "receive", str(path), "-s", "US", "--location", "WH-NJ", "--allocate", "value")
    assert again.exit_code == 0, again.output
    assert "0 PO(s) received, 2 already received" in " ".join(again.output.split())
    assert n_events(books) == 2
    assert json.loads(cli("inventory", "valuation", "-s", "US", "--format", "json").output)["total"] == "102.00"


def test_the_same_po_with_other_content_is_a_conflict(books):
    receive(books)
    with pytest.raises(Conflict, match=r"r.csv:6: PO PO-8 was received with other content"):
        receive(books, FILE.replace("PO-8,Bolt,0042,3,", "PO-8,Bolt,0042,4,"))
    with pytest.raises(Conflict, match="PO PO-7 was received with other content"):
        receive(books, rule="value")  # another rule: other landed costs
    assert n_events(books) == 2


def test_a_bad_line_or_an_unknown_sku_posts_nothing_of_the_file(books, cli, tmp_path):
    with pytest.raises(Invalid, match=r"^r.csv:7: SKU W-404 is not in the catalog of US"):
        receive(books, FILE + "PO-9,Acme,W-404,1,1.00,USD,2026-03-06,,,\n")
    with pytest.raises(Invalid, match=r"^r.csv:7: units must be"):
        receive(books, FILE + "PO-9,Acme,W-1,-1,1.00,USD,2026-03-06,,,\n")
    path = tmp_path / "po.csv"
    path.write_text(FILE + "PO-9,Acme,0043,1,1.00,USD,2026-03-06,,,\n")
    out = cli("inventory", "receive", str(path), "-s", "US", "--location", "WH-NJ")
    assert out.exit_code == 1 and "po.csv:7: SKU 0043 is not in the catalog" in " ".join(out.output.split())
    assert n_events(books) == 0
    with books.connect() as conn:
        assert valuation(conn, "US")["lots"] == []


def test_the_location_must_be_the_subsidiarys_warehouse_and_the_currency_its_own(books):
    with write_transaction(books) as conn:
        add_location(conn, "UK", "WH-UK", "warehouse")
    with pytest.raises(Invalid, match="location WH-UK is not a location of US"):
        receive(books, location="WH-UK")
    with pytest.raises(Invalid, match="location FBA-US is a fba location"):
        receive(books, location="FBA-US")
    with pytest.raises(Invalid, match=r"r.csv:2: PO PO-7 is in USD; lots are in UK's functional currency GBP"):
        receive(books, location="WH-UK", sub="UK")
    assert n_events(books) == 0


def _facts(orders, rule, location="WH-NJ", currency="USD", sku_of=lambda s: "W-1" if s == "0042" else s):
    return [f.PurchaseReceipt(o.po, o.supplier, o.date, location, currency,
                              tuple(f.PurchaseLine(sku_of(x.sku), x.units, x.unit_cost, x.weight) for x in o.lines),
                              tuple(c.amount for c in o.charges), rule) for o in orders]


def test_load_state_after_posting_equals_the_state_post_all_returned(books):
    receive(books, rule="value")
    expected = post_all(_facts(parse_receipts(FILE, "r.csv", "value"), "value"), InventoryState(),
                        Books("US", "USD")).state
    with books.connect() as conn:
        loaded = load_state(conn, "US", ["W-1", "W-2"])
        assert load_state(conn, "US", ["W-2"]).lots_at("W-1", "WH-NJ", f.AVAILABLE) == ()
    assert sorted(loaded.holdings.items()) == sorted(expected.holdings.items())
    assert sorted(loaded.lots.items()) == sorted(expected.lots.items())


def test_load_state_under_moving_average_is_the_re_averaged_holding(books):
    gbp = FILE.replace("USD", "GBP").replace("0042", "W-1")
    with write_transaction(books) as conn:
        add_location(conn, "UK", "WH-UK", "warehouse")
        import_catalog(conn, "UK", CATALOG.encode(), "catalog.csv")
    receive(books, gbp, location="WH-UK", sub="UK")
    expected = post_all(_facts(parse_receipts(gbp, "r.csv"), "units", "WH-UK", "GBP"), InventoryState(),
                        Books("UK", "GBP", "average")).state
    with books.connect() as conn:
        loaded = load_state(conn, "UK", ["W-1", "W-2"])
    # W-1: 46.00 + 3.00 over 13 units; W-2: 53.00 over 5
    (w1,) = loaded.lots_at("W-1", "WH-UK", f.AVAILABLE)
    assert (w1.units, w1.value, w1.unit_cost) == (13, D("49.00"), D("3.769231"))
    assert sorted(loaded.holdings.items()) == sorted(expected.holdings.items())
    assert sorted(loaded.lots.items()) == sorted(expected.lots.items())
