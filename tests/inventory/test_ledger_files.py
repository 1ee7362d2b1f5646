"""Rows split over several report files post exactly as in one file: load_state rebuilds every map post() reads.

The story (FIFO, USD; MUG = MSKU 000123 on amazon.com): PO-1 10 MUG at 2.00 (04-20), PO-2 10 at 3.00 (04-21)
into WH-NJ; an inbound shipment takes all 20 to FBA-US Inbound:Shipped (04-22, posted from facts). The report:
  1 05-01 Receipts +20 SELLABLE            -> Available: PO-1:1 10 x 2.00, PO-2:1 10 x 3.00 (50.00)
  2 05-01 Shipments -8 (113-1)             -> COGS 8 x 2.00 = 16.00; PO-1:1 has 2 left
  3 05-02 Adjustments M -1 SELLABLE        -> lost: 1 x 2.00 of PO-1:1 to Researching (or, lost_to="write-off",
                                              to Expenses:Inventory:WriteOff:Lost 2.00, remembered as written off)
  4 05-02 Shipments -2 (113-2)             -> COGS 2.00 (PO-1:1's last) + 3.00 (PO-2:1) = 5.00
  5 05-03 Adjustments E -1 SELLABLE        -> waits for its other leg: no entry
  6 05-03 Adjustments P +1 WAREHOUSE_DAMAGED -> with 5: Available -> Unfulfillable 1 x 3.00 (PO-2:1)
  7 05-04 Adjustments F +1 SELLABLE        -> found: back from Researching at 2.00 (or the write-off reversed at
                                              2.00: WriteOff:Lost credited), into Available as PO-1:1; NOT at the
                                              current cost 3.00 (found-without-loss) as an unknown loss would be
  8 05-05 CustomerReturns +1 SELLABLE (113-2) -> 113-2's last slice back: 1 x 3.00 of PO-2:1, COGS -3.00
Then FBA-US Available 10 (PO-1:1 1 x 2.00 + PO-2:1 9 x 3.00 = 29.00), Unfulfillable 1 (3.00), Researching 0;
COGS 16.00 + 5.00 - 3.00 = 18.00; 29.00 + 3.00 + 18.00 = 50.00 received.

Ingested as one file, as two files split after each row (1|2-8 ... 1-7|8) and as one file per row, each in a
subsidiary of its own, the entries of the movements are the same: accounts, units, costs, amounts, lots.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from ledger_service.catalog.service import import_catalog
from ledger_service.chart.loader import accounts_for, load_chart
from ledger_service.chart.model import Subsidiary
from ledger_service.chart.service import add_subsidiary
from ledger_service.eventlog.model import EventDraft, Source
from ledger_service.inventory import facts as f
from ledger_service.inventory.moves import Books
from ledger_service.inventory.posting import post
from ledger_service.inventory.service import ingest_ledger, load_state, receive_file
from ledger_service.inventory.views import positions
from ledger_service.journal.writer import post_batch
from ledger_service.locations.service import add_location, set_lane
from ledger_service.settings import DEFAULT_ACCOUNTS_DIR
from ledger_service.store.engine import write_transaction
from ledger_service.store.tables import accounts, entries, events, postings
from tests.support.inventory import LEDGER_HEAD as HEAD



def row(day: int, kind: str, ref: str, quantity: int, disposition: str, reason: str = "") -> str:
    return (f"2024-05-0{day}\tX0012ABCD1\tB00012ABCD\t000123\tMug\t{kind}\t{ref}\t{quantity}\tPHX6\t{disposition}\t"
            f"{reason}\tUS\n")


ROWS = [row(1, "Receipts", "FBA15ABC123", 20, "SELLABLE"), row(1, "Shipments", "113-1", -8, "SELLABLE"),
        row(2, "Adjustments", "7001", -1, "SELLABLE", "M"), row(2, "Shipments", "113-2", -2, "SELLABLE"),
        row(3, "Adjustments", "7002", -1, "SELLABLE", "E"), row(3, "Adjustments", "7003", 1, "WAREHOUSE_DAMAGED", "P"),
        row(4, "Adjustments", "7004", 1, "SELLABLE", "F"), row(5, "CustomerReturns", "113-2", 1, "SELLABLE")]
CATALOG = ("sku,title,marketplace,msku,asin,fnsku,parent_asin,valid_from\n"
           "MUG,Ceramic mug,amazon.com,000123,B00012ABCD,X0012ABCD1,,\n")
PO = ("po,supplier,sku,units,unit_cost,currency,date\nPO-1,Acme,MUG,10,2.00,USD,2024-04-20\n"
      "PO-2,Acme,MUG,10,3.00,USD,2024-04-21\n")
INBOUND = [f.InboundShipment("FBA15ABC123", "MUG", 20, "WH-NJ", "FBA-US", date(2024, 4, 22), stage)
           for stage in ("working", "shipped")]
AVAILABLE, RESEARCHING = f.state_account("FBA-US", f.AVAILABLE), f.state_account("FBA-US", f.RESEARCHING)


def books(engine, code: str) -> None:
    """Subsidiary `code` with the story's locations, catalog, receipts and inbound shipment."""
    with write_transaction(engine) as conn:
        if code != "US":
            add_subsidiary(conn, Subsidiary(code, code, "USD"), accounts_for(load_chart(DEFAULT_ACCOUNTS_DIR), code))
        add_location(conn, code, "WH-NJ", "warehouse")
        add_location(conn, code, "FBA-US", "fba", marketplace="amazon.com")
        set_lane(conn, code, "FBA", ["FBA-US"])
        import_catalog(conn, code, CATALOG.encode(), "catalog.csv")
        receive_file(conn, code, PO.encode(), "po.csv", "WH-NJ")
        state = load_state(conn, code, ["MUG"])
        for n, fact in enumerate(INBOUND):
            done = post(fact, state, Books(code, "USD"))
            state = done.state
            post_batch(conn, [(EventDraft(code, "test_inbound", datetime(2024, 4, 22), f"inbound-{n}", fact.stage,
                                          Source(system="test")), list(done.entries))])


def ingest(engine, code: str, files: list[list[str]], lost_to: str) -> list[dict]:
    out = []
    for n, rows in enumerate(files):
        with write_transaction(engine) as conn:
            out.append(ingest_ledger(conn, code, (HEAD + "".join(rows)).encode(), f"ledger-{n}.tsv", "FBA-US",
                                     lost_to=lost_to))
    return out


def movement_entries(engine, code: str) -> list[tuple]:
    """The entries the report's rows posted, in order: each its postings (account, commodity, units, cost per
    unit, amount in minor units, lot, order, other dimensions)."""
    q = (select(entries.c.id, entries.c.effective_date, accounts.c.name, postings.c.commodity, postings.c.quantity,
                postings.c.cost_per_unit, postings.c.amount, postings.c.order_id, postings.c.dimensions)
         .join(entries, entries.c.id == postings.c.entry_id).join(events, events.c.id == entries.c.event_id)
         .join(accounts, accounts.c.id == postings.c.account_id)
         .where(postings.c.subsidiary == code, events.c.kind == "inventory_movement")
         .order_by(entries.c.id, postings.c.id))
    by_entry: dict[int, list] = {}
    with engine.connect() as conn:
        for r in conn.execute(q):
            dims = json.loads(r.dimensions) if r.dimensions else {}
            cost = None if r.cost_per_unit is None else str(Decimal(r.cost_per_unit))
            by_entry.setdefault(r.id, []).append((str(r.effective_date)[:10], r.name, r.commodity, int(r.quantity),
                                                  cost, int(r.amount), dims.pop("lot", None), r.order_id,
                                                  tuple(sorted(dims.items()))))
    return [tuple(p) for p in by_entry.values()]


def splits() -> list[list[list[str]]]:
    two = [[ROWS[:n], ROWS[n:]] for n in range(1, len(ROWS))]
    return [*two, [[r] for r in ROWS]]


@pytest.mark.parametrize("lost_to", [f.RESEARCHING, "write-off"])
def test_rows_split_over_files_post_as_one_file(engine, lost_to):
    books(engine, "US")
    [whole] = ingest(engine, "US", [ROWS], lost_to)
    assert (whole["posted"], whole["exceptions"], whole["pending_legs"]) == (8, [], [])
    expected = movement_entries(engine, "US")
    assert len(expected) == 7  # every row but the E leg, which waited for the P leg
    found = expected[5]
    assert [(p[1], p[3], p[4], p[5], p[6]) for p in found] == [
        (AVAILABLE, 1, "2.00", 200, "PO-1:1"),  # the loss reversed at the 2.00 it left at, not the current 3.00
        *([(RESEARCHING, -1, "2.00", -200, "PO-1:1")] if lost_to == f.RESEARCHING else
          [(f.WRITE_OFF_LOST, -200, None, -200, None)])]
    assert [(p[1], p[3], p[5], p[6]) for p in expected[2]] == (
        [(RESEARCHING, 1, 200, "PO-1:1"), (AVAILABLE, -1, -200, "PO-1:1")] if lost_to == f.RESEARCHING else
        [(AVAILABLE, -1, -200, "PO-1:1"), (f.WRITE_OFF_LOST, 200, 200, None)])  # the M row: 1 x 2.00 of PO-1:1
    pair = expected[4]
    assert [(p[1], p[3], p[5], p[6]) for p in pair] == [
        (f.state_account("FBA-US", f.UNFULFILLABLE), 1, 300, "PO-2:1"), (AVAILABLE, -1, -300, "PO-2:1")]
    cogs = [p[5] for e in expected for p in e if p[1] == f.COGS]
    assert cogs == [1600, 500, -300]  # 8 x 2.00; 2.00 + 3.00; the return's 3.00 back: 18.00 in all
    with engine.connect() as conn:
        held = {(r["location"], r["state"]): (r["units"], r["value"]) for r in positions(conn, "US")}
    assert held == {("FBA-US", f.AVAILABLE): (10, "29.00"), ("FBA-US", f.UNFULFILLABLE): (1, "3.00")}

    for n, files in enumerate(splits()):
        code = f"S{n}"
        books(engine, code)
        results = ingest(engine, code, files, lost_to)
        assert [x for r in results for x in r["exceptions"]] == [], (n, results)
        assert movement_entries(engine, code) == expected, f"split {n}: {[len(x) for x in files]} rows per file"
        assert results[-1]["pending_legs"] == []


def test_a_leg_pairs_once_even_across_files(engine):
    """E -1 in file 1 pairs with P +1 in file 2 (one entry, 3.00 to Unfulfillable); a second P +1 in file 3 finds
    no leg waiting (the E leg's pairing is in the log: `pairs_with`) and waits itself; an E -1 in file 4 pairs it."""
    books(engine, "US")
    ingest(engine, "US", [ROWS[:5]], f.RESEARCHING)
    second = ingest(engine, "US", [[ROWS[5]]], f.RESEARCHING)[0]
    assert (second["entries"], second["pending_legs"]) == (1, [])
    again = row(6, "Adjustments", "7005", 1, "WAREHOUSE_DAMAGED", "P")
    third = ingest(engine, "US", [[again]], f.RESEARCHING)[0]
    assert third["entries"] == 0
    assert [(x["sku"], x["quantity"], x["reason"]) for x in third["pending_legs"]] == [("MUG", 1, "P")]
    fourth = ingest(engine, "US", [[row(6, "Adjustments", "7006", -1, "SELLABLE", "E")]], f.RESEARCHING)[0]
    assert (fourth["entries"], fourth["pending_legs"]) == (1, [])
    with engine.connect() as conn:
        held = {(r["location"], r["state"]): (r["units"], r["value"]) for r in positions(conn, "US")}
        assert load_state(conn, "US", ["MUG"]).pending.get(("disposition_change", "MUG", "FBA-US")) is None
    # 20 in: 10 sold (21.00: 8 x 2.00, 2.00 + 3.00), 1 to Researching (2.00), 2 to Unfulfillable (6.00): 7 x 3.00
    assert held == {("FBA-US", f.AVAILABLE): (7, "21.00"), ("FBA-US", f.UNFULFILLABLE): (2, "6.00"),
                    ("FBA-US", f.RESEARCHING): (1, "2.00")}


def test_load_state_rebuilds_the_write_offs_less_what_was_found(engine):
    """lost_to="write-off": rows 1-4 write off PO-1:1 1 x 2.00; load_state remembers that slice; after the F row
    (file 2) reverses it, nothing is written off any more."""
    books(engine, "US")
    ingest(engine, "US", [ROWS[:4]], "write-off")
    with engine.connect() as conn:
        state = load_state(conn, "US", ["MUG"])
    [lost] = state.written_off.get(("MUG", "FBA-US"))
    assert (lost.lot_id, lost.units, lost.unit_cost, lost.cost) == ("PO-1:1", 1, Decimal("2.00"), Decimal("2.00"))
    ingest(engine, "US", [[ROWS[6]]], "write-off")
    with engine.connect() as conn:
        assert load_state(conn, "US", ["MUG"]).written_off.get(("MUG", "FBA-US")) is None
