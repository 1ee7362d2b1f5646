"""Inventory ledger report ingest on both engines, by hand: rows resolved through the catalog, posted at cost
against the holdings in the database, one event per row, idempotent, atomic per file.

The story (US, USD, FIFO): PO-1 receives 30 MUG at 2.00 into WH-NJ (2024-04-20); inbound shipment FBA15ABC123 moves
24 of them to FBA-US Inbound:Shipped (04-22, posted from facts). The report (FBA-US, MSKU 000123 = MUG):
  05-01 Receipts +24 SELLABLE            -> Available 24 (48.00)
  05-01 Shipments -1, and again -1 (A)   -> COGS 2 x 2.00 (two rows, two keys)
  05-02 CustomerReturns +1 CUSTOMER_DAMAGED (A) -> Unfulfillable 1 at 2.00, COGS -2.00
  05-02 Adjustments E -1 SELLABLE, P +1 WAREHOUSE_DAMAGED -> one entry: Available -> Unfulfillable 2.00
  05-03 Adjustments M -16 of MSKU 00042-BLUE: not in the catalog -> exception, nothing posted
Then FBA-US Available 21 (42.00), Unfulfillable 2 (4.00), WH-NJ 6 (12.00): 58.00 = 60.00 - COGS 2.00.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from ledger_service.errors import Invalid
from ledger_service.inventory import facts as f
from ledger_service.inventory.holdings import InventoryState
from ledger_service.inventory.moves import Books
from ledger_service.inventory.posting import post_all
from ledger_service.inventory.service import ingest_ledger, load_state
from ledger_service.inventory.valuation import value_of
from ledger_service.inventory.views import positions, valuation
from ledger_service.sources.amazon.inventory_ledger import parse_inventory_ledger
from ledger_service.store.engine import write_transaction
from ledger_service.store.tables import events
from tests.support.inventory import LEDGER_HEAD as HEAD, ship_to_fba, warehouse_and_fba

ROWS = [
    "2024-05-01\tX0012ABCD1\tB00012ABCD\t000123\tMug\tReceipts\tFBA15ABC123\t24\tPHX6\tSELLABLE\t\tUS",
    "2024-05-01\tX0012ABCD1\tB00012ABCD\t000123\tMug\tShipments\t113-1\t-1\tPHX6\tSELLABLE\t\tUS",
    "2024-05-01\tX0012ABCD1\tB00012ABCD\t000123\tMug\tShipments\t113-1\t-1\tPHX6\tSELLABLE\t\tUS",
    "2024-05-02\tX0012ABCD1\tB00012ABCD\t000123\tMug\tCustomerReturns\t113-1\t1\tPHX6\tCUSTOMER_DAMAGED\t\tUS",
    "2024-05-02\tX0012ABCD1\tB00012ABCD\t000123\tMug\tAdjustments\t9001\t-1\tPHX6\tSELLABLE\tE\tUS",
    "2024-05-02\tX0012ABCD1\tB00012ABCD\t000123\tMug\tAdjustments\t9002\t1\tPHX6\tWAREHOUSE_DAMAGED\tP\tUS",
    "2024-05-03\tX0000COYXD\t0312306180\t00042-BLUE\tBook\tAdjustments\t2108808\t-16\tLGB3\tSELLABLE\tM\tUS",
]
REPORT = HEAD + "\n".join(ROWS) + "\n"
CATALOG = ("sku,title,marketplace,msku,asin,fnsku,parent_asin,valid_from\n"
           "MUG,Ceramic mug,amazon.com,000123,B00012ABCD,X0012ABCD1,,\n")
PO = "po,supplier,sku,units,unit_cost,currency,date\nPO-1,Acme,MUG,30,2.00,USD,2024-04-20\n"
INBOUND = [f.InboundShipment("FBA15ABC123", "MUG", 24, "WH-NJ", "FBA-US", date(2024, 4, 22), stage)
           for stage in ("working", "shipped")]


@pytest.fixture
def story(engine):
    with write_transaction(engine) as conn:
        warehouse_and_fba(conn, CATALOG, PO)
        ship_to_fba(conn, "FBA15ABC123", "MUG", 24, date(2024, 4, 22))  # INBOUND
    return engine


def ingest(engine, text: str = REPORT) -> dict:
    with write_transaction(engine) as conn:
        return ingest_ledger(conn, "US", text.encode(), "ledger.tsv", "FBA-US")


def n_movements(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(events).where(events.c.kind == "inventory_movement")
                            ).scalar()


def held(engine) -> dict:
    with engine.connect() as conn:
        return {(r["location"], r["state"]): (r["units"], r["value"]) for r in positions(conn, "US")}


def test_ingest_posts_each_row_at_cost_and_lists_the_unknown_sku(story):
    result = ingest(story)
    assert (result["rows"], result["posted"], result["duplicates"]) == (7, 6, 0)
    assert [(x["line"], x["kind"]) for x in result["exceptions"]] == [(8, "unknown-sku")]
    assert result["pending_legs"] == []
    assert held(story) == {("WH-NJ", f.AVAILABLE): (6, "12.00"), ("FBA-US", f.AVAILABLE): (21, "42.00"),
                           ("FBA-US", f.UNFULFILLABLE): (2, "4.00")}
    with story.connect() as conn:
        assert valuation(conn, "US")["total"] == "58.00"
        raw = conn.execute(select(events.c.raw, events.c.source_line).where(events.c.kind == "inventory_movement")
                           .order_by(events.c.id)).all()
    assert [(r.raw, r.source_line) for r in raw] == [(row, n) for n, row in enumerate(ROWS[:6], start=2)]


def test_ingesting_the_report_again_changes_nothing(story, cli, tmp_path):
    path = tmp_path / "ledger.tsv"
    path.write_text(REPORT)
    first = cli("inventory", "ingest", str(path), "-s", "US", "--location", "FBA-US", "--format", "json")
    assert first.exit_code == 0, first.output
    assert json.loads(first.output)["posted"] == 6
    again = cli("inventory", "ingest", str(path), "-s", "US", "--location", "FBA-US", "--format", "json")
    data = json.loads(again.output)
    assert (data["posted"], data["duplicates"], len(data["exceptions"])) == (0, 6, 1)
    table = cli("inventory", "ingest", str(path), "-s", "US", "--location", "FBA-US")
    assert table.exit_code == 0 and "6 already posted" in " ".join(table.output.split())
    assert "unknown-sku" in table.output
    assert n_movements(story) == 6
    assert held(story)[("FBA-US", f.AVAILABLE)] == (21, "42.00")


def test_a_refused_row_refuses_the_whole_file(story):
    bad = REPORT + "2024-05-04\tX0012ABCD1\tB00012ABCD\t000123\tMug\tShipments\t113-2\t-100\tPHX6\tSELLABLE\t\tUS\n"
    with pytest.raises(Invalid, match=r"^ledger.tsv:9: .*MUG"):
        ingest(story, bad)
    assert n_movements(story) == 0
    assert held(story)[("FBA-US", f.SHIPPED)] == (24, "48.00")


def test_the_location_must_be_an_fba_location(story):
    with pytest.raises(Invalid, match="WH-NJ is not an FBA location of US"):
        with write_transaction(story) as conn:
            ingest_ledger(conn, "US", REPORT.encode(), "ledger.tsv", "WH-NJ")


def test_load_state_after_ingest_holds_what_the_fold_holds(story):
    ingest(story)
    known = [m for m in parse_inventory_ledger(REPORT.encode(), "ledger.tsv") if m.msku == "000123"]
    receipt = f.PurchaseReceipt("PO-1", "Acme", date(2024, 4, 20), "WH-NJ", "USD",
                                (f.PurchaseLine("MUG", 30, Decimal("2.00")),))
    facts = [receipt, *INBOUND, *(f.from_movement(m, "FBA-US", "MUG") for m in known)]
    expected = post_all(facts, InventoryState(), Books("US", "USD")).state
    with story.connect() as conn:
        loaded = load_state(conn, "US", ["MUG"])

    def lots(state):
        return sorted((k, tuple((lot.lot_id, lot.units, value_of(lot, "USD")) for lot in v))
                      for k, v in state.positions())
    assert lots(loaded) == lots(expected)
    assert sorted(loaded.sold.items()) == sorted(expected.sold.items())  # 1 of the 2 units of 113-1 came back
    assert [s.units for s in loaded.sold.get(("113-1", "MUG"))] == [1]


def test_a_return_in_a_later_file_comes_back_at_the_cost_its_sale_took(story):
    first = ingest(story, HEAD + "\n".join(ROWS[:3]) + "\n")
    assert (first["posted"], first["exceptions"]) == (3, [])
    second = ingest(story, HEAD + "\n".join(ROWS[3:]) + "\n")
    assert [x["kind"] for x in second["exceptions"]] == ["unknown-sku"]  # no return-without-sale
    assert held(story)[("FBA-US", f.UNFULFILLABLE)] == (2, "4.00")
    with story.connect() as conn:
        assert valuation(conn, "US")["total"] == "58.00"
