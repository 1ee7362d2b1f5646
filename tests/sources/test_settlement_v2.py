"""Flat File V2 settlement reports: real sample, hand-made fixtures, bad rows, and a generated-file property."""

import gzip
from collections import Counter
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger_service.sources.amazon import parse_document, settlement_v2
from ledger_service.sources.model import ParseError

from tests.support.samples import SAMPLES  # noqa: E402
DATA = Path(__file__).resolve().parents[1] / "data" / "amazon"
XIEYI = "settlement_v2_synthetic_xieyi_settlement-sample.txt"
HEADER = "\t".join(settlement_v2.COLUMNS)


def parse_fixture(name: str):
    return parse_document((DATA / name).read_bytes(), name)


def v2_row(sid="1", currency="USD", tt="Order", at="ItemPrice", ad="Principal", amount="1.00", posted="2026-01-02 00:00:00 UTC"):
    cells = dict.fromkeys(settlement_v2.COLUMNS, "")
    cells.update({"settlement-id": sid, "currency": currency, "transaction-type": tt, "amount-type": at,
                  "amount-description": ad, "amount": amount, "posted-date-time": posted})
    return "\t".join(cells[c] for c in settlement_v2.COLUMNS)


def v2_summary(sid="1", total="1.00", currency="USD"):
    cells = dict.fromkeys(settlement_v2.COLUMNS, "")
    cells.update({"settlement-id": sid, "settlement-start-date": "2026-01-01 00:00:00 UTC",
                  "settlement-end-date": "2026-01-14 00:00:00 UTC", "deposit-date": "2026-01-16 00:00:00 UTC",
                  "total-amount": total, "currency": currency})
    return "\t".join(cells[c] for c in settlement_v2.COLUMNS)


@pytest.fixture(scope="module")
def doc():
    return parse_document((SAMPLES / XIEYI).read_bytes(), XIEYI)


class TestXieyiSample:
    def test_summary(self, doc):
        (summary,) = doc.settlements
        assert (summary.settlement_id, summary.currency, summary.total_amount) == ("28471003921", "USD", Decimal("582.89"))
        assert summary.start == datetime(2026, 6, 16) and summary.end == datetime(2026, 6, 30, 23, 59, 59)
        assert summary.deposit_date == datetime(2026, 7, 2) and summary.final and summary.source.line == 2

    def test_rows_sum_to_total(self, doc):
        assert doc.format == "settlement-v2" and doc.rows == 23 and len(doc.amounts) == 23
        assert sum(a.amount for a in doc.amounts) == Decimal("582.89")
        assert doc.warnings == ()

    def test_triple_counts(self, doc):
        counts = Counter(a.triple for a in doc.amounts)
        assert counts[("Order", "ItemPrice", "Principal")] == 4
        assert counts[("Order", "ItemFees", "Commission")] == 4
        assert counts[("Refund", "ItemFees", "Commission")] == 1
        assert counts[("Transfer", "other-transaction", "Previous Reserve Amount Balance")] == 1
        assert sum(1 for t in counts.elements() if t[0] == "ServiceFee") == 3
        assert len(counts) == 17
        commission = sum(a.amount for a in doc.amounts if a.triple == ("Order", "ItemFees", "Commission"))
        assert commission == Decimal("-71.18")

    def test_specific_row(self, doc):
        (storage,) = [a for a in doc.amounts if a.amount_description == "Storage Fee"]
        assert (storage.source.document, storage.source.line) == (XIEYI, 19)
        assert storage.natural_key == "settlement:28471003921:row:17"
        assert storage.amount == Decimal("-64.28") and storage.order_id is None and storage.sku is None
        assert storage.posted_at == datetime(2026, 6, 30, 4, 12)  # posted-date-time wins over posted-date
        first = doc.amounts[0]
        assert first.natural_key == "settlement:28471003921:row:1" and first.source.line == 3
        assert (first.order_id, first.shipment_id, first.sku, first.quantity, first.order_item_code) == (
            "114-8829371-4410258", "DS7K9LM2P", "NX-HD-1200", 1, "55182930114")
        assert first.marketplace == "amazon.com" and first.fulfillment_id == "AFN" and first.final
        assert first.source.raw.startswith("28471003921\t\t\t\t\tUSD\tOrder")

    def test_rereading_gives_same_keys(self, doc):
        again = parse_document((SAMPLES / XIEYI).read_bytes(), XIEYI)
        assert [a.natural_key for a in again.amounts] == [a.natural_key for a in doc.amounts]
        assert len({a.natural_key for a in doc.amounts}) == 23


class TestFixtures:
    def test_cp1252_decimal_comma_and_dmy_dates(self):
        doc = parse_fixture("v2_de_cp1252.txt")
        (summary,) = doc.settlements
        assert summary.total_amount == Decimal("1088.56") and summary.currency == "EUR"
        assert summary.start == datetime(2019, 3, 1) and summary.deposit_date == datetime(2019, 3, 17)
        assert [a.amount for a in doc.amounts] == [Decimal("1299.00"), Decimal("-194.85"), Decimal("-3.09"), Decimal("-12.50")]
        assert sum(a.amount for a in doc.amounts) == summary.total_amount
        assert doc.amounts[3].amount_description == "Lagergebühr für März"
        assert doc.amounts[0].posted_at == datetime(2019, 3, 5, 14, 21, 9)
        assert doc.amounts[3].posted_at == datetime(2019, 3, 14) and doc.amounts[3].source.line == 6

    def test_shift_jis(self):
        doc = parse_fixture("v2_jp_shiftjis.txt")
        assert [a.amount_description for a in doc.amounts] == ["Principal", "Commission", "配送料", "在庫保管手数料"]
        assert doc.amounts[0].amount == Decimal("1980")  # "1,980" yen is grouping, not a decimal comma
        assert sum(a.amount for a in doc.amounts) == Decimal("1913") == doc.settlements[0].total_amount
        assert doc.amounts[0].marketplace == "Amazon.co.jp"

    def test_utf8_bom(self):
        doc = parse_fixture("v2_bom.txt")
        assert doc.settlements[0].settlement_id == "5001"  # the BOM does not stick to the first column
        assert [a.amount for a in doc.amounts] == [Decimal("19.99"), Decimal("-3.00")]
        assert doc.amounts[0].posted_at == datetime(2025, 6, 5, 22, 7, 18)

    def test_two_settlements_blank_lines_duplicates_and_fba_shipment_ids(self):
        doc = parse_fixture("v2_two_settlements.txt")
        assert [(s.settlement_id, s.total_amount) for s in doc.settlements] == [("6001", Decimal("10.00")), ("6002", Decimal("-41.25"))]
        by_settlement = Counter()
        for a in doc.amounts:
            by_settlement[a.settlement_id] += a.amount
        assert by_settlement == {"6001": Decimal("10.00"), "6002": Decimal("-41.25")}
        keys = [a.natural_key for a in doc.amounts]
        assert keys == ["settlement:6001:row:1", "settlement:6001:row:2", "settlement:6001:row:3",
                        "settlement:6002:row:1", "settlement:6002:row:2"]
        # identical rows 1 and 2 stay two facts
        assert doc.amounts[0].source.raw == doc.amounts[1].source.raw and doc.amounts[0].natural_key != doc.amounts[1].natural_key
        fba = doc.amounts[4]
        assert (fba.order_id, fba.shipment_id, fba.source.line) == (None, "FBA15XYZ1234", 9)
        assert ("order-id", "FBA15XYZ1234") in fba.extra
        assert doc.amounts[3].marketplace is None and doc.amounts[3].order_id is None

    def test_gzip_detected_by_magic_bytes(self):
        plain = parse_fixture("v2_two_settlements.txt")
        packed = parse_fixture("v2_two_settlements.txt.gz")
        assert gzip.decompress((DATA / "v2_two_settlements.txt.gz").read_bytes()) == (DATA / "v2_two_settlements.txt").read_bytes()
        assert [(a.natural_key, a.amount, a.source.line) for a in packed.amounts] == [
            (a.natural_key, a.amount, a.source.line) for a in plain.amounts]
        assert packed.sha256 != plain.sha256  # the hash is of the bytes as given

    def test_name_is_not_evidence(self):
        data = (DATA / "v2_bom.txt").read_bytes()
        assert parse_document(data, "report.json").format == "settlement-v2"


class TestBadRows:
    def test_bad_amount_names_file_and_line(self):
        with pytest.raises(ParseError) as err:
            parse_fixture("v2_bad_row.txt")
        assert (err.value.document, err.value.where) == ("v2_bad_row.txt", 4)
        assert str(err.value).startswith("v2_bad_row.txt:4: amount")

    @pytest.mark.parametrize("lines, line, reason", [
        ([v2_summary(), v2_row() + "\textra"], 3, "25 columns, header has 24"),
        ([v2_summary(), "", v2_row(sid="")], 4, "without settlement-id"),
        ([v2_summary(), v2_row(currency="EUR")], 3, "currency EUR differs"),
        ([v2_summary(), v2_row(posted="2026-13-45 00:00:00 UTC")], 3, "posted-date-time"),
        ([v2_row()], 2, "before any summary row"),
        ([v2_summary(sid="1"), v2_row(sid="2")], 3, "settlement-id 2 under summary of 1"),
        ([v2_summary(total="abc")], 2, "total-amount"),
    ])
    def test_unreadable_rows(self, lines, line, reason):
        data = "\n".join([HEADER] + lines).encode()
        with pytest.raises(ParseError, match=reason) as err:
            parse_document(data, "bad.txt")
        assert err.value.where == line

    def test_mismatched_total_is_a_warning(self):
        doc = parse_document("\n".join([HEADER, v2_summary(total="5.00"), v2_row(amount="4.00")]).encode(), "w.txt")
        assert doc.warnings == ("settlement 1: rows sum to 4.00, total-amount is 5.00",)


cents = st.integers(min_value=-10_000_000, max_value=10_000_000).map(lambda c: Decimal(c).scaleb(-2))


@settings(max_examples=60, deadline=None)
@given(st.lists(cents, min_size=1, max_size=30), st.booleans())
def test_generated_file_rows_sum_to_what_was_generated(amounts, decimal_comma):
    def fmt(value: Decimal) -> str:
        us = f"{value:,.2f}"
        return us.replace(",", "_").replace(".", ",").replace("_", ".") if decimal_comma else us
    total = sum(amounts, Decimal(0))
    lines = [HEADER, v2_summary(sid="42", total=fmt(total))] + [v2_row(sid="42", amount=fmt(a)) for a in amounts]
    doc = parse_document("\r\n".join(lines).encode("cp1252"), "gen.txt")
    assert [a.amount for a in doc.amounts] == amounts
    assert sum(a.amount for a in doc.amounts) == total == doc.settlements[0].total_amount
    assert [a.source.line for a in doc.amounts] == list(range(3, 3 + len(amounts)))
    assert doc.warnings == ()
