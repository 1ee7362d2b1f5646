"""The inventory ledger ingest streams its file in chunks and posts exactly what one pass over the file posts.

The story is test_ledger_files.py's (FIFO, USD; MUG: PO-1 10 x 2.00 and PO-2 10 x 3.00 into WH-NJ, all 20 sent to
FBA-US Inbound:Shipped), its eight rows:
  1 Receipts +20 | 2 Shipments -8 (113-1): COGS 16.00 | 3 M -1: PO-1:1 to Researching | 4 Shipments -2 (113-2):
  2.00 (PO-1:1) + 3.00 (PO-2:1) | 5 E -1, 6 P +1: Available -> Unfulfillable 3.00 | 7 F +1: back from Researching
  at 2.00 | 8 CustomerReturns +1 (113-2): its sale's last slice back, 3.00 of PO-2:1 (the current cost, FIFO's
  next unit, would be PO-1:1's 2.00).
COGS 16.00 + 5.00 - 3.00 = 18.00; FBA-US Available 10 (1 x 2.00 + 9 x 3.00 = 29.00), Unfulfillable 1 (3.00).
Each subsidiary below gets the same books (test_ledger_files.books) and takes the report another way.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from ledger_service.errors import Invalid
from ledger_service.inventory import facts as f
from ledger_service.inventory import ledger_ingest
from ledger_service.inventory.service import ingest_ledger
from ledger_service.inventory.views import positions
from ledger_service.sources.amazon import inventory_ledger
from ledger_service.store.engine import write_transaction
from ledger_service.store.tables import entries, events
from tests.inventory.test_ledger_files import AVAILABLE, HEAD, ROWS, books, movement_entries, row

REPORT = HEAD + "".join(ROWS)


def row_on(day: int, kind: str, ref: str, quantity: int) -> str:
    """A row of MUG in SELLABLE on 2024-05-<day>."""
    return row(1, kind, ref, quantity, "SELLABLE").replace("2024-05-01", f"2024-05-{day:02d}", 1)


def ingest(engine, code: str, data, document: str | None = "ledger.tsv", **kwargs) -> dict:
    with write_transaction(engine) as conn:
        return ingest_ledger(conn, code, data, document, "FBA-US", **kwargs)


def held(engine, code: str) -> dict:
    with engine.connect() as conn:
        return {(r["location"], r["state"]): (r["units"], r["value"]) for r in positions(conn, code)}


def cogs(moved: list[tuple]) -> list[int]:
    """The amounts (cents) posted to COGS by the movements' entries, in order."""
    return [p[5] for e in moved for p in e if p[1] == f.COGS]


def test_a_file_ingested_by_path_posts_what_its_bytes_post(engine, tmp_path):
    """US takes the report's bytes, P1 its path (read line by line): the same result (rows 8, posted 8, no
    exception, no leg waiting) and the same entries, COGS 1600 + 500 - 300 cents."""
    path = tmp_path / "ledger.tsv"
    path.write_text(REPORT)
    books(engine, "US")
    books(engine, "P1")
    by_bytes = ingest(engine, "US", path.read_bytes())
    by_path = ingest(engine, "P1", path, None)  # the document is named after the file
    assert (by_path["rows"], by_path["posted"], by_path["exceptions"], by_path["pending_legs"]) == (8, 8, [], [])
    assert {**by_path, "subsidiary": "US"} == by_bytes
    assert movement_entries(engine, "P1") == movement_entries(engine, "US")
    assert cogs(movement_entries(engine, "P1")) == [1600, 500, -300]
    again = ingest(engine, "P1", path)
    assert (again["posted"], again["duplicates"]) == (0, 8)


@pytest.mark.parametrize("lost_to", [f.RESEARCHING, "write-off"])
def test_a_return_in_a_later_chunk_comes_back_at_its_sales_cost(engine, lost_to):
    """Chunks of 1, 2 and 3 rows post the entries of one chunk. With 1 row a chunk, the return (row 8) is seven
    chunks after its sale (row 4): it comes back at 3.00 of PO-2:1, the slice the sale took last (read from the
    sale's postings), not at the current 2.00; the found unit (row 7) reverses the loss of row 3 (five chunks
    before) at 2.00; the P leg (row 6) pairs the E leg of the chunk before."""
    books(engine, "US")
    ingest(engine, "US", REPORT.encode(), lost_to=lost_to)
    expected = movement_entries(engine, "US")
    assert len(expected) == 7 and cogs(expected) == [1600, 500, -300]
    back = expected[6]
    assert [(p[1], p[3], p[4], p[5], p[6]) for p in back] == [(AVAILABLE, 1, "3.00", 300, "PO-2:1"),
                                                             (f.COGS, -300, None, -300, None)]
    for size in (1, 2, 3):
        code = f"C{size}"
        books(engine, code)
        result = ingest(engine, code, REPORT.encode(), chunk=size, lost_to=lost_to)
        assert (result["posted"], result["exceptions"], result["pending_legs"]) == (8, [], [])
        assert movement_entries(engine, code) == expected, f"chunks of {size}"
        assert held(engine, code) == {("FBA-US", f.AVAILABLE): (10, "29.00"),
                                      ("FBA-US", f.UNFULFILLABLE): (1, "3.00")}


def test_a_return_takes_back_what_the_last_posted_sale_took_whatever_its_date(engine):
    """Order 113-9 sells 10 on 05-10 in a first file (all of PO-1:1 at 2.00); a second file sells 1 more on
    05-05 (PO-2:1 at 3.00, FIFO) and takes 1 back on 05-11. One pass over the second file holds 113-9's slices as
    the log had them, then the one it posted: the return takes that last one back, 3.00. In chunks of 1 row the
    slices are read back from the postings: the earlier files' by date, the ingest's own after them in the order
    it posted them, so the return still comes back at 3.00, not at the 2.00 of the slice dated last."""
    first = [ROWS[0], row_on(10, "Shipments", "113-9", -10)]
    second = [row_on(5, "Shipments", "113-9", -1), row_on(11, "CustomerReturns", "113-9", 1)]
    for code, size in (("US", ledger_ingest.CHUNK), ("C1", 1)):
        books(engine, code)
        ingest(engine, code, (HEAD + "".join(first)).encode(), "first.tsv")
        result = ingest(engine, code, (HEAD + "".join(second)).encode(), "second.tsv", chunk=size)
        assert (result["posted"], result["exceptions"]) == (2, [])
        *_, sale, back = movement_entries(engine, code)
        assert [(p[1], p[3], p[4], p[6]) for p in sale] == [(AVAILABLE, -1, "3.00", "PO-2:1"),
                                                           (f.COGS, 300, None, None)]
        assert [(p[1], p[3], p[4], p[6]) for p in back] == [(AVAILABLE, 1, "3.00", "PO-2:1"),
                                                           (f.COGS, -300, None, None)], code
        # 20 in, 10 + 1 sold, 1 back: PO-2:1's 10 x 3.00
        assert held(engine, code) == {("FBA-US", f.AVAILABLE): (10, "30.00")}


def test_rows_are_read_and_posted_a_chunk_at_a_time(engine, tmp_path, monkeypatch):
    """Memory flat in the file's size, shown by what is held rather than timed: with chunks of 2 rows the file's 8
    rows are read 2 at a time (when a chunk is written, 2 more rows than were written have been read: 2, 4, 6, 8),
    written in 4 batches of 2 events, and the sales' slices held while a row posts are those of the chunk's
    return orders only: none, until the chunk of rows 7-8 loads 113-2's (one (order, SKU) key); one pass over the
    file would hold 113-1's from row 3 on and 113-2's from row 5 on."""
    path = tmp_path / "ledger.tsv"
    path.write_text(REPORT)
    books(engine, "US")
    read, batches, sold = [0], [], []
    real_iter, real_prepare = inventory_ledger.iter_movements, ledger_ingest.prepare_batch
    real_post = ledger_ingest.post

    def counted_rows(source, document=None):
        for m in real_iter(source, document):
            read[0] += 1
            yield m

    def prepare(conn, items, actor=None):
        batches.append((len(items), read[0]))
        return real_prepare(conn, items, actor)

    def post(fact, state, books_):
        sold.append(len(state.sold))
        return real_post(fact, state, books_)

    monkeypatch.setattr(inventory_ledger, "iter_movements", counted_rows)
    monkeypatch.setattr(ledger_ingest, "prepare_batch", prepare)
    monkeypatch.setattr(ledger_ingest, "post", post)
    result = ingest(engine, "US", path, chunk=2)
    assert (result["rows"], result["posted"]) == (8, 8)
    assert batches == [(2, 2), (2, 4), (2, 6), (2, 8)]
    assert sold == [0, 0, 0, 0, 0, 0, 1, 1]
    assert cogs(movement_entries(engine, "US")) == [1600, 500, -300]


def written(engine, code: str) -> tuple[int, int]:
    """(inventory events, entries) of subsidiary `code`."""
    with engine.connect() as conn:
        return (conn.execute(select(func.count()).select_from(events).where(
                    events.c.subsidiary == code, events.c.kind.like("inventory_%"))).scalar(),
                conn.execute(select(func.count()).select_from(entries).join(events, events.c.id == entries.c.event_id)
                             .where(entries.c.subsidiary == code, events.c.kind.like("inventory_%"))).scalar())


def test_a_row_refused_in_the_last_chunk_posts_nothing_of_the_file(engine, cli, tmp_path):
    """Chunks of 2 rows: the 8 rows post in 4 chunks, then line 10 ships 100 MUG where 10 are held: the file is
    refused naming ledger.tsv:10, and the 4 chunks written before are rolled back (0 events, 0 entries). Through
    the CLI (the file's path, chunks of 2,000), a Quantity the parser cannot read on line 10 is an error naming
    ledger.tsv:10, exit status 1, no traceback, nothing posted; a file that is not there cannot be read."""
    books(engine, "US")
    short = REPORT + row(5, "Shipments", "113-3", -100, "SELLABLE")
    with pytest.raises(Invalid, match=r"^ledger.tsv:10: short of units: 100 of MUG at FBA-US Available wanted, 10 "):
        ingest(engine, "US", short.encode(), chunk=2)
    assert written(engine, "US") == (0, 0)
    path = tmp_path / "ledger.tsv"
    path.write_text(REPORT + row(5, "Shipments", "113-3", -1, "SELLABLE").replace("\t-1\t", "\tone\t"))
    refused = cli("inventory", "ingest", str(path), "-s", "US", "--location", "FBA-US")
    assert refused.exit_code == 1 and isinstance(refused.exception, SystemExit)
    assert "ledger.tsv:10: Quantity 'one' is not a whole number of units" in " ".join(refused.output.split())
    assert written(engine, "US") == (0, 0)
    missing = cli("inventory", "ingest", str(tmp_path / "none.tsv"), "-s", "US", "--location", "FBA-US")
    assert missing.exit_code == 1 and "none.tsv: cannot be read" in " ".join(missing.output.split())


def test_the_catalog_in_memory_answers_as_its_queries(engine):
    """catalog.service.Resolver against resolve_sku, identity_on(fnsku=) and components_on, on every MSKU, FNSKU,
    marketplace and day of a catalog with their corners: MSKU 0042 (W-1) relabelled from X00000000A to X00000000B
    on 2026-03-01 (the old FNSKU still names W-1 afterwards), FNSKU X00000000C on W-2 and, from 2026-04-01, on W-3
    too (refused with the same Invalid), W-2 sold under its own SKU, an unknown W-9, bundle KIT = 2 W-1 + 1 W-2,
    from 2026-06-01 3 W-1 (a composition replaces the one before)."""
    from datetime import date

    from ledger_service.catalog.service import Resolver, components_on, identity_on, import_catalog, resolve_sku

    head = "sku,title,marketplace,msku,asin,fnsku,parent_asin,valid_from\n"
    files = [head + "W-1,Blue widget,amazon.com,0042,B00000000A,X00000000A,,\n"
             "W-1,Blue widget,amazon.co.uk,0042,B00000000A,X00000000U,,\n"
             "W-2,Red widget,amazon.com,W2-FBA,B00000000C,X00000000C,,\n",
             "sku,marketplace,msku,asin,fnsku,valid_from\nW-1,amazon.com,0042,B00000000B,X00000000B,2026-03-01\n",
             head + "W-3,Green widget,amazon.com,W3,B00000000D,X00000000C,,2026-04-01\n",
             "bundle_sku,component_sku,quantity\nKIT,W-1,2\nKIT,W-2,1\n",
             "bundle_sku,component_sku,quantity,valid_from\nKIT,W-1,3,2026-06-01\n"]
    with write_transaction(engine) as conn:
        for n, text in enumerate(files):
            import_catalog(conn, "US", text.encode(), f"catalog-{n}.csv")
    days = [date(2025, 12, 31), date(2026, 2, 28), date(2026, 3, 1), date(2026, 4, 1), date(2026, 6, 1)]

    def answer(ask):
        try:
            found = ask()
        except Invalid as exc:
            return "Invalid", exc.message
        return getattr(found, "sku", found)

    compared = 0
    with engine.connect() as conn:
        for market in ("amazon.com", "Amazon.com", "amazon.co.uk", None):
            catalog = Resolver.load(conn, "US", market)
            for day in days:
                for msku in ("0042", "W2-FBA", "W3", "W-2", "W-9", "KIT"):
                    assert answer(lambda: catalog.sku(msku, day)) == answer(
                        lambda: resolve_sku(conn, "US", market, msku, day)), (market, day, msku)
                    assert answer(lambda: catalog.identity(day, msku=msku)) == answer(
                        lambda: identity_on(conn, "US", market, day, msku=msku)), (market, day, msku)
                    compared += 1
                for fnsku in ("X00000000A", " x00000000b", "X00000000C", "X00000000U", "X0000NOPE0"):
                    assert answer(lambda: catalog.identity(day, fnsku=fnsku)) == answer(
                        lambda: identity_on(conn, "US", market, day, fnsku=fnsku)), (market, day, fnsku)
                    compared += 1
                for bundle in ("KIT", "W-1"):
                    assert catalog.components(bundle, day) == components_on(conn, "US", bundle, day)
        kit = Resolver.load(conn, "US", "amazon.com")
        assert [kit.components("KIT", d) for d in (days[0], days[4])] == [{"W-1": 2, "W-2": 1}, {"W-1": 3}]
        assert answer(lambda: kit.identity(days[3], fnsku="X00000000C"))[1].startswith(
            "FNSKU X00000000C names 2 SKUs of US on 2026-04-01: SKU W-2 (MSKU W2-FBA on amazon.com")
        assert [kit.identity(d, fnsku="X00000000A").sku for d in days[1:3]] == ["W-1", "W-1"]  # relabelled: still W-1
        assert [kit.sku("W-2", days[0]), kit.sku("W-9", days[0]), kit.sku("KIT", days[0])] == ["W-2", None, "KIT"]
    assert compared == 4 * 5 * 6 + 4 * 5 * 5
