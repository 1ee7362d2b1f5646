"""Units sold from the settlement's order rows (unit_source = settlement), on both engines, worked by hand.

The US story (USD, FIFO): MUG (seller SKU 000123 on amazon.com) is received at WH-NJ as PO-1 (4 at 2.10, 04-20)
and PO-2 (6 at 3.05, 04-25), and sent to FBA-US Available (inbound working, shipped, received on 04-28). Settlement
5001 (05-01..05-14) has two orders on amazon.com:
  111-1  3 units, principal 60.00, commission -9.00, posted 05-02
  111-2  2 units, principal 40.00, commission -6.00, posted 05-03      total 60 - 9 + 40 - 6 = 85.00
FIFO: 111-1 takes 3 of PO-1: 3 x 2.10 = 6.30; 111-2 takes the last of PO-1 and 1 of PO-2: 2.10 + 3.05 = 5.15.
COGS 6.30 + 5.15 = 11.45; left PO-2:1 5 units x 3.05 = 15.25; 8.40 + 18.30 received = 11.45 + 15.25.
"""

from __future__ import annotations

import json
from datetime import date, datetime

import pytest
from sqlalchemy import func, select

from ledger_service.balances.queries import balances_view
from ledger_service.catalog.service import import_catalog
from ledger_service.chart import service as chart
from ledger_service.chart.config import with_settings
from ledger_service.eventlog.model import EventDraft, Source
from ledger_service.ingest.service import ingest_bytes
from ledger_service.inventory import facts as f
from ledger_service.inventory.moves import Books
from ledger_service.inventory.posting import post
from ledger_service.inventory.service import ingest_ledger, load_state, receive_file
from ledger_service.inventory.settlement_units import retry_unit_exceptions, unit_exceptions
from ledger_service.inventory.views import positions, valuation
from ledger_service.journal.writer import post_batch
from ledger_service.locations.service import add_location, set_lane
from ledger_service.settings import DEFAULT_ACCOUNTS_DIR
from ledger_service.store.engine import write_transaction
from ledger_service.store.tables import events
from tests.support.settlement_files import v2

CATALOG = ("sku,title,marketplace,msku,asin,fnsku,parent_asin,valid_from\n"
           "MUG,Ceramic mug,amazon.com,000123,B00012ABCD,X0012ABCD1,,\n"
           "TEA,Tea tin,amazon.co.uk,TEA-UK,B000TEA001,X000TEA001,,\n")
PO_1 = "po,supplier,sku,units,unit_cost,currency,date\nPO-1,Acme,MUG,4,2.10,USD,2024-04-20\n"
PO_2 = "po,supplier,sku,units,unit_cost,currency,date\nPO-2,Acme,MUG,6,3.05,USD,2024-04-25\n"


def order(order_id: str, item: str, sku: str, units: int, principal: str, commission: str, on: str,
          market: str = "Amazon.com", fulfillment: str = "AFN") -> list[dict]:
    common = {"transaction-type": "Order", "order-id": order_id, "marketplace-name": market,
              "posted-date": f"{on} 08:00:00 UTC", "order-item-code": item, "sku": sku, "fulfillment-id": fulfillment}
    return [common | {"amount-type": "ItemPrice", "amount-description": "Principal", "amount": principal,
                      "quantity-purchased": str(units)},
            common | {"amount-type": "ItemFees", "amount-description": "Commission", "amount": commission}]


SETTLEMENT = v2("5001", "2024-05-01", "2024-05-14", "2024-05-16", "85.00",
                order("111-1", "9001", "000123", 3, "60.00", "-9.00", "2024-05-02")
                + order("111-2", "9002", "000123", 2, "40.00", "-6.00", "2024-05-03"))


def finances_page() -> bytes:
    """Order 111-1 as an open group's ShipmentEvent (the same order item the flat file settles later)."""
    money = lambda a: {"CurrencyCode": "USD", "CurrencyAmount": a}  # noqa: E731
    page = {"payload": {"FinancialEvents": {"ShipmentEventList": [{
        "AmazonOrderId": "111-1", "PostedDate": "2024-05-02T08:00:00Z", "MarketplaceName": "Amazon.com",
        "ShipmentItemList": [{"SellerSKU": "000123", "OrderItemId": "9001", "QuantityShipped": 3,
                              "ItemChargeList": [{"ChargeType": "Principal", "ChargeAmount": money("60.00")}],
                              "ItemFeeList": [{"FeeType": "Commission", "FeeAmount": money("-9.00")}]}]}]}}}
    return json.dumps(page).encode()


def set_source(engine, code: str, source: str) -> None:
    with write_transaction(engine) as conn:
        current = chart.subsidiary_config(conn, code, DEFAULT_ACCOUNTS_DIR)
        chart.record_config(conn, with_settings(current, unit_source=source), DEFAULT_ACCOUNTS_DIR, "test")


def to_fba(engine, code: str, currency: str, method: str, sku: str, units: int, wh: str, fba: str,
           shipment: str) -> None:
    """`units` of `sku` from the warehouse to FBA Available, posted from facts (inbound working, shipped, receipt)."""
    with write_transaction(engine) as conn:
        state, books = load_state(conn, code, [sku]), Books(code, currency, method)
        on = date(2024, 4, 28)
        steps = [f.InboundShipment(shipment, sku, units, wh, fba, on, stage) for stage in ("working", "shipped")]
        for n, fact in enumerate([*steps, f.FbaReceipt(shipment, sku, units, fba, on)]):
            done = post(fact, state, books)
            state = done.state
            post_batch(conn, [(EventDraft(code, "test_inbound", datetime(2024, 4, 28), f"{shipment}-{n}", shipment,
                                          Source(system="test")), list(done.entries))])


@pytest.fixture
def us(engine):
    """US with unit_source = settlement, FBA-US in the FBA lane, the catalog, and PO-1 at FBA-US Available."""
    with write_transaction(engine) as conn:
        add_location(conn, "US", "WH-NJ", "warehouse")
        add_location(conn, "US", "FBA-US", "fba", marketplace="amazon.com")
        set_lane(conn, "US", "FBA", ["FBA-US"])
        import_catalog(conn, "US", CATALOG.encode(), "catalog.csv")
        receive_file(conn, "US", PO_1.encode(), "po-1.csv", "WH-NJ")
    to_fba(engine, "US", "USD", "fifo", "MUG", 4, "WH-NJ", "FBA-US", "FBA-1")
    set_source(engine, "US", "settlement")
    return engine


def receive_po_2(engine) -> None:
    with write_transaction(engine) as conn:
        receive_file(conn, "US", PO_2.encode(), "po-2.csv", "WH-NJ")
    to_fba(engine, "US", "USD", "fifo", "MUG", 6, "WH-NJ", "FBA-US", "FBA-2")


def balance(engine, code: str, account: str) -> str:
    with engine.connect() as conn:
        return next((r["balance"] for r in balances_view(conn, code) if r["account"] == account), "0.00")


def lots(engine, code: str) -> list[tuple]:
    with engine.connect() as conn:
        return [(x["sku"], x["location"], x["state"], x["lot"], x["units"], x["value"])
                for x in valuation(conn, code)["lots"]]


def count(engine, kind: str) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(events).where(events.c.kind == kind)).scalar()


def test_two_orders_over_two_lots_cost_to_the_cent_and_again_changes_nothing(us, cli, tmp_path):
    receive_po_2(us)
    report = ingest_bytes(us, SETTLEMENT, "5001.txt", "US")
    units = report.units
    assert (units["posted"], units["units"], units["cogs"], units["exceptions"]) == (2, 5, "11.45", [])
    assert balance(us, "US", "Expenses:COGS") == "11.45"  # 6.30 + 5.15
    assert balance(us, "US", "Income:Amazon:Sales:Principal") == "-100.00"  # the money posts as ever
    assert lots(us, "US") == [("MUG", "FBA-US", "Available", "PO-2:1", 5, "15.25")]
    with us.connect() as conn:
        rows = conn.execute(select(events.c.idempotency_key, events.c.source_line, events.c.occurred_at)
                            .where(events.c.kind == "settlement_units").order_by(events.c.id)).all()
    # keyed by the order item; the principal row (lines 3 and 5 of the file) kept; dated on its posted date
    assert [tuple(r) for r in rows] == [("units:sale:111-1:000123", 3, datetime(2024, 5, 2)),
                                        ("units:sale:111-2:000123", 5, datetime(2024, 5, 3))]

    path = tmp_path / "5001.txt"  # again, through the command line: the flat file is streamed
    path.write_bytes(SETTLEMENT)
    again = cli("ingest", str(path), "-s", "US", "--format", "json")
    assert again.exit_code == 0, again.output
    [report] = json.loads(again.output)["files"]
    assert (report["events"], report["units"]["posted"], report["units"]["duplicates"]) == (0, 0, 2)
    assert balance(us, "US", "Expenses:COGS") == "11.45" and count(us, "settlement_units") == 2


def test_the_ingest_answer_over_the_api_says_what_the_order_rows_posted(us):
    from tests.support.api import api_client

    receive_po_2(us)
    r = api_client(us, "poster").post("/ingest", data={"subsidiary": "US"},
                                      files={"file": ("5001.txt", SETTLEMENT, "text/plain")})
    assert r.status_code == 201, r.text
    units = r.json()["units"]
    assert (units["unit_source"], units["posted"], units["units"], units["cogs"], units["exceptions"]) == (
        "settlement", 2, 5, "11.45", [])  # 6.30 + 5.15, as through ingest_bytes above
    assert balance(us, "US", "Expenses:COGS") == "11.45"


def test_sales_in_a_closed_period_wait_and_take_no_lot_until_it_reopens(us):
    """late_entries = refuse and May closed: the settlement's money is refused as late, and so are its sales'
    COGS; the sales wait in the queue (period_closed) without taking a lot, and post at 11.45 once May reopens."""
    from ledger_service.periods.service import close_period, reopen_period

    receive_po_2(us)
    before = lots(us, "US")
    with write_transaction(us) as conn:
        current = chart.subsidiary_config(conn, "US", DEFAULT_ACCOUNTS_DIR)
        chart.record_config(conn, with_settings(current, late_entries="refuse"), DEFAULT_ACCOUNTS_DIR, "test")
        for period in ("2024-04", "2024-05"):
            close_period(conn, "US", period, reason="test", force=True)
    units = ingest_bytes(us, SETTLEMENT, "5001.txt", "US").units
    assert (units["posted"], [(x["order_id"], x["kind"]) for x in units["exceptions"]]) == (
        0, [("111-1", "period_closed"), ("111-2", "period_closed")])
    assert "dated 2024-05-02, in closed period 2024-05" in units["exceptions"][0]["message"]
    assert balance(us, "US", "Expenses:COGS") == "0.00" and lots(us, "US") == before
    assert balance(us, "US", "Income:Amazon:Sales:Principal") == "0.00"  # the money waits too (exceptions late)

    with write_transaction(us) as conn:
        reopen_period(conn, "US", "2024-05", reason="late settlement")
        retried = retry_unit_exceptions(conn, "US")
    assert (retried["posted"], retried["cogs"], retried["still_open"]) == (2, "11.45", [])
    assert lots(us, "US") == [("MUG", "FBA-US", "Available", "PO-2:1", 5, "15.25")]


def test_the_same_order_item_in_a_finances_page_then_the_flat_file_counts_once(us):
    receive_po_2(us)
    page = ingest_bytes(us, finances_page(), "page.json", "US", group_id="5001", group_final=False)
    assert (page.units["posted"], page.units["cogs"]) == (1, "6.30")  # 3 x 2.10: units are never pending
    flat = ingest_bytes(us, SETTLEMENT, "5001.txt", "US")
    assert (flat.units["posted"], flat.units["duplicates"], flat.units["cogs"]) == (1, 1, "5.15")
    assert balance(us, "US", "Expenses:COGS") == "11.45" and count(us, "settlement_units") == 2
    assert balance(us, "US", "Income:Amazon:Sales:Principal") == "-100.00"  # the page's money voided by the file


def test_a_short_sale_waits_in_the_exception_queue_and_posts_after_retry(us, cli):
    """Only PO-1 (4 units) is at FBA-US: 111-1 takes 3 (6.30); 111-2 wants 2 and 1 is held: an exception, and the
    settlement's money posts all the same. After PO-2 arrives, --retry posts 111-2: 2.10 + 3.05 = 5.15."""
    report = ingest_bytes(us, SETTLEMENT, "5001.txt", "US")
    assert (report.units["posted"], report.units["cogs"]) == (1, "6.30")
    assert [(x["order_id"], x["kind"]) for x in report.units["exceptions"]] == [("111-2", "short_of_units")]
    assert balance(us, "US", "Income:Amazon:Sales:Principal") == "-100.00"
    assert balance(us, "US", "Assets:Bank:Operating") == "85.00"
    with us.connect() as conn:
        [item] = unit_exceptions(conn, "US")
    assert (item["order_id"], item["sku"], item["units"], item["status"]) == ("111-2", "000123", 2, "open")
    assert "wanted" in item["message"] and item["source"]["line"] == 5

    ingest_bytes(us, SETTLEMENT, "5001.txt", "US")  # still short: nothing new recorded
    assert count(us, "settlement_units_exception") == 1

    listed = cli("exceptions", "units", "-s", "US", "--format", "json")
    assert listed.exit_code == 0, listed.output
    assert [x["order_id"] for x in json.loads(listed.output)] == ["111-2"]
    still = json.loads(cli("exceptions", "units", "-s", "US", "--retry", "--format", "json").output)
    assert (still["retry"]["posted"], len(still["retry"]["still_open"])) == (0, 1)

    receive_po_2(us)
    done = cli("exceptions", "units", "-s", "US", "--retry")
    assert done.exit_code == 0, done.output
    assert "1 of 1 sale(s) posted (2 units, COGS 5.15)" in " ".join(done.output.split())
    assert balance(us, "US", "Expenses:COGS") == "11.45"
    assert lots(us, "US") == [("MUG", "FBA-US", "Available", "PO-2:1", 5, "15.25")]
    with us.connect() as conn:
        assert unit_exceptions(conn, "US") == []
        assert [x["status"] for x in unit_exceptions(conn, "US", include_closed=True)] == ["posted"]
    again = json.loads(cli("exceptions", "units", "-s", "US", "--retry", "--format", "json").output)
    assert again["retry"]["retried"] == 0 and count(us, "settlement_units") == 2


def test_an_unknown_sku_or_marketplace_is_an_exception_not_a_refusal(us):
    """Principal 50.00 + 30.00 + 20.00 = 100.00, commissions -15.00: total 85.00. 111-5 was merchant-fulfilled: its
    units left the seller's own warehouse, not FBA: counted, not posted."""
    text = v2("5002", "2024-05-01", "2024-05-14", "2024-05-16", "85.00",
              order("111-3", "9003", "NOPE", 1, "50.00", "-5.00", "2024-05-04")
              + order("111-4", "9004", "000123", 1, "30.00", "-5.00", "2024-05-04", market="Amazon.ca")
              + order("111-5", "9005", "000123", 1, "20.00", "-5.00", "2024-05-04", fulfillment="MFN"))
    report = ingest_bytes(us, text, "5002.txt", "US")
    assert [(x["order_id"], x["kind"]) for x in report.units["exceptions"]] == [
        ("111-3", "unknown_sku"), ("111-4", "no_fba_location")]
    assert (report.units["posted"], report.units["merchant_fulfilled"]) == (0, 1)
    assert balance(us, "US", "Income:Amazon:Sales:Principal") == "-100.00"
    assert count(us, "settlement_units_exception") == 2 and balance(us, "US", "Expenses:COGS") == "0.00"


def test_with_inventory_ledger_the_settlement_posts_no_units(us):
    set_source(us, "US", "inventory_ledger")
    report = ingest_bytes(us, SETTLEMENT, "5001.txt", "US")
    assert report.units is None and "units" not in report.as_dict()
    assert balance(us, "US", "Expenses:COGS") == "0.00" and count(us, "settlement_units") == 0


LEDGER = ("Date\tFNSKU\tASIN\tMSKU\tTitle\tEventType\tReferenceID\tQuantity\tFulfillmentCenter\tDisposition\t"
          "Reason\tCountry\n"
          "2024-05-01\tX0012ABCD1\tB00012ABCD\t000123\tMug\tShipments\t111-1\t-3\tPHX6\tSELLABLE\t\tUS\n"
          "2024-05-02\tX0012ABCD1\tB00012ABCD\t000123\tMug\tShipments\t111-2\t-2\tPHX6\tSELLABLE\t\tUS\n")


def ingest_report(engine, text: str) -> dict:
    with write_transaction(engine) as conn:
        return ingest_ledger(conn, "US", text.encode(), "ledger.tsv", "FBA-US")


def test_with_settlement_the_inventory_ledgers_shipments_are_skipped_and_counted(us):
    receive_po_2(us)
    result = ingest_report(us, LEDGER)
    assert (result["posted"], result["counted_by_settlement"], result["exceptions"]) == (0, 2, [])
    assert balance(us, "US", "Expenses:COGS") == "0.00"
    ingest_bytes(us, SETTLEMENT, "5001.txt", "US")
    assert balance(us, "US", "Expenses:COGS") == "11.45"

    # Back to inventory_ledger: the same report still posts no sale the settlement has costed.
    set_source(us, "US", "inventory_ledger")
    result = ingest_report(us, LEDGER)
    assert (result["posted"], result["counted_by_settlement"]) == (0, 2)
    assert balance(us, "US", "Expenses:COGS") == "11.45" and count(us, "inventory_movement") == 0


def test_an_order_item_the_inventory_ledger_took_is_not_costed_again(us):
    """Under inventory_ledger the report ships 111-1 (3 x 2.10 = 6.30); after the switch to settlement, the
    settlement costs only 111-2 (2.10 + 3.05 = 5.15): COGS 11.45 as with one source."""
    receive_po_2(us)
    set_source(us, "US", "inventory_ledger")
    assert ingest_report(us, LEDGER.splitlines(keepends=True)[0] + LEDGER.splitlines(keepends=True)[1])[
        "posted"] == 1
    set_source(us, "US", "settlement")
    report = ingest_bytes(us, SETTLEMENT, "5001.txt", "US")
    assert (report.units["posted"], report.units["counted_by_inventory_ledger"], report.units["cogs"]) == (
        1, 1, "5.15")
    assert balance(us, "US", "Expenses:COGS") == "11.45"


def test_moving_average_uk(engine):
    """UK (GBP, moving average): TEA received 4 at 1.00 and 3 at 1.50: 7 units worth 8.50 (1.214286 each), all
    sent to FBA-UK. Order 202-1 takes 3: round(8.50 x 3 / 7) = round(3.642857) = 3.64, leaving 4 worth 4.86;
    202-2 takes 2: round(4.86 x 2 / 4) = 2.43, leaving 2 worth 2.43. COGS 3.64 + 2.43 = 6.07."""
    with write_transaction(engine) as conn:
        add_location(conn, "UK", "WH-UK", "warehouse")
        add_location(conn, "UK", "FBA-UK", "fba", marketplace="amazon.co.uk")
        set_lane(conn, "UK", "FBA", ["FBA-UK"])
        import_catalog(conn, "UK", CATALOG.encode(), "catalog.csv")
        receive_file(conn, "UK", ("po,supplier,sku,units,unit_cost,currency,date\n"
                                  "PO-U1,Leaf,TEA,4,1.00,GBP,2024-04-20\nPO-U2,Leaf,TEA,3,1.50,GBP,2024-04-25\n"
                                  ).encode(), "po-uk.csv", "WH-UK")
    to_fba(engine, "UK", "GBP", "average", "TEA", 7, "WH-UK", "FBA-UK", "FBA-UK-1")
    set_source(engine, "UK", "settlement")
    text = v2("6001", "2024-05-01", "2024-05-14", "2024-05-16", "50.00",
              order("202-1", "8001", "TEA-UK", 3, "36.00", "-6.00", "2024-05-02", market="Amazon.co.uk")
              + order("202-2", "8002", "TEA-UK", 2, "24.00", "-4.00", "2024-05-03", market="Amazon.co.uk"),
              currency="GBP")
    report = ingest_bytes(engine, text, "6001.txt", "UK")
    assert (report.units["posted"], report.units["units"], report.units["cogs"]) == (2, 5, "6.07")
    assert balance(engine, "UK", "Expenses:COGS") == "6.07"
    with engine.connect() as conn:
        held = {(r["location"], r["state"]): (r["units"], r["value"]) for r in positions(conn, "UK") if r["units"]}
        assert valuation(conn, "UK")["total"] == "2.43"  # 8.50 received - 6.07 sold
    assert held == {("FBA-UK", "Available"): (2, "2.43")}


def test_an_open_exception_the_inventory_ledger_takes_closes_without_posting(us):
    """111-2 is short (only PO-1 at FBA-US: 111-1 took 3 of its 4, 6.30) and waits. The seller switches to
    inventory_ledger, PO-2 arrives and the report ships both orders: 111-1 is the settlement's already (counted, not
    posted), 111-2 posts from the report (2.10 + 3.05 = 5.15). The exception is closed, counted by the inventory
    ledger, and a retry posts nothing: COGS 11.45, each order once."""
    ingest_bytes(us, SETTLEMENT, "5001.txt", "US")
    receive_po_2(us)
    set_source(us, "US", "inventory_ledger")
    result = ingest_report(us, LEDGER)
    assert (result["posted"], result["counted_by_settlement"]) == (1, 1)
    assert balance(us, "US", "Expenses:COGS") == "11.45"
    with us.connect() as conn:
        assert unit_exceptions(conn, "US") == []
        assert [x["status"] for x in unit_exceptions(conn, "US", include_closed=True)] == [
            "counted_by_inventory_ledger"]
    with write_transaction(us) as conn:
        assert retry_unit_exceptions(conn, "US")["retried"] == 0
    assert balance(us, "US", "Expenses:COGS") == "11.45" and count(us, "settlement_units") == 1


def test_an_uncosted_sale_is_listed_at_the_close_and_over_the_api(us):
    """111-2 (2 units, dated in May 2024, short by 1) is open: the May close checks list it, the close pack's
    exception section carries it, and GET /inventory/exceptions gives it beside the inventory ledger's items; once
    costed it is gone from all three (and shown as posted with all=true)."""
    from ledger_service.periods.service import close_checks
    from ledger_service.reports.close import close_pack
    from tests.support.api import api_client

    ingest_bytes(us, SETTLEMENT, "5001.txt", "US")
    with us.connect() as conn:
        checks = close_checks(conn, "US", "2024-05")
        pack = close_pack(conn, "US", "2024-05")
    assert [(x["order_id"], x["sku"], x["units"], x["kind"]) for x in checks["settlement_unit_exceptions"]] == [
        ("111-2", "000123", 2, "short_of_units")]
    [section] = [s for s in pack.sections if s.key == "exceptions"]
    [table] = [t for t in section.tables if t.name == "settlement_unit_exceptions"]
    assert [(r["order_id"], r["units"], r["where"]) for r in table.rows] == [("111-2", 2, "5001.txt:5")]
    client = api_client(us, "viewer")
    r = client.get("/inventory/exceptions", params={"subsidiary": "US"})
    assert r.status_code == 200, r.text
    assert [(x["source"], x["order_id"], x["quantity"], x["status"], x["line"]) for x in r.json()] == [
        ("settlement", "111-2", 2, "open", 5)]
    receive_po_2(us)
    with write_transaction(us) as conn:
        retry_unit_exceptions(conn, "US")
    with us.connect() as conn:
        assert close_checks(conn, "US", "2024-05")["settlement_unit_exceptions"] == []
    assert client.get("/inventory/exceptions", params={"subsidiary": "US"}).json() == []
    assert [x["status"] for x in client.get("/inventory/exceptions",
                                            params={"subsidiary": "US", "all": "true"}).json()] == ["posted"]
