"""A settlement's rows post as Amazon transactions: one event and one entry per order item, refund, fee.

Figures by hand from the public V2 sample (lines 3-7 are order 114-8829371-4410258's item DS7K9LM2P):
principal 129.99 + tax 10.40 - commission 19.50 - FBA fee 4.75 - facilitator VAT withheld 10.40 = 105.74 owed
to the seller, which is the entry's one clearing line.
"""

import shutil

import pytest
from sqlalchemy import func, select

from ledger_service.balances.integrity import verify
from ledger_service.errors import Conflict
from ledger_service.exceptions.service import exceptions, reclass
from ledger_service.ingest.service import ingest_bytes, ingest_file
from ledger_service.journal.service import entry_view
from ledger_service.settings import DEFAULT_ACCOUNTS_DIR, REPO_ROOT, Settings
from ledger_service.settlements.reconcile import settlements
from ledger_service.store.tables import entries, events, postings
from tests.ingest.test_ingest import SAMPLE


def test_an_order_item_is_one_entry_whose_lines_keep_their_rows(engine):
    ingest_file(engine, SAMPLE, "US")
    with engine.connect() as conn:
        event = conn.execute(select(events).where(events.c.source_line == 3)).mappings().one()
        entry_id = conn.execute(select(entries.c.id).where(entries.c.event_id == event["id"])).scalar_one()
        view = entry_view(conn, entry_id)
        [s] = settlements(conn, "US")
    assert event["idempotency_key"] == "settlement:28471003921:row:1+4"  # rows 1 to 5 of the settlement
    assert event["raw"].splitlines() == SAMPLE.read_text(encoding="utf-8").splitlines()[2:7]
    lines = [(p["account"], p["amount"], p.get("source_line")) for p in view["postings"]]
    assert lines == [
        ("Assets:Amazon:Clearing", "105.74", None),
        ("Income:Amazon:Sales:Principal", "-129.99", 3),
        ("Liabilities:Tax:MarketplaceFacilitator", "-10.40", 4),
        ("Expenses:Amazon:Fees:Referral", "19.50", 5),
        ("Expenses:Amazon:Fees:Fulfillment", "4.75", 6),
        ("Liabilities:Tax:MarketplaceFacilitator", "10.40", 7),
    ]
    assert view["postings"][0]["dimensions"] == {"marketplace": "amazon.com", "settlement_id": "28471003921",
                                                 "order_id": "114-8829371-4410258", "sku": "NX-HD-1200"}
    assert view["description"] == "Order: 5 amounts 114-8829371-4410258"
    assert (s["rows"], s["rows_sum"], s["status"]) == (23, "582.89", "reconciled")
    with engine.connect() as conn:  # the chain, recomputed from the stored rows, covers each line's source_line
        assert verify(conn).ok


def counts(engine) -> tuple[int, int, int]:
    with engine.connect() as conn:
        return tuple(conn.execute(select(func.count()).select_from(t)).scalar() for t in (events, entries, postings))


def test_the_same_settlement_with_a_row_changed_is_a_conflict_and_posts_nothing(engine):
    ingest_file(engine, SAMPLE, "US")
    before = counts(engine)
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    # Split the first order's commission into two rows of the same total: no transaction's key changes content
    # before row 5, every later key shifts by one row (new keys), and the total still adds up. Only the summary's
    # digest of the settlement's rows tells the two files apart.
    commission = lines[4]
    lines[4:5] = [commission.replace("\t-19.50\t", "\t-9.50\t"), commission.replace("\t-19.50\t", "\t-10.00\t")]
    with pytest.raises(Conflict, match=r"^reissued.txt: settlement 28471003921 is already in the ledger with other "
                                       r"rows or values, so nothing from this file was posted"):
        ingest_bytes(engine, ("\n".join(lines) + "\n").encode(), "reissued.txt", "US")
    assert counts(engine) == before


def test_two_unknown_fees_of_one_transaction_are_two_exceptions(engine, tmp_path):
    text = SAMPLE.read_text(encoding="utf-8")
    text = text.replace("\tCommission\t-19.50\t", "\tMysteryFeeA\t-19.50\t").replace(
        "\tFBAPerUnitFulfillmentFee\t-4.75\t", "\tMysteryFeeB\t-4.75\t")
    report = ingest_bytes(engine, text.encode(), "mystery.txt", "US")
    assert report.suspense == 2
    with engine.connect() as conn:
        queue = exceptions(conn, "US")
    assert [(e["amazon_type"], e["amount"], e["source"]["line"]) for e in queue] == [
        ("Order / ItemFees / MysteryFeeA", "-19.50", 5), ("Order / ItemFees / MysteryFeeB", "-4.75", 6)]
    assert queue[0]["event_id"] == queue[1]["event_id"]  # one transaction, two amounts in suspense

    accounts_dir = tmp_path / "accounts"
    shutil.copytree(DEFAULT_ACCOUNTS_DIR, accounts_dir)
    with open(accounts_dir / "subsidiaries" / "US.toml", "a") as f:
        for fee in ("MysteryFeeA", "MysteryFeeB"):
            f.write(f'\n[[mapping]]\nsystem = "settlement"\ntransaction_type = "Order"\namount_type = "ItemFees"\n'
                    f'amount_description = "{fee}"\naccount = "Expenses:Amazon:Fees:Other"\nrole = "fee"\n')
    settings = Settings(database_url="", accounts_dir=accounts_dir)
    assert reclass(engine, "US", settings) == {"reclassed": 2, "still_open": 0}
    assert reclass(engine, "US", settings) == {"reclassed": 0, "still_open": 0}
    with engine.connect() as conn:
        assert exceptions(conn, "US") == []
        assert len(exceptions(conn, "US", include_closed=True)) == 2


def test_transaction_dimensions_are_what_dims_would_build(tmp_path):
    """transaction_entry builds dimension tuples in key order by hand (it runs per row): they must equal dims(),
    on the public sample (US) and on a generated UK file, whose prices include VAT (the carve-out's lines)."""

    from ledger_service.demo.amazon_generator import generate
    from ledger_service.ingest.plan import Planner
    from ledger_service.journal.model import dims
    from ledger_service.mapping.loader import load_mapping
    from ledger_service.posting.amazon import VAT
    from ledger_service.sources.amazon import parse_document

    uk = next(p for p in generate(tmp_path, orders=20, days=14, seed=3) if p.parent.name == "UK")
    for subsidiary, currency, sample in (("US", "USD", SAMPLE), ("UK", "GBP", uk)):
        parsed = parse_document(sample.read_bytes(), sample.name)
        planner = Planner(subsidiary, currency, load_mapping(DEFAULT_ACCOUNTS_DIR, subsidiary), set(), sample.name)
        postings_seen = [p for posted in planner.plan((*parsed.settlements, *parsed.amounts))
                         for entry in posted.entries for p in entry.postings]
        assert len(postings_seen) > len(parsed.amounts)
        if subsidiary == "UK":
            assert any(p.account == VAT for p in postings_seen)
        for p in postings_seen:
            assert p.dimensions == dims(**dict(p.dimensions)), p


def test_small_batches_written_on_the_second_thread_roll_back_with_the_file(engine, monkeypatch):
    """With batches of two events, several writes are in flight (on PostgreSQL, on the writer thread) before the
    bad row near the end of the file: the error still rolls every one of them back, and the same file without the
    bad row then posts in full, as with one batch."""
    import ledger_service.ingest.service as service
    from ledger_service.sources.model import ParseError

    monkeypatch.setattr(service, "BATCH", 2)
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    bad = list(lines)
    bad[-1] = bad[-1].replace("\t-420.00\t", "\tfour hundred\t")
    with pytest.raises(ParseError, match=r"^late.txt:25: "):
        ingest_bytes(engine, ("\n".join(bad) + "\n").encode(), "late.txt", "US")
    assert counts(engine) == (0, 0, 0)

    report = ingest_file(engine, SAMPLE, "US")
    assert (report.events, report.entries) == (12, 12)
    with engine.connect() as conn:
        [s] = settlements(conn, "US")
        assert verify(conn).ok
    assert s["status"] == "reconciled"


def test_a_write_refused_on_the_second_thread_fails_the_file(engine, monkeypatch):
    """A conflict raised by the database while a batch is written (not while it is prepared) reaches the caller
    and the file posts nothing."""
    import ledger_service.ingest.service as service
    from ledger_service.journal import background, writer

    monkeypatch.setattr(service, "BATCH", 2)
    calls = {"n": 0}
    real = writer.write_batch

    def refuse_the_third(conn, batch):
        calls["n"] += 1
        if calls["n"] == 3:
            raise Conflict("refused for the test")
        return real(conn, batch)

    monkeypatch.setattr(background, "write_batch", refuse_the_third)
    with pytest.raises(Conflict, match="refused for the test"):
        ingest_file(engine, SAMPLE, "US")
    assert counts(engine) == (0, 0, 0)


TWO = REPO_ROOT / "tests" / "data" / "amazon" / "v2_two_settlements.txt"


@pytest.mark.parametrize("how", ["streamed file", "uploaded bytes"])
def test_each_settlement_counts_and_digests_its_own_rows(engine, how):
    """The streamed reader interleaves summaries and rows; parse_document gives every summary first. Either way
    each settlement's summary counts its own rows: 6001 has three (6.00 + 6.00 - 2.00 = 10.00), 6002 two
    (-39.99 - 1.26 = -41.25)."""
    if how == "streamed file":
        ingest_file(engine, TWO, "US")
    else:
        ingest_bytes(engine, TWO.read_bytes(), TWO.name, "US")
    with engine.connect() as conn:
        found = {s["settlement_id"]: (s["rows"], s["rows_sum"], s["status"]) for s in settlements(conn, "US")}
    # 6002's Inbound Defect Fee has no mapping: it ties to the cent, with that amount in suspense
    assert found == {"6001": (3, "10.00", "reconciled"), "6002": (2, "-41.25", "reconciled_with_suspense")}


def test_a_settlement_summarised_twice_posts_once_with_all_its_rows(engine):
    lines = TWO.read_text(encoding="utf-8").splitlines()
    header, summary, rows = lines[0], lines[1], lines[2:5]
    again = [summary, rows[2].replace("\t-2.00", "\t-3.00")]  # the same summary, one more row
    report = ingest_bytes(engine, ("\n".join([header, summary, *rows, *again]) + "\n").encode(), "twice.txt", "US")
    assert report.settlements == ["6001"]
    with engine.connect() as conn:
        [s] = settlements(conn, "US")
    # 10.00 + -3.00: the summary's total no longer matches its rows, and reconciliation says so.
    assert (s["rows"], s["rows_sum"], s["total_amount"], s["status"]) == (4, "7.00", "10.00", "inconsistent")

    other = summary.replace("\t10.00\t", "\t7.00\t")
    from ledger_service.sources.model import ParseError
    with pytest.raises(ParseError, match=r"^other.txt:6: settlement 6001 is summarised again with other values "
                                         r"\(first at line 2\)"):
        ingest_bytes(engine, ("\n".join([header, summary, *rows, other, again[1]]) + "\n").encode(), "other.txt", "US")
