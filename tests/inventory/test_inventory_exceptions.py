"""Inventory ledger rows in the exception queue, by hand, on both engines: stored, listed, retried, closed over.

The story (US, USD, FIFO): PO-1 receives 30 MUG at 2.00 into WH-NJ (04-20); inbound FBA15ABC123 moves 24 to
FBA-US Inbound:Shipped (04-22). Catalog: MUG = MSKU 000123; PLATE = MSKU 000777 (no units anywhere). The report:
  line 2 05-01 Receipts +24 SELLABLE            -> Available 24 x 2.00 = 48.00
  line 3 05-01 Shipments -1 of MSKU 000123-B    -> not in the catalog: unknown-sku, open, nothing posted
  line 4 05-02 Adjustments -1 reason Z          -> Z is in no reasons table: unknown-reason, open, nothing posted
  line 5 05-02 CustomerReturns +1 (999-9)       -> no sale known: back at the current cost 2.00 (COGS -2.00),
                                                   posted and flagged return-without-sale
  line 6 05-03 CustomerReturns +1 PLATE (888-8) -> no sale, no PLATE units to cost it: return-without-cost, open
Then Available 25 (50.00). Once 000123-B is imported as MUG, the retry posts line 3: COGS 2.00, Available 24
(48.00); lines 4 and 6 stay open.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date

import pytest
from sqlalchemy import func, select

from ledger_service.catalog.service import import_catalog
from ledger_service.errors import NotFound
from ledger_service.exceptions.service import inventory_exceptions, retry_inventory
from ledger_service.inventory import facts as f
from ledger_service.inventory.service import ingest_ledger
from ledger_service.inventory.views import positions
from ledger_service.periods.service import close_checks
from ledger_service.reports.close import close_pack
from ledger_service.store.engine import write_transaction
from ledger_service.store.tables import entries, events
from tests.support.inventory import LEDGER_HEAD as HEAD, ship_to_fba, warehouse_and_fba

ROWS = [
    "2024-05-01\tX0012ABCD1\tB00012ABCD\t000123\tMug\tReceipts\tFBA15ABC123\t24\tPHX6\tSELLABLE\t\tUS",
    "2024-05-01\tX0012ABCD2\tB00012ABCD\t000123-B\tMug\tShipments\t113-1\t-1\tPHX6\tSELLABLE\t\tUS",
    "2024-05-02\tX0012ABCD1\tB00012ABCD\t000123\tMug\tAdjustments\t9001\t-1\tPHX6\tSELLABLE\tZ\tUS",
    "2024-05-02\tX0012ABCD1\tB00012ABCD\t000123\tMug\tCustomerReturns\t999-9\t1\tPHX6\tSELLABLE\t\tUS",
    "2024-05-03\tX000PLATE1\tB000PLATE1\t000777\tPlate\tCustomerReturns\t888-8\t1\tPHX6\tSELLABLE\t\tUS",
]
REPORT = HEAD + "\n".join(ROWS) + "\n"
CATALOG = ("sku,title,marketplace,msku,asin,fnsku,parent_asin,valid_from\n"
           "MUG,Ceramic mug,amazon.com,000123,B00012ABCD,X0012ABCD1,,\n"
           "PLATE,Plate,amazon.com,000777,B000PLATE1,X000PLATE1,,\n")
FIXED = CATALOG + "MUG,Ceramic mug,amazon.com,000123-B,B00012ABCD,X0012ABCD2,,\n"
PO = "po,supplier,sku,units,unit_cost,currency,date\nPO-1,Acme,MUG,30,2.00,USD,2024-04-20\n"
INBOUND = [f.InboundShipment("FBA15ABC123", "MUG", 24, "WH-NJ", "FBA-US", date(2024, 4, 22), stage)
           for stage in ("working", "shipped")]
OPEN = [(3, "unknown-sku", "open"), (4, "unknown-reason", "open"), (5, "return-without-sale", "flagged"),
        (6, "return-without-cost", "open")]


@pytest.fixture
def story(engine):
    with write_transaction(engine) as conn:
        warehouse_and_fba(conn, CATALOG, PO)
        ship_to_fba(conn, "FBA15ABC123", "MUG", 24, date(2024, 4, 22))  # INBOUND
    return engine


def ingest(engine) -> dict:
    with write_transaction(engine) as conn:
        return ingest_ledger(conn, "US", REPORT.encode(), "ledger.tsv", "FBA-US")


def listed(engine, include_resolved: bool = False) -> list[tuple]:
    with engine.connect() as conn:
        return [(x["source"]["line"], x["kind"], x["status"])
                for x in inventory_exceptions(conn, "US", include_resolved=include_resolved)]


def available(engine) -> tuple:
    with engine.connect() as conn:
        return {(r["location"], r["state"]): (r["units"], r["value"]) for r in positions(conn, "US")}[
            ("FBA-US", f.AVAILABLE)]


def counts(engine) -> dict:
    with engine.connect() as conn:
        return dict(conn.execute(select(events.c.kind, func.count()).where(events.c.kind.like("inventory_%"))
                                 .group_by(events.c.kind)).all())


def test_rows_that_post_nothing_are_stored_without_entries_and_listed_open(story):
    result = ingest(story)
    assert (result["posted"], result["exceptions_recorded"]) == (2, 3)
    assert [(x["line"], x["kind"], x["posted"]) for x in result["exceptions"]] == [
        (3, "unknown-sku", False), (4, "unknown-reason", False), (5, "return-without-sale", True),
        (6, "return-without-cost", False)]
    assert available(story) == (25, "50.00")  # 24 x 2.00 received, 1 back at the current 2.00
    with story.connect() as conn:
        stored = conn.execute(select(events.c.id, events.c.idempotency_key, events.c.raw, events.c.source_document,
                                     events.c.source_sha256, events.c.source_line, events.c.payload)
                              .where(events.c.kind == "inventory_exception").order_by(events.c.id)).all()
        with_entries = conn.execute(select(func.count()).select_from(entries).where(
            entries.c.event_id.in_([r.id for r in stored]))).scalar()
        flagged = json.loads(conn.execute(select(events.c.payload).where(events.c.source_line == 5,
                                                                         events.c.kind == "inventory_movement")
                                          ).scalar())
    assert with_entries == 0
    assert [(r.raw, r.source_document, r.source_line) for r in stored] == [
        (ROWS[1], "ledger.tsv", 3), (ROWS[2], "ledger.tsv", 4), (ROWS[4], "ledger.tsv", 6)]
    assert all(r.idempotency_key.startswith("inventory-exception:") and len(r.source_sha256) == 64 for r in stored)
    first = json.loads(stored[0].payload)
    assert (first["exception"], first["msku"], first["fnsku"], first["quantity"], first["sku"],
            first["location"]) == ("unknown-sku", "000123-B", "X0012ABCD2", -1, None, "FBA-US")
    assert "000123-B" in first["message"]
    assert [x["kind"] for x in flagged["exceptions"]] == ["return-without-sale"]
    assert listed(story) == OPEN


def test_the_same_file_again_records_nothing_new(story):
    ingest(story)
    before = counts(story)
    again = ingest(story)
    assert (again["posted"], again["duplicates"], again["exceptions_recorded"]) == (0, 2, 0)
    assert len(again["exceptions"]) == 3  # the open rows are run again, and still fail the same way
    assert counts(story) == before == {"inventory_movement": 2, "inventory_exception": 3}


def test_retry_posts_what_the_catalog_now_resolves_and_leaves_the_rest_open(story):
    ingest(story)
    with pytest.raises(NotFound):
        retry_inventory(story, "NOPE")
    nothing = retry_inventory(story, "US")
    assert (nothing["retried"], nothing["posted"], nothing["still_open"]) == (3, 0, 3)
    with write_transaction(story) as conn:
        import_catalog(conn, "US", FIXED.encode(), "catalog.csv")
    done = retry_inventory(story, "US")
    assert (done["retried"], done["posted"], done["entries"], done["still_open"]) == (3, 1, 1, 2)
    assert [(x["line"], x["kind"]) for x in done["items"]] == [(4, "unknown-reason"), (6, "return-without-cost")]
    assert available(story) == (24, "48.00")  # line 3's sale took 1 x 2.00: COGS 2.00
    assert listed(story) == [x for x in OPEN if x[0] != 3]
    assert listed(story, include_resolved=True) == [(3, "unknown-sku", "resolved"), *OPEN[1:]]
    with story.connect() as conn:
        [resolved] = [x for x in inventory_exceptions(conn, "US", True) if x["status"] == "resolved"]
        by = conn.execute(select(events.c.kind, events.c.idempotency_key, events.c.source_line)
                          .where(events.c.id == resolved["resolved_by"])).one()
    assert (by.kind, by.idempotency_key, by.source_line) == ("inventory_movement", resolved["key"], 3)
    again = retry_inventory(story, "US")
    assert (again["retried"], again["posted"], again["still_open"]) == (2, 0, 2)
    assert ingest(story)["duplicates"] == 3  # the file again: line 3 is in the log now
    assert counts(story) == {"inventory_movement": 3, "inventory_exception": 3}
    assert available(story) == (24, "48.00")


def test_the_close_checks_and_the_close_pack_list_the_open_items(story):
    ingest(story)
    with story.connect() as conn:
        checks = close_checks(conn, "US", "2024-05")
        before = close_checks(conn, "US", "2024-04")
        pack = close_pack(conn, "US", "2024-05")
    assert [(x["kind"], x["date"], x["msku"], x["quantity"]) for x in checks["inventory_exceptions"]] == [
        ("unknown-sku", "2024-05-01", "000123-B", -1), ("unknown-reason", "2024-05-02", "000123", -1),
        ("return-without-cost", "2024-05-03", "000777", 1)]
    assert checks["problems"] == [] and before["inventory_exceptions"] == []
    section = next(s for s in pack.sections if s.key == "exceptions")
    table = next(t for t in section.tables if t.name == "inventory_exceptions")
    assert [(r["kind"], r["where"], r["quantity"]) for r in table.rows] == [
        ("unknown-sku", "ledger.tsv:3", -1), ("unknown-reason", "ledger.tsv:4", -1),
        ("return-without-cost", "ledger.tsv:6", 1)]


def test_the_cli_lists_and_retries(story, cli):
    ingest(story)
    as_json = cli("exceptions", "inventory", "-s", "US", "--format", "json")
    assert as_json.exit_code == 0, as_json.output
    assert [(x["kind"], x["status"], x["quantity"]) for x in json.loads(as_json.output)] == [
        ("unknown-sku", "open", -1), ("unknown-reason", "open", -1), ("return-without-sale", "flagged", 1),
        ("return-without-cost", "open", 1)]
    as_csv = cli("exceptions", "inventory", "-s", "US", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout_bytes.decode())))
    assert [(r["kind"], r["msku"], r["where"], r["status"]) for r in rows][0] == (
        "unknown-sku", "000123-B", "ledger.tsv:3", "open")
    table = cli("exceptions", "inventory", "-s", "US")
    assert table.exit_code == 0 and "return-without-cost" in table.output
    with write_transaction(story) as conn:
        import_catalog(conn, "US", FIXED.encode(), "catalog.csv")
    retried = cli("exceptions", "retry-inventory", "-s", "US")
    assert retried.exit_code == 0, retried.output
    assert "1 of 3 open inventory exception(s) posted" in " ".join(retried.output.split())
    again = cli("exceptions", "retry-inventory", "-s", "US", "--format", "json")
    assert (json.loads(again.output)["posted"], json.loads(again.output)["still_open"]) == (0, 2)
    everything = json.loads(cli("exceptions", "inventory", "-s", "US", "--all", "--format", "json").output)
    assert [x["status"] for x in everything] == ["resolved", "open", "flagged", "open"]
    unknown = cli("exceptions", "inventory", "-s", "NOPE")
    assert unknown.exit_code != 0 and "Traceback" not in unknown.output


def test_a_retried_row_that_is_refused_stays_open_and_is_reported(story):
    """Line 3 asks for 100 MUG once 000123-B is MUG, but Available holds 24: refused (short of units); the retry
    reports it and posts nothing, where an ingest would refuse the whole file."""
    big = HEAD + ROWS[0] + "\n" + ROWS[1].replace("\t-1\t", "\t-100\t") + "\n"
    with write_transaction(story) as conn:
        ingest_ledger(conn, "US", big.encode(), "big.tsv", "FBA-US")
        import_catalog(conn, "US", FIXED.encode(), "catalog.csv")
    done = retry_inventory(story, "US")
    assert (done["retried"], done["posted"], done["still_open"]) == (1, 0, 1)
    [item] = done["items"]
    assert (item["document"], item["line"], item["kind"]) == ("big.tsv", 3, "short_of_units")
    assert "100 of MUG at FBA-US Available wanted, 24 held" in item["message"]
    assert listed(story) == [(3, "unknown-sku", "open")]
    assert available(story) == (24, "48.00")


def test_a_retry_never_posts_a_shipment_the_settlement_counts(story):
    """Line 3 (a Shipments row of order 113-1) waits as unknown-sku; then the subsidiary takes its units from the
    settlement (unit_source = settlement) and the catalog learns 000123-B. The retry counts the row as the
    settlement's and posts nothing: Available stays 25 (50.00), no COGS of 113-1 from the inventory ledger."""
    from ledger_service.chart import service as chart
    from ledger_service.chart.config import with_settings
    from ledger_service.settings import DEFAULT_ACCOUNTS_DIR

    ingest(story)
    with write_transaction(story) as conn:
        current = chart.subsidiary_config(conn, "US", DEFAULT_ACCOUNTS_DIR)
        chart.record_config(conn, with_settings(current, unit_source="settlement"), DEFAULT_ACCOUNTS_DIR, "test")
        import_catalog(conn, "US", FIXED.encode(), "catalog.csv")
    done = retry_inventory(story, "US")
    assert (done["retried"], done["posted"], done["counted_by_settlement"]) == (3, 0, 1)
    assert available(story) == (25, "50.00")
    assert counts(story) == {"inventory_movement": 2, "inventory_exception": 3}
