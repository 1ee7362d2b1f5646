"""Values outside what the business allows are refused at the edge, naming file:line (or page), and nothing of the
document is posted (limits.py)."""

from __future__ import annotations

import gzip
import json
from datetime import date

import pytest
from sqlalchemy import func, select

from ledger_service.errors import Invalid
from ledger_service.ingest.service import ingest_bytes, ingest_file
from ledger_service.journal.manual import parse_manual_journal
from ledger_service.journal.model import balance
from ledger_service.sources.amazon import parse_document
from ledger_service.sources.model import ParseError
from ledger_service.store.tables import events
from tests.support.settlement_files import other, sale, v2


def flat(rows, total="80.00", start="2026-05-01", end="2026-05-14", deposit="2026-05-16") -> bytes:
    return v2("7701", start, end, deposit, total, rows)


GOOD = [*sale("111-0000071-0000071", "2026-05-03")]  # lines 3-5, 80.00


def refused(engine, data: bytes, name: str, match: str) -> None:
    """The document is refused with `match` in the message, and the ledger holds no more events than before."""
    with engine.connect() as conn:
        before = conn.execute(select(func.count()).select_from(events)).scalar()
    with pytest.raises((ParseError, Invalid), match=match):
        ingest_bytes(engine, data, name, "US")
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(events)).scalar() == before


@pytest.mark.parametrize("amount, reason", [
    ("92233720368547758.07", "outside the allowed range"),  # 2^63-1 cents
    ("10000000000.00", "outside the allowed range"),  # 11 digits before the point: NetSuite takes 10
])
def test_an_absurd_amount_is_refused_naming_its_line(engine, amount, reason):
    rows = GOOD + [other("ServiceFee", "Storage Fee", amount, "2026-05-07")]  # line 6
    refused(engine, flat(rows, total="80.00"), "big.txt", rf"big\.txt:6: amount: .*{reason}")


def test_the_largest_allowed_amount_posts():
    doc = parse_document(flat([other("ServiceFee", "Storage Fee", "-9999999999.99", "2026-05-07")],
                              total="-9999999999.99"), "max.txt")
    assert str(doc.amounts[0].amount) == "-9999999999.99"


@pytest.mark.parametrize("posted, reason", [
    ("9999-12-31", r"outside 1999-01-01\.\.2100-12-31"),
    ("2026-13-45", "unrecognised date"),
])
def test_an_impossible_posted_date_is_refused(posted, reason):
    rows = [other("ServiceFee", "Storage Fee", "-1.00", None) | {"posted-date": posted}]
    with pytest.raises(ParseError, match=rf"d\.txt:3: posted-date: .*{reason}"):
        parse_document(flat(rows, total="-1.00"), "d.txt")


def test_a_posted_date_far_outside_its_settlement_is_refused(engine):
    rows = [other("ServiceFee", "Storage Fee", "-1.00", "2021-05-07")]  # five years before 2026-05-01
    refused(engine, flat(rows, total="-1.00"), "far.txt", r"far\.txt:3: posted 2021-05-07, more than 366 days")


@pytest.mark.parametrize("start, end, deposit, reason", [
    ("2026-05-01", "2026-05-14", "2026-04-20", "deposit date 2026-04-20 is before the settlement starts"),
    ("2026-05-14", "2026-05-01", "2026-05-16", "ends .* before it starts"),
    ("2026-05-01", "2026-05-14", "2026-12-31", "more than 90 days after it ends"),
])
def test_a_settlement_whose_own_dates_are_impossible_is_refused(start, end, deposit, reason):
    with pytest.raises(ParseError, match=rf"s\.txt:2: settlement 7701.*{reason}"):
        parse_document(flat(GOOD, start=start, end=end, deposit=deposit), "s.txt")


def test_a_nul_byte_and_an_overlong_cell_are_refused():
    nul = flat(GOOD).replace(b"111-0000071-0000071", b"111-00000\x0071-0000071", 1)
    with pytest.raises(ParseError, match=r"nul\.txt:3: contains a control character"):
        parse_document(nul, "nul.txt")
    long_sku = flat(GOOD).replace(b"SKU-A", b"S" * (10 << 20), 1)  # a 10 MB SKU
    with pytest.raises(ParseError, match=r"sku\.txt:3: line is 10,48.* characters long"):
        parse_document(long_sku, "sku.txt")


def test_an_identifier_longer_than_its_column_is_refused(engine):
    rows = [*sale("1" * 65, "2026-05-03")]  # order ids are at most 64 characters
    refused(engine, flat(rows), "id.txt", r"id\.txt:3: order_id is 65 characters long; at most 64")


def test_a_gzip_bomb_is_refused_before_it_fills_memory(engine, tmp_path):
    bomb = gzip.compress(b"0" * (200 << 20), compresslevel=9)  # 200 MiB of zeros in about 200 KB
    assert len(bomb) < 400_000
    with pytest.raises(ParseError, match=r"bomb\.gz: decompresses to more than"):
        parse_document(bomb, "bomb.gz")
    path = tmp_path / "bomb.txt.gz"  # a file on disk: the streamed reader's bounded lines, then the bounded gunzip
    path.write_bytes(gzip.compress(flat(GOOD)[:-1] + b"\t" + b"0" * (300 << 20)))
    with pytest.raises(ParseError, match=r"bomb\.txt\.gz: decompresses to more than 67,108,864 bytes"):
        ingest_file(engine, path, "US")


@pytest.mark.parametrize("amount, reason", [
    ('"abc"', "not a number"), ("1e400", "outside the allowed range"), ("1e20", "outside the allowed range"),
    ('"NaN"', "not a finite number"), ("[1]", "amount is not a number"),
])
def test_finances_amounts_that_are_no_money_are_refused_naming_the_page(engine, amount, reason):
    page = ('{"payload": {"FinancialEvents": {"ServiceFeeEventList": [{"FeeList": [{"FeeType": "FBAStorageFee", '
            '"FeeAmount": {"CurrencyCode": "USD", "CurrencyAmount": ' + amount + '}}]}]}}}')
    refused(engine, page.encode(), "page.json", rf"page\.json:listFinancialEvents page 1: .*{reason}")


def manual(**changes) -> dict:
    return {"subsidiary": "UK", "date": "2026-10-31", "currency": "GBP", "description": "Accrual",
            "idempotency_key": "m-1", "postings": [{"account": "Expenses:Amazon:Fees:Storage", "amount": "10.00"},
                                                   {"account": "Liabilities:Accrued", "amount": "-10.00"}]} | changes


def test_a_foreign_currency_journal_without_its_rate_is_refused_never_posted_at_1():
    _, entry = parse_manual_journal(manual(currency="EUR"))
    with pytest.raises(Invalid, match="an entry in EUR for a subsidiary whose functional currency is GBP needs its "
                                      r"exchange rate \(EUR -> GBP\)"):
        balance(entry, "GBP")
    _, with_rate = parse_manual_journal(manual(currency="EUR", rate="0.85"))
    assert [p.functional_amount for p in balance(with_rate, "GBP").postings] == [
        pytest.approx(8.5), pytest.approx(-8.5)]


def test_manual_journal_limits():
    postings = [{"account": "Expenses:Amazon:Fees:Storage", "amount": "92233720368547758.07"},
                {"account": "Liabilities:Accrued", "amount": "-92233720368547758.07"}]
    _, entry = parse_manual_journal(manual(postings=postings))
    with pytest.raises(Invalid, match="outside the allowed range"):
        balance(entry, "GBP")
    _, late = parse_manual_journal(manual(date="9999-12-31"))
    with pytest.raises(Invalid, match=r"entry date 9999-12-31 is outside"):
        balance(late, "GBP")
    with pytest.raises(Invalid, match="idempotency_key is 501 characters long"):
        parse_manual_journal(manual(idempotency_key="k" * 501))
    with pytest.raises(Invalid, match="description contains a control character"):
        parse_manual_journal(manual(description="a\x00b"))
    assert json.loads(json.dumps(manual()))["date"] == date(2026, 10, 31).isoformat()
