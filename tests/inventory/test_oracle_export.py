"""beancount's own FIFO as an oracle of the ledger, through the database and the export, on a generated year.

test_oracle.py checks valuation.py's pure FIFO against beancount; this checks what the database holds. A FIFO
subsidiary (US) gets a year: 50 purchase orders received at WH-NJ (inventory.service.receive_file, 2-decimal unit
costs, so units x cost is exact), each followed by an inbound shipment of part of the warehouse's units to FBA-US
(InboundShipment facts posted through post_batch, as test_ingest_ledger.py does), and an FBA inventory ledger file
a month (service.ingest_ledger): the shipments' Receipts, ~400 Shipments, sellable and damaged CustomerReturns,
lost units (M: to Researching), damaged units (E/P pairs: Available -> Unfulfillable) and disposals (D). Each
month is posted in that order (receipts, inbound, ledger); the lots taken are those of the chronological order
because FIFO takes the oldest first and the generator never takes more units than were there by the date.

The year is exported with `booking="fifo"` (export.beancount): every units reduction `-N SKU {}`, left for
beancount's FIFO to book; augmentations at their cost with their lot's receipt date and id. beancount's loader
must load it without an error (a reduction booked at other lots than ours would leave its transaction unbalanced,
and every month-end balance assertion must hold); then, to the cent:
- every booked units posting of every transaction is one of our postings of that entry (account, SKU, lot, units,
  cost), and the other way round;
- COGS per SKU and month: the inventory value beancount's booking takes out in the transactions that post to
  Expenses:COGS (net of returns) == the `inventory cogs` view, month by month;
- the lots left at year end per account (beancount's realization: units, cost, date, lot) == the `inventory
  valuation` lots, with the receipt dates of our purchase orders.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal as D

import pytest
from beancount import loader
from beancount.core import data, realization
from sqlalchemy import text as text_sql

from ledger_service.catalog.service import import_catalog
from ledger_service.errors import Invalid
from ledger_service.eventlog.model import EventDraft, Source
from ledger_service.export.beancount import ExportEntry, Journal, render
from ledger_service.export.service import beancount_text, journal
from ledger_service.inventory import facts as f
from ledger_service.inventory.moves import Books
from ledger_service.inventory.posting import post
from ledger_service.inventory.service import ingest_ledger, load_state, receive_file
from ledger_service.inventory.views import cogs, valuation
from ledger_service.journal.model import money_posting, units_posting
from ledger_service.journal.writer import post_batch
from ledger_service.locations.service import add_location, set_lane
from ledger_service.store.engine import write_transaction
from tests.support.inventory import LEDGER_HEAD as HEAD

SKUS = ("WIDGET-A", "WIDGET-B", "GADGET-C", "GIZMO-D", "SPROCKET-E")
WH, FBA, START, END = "WH-NJ", "FBA-US", date(2026, 1, 1), date(2026, 12, 31)
CATALOG = "sku,title,marketplace,msku,asin,fnsku\n" + "".join(
    f"{sku},{sku.title()},amazon.com,M-{sku},B00000000{i},X00000000{i}\n" for i, sku in enumerate(SKUS))


def generate_year(seed: int = 2026):
    """(POs, inbound facts, ledger rows), each a list of (date, ...) in chronological order, from a day-by-day
    simulation of the units (never the costs: those are the ledger's and beancount's to work out)."""
    rng = random.Random(seed)
    po_days = {sku: [rng.randrange(0, 5)] + sorted(rng.sample(range(5, 320), 9)) for sku in SKUS}  # 10 distinct
    costs = {sku: rng.sample(range(150, 4000), 10) for sku in SKUS}  # distinct per SKU: a wrong lot shows in money
    wh, inbound, avail, unful = (defaultdict(int) for _ in range(4))
    pos, moves, rows, due, sold = [], [], [], defaultdict(list), []
    for day in range(365):
        on = START + timedelta(days=day)
        for s, sku in enumerate(SKUS):
            if day in po_days[sku]:
                i = po_days[sku].index(day)
                units = rng.randrange(10, 41)
                pos.append((on, f"PO-{s + 1}{i:02d}", sku, units, D(costs[sku][i]) / 100))
                wh[sku] += units
                ship = max(1, wh[sku] * rng.randrange(50, 101) // 100)  # part of the warehouse: FIFO across lots
                wh[sku] -= ship
                inbound[sku] += ship
                shipment = f"FBA{s + 1}{i:02d}"
                moves += [f.InboundShipment(shipment, sku, ship, WH, FBA, on + timedelta(days=1), "working"),
                          f.InboundShipment(shipment, sku, ship, WH, FBA, on + timedelta(days=2), "shipped")]
                due[day + 4].append((shipment, sku, ship))
        for shipment, sku, units in due.pop(day, ()):
            rows.append((on, "Receipts", sku, shipment, units, "SELLABLE", ""))
            inbound[sku] -= units
            avail[sku] += units
        for n in range(rng.choice((0, 1, 1, 1, 2, 2))):
            sku = rng.choice(SKUS)
            units = min(rng.randrange(1, 6), avail[sku])
            if units:
                order = f"111-{day:03d}{n}-{sku[-1]}"
                rows.append((on, "Shipments", sku, order, -units, "SELLABLE", ""))
                avail[sku] -= units
                sold.append([day, order, sku, units])
        if rng.random() < 0.09:  # a return of part of a recent sale: sellable, or damaged (Unfulfillable)
            recent = [s for s in sold if day - 30 <= s[0] < day and s[3]]
            if recent:
                sale = rng.choice(recent)
                back = rng.randrange(1, sale[3] + 1)
                sale[3] -= back
                damaged = rng.random() < 0.3
                rows.append((on, "CustomerReturns", sale[2], sale[1], back,
                             "CUSTOMER_DAMAGED" if damaged else "SELLABLE", ""))
                (unful if damaged else avail)[sale[2]] += back
        if rng.random() < 0.15:  # lost (to Researching), damaged in the warehouse (E/P), or disposed (D)
            sku, kind = rng.choice(SKUS), rng.choice(("lost", "damaged", "disposed"))
            held = unful if kind == "disposed" else avail
            units = min(rng.randrange(1, 4), held[sku])
            if units:
                ref = f"{day:03d}{sku[-1]}"
                if kind == "lost":
                    rows.append((on, "Adjustments", sku, ref, -units, "SELLABLE", "M"))
                elif kind == "damaged":
                    rows += [(on, "Adjustments", sku, ref + "E", -units, "SELLABLE", "E"),
                             (on, "Adjustments", sku, ref + "P", units, "WAREHOUSE_DAMAGED", "P")]
                    unful[sku] += units
                else:
                    rows.append((on, "Adjustments", sku, ref, -units, "WAREHOUSE_DAMAGED", "D"))
                held[sku] -= units
    return pos, moves, rows


def post_year(engine, year) -> dict[str, date]:
    """The year into the database, a month at a time: its POs, its inbound shipments, its ledger file. Returns each
    lot's receipt date."""
    pos, moves, rows = year
    with write_transaction(engine) as conn:
        add_location(conn, "US", WH, "warehouse")
        add_location(conn, "US", FBA, "fba", marketplace="amazon.com")
        set_lane(conn, "US", "FBA", [FBA])
        import_catalog(conn, "US", CATALOG.encode(), "catalog.csv")
    for month in range(1, 13):
        with write_transaction(engine) as conn:
            lines = [f"{po},Acme,{sku},{units},{cost},USD,{on}" for on, po, sku, units, cost in pos if on.month == month]
            if lines:
                text = "po,supplier,sku,units,unit_cost,currency,date\n" + "\n".join(lines) + "\n"
                assert receive_file(conn, "US", text.encode(), f"po-{month}.csv", WH)["posted"] == len(lines)
            state, batch = load_state(conn, "US", SKUS), []
            for m in (m for m in moves if m.date.month == month and m.date.year == 2026):
                done = post(m, state, Books("US", "USD"))
                state = done.state
                batch.append((EventDraft("US", "test_inbound", datetime.combine(m.date, datetime.min.time()),
                                         f"inbound:{m.shipment_id}:{m.stage}", m.stage, Source(system="test")),
                              list(done.entries)))
            post_batch(conn, batch)
            ledger = [f"{on}\tX00000000{SKUS.index(sku)}\tB00000000{SKUS.index(sku)}\tM-{sku}\t{sku}\t{kind}\t{ref}\t"
                      f"{qty}\tPHX6\t{disposition}\t{reason}\tUS"
                      for on, kind, sku, ref, qty, disposition, reason in rows if on.month == month]
            done = ingest_ledger(conn, "US", (HEAD + "\n".join(ledger) + "\n").encode(), f"ledger-{month}.tsv", FBA)
            assert (done["posted"], done["exceptions"], done["pending_legs"]) == (len(ledger), [], [])
    return {f"{po}:1": on for on, po, *_ in pos}


@pytest.fixture
def year(engine):
    generated = generate_year()
    return engine, generated, post_year(engine, generated)


def booked(entries, names: dict[str, str]):
    """Per transaction (entry_id): its booked units postings as (account, SKU, lot, units, cost), sorted."""
    out = {}
    for entry in entries:
        if isinstance(entry, data.Transaction):
            out[int(entry.meta["entry_id"])] = sorted(
                (p.account, names[p.units.currency], p.cost.label, int(p.units.number), p.cost.number)
                for p in entry.postings if p.cost is not None)
    return out


def test_beancount_fifo_books_the_lots_the_database_holds(year):
    engine, (pos, moves, rows), received = year
    kinds = [(r[1], r[6] or r[5]) for r in rows]  # (event type, reason or disposition)
    assert len(pos) == 50 and len(moves) == 100 and kinds.count(("Receipts", "SELLABLE")) == 50
    assert kinds.count(("Shipments", "SELLABLE")) == 333
    assert (kinds.count(("CustomerReturns", "SELLABLE")), kinds.count(("CustomerReturns", "CUSTOMER_DAMAGED"))) == \
        (21, 14)
    assert [kinds.count(("Adjustments", r)) for r in "EPMD"] == [16, 16, 14, 12]
    with engine.connect() as conn:
        text = beancount_text(conn, "US", booking="fifo")
        ours = journal(conn, "US")
        ours_cogs = {}
        for month in range(1, 13):
            first = date(2026, month, 1)
            last = date(2026 + month // 12, month % 12 + 1, 1) - timedelta(days=1)
            for r in cogs(conn, "US", first, last)["rows"]:
                if D(r["cogs"]):
                    ours_cogs[(r["sku"], f"{first:%Y-%m}")] = D(r["cogs"])
            # valuation = the inventory accounts at every month end: an independent sum of the postings
            held = conn.execute(text_sql(
                "SELECT COALESCE(SUM(p.functional_amount), 0) FROM postings p JOIN entries e ON e.id = p.entry_id "
                "JOIN accounts a ON a.id = p.account_id WHERE p.subsidiary = 'US' AND e.state = 'posted' "
                "AND a.name LIKE 'Assets:Inventory:%' AND e.effective_date <= :d"), {"d": last}).scalar()
            assert D(valuation(conn, "US", last)["total"]) == D(int(held)) / 100
        lots = valuation(conn, "US", END)["lots"]
    assert 'option "booking_method" "FIFO"' in text and " {}\n" in text

    entries, errors, _ = loader.load_string(text)
    assert errors == []
    for other in ("LIFO", "HIFO"):  # the oracle tells: another booking of the same file leaves hundreds unbalanced
        _, wrong, _ = loader.load_string(text.replace('"booking_method" "FIFO"', f'"booking_method" "{other}"'))
        assert len(wrong) > 100 and "does not balance" in wrong[0].message
    names = {e.currency: e.meta["sku"] for e in entries if isinstance(e, data.Commodity) and "sku" in e.meta}

    # every booked units posting is one of ours (lot, units, cost), entry by entry
    theirs = booked(entries, names)
    mine = {e.id: sorted((p.account, p.commodity, p.dimension("lot"), int(p.units), p.cost_per_unit)
                         for p in e.postings if p.is_units) for e in ours.entries}
    assert theirs == mine
    assert sum(len(v) for v in mine.values()) > 1000

    # COGS per SKU and month: the inventory value beancount's booking took out in the transactions on COGS
    by_month = defaultdict(D)
    for entry in entries:
        if isinstance(entry, data.Transaction) and any(p.account == f.COGS for p in entry.postings):
            stock = [p for p in entry.postings if p.cost is not None]
            expense = sum(p.units.number for p in entry.postings if p.account == f.COGS)
            assert expense == -sum(p.units.number * p.cost.number for p in stock)
            for p in stock:
                by_month[(names[p.units.currency], f"{entry.date:%Y-%m}")] -= p.units.number * p.cost.number
    assert {k: v for k, v in by_month.items() if v} == ours_cogs
    assert len({m for _, m in ours_cogs}) == 12 and sum(ours_cogs.values()) > 1000

    # the lots left at year end, account by account
    left = []
    for account in sorted({lot["account"] for lot in lots} | {p.account for e in ours.entries for p in e.postings
                                                              if p.is_units}):
        for pos_ in realization.get(realization.realize(entries), account).balance:
            if pos_.units.number:
                left.append((account, names[pos_.units.currency], pos_.cost.label, pos_.cost.date,
                             int(pos_.units.number), pos_.cost.number, pos_.units.number * pos_.cost.number))
    expected = [(x["account"], x["sku"], x["lot"], received[x["lot"]], x["units"], D(x["unit_cost"]), D(x["value"]))
                for x in lots]
    assert sorted(left) == sorted(expected)
    assert len(expected) > 10 and {x[0].rsplit(":", 1)[-1] for x in expected} >= {"Available", "Unfulfillable",
                                                                                    "Researching"}


def test_the_fifo_export_by_hand():
    """Lot PO-1:1 5 W at 2.00 (01-05), PO-2:1 5 W at 3.00 (01-10); 01-12 a sale of 7: ours takes 5 of PO-1:1 and
    2 of PO-2:1 = 10.00 + 6.00 = 16.00; 01-15 one unit of PO-1:1 comes back at 2.00 (the return of its slice). The
    export writes the sale's two slices as one `-7 W {}` and the return at PO-1:1's cost and date; beancount's FIFO
    books 5 x 2.00 + 2 x 3.00 = 16.00, and 3 of PO-2:1 (9.00) and 1 of PO-1:1 (2.00) are left."""
    acct = "Assets:Inventory:FBA-US:Available"

    def entry(n, day, *postings):
        return ExportEntry(n, n, date(2026, 1, day), "posted", "USD", "1", f"entry {n}", tuple(postings))

    def units(n, cost, lot, **dims):
        return units_posting(acct, "W", D(n), D(cost), "USD", lot=lot, **dims)._replace(
            functional_amount=D(n) * D(cost))

    book = [entry(1, 5, units(5, "2.00", "PO-1:1"), money_posting(f.PAYABLE, D("-10.00"))),
            entry(2, 10, units(5, "3.00", "PO-2:1"), money_posting(f.PAYABLE, D("-15.00"))),
            entry(3, 12, units(-5, "2.00", "PO-1:1", order_id="O-1"), units(-2, "3.00", "PO-2:1", order_id="O-1"),
                  money_posting(f.COGS, D("16.00"))),
            entry(4, 15, units(1, "2.00", "PO-1:1", order_id="O-1"), money_posting(f.COGS, D("-2.00")))]
    text = render(Journal("US", "USD", tuple(book)), booking="fifo")
    assert f'  {acct}  -7 W {{}}\n    order_id: "O-1"\n  Expenses:COGS  16.00 USD' in text  # one posting, no lot
    assert f'  {acct}  1 W {{2.00 USD, 2026-01-05, "PO-1:1"}}' in text
    assert f'  {acct}  5 W {{3.00 USD, 2026-01-10, "PO-2:1"}}' in text
    assert render(Journal("US", "USD", tuple(book))).count("{}") == 0  # the default states every cost
    entries, errors, _ = loader.load_string(text)
    assert errors == []
    sale = next(e for e in entries if isinstance(e, data.Transaction) and e.meta["entry_id"] == "3")
    assert [(p.cost.label, p.units.number, p.cost.number) for p in sale.postings if p.cost] == [
        ("PO-1:1", -5, D("2.00")), ("PO-2:1", -2, D("3.00"))]
    real = realization.get(realization.realize(entries), acct).balance
    assert sorted((p.cost.label, p.units.number, p.units.number * p.cost.number) for p in real) == [
        ("PO-1:1", 1, D("2.00")), ("PO-2:1", 3, D("9.00"))]
    # beancount booking another lot than ours is an error: here a sale said to take PO-2:1 first
    wrong = book[:2] + [entry(3, 12, units(-2, "3.00", "PO-2:1"), money_posting(f.COGS, D("6.00")))]
    _, errors, _ = loader.load_string(render(Journal("US", "USD", tuple(wrong)), booking="fifo"))
    assert [e.message for e in errors] and "does not balance" in errors[0].message


def test_the_cli_flag_and_a_subsidiary_that_is_not_fifo(engine, cli, tmp_path):
    with write_transaction(engine) as conn:
        add_location(conn, "US", WH, "warehouse")
        import_catalog(conn, "US", CATALOG.encode(), "catalog.csv")
        receive_file(conn, "US", b"po,supplier,sku,units,unit_cost,currency,date\nPO-1,Acme,WIDGET-A,4,2.50,USD,"
                     b"2026-03-02\n", "po.csv", WH)
    out = tmp_path / "us.beancount"
    result = cli("export", "beancount", "-s", "US", "--booking", "fifo", "--out", str(out))
    assert result.exit_code == 0, result.output
    with engine.connect() as conn:
        assert out.read_text(encoding="utf-8") == beancount_text(conn, "US", booking="fifo")
        assert beancount_text(conn, "US") != beancount_text(conn, "US", booking="fifo")
        with pytest.raises(Invalid, match="UK values its inventory by average"):
            beancount_text(conn, "UK", booking="fifo")
        with pytest.raises(Invalid, match="booking must be one of none, fifo"):
            beancount_text(conn, "US", booking="lifo")
    assert '  Assets:Inventory:WH-NJ:Available  4 WIDGET-A {2.50 USD, 2026-03-02, "PO-1:1"}' in out.read_text()
    refused = cli("export", "beancount", "-s", "UK", "--booking", "fifo", "--out", str(tmp_path / "uk.beancount"))
    assert refused.exit_code == 1 and "average" in refused.output
