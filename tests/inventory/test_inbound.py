"""Inbound shipments to FBA, the shortage to Researching, a write-off and a found unit, by hand, on both engines.

The story (US, USD, FIFO; catalog: MUG, MSKU 000123 on amazon.com; WH-NJ warehouse, FBA-US in the FBA lane):
  05-01 PO-1 receives 50 MUG at 4.00 into WH-NJ:Available                      -> 200.00
  05-02 FBA15X WORKING 40 (file as MSKU 000123):  WH-NJ Available -> FBA-US Inbound:Working   40 x 4.00 = 160.00
  05-04 SHIPPED (written IN_TRANSIT):            Inbound:Working -> Inbound:Shipped           160.00
  05-06 RECEIVING (written CHECKED_IN):          Inbound:Shipped -> Inbound:Receiving         160.00
  05-08 inventory ledger Receipts +37 FBA15X:     Inbound:Receiving -> Available 37 x 4.00 =  148.00, 3 (12.00) left
  05-20 CLOSED: 40 shipped - 37 received = 3:     Inbound:Receiving -> Researching  3 x 4.00 = 12.00
  05-25 write-off of 2 lost:                      Researching -> Expenses:Inventory:WriteOff:Lost 2 x 4.00 = 8.00
  05-28 Adjustments F +1 SELLABLE:                Researching (1 left) -> Available 4.00
  05-29 Adjustments F +1 SELLABLE:                Researching is empty: the loss is reversed, WriteOff:Lost -4.00
Then WH-NJ Available 10 (40.00), FBA-US Available 39 (156.00): 196.00 = 200.00 - the 4.00 still written off.
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
from ledger_service.inventory.inbound import ingest_inbound, steps
from ledger_service.inventory.inbound_parse import parse_inbound
from ledger_service.inventory.moves import Books
from ledger_service.inventory.posting import post_all
from ledger_service.inventory.service import ingest_ledger, receive_file
from ledger_service.inventory.valuation import value_of
from ledger_service.inventory.views import inventory_balances, positions, valuation
from ledger_service.inventory.write_offs import write_off
from ledger_service.locations.service import add_location, set_lane
from ledger_service.store.engine import write_transaction
from ledger_service.store.tables import accounts, entries, events, postings
from tests.support.inventory import LEDGER_HEAD as HEAD

CATALOG = ("sku,title,marketplace,msku,asin,fnsku,parent_asin,valid_from\n"
           "MUG,Ceramic mug,amazon.com,000123,B00012ABCD,X0012ABCD1,,\n"
           "PLATE,Plate,,,,,,\n")
PO = "po,supplier,sku,units,unit_cost,currency,date\nPO-1,Acme,MUG,50,4.00,USD,2026-05-01\n"
WORKING = "ShipmentId,MSKU,QuantityShipped,From,To,Date,Status\nFBA15X,000123,40,WH-NJ,FBA-US,2026-05-02,WORKING\n"
SHIPPED = ("Shipment ID,Merchant SKU,Units,From Location,To Location,Date,Shipment Status\n"
           "FBA15X,MUG,40,WH-NJ,FBA-US,2026-05-04,IN_TRANSIT\n")
RECEIVING = "shipment_id,sku,units,from,to,date,status\nFBA15X,MUG,40,WH-NJ,FBA-US,2026-05-06,CHECKED_IN\n"
CLOSED = "shipment_id,sku,units,from,to,date,status\nFBA15X,MUG,40,WH-NJ,FBA-US,05/20/2026,Closed\n"
RECEIPT = "2026-05-08\tX0012ABCD1\tB00012ABCD\t000123\tMug\tReceipts\tFBA15X\t37\tPHX6\tSELLABLE\t\tUS\n"
FOUND = ["2026-05-28\tX0012ABCD1\tB00012ABCD\t000123\tMug\tAdjustments\t7001\t1\tPHX6\tSELLABLE\tF\tUS\n",
         "2026-05-29\tX0012ABCD1\tB00012ABCD\t000123\tMug\tAdjustments\t7002\t1\tPHX6\tSELLABLE\tF\tUS\n"]
WH, FBA = "WH-NJ", "FBA-US"


@pytest.fixture
def books(engine):
    with write_transaction(engine) as conn:
        add_location(conn, "US", WH, "warehouse")
        add_location(conn, "US", FBA, "fba", marketplace="amazon.com")
        add_location(conn, "US", "FBA-X", "fba", marketplace="amazon.com")  # in no lane
        set_lane(conn, "US", "FBA", [FBA])
        import_catalog(conn, "US", CATALOG.encode(), "catalog.csv")
        receive_file(conn, "US", PO.encode(), "po.csv", WH)
    return engine


def inbound(engine, text: str, document: str = "inbound.csv") -> dict:
    with write_transaction(engine) as conn:
        return ingest_inbound(conn, "US", text.encode(), document)


def ledger(engine, *rows: str) -> dict:
    with write_transaction(engine) as conn:
        return ingest_ledger(conn, "US", (HEAD + "".join(rows)).encode(), "ledger.tsv", FBA)


def held(engine) -> dict:
    """(location, state) -> (units, value) from the balances; and the valuation's total equals them (it checks)."""
    with engine.connect() as conn:
        out = {(r["location"], r["state"]): (r["units"], r["value"]) for r in positions(conn, "US")}
        total = sum((D(v) for _, v in out.values()), D(0))
        assert D(valuation(conn, "US")["total"]) == total
        assert sum((v for _, v in inventory_balances(conn, "US", None).values()), D(0)) == total
    return out


def n_events(engine, kind: str = "inbound_shipment") -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(events).where(events.c.kind == kind)).scalar()


def last_entry(engine) -> list[tuple]:
    """(account, units, amount) of the latest entry's postings."""
    with engine.connect() as conn:
        last = conn.execute(select(func.max(entries.c.id))).scalar()
        rows = conn.execute(select(accounts.c.name, postings.c.commodity, postings.c.quantity, postings.c.amount)
                            .join(accounts, accounts.c.id == postings.c.account_id)
                            .where(postings.c.entry_id == last).order_by(postings.c.id)).all()
    return [(name.replace("Assets:Inventory:", ""), None if c == "USD" else int(q), D(a) / 100)
            for name, c, q, a in rows]


def expense(engine, account: str) -> D:
    with engine.connect() as conn:
        minor = conn.execute(select(func.coalesce(func.sum(postings.c.amount), 0))
                             .join(accounts, accounts.c.id == postings.c.account_id)
                             .where(accounts.c.name == account)).scalar()
    return D(minor) / 100


def test_the_header_spellings_statuses_and_dates_are_read():
    _, (w,) = parse_inbound(WORKING.encode(), "a.csv")
    assert (w.line, w.shipment_id, w.sku, w.units, w.from_location, w.to_location, w.date, w.status) == (
        2, "FBA15X", "000123", 40, WH, FBA, date(2026, 5, 2), "WORKING")
    assert [parse_inbound(text, "x.csv")[1][0].status for text in (SHIPPED, RECEIVING, CLOSED)] == [
        "SHIPPED", "RECEIVING", "CLOSED"]
    assert parse_inbound(CLOSED, "x.csv")[1][0].date == date(2026, 5, 20)  # MM/DD/YYYY
    tabbed = "Shipment ID\tSKU\tQuantity Shipped\tDestination FC\tStatus\tDate\n" \
             'FBA1\t="000123"\t1,200\tPHX6\tDELIVERED\t2026-05-04\n'
    _, (row,) = parse_inbound(tabbed, "t.tsv", from_location="wh-nj", to_location=FBA)
    assert (row.sku, row.units, row.from_location, row.status, row.given) == ("000123", 1200, WH, "SHIPPED",
                                                                              "DELIVERED")
    with pytest.raises(Invalid, match=r"^t.tsv:1: the header lacks from_location, to_location"):
        parse_inbound(tabbed, "t.tsv")
    with pytest.raises(Invalid, match=r"^b.csv:3: status 'LOST' is not an inbound shipment status"):
        parse_inbound(WORKING + "FBA15X,000123,40,WH-NJ,FBA-US,2026-05-02,LOST\n", "b.csv")
    with pytest.raises(Invalid, match=r"^b.csv:2: units must be a whole number"):
        parse_inbound(WORKING.replace(",40,", ",2.5,"), "b.csv")
    with pytest.raises(Invalid, match=r"^b.csv:3: shipment FBA15X 000123 WORKING differs from line 2"):
        parse_inbound(WORKING + "FBA15X,000123,41,WH-NJ,FBA-US,2026-05-02,WORKING\n", "b.csv")


def test_steps_are_those_after_the_recorded_status():
    assert steps(None, "SHIPPED") == ("working", "shipped")
    assert steps("WORKING", "RECEIVING") == ("shipped", "receiving")
    assert steps("SHIPPED", "CLOSED") == ("receiving",)
    assert steps("RECEIVING", "CLOSED") == ()


def test_a_shipment_moves_step_by_step_then_its_shortage_is_researched_written_off_and_found(books):
    first = inbound(books, WORKING)
    assert [(r["sku"], r["steps"], r["value"]) for r in first["results"]] == [("MUG", "working", "160.00")]
    assert last_entry(books) == [("FBA-US:Inbound:Working", 40, D("160.00")), ("WH-NJ:Available", -40, D("-160.00"))]
    assert held(books) == {(WH, f.AVAILABLE): (10, "40.00"), (FBA, f.WORKING): (40, "160.00")}
    inbound(books, SHIPPED)
    assert last_entry(books) == [("FBA-US:Inbound:Shipped", 40, D("160.00")),
                                 ("FBA-US:Inbound:Working", -40, D("-160.00"))]
    assert held(books) == {(WH, f.AVAILABLE): (10, "40.00"), (FBA, f.SHIPPED): (40, "160.00")}
    inbound(books, RECEIVING)
    assert last_entry(books)[0] == ("FBA-US:Inbound:Receiving", 40, D("160.00"))
    assert held(books) == {(WH, f.AVAILABLE): (10, "40.00"), (FBA, f.RECEIVING): (40, "160.00")}
    # Amazon receives 37 of the 40: 37 x 4.00 = 148.00 into Available; 3 (12.00) stay inbound.
    assert ledger(books, RECEIPT)["posted"] == 1
    assert held(books) == {(WH, f.AVAILABLE): (10, "40.00"), (FBA, f.AVAILABLE): (37, "148.00"),
                           (FBA, f.RECEIVING): (3, "12.00")}
    # CLOSED: 40 shipped - 37 received = 3 to Researching at 4.00, one entry, dated on the CLOSED row.
    closed = inbound(books, CLOSED)
    assert [(r["status"], r["steps"], r["value"], r["shortage"]) for r in closed["results"]] == [
        ("CLOSED", "closed", "12.00", 3)]
    assert last_entry(books) == [("FBA-US:Researching", 3, D("12.00")), ("FBA-US:Inbound:Receiving", -3, D("-12.00"))]
    assert held(books) == {(WH, f.AVAILABLE): (10, "40.00"), (FBA, f.AVAILABLE): (37, "148.00"),
                           (FBA, f.RESEARCHING): (3, "12.00")}
    # Two of the three are written off as lost: 2 x 4.00 = 8.00.
    with write_transaction(books) as conn:
        done = write_off(conn, "US", "MUG", FBA, 2, "Researching", date(2026, 5, 25), "FBA15X case 123: not found",
                         reference="CASE-123", actor="cli:tester")
    assert (done["value"], done["account"], done["duplicate"]) == ("8.00", f.WRITE_OFF_LOST, False)
    assert last_entry(books) == [("FBA-US:Researching", -2, D("-8.00")), (f.WRITE_OFF_LOST, None, D("8.00"))]
    assert held(books)[(FBA, f.RESEARCHING)] == (1, "4.00") and expense(books, f.WRITE_OFF_LOST) == D("8.00")
    # A unit found comes out of Researching first: 4.00 back into Available.
    assert ledger(books, FOUND[0])["exceptions"] == []
    assert last_entry(books) == [("FBA-US:Available", 1, D("4.00")), ("FBA-US:Researching", -1, D("-4.00"))]
    assert held(books) == {(WH, f.AVAILABLE): (10, "40.00"), (FBA, f.AVAILABLE): (38, "152.00")}
    # Positions equal a fold of the same facts by the pure rules.
    facts = [f.PurchaseReceipt("PO-1", "Acme", date(2026, 5, 1), WH, "USD", (f.PurchaseLine("MUG", 50, D("4.00")),)),
             *(f.InboundShipment("FBA15X", "MUG", 40, WH, FBA, date(2026, 5, d), s)
               for d, s in ((2, "working"), (4, "shipped"), (6, "receiving"))),
             f.FbaReceipt("FBA15X", "MUG", 37, FBA, date(2026, 5, 8)),
             f.StateMove("close", "MUG", 3, FBA, f.RECEIVING, f.RESEARCHING, date(2026, 5, 20)),
             f.WriteOff("w", "MUG", 2, FBA, f.RESEARCHING, date(2026, 5, 25)),
             f.Adjustment("F", "MUG", 1, FBA, date(2026, 5, 28), "SELLABLE", "F")]
    folded = post_all(facts, InventoryState(), Books("US", "USD")).state
    assert {(loc, st): (sum(lot.units for lot in lots), f"{sum(value_of(lot, 'USD') for lot in lots):.2f}")
            for (_, loc, st), lots in folded.positions()} == held(books)


def test_a_found_unit_in_a_later_file_than_the_write_off_reverses_it_at_its_cost(books):
    """40 short (nothing received) and written off: 160.00 to WriteOff:Lost. A unit found in a later inventory
    ledger file, Researching being empty, reverses the loss at the 4.00 it was written off at (load_state rebuilds
    the lost write-offs): WriteOff:Lost 160.00 - 4.00 = 156.00."""
    inbound(books, WORKING + "FBA15X,000123,40,WH-NJ,FBA-US,2026-05-20,CLOSED\n")
    with write_transaction(books) as conn:
        write_off(conn, "US", "MUG", FBA, 40, "researching", date(2026, 5, 25), "never arrived", reference="C-1")
    assert expense(books, f.WRITE_OFF_LOST) == D("160.00")
    result = ledger(books, FOUND[1])
    assert result["exceptions"] == [], result["exceptions"]
    assert last_entry(books) == [("FBA-US:Available", 1, D("4.00")), (f.WRITE_OFF_LOST, None, D("-4.00"))]
    assert expense(books, f.WRITE_OFF_LOST) == D("156.00")
    assert held(books) == {(WH, f.AVAILABLE): (10, "40.00"), (FBA, f.AVAILABLE): (1, "4.00")}


def test_a_receipt_after_the_close_comes_out_of_researching(books):
    inbound(books, WORKING + "FBA15X,000123,40,WH-NJ,FBA-US,2026-05-06,SHIPPED\n"
            "FBA15X,000123,40,WH-NJ,FBA-US,2026-05-07,CLOSED\n")
    assert held(books)[(FBA, f.RESEARCHING)] == (40, "160.00")  # closed before anything was received
    ledger(books, RECEIPT)  # 37 received after the close: out of Researching, 37 x 4.00
    assert last_entry(books) == [("FBA-US:Available", 37, D("148.00")), ("FBA-US:Researching", -37, D("-148.00"))]
    assert held(books) == {(WH, f.AVAILABLE): (10, "40.00"), (FBA, f.AVAILABLE): (37, "148.00"),
                           (FBA, f.RESEARCHING): (3, "12.00")}


def test_a_receipt_beyond_the_inbound_units_takes_researching_in_the_pure_rule():
    # 5 inbound at 4.00 and 2 researching at 4.00: a receipt of 6 takes the 5, then 1 from Researching.
    lot = f.PurchaseReceipt("PO-1", "Acme", date(2026, 5, 1), WH, "USD", (f.PurchaseLine("MUG", 7, D("4.00")),))
    start = post_all([lot, f.InboundShipment("S", "MUG", 7, WH, FBA, date(2026, 5, 2), "working"),
                      f.StateMove("m", "MUG", 2, FBA, f.WORKING, f.RESEARCHING, date(2026, 5, 3))],
                     InventoryState(), Books("US", "USD")).state
    done = post_all([f.FbaReceipt("S", "MUG", 6, FBA, date(2026, 5, 4))], start, Books("US", "USD"))
    assert [(p.account.replace("Assets:Inventory:", ""), int(p.units), p.amount) for p in done.entries[0].postings] \
        == [("FBA-US:Available", 5, D("20.00")), ("FBA-US:Inbound:Working", -5, D("-20.00")),
            ("FBA-US:Available", 1, D("4.00")), ("FBA-US:Researching", -1, D("-4.00"))]
    too_many = post_all([f.FbaReceipt("S", "MUG", 8, FBA, date(2026, 5, 4))], start, Books("US", "USD"))
    assert [x.kind for x in too_many.exceptions] == ["receipt-exceeds-inbound"] and too_many.entries == ()


def test_ingesting_again_is_a_no_op_and_a_later_status_posts_only_the_step_forward(books):
    inbound(books, WORKING)
    again = inbound(books, WORKING)
    assert (again["posted"], again["duplicates"], again["entries"]) == (0, 1, 0)
    both = inbound(books, WORKING + "FBA15X,000123,40,WH-NJ,FBA-US,2026-05-04,SHIPPED\n")
    assert [(r["status"], r["outcome"], r["steps"]) for r in both["results"]] == [
        ("WORKING", "duplicate", ""), ("SHIPPED", "posted", "shipped")]
    assert (both["posted"], both["entries"]) == (1, 1)
    assert inbound(books, WORKING)["posted"] == 0  # the first file again, after the second: still nothing
    assert n_events(books) == 2
    assert held(books) == {(WH, f.AVAILABLE): (10, "40.00"), (FBA, f.SHIPPED): (40, "160.00")}
    with pytest.raises(Conflict, match=r"^inbound.csv:2: shipment FBA15X MUG was recorded WORKING with other "
                                       r"content \(units 40 -> 39"):
        inbound(books, WORKING.replace(",40,", ",39,"))


def test_a_status_going_backwards_is_refused_and_nothing_of_the_file_posts(books):
    inbound(books, SHIPPED)
    bad = ("shipment_id,sku,units,from,to,date,status\nFBA16Y,MUG,1,WH-NJ,FBA-US,2026-05-05,WORKING\n"
           "FBA15X,MUG,40,WH-NJ,FBA-US,2026-05-05,WORKING\n")
    with pytest.raises(Invalid, match=r"^back.csv:3: shipment FBA15X MUG is WORKING, but it is already SHIPPED"):
        inbound(books, bad, "back.csv")
    assert n_events(books) == 1


def test_a_shipment_first_seen_shipped_posts_working_and_shipped_at_once(books):
    result = inbound(books, SHIPPED)
    assert [(r["steps"], r["value"]) for r in result["results"]] == [("working+shipped", "160.00")]
    assert (result["posted"], result["entries"]) == (1, 2)
    with books.connect() as conn:
        (event,) = conn.execute(select(events.c.idempotency_key, events.c.payload, events.c.raw)
                                .where(events.c.kind == "inbound_shipment")).all()
        n = conn.execute(select(func.count()).select_from(entries).where(entries.c.event_id == select(
            events.c.id).where(events.c.kind == "inbound_shipment").scalar_subquery())).scalar()
    assert event.idempotency_key == "inbound:FBA15X:MUG:shipped" and n == 2
    assert json.loads(event.payload)["given_status"] == "IN_TRANSIT" and event.raw == SHIPPED.strip()
    assert held(books) == {(WH, f.AVAILABLE): (10, "40.00"), (FBA, f.SHIPPED): (40, "160.00")}


def test_an_unknown_sku_or_a_location_outside_the_lane_is_refused_naming_file_line(books):
    good = "shipment_id,sku,units,from,to,date,status\nFBA16Y,MUG,1,WH-NJ,FBA-US,2026-05-05,WORKING\n"
    with pytest.raises(Invalid, match=r"^s.csv:3: SKU NOPE is not in the catalog of US"):
        inbound(books, good + "FBA17Z,NOPE,1,WH-NJ,FBA-US,2026-05-05,WORKING\n", "s.csv")
    with pytest.raises(Invalid, match=r"^s.csv:3: shipment FBA17Z: lane FBA may not draw from FBA-X"):
        inbound(books, good + "FBA17Z,MUG,1,WH-NJ,FBA-X,2026-05-05,WORKING\n", "s.csv")
    with pytest.raises(Invalid, match=r"^s.csv:3: shipment FBA17Z leaves FBA-US, a location of kind fba"):
        inbound(books, good + "FBA17Z,MUG,1,FBA-US,FBA-US,2026-05-05,WORKING\n", "s.csv")
    # line 2 took 1 of the 50 first: 49 left for line 3's 60
    with pytest.raises(Invalid, match=r"^s.csv:3: .*short of units: 60 of MUG at WH-NJ Available wanted, 49 held"):
        inbound(books, good + "FBA16Z,MUG,60,WH-NJ,FBA-US,2026-05-05,WORKING\n", "s.csv")
    assert n_events(books) == 0
    cancelled = inbound(books, good.replace("WORKING", "CANCELLED"))
    assert (cancelled["skipped"], cancelled["posted"]) == (1, 0)


def test_the_cli_ingests_a_file_and_writes_off_once(books, cli, tmp_path):
    path = tmp_path / "inbound.csv"
    path.write_text(SHIPPED)
    out = cli("inventory", "inbound", str(path), "-s", "US", "--format", "json")
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["results"][0]["steps"] == "working+shipped"
    table = cli("inventory", "inbound", str(path), "-s", "US")
    assert table.exit_code == 0 and "1 already recorded" in " ".join(table.output.split())
    path.write_text(CLOSED)
    assert cli("inventory", "inbound", str(path), "-s", "US").exit_code == 0  # nothing received: 40 to Researching
    args = ("inventory", "write-off", "-s", "US", "--sku", "MUG", "--location", FBA, "--units", "3", "--state",
            "Researching", "--date", "2026-05-25", "--reason", "lost in transit", "--kind", "lost")
    first = cli(*args, "--format", "json")
    assert first.exit_code == 0, first.output
    data = json.loads(first.output)
    assert (data["value"], data["duplicate"], data["key"].startswith("write-off:")) == ("12.00", False, True)
    again = cli(*args, "--format", "json")
    assert json.loads(again.output)["duplicate"] is True and json.loads(again.output)["event_id"] == data["event_id"]
    with books.connect() as conn:
        actor, payload = conn.execute(select(events.c.actor, events.c.payload)
                                      .where(events.c.kind == "inventory_write_off")).one()
        reason = conn.execute(select(entries.c.reason).where(entries.c.event_id == data["event_id"])).scalar()
    assert actor.startswith("cli:") and json.loads(payload)["reason"] == "lost in transit" == reason
    assert held(books)[(FBA, f.RESEARCHING)] == (37, "148.00")
    ref = cli(*args, "--reference", "CASE-9")
    assert ref.exit_code == 0 and held(books)[(FBA, f.RESEARCHING)] == (34, "136.00")
    clash = cli(*args[:8], "--units", "1", "--date", "2026-05-25", "--reason", "x", "--reference", "CASE-9")
    assert clash.exit_code == 1 and "already recorded" in clash.output
    short = cli(*args[:8], "--units", "99", *args[10:], "--reference", "CASE-10")
    assert short.exit_code == 1 and "short of units" in short.output


def test_a_cell_beyond_its_columns_limits_is_refused_naming_file_line_and_column():
    """Each cell within its column's limit (limits.check_cells): a shipment id as long as an order id may be."""
    long_id = "FBA" + "X" * 200
    with pytest.raises(Invalid, match=r"^in.csv:2: shipment_id is 203 characters long; at most \d+$"):
        parse_inbound(f"shipment_id,sku,units,from,to,date,status\n{long_id},MUG,1,WH-NJ,FBA-US,2026-05-02,WORKING\n"
                      .encode(), "in.csv")
    with pytest.raises(Invalid, match=r"^in.csv:2: sku contains a control character"):
        parse_inbound(b"shipment_id,sku,units,from,to,date,status\nFBA1,M\x00G,1,WH-NJ,FBA-US,2026-05-02,WORKING\n",
                      "in.csv")
