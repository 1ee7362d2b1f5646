"""A unit movement dated in a closed period, under late_entries = refuse: it waits, and takes no lot meanwhile.

The writer keeps a refused event without its entries (periods.model.place). A posting run folds its state over the
rows, so a refused sale that still took its lots in the run's state would make every later row of the run cost
against lots the database never gave up. So the runs ask first (periods.model.refusal): the inventory ledger's row
becomes an exception item, a settlement sale an exception of the settlement's units, and an inbound shipment file
is refused whole. Worked by hand (US, USD, FIFO; both engines):

  04-01 PO-1: 10 MUG at 2.00 (lot PO-1:1); 04-02 PO-2: 10 MUG at 3.00 (lot PO-2:1), into WH-NJ
  04-05 FBA15APR: 20 MUG WH-NJ -> FBA-US inbound; 04-06 Receipts +20 -> FBA-US Available (10 @ 2.00, 10 @ 3.00)
  April closes; late_entries = refuse. A report then says:
  04-28 Shipments -5 (111-1): in closed April -> an exception item; no lot taken
  05-03 Shipments -10 (111-2): takes PO-1:1, all 10 at 2.00 = COGS 20.00 (had 111-1 taken 5 of PO-1:1 in the run's
        state, it would have cost 5 x 2.00 + 5 x 3.00 = 25.00, against 5 units of PO-1:1 the books still hold)
  left: PO-2:1 10 at 3.00 = 30.00. April reopens; the retry posts 111-1 on 04-28, from PO-2:1: 5 x 3.00 = 15.00;
  left: 5 at 3.00 = 15.00, COGS 35.00.
"""

from __future__ import annotations

from datetime import date

import pytest

from ledger_service.balances.queries import balances_view
from ledger_service.chart import service as chart
from ledger_service.chart.config import with_settings
from ledger_service.errors import Invalid
from ledger_service.exceptions.service import inventory_exceptions, retry_inventory
from ledger_service.inventory.inbound import ingest_inbound
from ledger_service.inventory.service import ingest_ledger, load_state, receive_file
from ledger_service.inventory.valuation import value_of
from ledger_service.inventory.views import valuation
from ledger_service.periods.service import close_period, reopen_period
from ledger_service.settings import DEFAULT_ACCOUNTS_DIR
from ledger_service.store.engine import write_transaction
from tests.support.inventory import LEDGER_HEAD as HEAD, ship_to_fba, warehouse_and_fba

CATALOG = ("sku,title,marketplace,msku,asin,fnsku,parent_asin,valid_from\n"
           "MUG,Ceramic mug,amazon.com,000123,B00012ABCD,X0012ABCD1,,\n")
PO = ("po,supplier,sku,units,unit_cost,currency,date\nPO-1,Acme,MUG,10,2.00,USD,2024-04-01\n"
      "PO-2,Acme,MUG,10,3.00,USD,2024-04-02\n")
APRIL = HEAD + "2024-04-06\tX0012ABCD1\tB00012ABCD\t000123\tMug\tReceipts\tFBA15APR\t20\tPHX6\tSELLABLE\t\tUS\n"
PO_3 = "po,supplier,sku,units,unit_cost,currency,date\nPO-3,Acme,MUG,5,4.00,USD,2024-05-01\n"
LATE = HEAD + ("2024-04-28\tX0012ABCD1\tB00012ABCD\t000123\tMug\tShipments\t111-1\t-5\tPHX6\tSELLABLE\t\tUS\n"
               "2024-05-03\tX0012ABCD1\tB00012ABCD\t000123\tMug\tShipments\t111-2\t-10\tPHX6\tSELLABLE\t\tUS\n")


@pytest.fixture
def april_closed(engine):
    with write_transaction(engine) as conn:
        warehouse_and_fba(conn, CATALOG, PO)
        ship_to_fba(conn, "FBA15APR", "MUG", 20, date(2024, 4, 5))
        ingest_ledger(conn, "US", APRIL.encode(), "april.tsv", "FBA-US")
        current = chart.subsidiary_config(conn, "US", DEFAULT_ACCOUNTS_DIR)
        chart.record_config(conn, with_settings(current, late_entries="refuse"), DEFAULT_ACCOUNTS_DIR, "test")
        close_period(conn, "US", "2024-04", reason="test", force=True)
    return engine


def books(engine) -> tuple[str, list[tuple], str]:
    """(COGS balance, FBA-US lots as (lot, units, value), the valuation total), and load_state must agree."""
    with engine.connect() as conn:
        cogs = next((r["balance"] for r in balances_view(conn, "US") if r["account"] == "Expenses:COGS"), "0.00")
        v = valuation(conn, "US")
        lots = [(x["lot"], x["units"], x["value"]) for x in v["lots"] if x["location"] == "FBA-US"]
        held = load_state(conn, "US", ["MUG"]).lots_at("MUG", "FBA-US", "Available")
        assert [(lot.lot_id, lot.units, str(value_of(lot, "USD"))) for lot in held] == lots
    return cogs, lots, v["total"]


def test_a_late_row_waits_and_the_next_row_takes_the_lots_the_books_hold(april_closed):
    with write_transaction(april_closed) as conn:
        result = ingest_ledger(conn, "US", LATE.encode(), "late.tsv", "FBA-US")
    assert (result["posted"], result["entries"]) == (1, 1)
    [item] = result["exceptions"]
    assert (item["kind"], item["line"], item["posted"]) == ("period-closed", 2, False)
    assert "dated 2024-04-28, in closed period 2024-04" in item["message"]
    assert books(april_closed) == ("20.00", [("PO-2:1", 10, "30.00")], "30.00")  # 10 x 2.00 taken, not 25.00
    with april_closed.connect() as conn:
        [queued] = inventory_exceptions(conn, "US")
    assert (queued["kind"], queued["status"], queued["source"]["line"]) == ("period-closed", "open", 2)

    # still closed: the retry leaves it open and records nothing new; the same file again changes nothing
    assert retry_inventory(april_closed, "US")["still_open"] == 1
    with write_transaction(april_closed) as conn:
        again = ingest_ledger(conn, "US", LATE.encode(), "late.tsv", "FBA-US")
    assert (again["posted"], again["exceptions_recorded"]) == (0, 0)
    assert books(april_closed) == ("20.00", [("PO-2:1", 10, "30.00")], "30.00")

    with write_transaction(april_closed) as conn:
        reopen_period(conn, "US", "2024-04", reason="a late Amazon row")
    retried = retry_inventory(april_closed, "US")
    assert (retried["posted"], retried["still_open"]) == (1, 0)
    assert books(april_closed) == ("35.00", [("PO-2:1", 5, "15.00")], "15.00")  # + 5 x 3.00 on 04-28
    with april_closed.connect() as conn:
        assert inventory_exceptions(conn, "US") == []


def test_an_inbound_file_with_a_row_in_a_closed_period_posts_nothing(april_closed):
    with write_transaction(april_closed) as conn:  # 5 more MUG at WH-NJ, in May, to send
        receive_file(conn, "US", PO_3.encode(), "po-3.csv", "WH-NJ")
    inbound = ("shipment_id,sku,units,from,to,date,status\nFBA15MAY,MUG,2,WH-NJ,FBA-US,2024-05-02,WORKING\n"
               "FBA15LATE,MUG,2,WH-NJ,FBA-US,2024-04-29,WORKING\n")
    with pytest.raises(Invalid, match=r"^inbound.csv:3: shipment FBA15LATE MUG WORKING is dated 2024-04-29, in "
                                      r"closed period 2024-04, and US refuses late entries"):
        with write_transaction(april_closed) as conn:
            ingest_inbound(conn, "US", inbound.encode(), "inbound.csv")
    # nothing moved: PO-3:1 still at WH-NJ (5 x 4.00), FBA-US as before
    assert books(april_closed) == ("0.00", [("PO-1:1", 10, "20.00"), ("PO-2:1", 10, "30.00")], "70.00")
