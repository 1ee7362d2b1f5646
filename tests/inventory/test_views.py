"""Inventory views on both engines, by hand: positions, valuation, COGS beside revenue, the roll-forward.

The story (US, USD, FIFO; WH-NJ warehouse, FBA-US on amazon.com), posted through journal.service.post from the
entries inventory.posting makes:
  03-02 PO-1: 10 WIDGET at 4.00 + 2.00 freight = 42.00 (lot PO-1:1, 4.20 a unit) into WH-NJ:Available
  03-05 PO-2: 5 WIDGET at 5.00 = 25.00 (lot PO-2:1)
  03-06/07/10 inbound FBA1: 12 units WH-NJ -> FBA-US Working -> Shipped -> Available: all 10 of PO-1:1 (42.00)
        and 2 of PO-2:1 (10.00); WH-NJ keeps 3 of PO-2:1 (15.00)
  03-15 sale ORD-1 of 11 from FBA-US: 10 of PO-1:1 (42.00) + 1 of PO-2:1 (5.00) = COGS 47.00; FBA-US keeps
        1 of PO-2:1 (5.00); the settlement's principal for it: 220.00
  04-02 sellable return of 2 (ORD-1): the last slices first: 1 of PO-2:1 (5.00) and 1 of PO-1:1 (42.00/10 = 4.20):
        COGS -9.20; principal refunded 40.00 (seller SKU 0042-WID: the catalog's WIDGET) and shipping 5.00
  04-03 1 unit Available -> Unfulfillable: FIFO, the re-opened PO-1:1 (4.20)
  04-05 write-off (damaged) of that unit: 4.20
End of March: WH-NJ 3 (15.00) + FBA-US Available 1 (5.00) = 4 units, 20.00.
End of April: WH-NJ 3 (15.00) + FBA-US Available 2 of PO-2:1 (10.00) = 5 units, 25.00
  = 67.00 received - (47.00 - 9.20) COGS - 4.20 written off.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from datetime import date, datetime
from decimal import Decimal as D

import pytest
from sqlalchemy import select

from ledger_service.catalog.service import import_catalog
from ledger_service.chart.model import Account
from ledger_service.chart.service import upsert_accounts
from ledger_service.eventlog.model import EventDraft, Source
from ledger_service.inventory import facts as f
from ledger_service.inventory.facts import (CustomerReturn, FbaReceipt, InboundShipment, PurchaseLine,
                                            PurchaseReceipt, Sale, StateMove, WriteOff, state_account)
from ledger_service.inventory.holdings import InventoryState
from ledger_service.inventory.moves import Books
from ledger_service.inventory.posting import post_all
from ledger_service.inventory.rollforward import assemble_month, classify, months, rollforward
from ledger_service.inventory.views import (Inconsistent, assemble_cogs, assemble_valuation, check_valuation, cogs,
                                            parse_state_account, positions, valuation)
from ledger_service.journal.model import EntryDraft, money_posting
from ledger_service.journal.service import post, reverse
from ledger_service.locations.service import add_location
from ledger_service.store.engine import write_transaction
from ledger_service.store.tables import accounts, entries
from tests.support.api import api_client

WH, FBA, W = "WH-NJ", "FBA-US", "WIDGET"
BOOKS = Books("US", "USD")
FACTS = [
    PurchaseReceipt("PO-1", "Acme", date(2026, 3, 2), WH, "USD", (PurchaseLine(W, 10, D("4.00")),), (D("2.00"),)),
    PurchaseReceipt("PO-2", "Acme", date(2026, 3, 5), WH, "USD", (PurchaseLine(W, 5, D("5.00")),)),
    InboundShipment("FBA1", W, 12, WH, FBA, date(2026, 3, 6), "working"),
    InboundShipment("FBA1", W, 12, WH, FBA, date(2026, 3, 7), "shipped"),
    FbaReceipt("FBA1", W, 12, FBA, date(2026, 3, 10)),
    Sale("ORD-1", W, 11, FBA, date(2026, 3, 15)),
    CustomerReturn("ORD-1", W, 2, FBA, date(2026, 4, 2), "SELLABLE"),
    StateMove("hold-1", W, 1, FBA, f.AVAILABLE, f.UNFULFILLABLE, date(2026, 4, 3)),
    WriteOff("wo-1", W, 1, FBA, f.UNFULFILLABLE, date(2026, 4, 5), "damaged"),
]
CATALOG = ("sku,title,marketplace,msku,asin,fnsku,parent_asin,valid_from\n"
           "WIDGET,Widget,amazon.com,0042-WID,B000000042,,,2026-01-01\n")
MARCH, APRIL = (date(2026, 3, 1), date(2026, 3, 31)), (date(2026, 4, 1), date(2026, 4, 30))


def _event(key: str, day: date) -> EventDraft:
    return EventDraft("US", "test_inventory", datetime.combine(day, datetime.min.time()), key, key,
                      Source(system="test"))


def _post_story(engine) -> None:
    with write_transaction(engine) as conn:
        add_location(conn, "US", WH, "warehouse")
        add_location(conn, "US", FBA, "fba", marketplace="amazon.com")
        have = set(conn.execute(select(accounts.c.name).where(accounts.c.subsidiary == "US")).scalars())
        upsert_accounts(conn, "US", tuple(Account(name, "expense") for name in (f.WRITE_OFF_DAMAGED, f.WRITE_OFF_LOST)
                                          if name not in have))  # until the default chart has them
    for n, entry in enumerate(post_all(FACTS, InventoryState(), BOOKS).entries):
        post(engine, _event(f"inv-{n}", entry.date), [entry])
    with write_transaction(engine) as conn:  # the refund's seller SKU is the catalog's WIDGET on amazon.com
        import_catalog(conn, "US", CATALOG.encode(), "catalog.csv")
    sales = [(date(2026, 3, 15), "Income:Amazon:Sales:Principal", D("220.00"), "Order / ItemPrice / Principal",
              W),
             (date(2026, 4, 2), "Income:Amazon:Refunds", D("-40.00"), "Refund / ItemPrice / Principal", "0042-WID"),
             (date(2026, 4, 2), "Income:Amazon:Refunds", D("-5.00"), "Refund / ItemPrice / Shipping", "0042-WID")]
    for day, account, amount, kind, msku in sales:
        dims = dict(sku=msku, marketplace="Amazon.com", order_id="ORD-1", amazon_type=kind)
        entry = EntryDraft("US", day, "USD", kind, (money_posting("Assets:Amazon:Clearing", amount, **dims),
                                                    money_posting(account, -amount, **dims)))
        post(engine, _event(f"sale-{kind}", day), [entry])


@pytest.fixture
def story(engine):
    _post_story(engine)
    return engine


def fold_positions(facts, until: date) -> dict:
    """Units per (location, state) from the facts alone: the oracle positions must equal."""
    held: Counter = Counter()
    for x in facts:
        if x.date > until:
            continue
        if isinstance(x, PurchaseReceipt):
            held[(x.location, f.AVAILABLE)] += sum(line.units for line in x.lines)
        elif isinstance(x, InboundShipment):
            src = (x.from_location, f.AVAILABLE) if x.stage == "working" else (x.to_location, f.WORKING)
            held[src] -= x.units
            held[(x.to_location, f.STAGES[x.stage])] += x.units
        elif isinstance(x, FbaReceipt):
            held[(x.location, f.SHIPPED)] -= x.units
            held[(x.location, x.state)] += x.units
        elif isinstance(x, Sale):
            held[(x.location, f.AVAILABLE)] -= x.units
        elif isinstance(x, CustomerReturn):
            held[(x.location, f.AVAILABLE)] += x.units
        elif isinstance(x, StateMove):
            held[(x.location, x.from_state)] -= x.units
            held[(x.location, x.to_state)] += x.units
        elif isinstance(x, WriteOff):
            held[(x.location, x.state)] -= x.units
    return {k: v for k, v in held.items() if v}


def test_parse_state_account_round_trips_every_state():
    for location in ("FBA-US", "WH-NJ", "3PL-X", "TRANSIT"):
        for state in f.STATES:
            assert parse_state_account(state_account(location, state)) == (location, state)
    for name in ("Assets:Inventory:Warehouse", "Assets:Inventory:FBA:Inbound", "Assets:Amazon:Clearing",
                 "Assets:Inventory:Available", "Assets:Inventory:A:B:Available"):
        assert parse_state_account(name) is None, name


def test_positions_equal_a_fold_over_the_facts(story):
    with story.connect() as conn:
        for day in (date(2026, 3, 6), date(2026, 3, 7), date(2026, 3, 31), date(2026, 4, 3), date(2026, 4, 30)):
            got = {(r["location"], r["state"]): r["units"] for r in positions(conn, "US", day)}
            assert got == fold_positions(FACTS, day), day
        end = positions(conn, "US")
        assert [(r["location"], r["state"], r["units"], r["value"]) for r in end] == [
            (FBA, "Available", 2, "10.00"), (WH, "Available", 3, "15.00")]
        assert [r["units"] for r in positions(conn, "US", None, location=WH, sku=W, state="Available")] == [3]
        assert positions(conn, "US", None, state="Unfulfillable") == []
        assert positions(conn, "US", date(2026, 4, 3), state="Unfulfillable")[0]["value"] == "4.20"


def test_valuation_by_lot_equals_the_inventory_accounts(story):
    with story.connect() as conn:
        march = valuation(conn, "US", date(2026, 3, 31))
        april = valuation(conn, "US", date(2026, 4, 30))
        latest = valuation(conn, "US")
    assert march["total"] == "20.00" and march["units"] == 4 and march["currency"] == "USD"
    assert [(x["location"], x["state"], x["lot"], x["units"], x["unit_cost"], x["value"]) for x in march["lots"]] == [
        (FBA, "Available", "PO-2:1", 1, "5.000000", "5.00"), (WH, "Available", "PO-2:1", 3, "5.000000", "15.00")]
    assert april["total"] == latest["total"] == "25.00" and april["units"] == 5
    assert [(x["location"], x["lot"], x["units"], x["value"]) for x in april["lots"]] == [
        (FBA, "PO-2:1", 2, "10.00"), (WH, "PO-2:1", 3, "15.00")]
    mid = valuation(story.connect(), "US", date(2026, 3, 10))  # after the FBA receipt, before the sale
    assert mid["total"] == "67.00"
    assert {(x["location"], x["lot"]): (x["units"], x["unit_cost"]) for x in mid["lots"]} == {
        (FBA, "PO-1:1"): (10, "4.200000"), (FBA, "PO-2:1"): (2, "5.000000"), (WH, "PO-2:1"): (3, "5.000000")}


def test_valuation_check_raises_on_any_disagreement():
    acct = state_account(FBA, f.AVAILABLE)
    result = assemble_valuation([(acct, W, 3, D("12.60"), "PO-1:1"), (acct, W, -1, D("-4.20"), "PO-1:1"),
                                 (acct, W, 1, D("0.01"), None)])
    assert [(x["lot"], x["units"], x["value"], x["unit_cost"]) for x in result["lots"]] == [
        (None, 1, D("0.01"), D("0.010000")), ("PO-1:1", 2, D("8.40"), D("4.200000"))]
    check_valuation(result, {(acct, W): [3, D("8.41")]})
    with pytest.raises(Inconsistent, match="disagrees"):
        check_valuation(result, {(acct, W): [3, D("8.40")]})
    with pytest.raises(Inconsistent):
        check_valuation(result, {(acct, W): [3, D("8.41")], (acct, "OTHER"): [1, D("1.00")]})


def test_cogs_beside_revenue_by_hand(story):
    with story.connect() as conn:
        march = cogs(conn, "US", *MARCH)
        april = cogs(conn, "US", *APRIL)
        both = cogs(conn, "US", MARCH[0], APRIL[1])
    row = {k: v for k, v in march["rows"][0].items()}
    assert march["rows"] == [row] and row == {
        "sku": W, "marketplace": "amazon.com", "units": 11, "cogs": "47.00", "revenue": "220.00", "refunds": "0.00",
        "net_revenue": "220.00", "gross_margin": "173.00", "margin_pct": "78.64"}  # 173 / 220 = 78.636..%
    # April: the return's COGS credit (-9.20) beside the principal refunded (40.00, under the seller SKU 0042-WID,
    # which the catalog maps to WIDGET; the 5.00 shipping refund is not principal)
    assert april["rows"] == [{"sku": W, "marketplace": "amazon.com", "units": -2, "cogs": "-9.20", "revenue": "0.00",
                              "refunds": "40.00", "net_revenue": "-40.00", "gross_margin": "-30.80",
                              "margin_pct": "77.00"}]
    assert both["total"] == {"units": 9, "cogs": "37.80", "revenue": "220.00", "refunds": "40.00",
                             "net_revenue": "180.00", "gross_margin": "142.20", "margin_pct": "79.00"}


def test_assemble_cogs_bundles_catalog_and_locations_without_marketplace():
    cost = [(1, "PART-A", D("6.00"), {"bundle": "KIT"}), (1, "PART-B", D("4.00"), {"bundle": "KIT"}),
            (2, W, D("3.00"), {})]
    units = [(1, state_account(FBA, f.AVAILABLE), "PART-A", -2), (1, state_account(FBA, f.AVAILABLE), "PART-B", -1),
             (2, state_account(WH, f.AVAILABLE), W, -1)]
    sales = [(date(2026, 3, 1), "Income:Amazon:Sales:Principal", "KIT-AMZ", "Amazon.com", D("-30.00"), {})]
    rows = assemble_cogs(cost, units, {FBA: "amazon.com"}, sales,
                         lambda mk, msku, day: "KIT" if (mk, msku) == ("amazon.com", "KIT-AMZ") else msku)
    assert [(r["sku"], r["marketplace"], r["units"], r["cogs"], r["revenue"], r["gross_margin"], r["margin_pct"])
            for r in rows] == [("KIT", "amazon.com", 3, "10.00", "30.00", "20.00", "66.67"),
                               (W, None, 1, "3.00", "0.00", "-3.00", None)]


def test_rollforward_ties_by_hand(story):
    with story.connect() as conn:
        data = rollforward(conn, "US", MARCH[0], APRIL[1])
    march, april = data["rows"]
    assert march == {"period": "2026-03", "from": "2026-03-01", "to": "2026-03-31",
                     "opening_units": 0, "opening_value": "0.00", "receipts_units": 15, "receipts_value": "67.00",
                     "cogs_units": 11, "cogs_value": "47.00", "write_offs_units": 0, "write_offs_value": "0.00",
                     "adjustments_units": 0, "adjustments_value": "0.00", "closing_units": 4, "closing_value": "20.00"}
    assert april == {"period": "2026-04", "from": "2026-04-01", "to": "2026-04-30",
                     "opening_units": 4, "opening_value": "20.00", "receipts_units": 0, "receipts_value": "0.00",
                     "cogs_units": -2, "cogs_value": "-9.20", "write_offs_units": 1, "write_offs_value": "4.20",
                     "adjustments_units": 0, "adjustments_value": "0.00", "closing_units": 5, "closing_value": "25.00"}
    # 20.00 + 0 - (-9.20) - 4.20 + 0 = 25.00; 4 + 0 + 2 - 1 = 5


def test_rollforward_pieces():
    assert months(date(2026, 1, 15), date(2026, 3, 10)) == [
        (date(2026, 1, 15), date(2026, 1, 31)), (date(2026, 2, 1), date(2026, 2, 28)),
        (date(2026, 3, 1), date(2026, 3, 10))]
    assert [classify(a) for a in (f.PAYABLE, f.COGS, f.SHRINKAGE, f.WRITE_OFF_LOST, "Income:Amazon:Reimbursements")
            ] == ["receipts", "cogs", "write_offs", "write_offs", "adjustments"]
    day = date(2026, 5, 1)
    # a count gain of 2 at 3.00 against shrinkage, and a move between states (no other posting)
    row = assemble_month((1, D("5.00")), (3, D("11.00")), [(1, day, 2), (2, day, -1), (2, day, 1)],
                         [(1, day, f.SHRINKAGE, D("-6.00"))])
    assert (row["write_offs_units"], row["write_offs_value"], row["adjustments_units"]) == (-2, "-6.00", 0)
    with pytest.raises(Inconsistent, match="does not tie"):
        assemble_month((1, D("5.00")), (3, D("11.01")), [(1, day, 2)], [(1, day, f.SHRINKAGE, D("-6.00"))])


def test_cli_valuation_json_and_csv(story, cli):
    out = cli("inventory", "valuation", "-s", "US", "--as-of", "2026-03-31", "--format", "json")
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert data["total"] == "20.00" and isinstance(data["total"], str)
    assert data["lots"] == [
        {"sku": W, "location": FBA, "state": "Available", "account": state_account(FBA, f.AVAILABLE), "lot": "PO-2:1",
         "units": 1, "value": "5.00", "unit_cost": "5.000000"},
        {"sku": W, "location": WH, "state": "Available", "account": state_account(WH, f.AVAILABLE), "lot": "PO-2:1",
         "units": 3, "value": "15.00", "unit_cost": "5.000000"}]
    out = cli("inventory", "valuation", "-s", "US", "--as-of", "2026-03-31", "--format", "csv")
    assert out.exit_code == 0, out.output
    rows = list(csv.DictReader(io.StringIO(out.output)))
    assert [(r["location"], r["units"], r["unit_cost"], r["value"]) for r in rows] == [
        (FBA, "1", "5.000000", "5.00"), (WH, "3", "5.000000", "15.00"), ("", "4", "", "20.00")]
    assert rows[-1]["sku"] == "total"
    for args in (("positions", "--as-of", "2026-04-30"), ("cogs", "--from", "2026-03-01", "--to", "2026-04-30"),
                 ("rollforward", "--from", "2026-03-01", "--to", "2026-04-30")):
        out = cli("inventory", *args, "-s", "US", "--format", "table")
        assert out.exit_code == 0, (args, out.output)
    out = cli("inventory", "cogs", "-s", "US", "--from", "2026-04-30", "--to", "2026-03-01")
    assert out.exit_code == 1 and "before it starts" in out.output


def test_api_answers_the_same_numbers(story):
    client = api_client(story, "viewer")
    with story.connect() as conn:
        expected = (positions(conn, "US", date(2026, 4, 30)), valuation(conn, "US", date(2026, 3, 31)),
                    cogs(conn, "US", MARCH[0], APRIL[1]), rollforward(conn, "US", MARCH[0], APRIL[1]))
    r = client.get("/inventory/positions", params={"subsidiary": "US", "as_of": "2026-04-30"})
    assert r.status_code == 200 and r.json() == expected[0]
    r = client.get("/inventory/valuation", params={"subsidiary": "US", "as_of": "2026-03-31"})
    assert r.status_code == 200 and r.json() == expected[1] and r.json()["total"] == "20.00"
    window = {"subsidiary": "US", "from": "2026-03-01", "to": "2026-04-30"}
    r = client.get("/inventory/cogs", params=window)
    assert r.status_code == 200 and r.json() == expected[2]
    r = client.get("/inventory/rollforward", params=window)
    assert r.status_code == 200 and r.json() == expected[3]
    r = client.get("/inventory/cogs", params=window | {"from": "2026-05-01"})
    assert r.status_code == 422 and r.json()["error"] == "invalid"
    r = client.get("/inventory/positions", params={"subsidiary": "US", "state": "Available", "location": WH})
    assert [x["units"] for x in r.json()] == [3]


def test_a_reversed_write_off_comes_back_into_every_view(story):
    with story.connect() as conn:
        (entry_id,) = conn.execute(select(entries.c.id).where(entries.c.description.like("Write-off%"))).scalars()
    reverse(story, entry_id, "found on the shelf", on=date(2026, 4, 20))
    with story.connect() as conn:
        assert valuation(conn, "US")["total"] == "29.20"  # 25.00 + the 4.20 unit back in Unfulfillable
        assert positions(conn, "US", state="Unfulfillable")[0]["units"] == 1
        april = rollforward(conn, "US", *APRIL)["rows"][0]
    assert (april["write_offs_units"], april["write_offs_value"]) == (0, "0.00")  # 4.20 written off, 4.20 back
    assert (april["closing_units"], april["closing_value"]) == (6, "29.20")


def test_an_inconsistency_raises_instead_of_answering(story, monkeypatch):
    from ledger_service.inventory import views

    real = views.inventory_balances

    def off_by_a_cent(conn, subsidiary, as_of):
        held = real(conn, subsidiary, as_of)
        key = min(held)
        return held | {key: [held[key][0], held[key][1] + D("0.01")]}

    monkeypatch.setattr(views, "inventory_balances", off_by_a_cent)
    r = api_client(story, "viewer").get("/inventory/valuation", params={"subsidiary": "US"})
    assert r.status_code == 500 and r.json()["error"] == "inconsistent", r.text
    assert "ledger-service verify" in r.json()["message"]
