"""Streaming settlement reader: the same records as parse_document, in file order, with memory flat in file size."""

import gzip
import tracemalloc
from decimal import Decimal
from pathlib import Path

import pytest

from ledger_service.sources.amazon import parse_document, settlement_v2
from ledger_service.sources.amazon.stream import StreamedSettlementFile, open_settlement_file
from ledger_service.sources.model import ParseError

from tests.support.samples import SAMPLES

DATA = Path(__file__).resolve().parents[1] / "data" / "amazon"
XIEYI = SAMPLES / "settlement_v2_synthetic_xieyi_settlement-sample.txt"
BAD = ["v2_bad_row.txt"]
GOOD = sorted(p.name for p in DATA.iterdir() if p.name not in BAD)
COLUMNS = settlement_v2.COLUMNS


def expected(path: Path, document: str | None = None):
    parsed = parse_document(path.read_bytes(), document or path.name)
    # amounts are in file order already; a stable sort by line puts each summary before its rows
    return parsed, sorted(parsed.settlements + parsed.amounts, key=lambda record: record.source.line)


def assert_same(path: Path) -> StreamedSettlementFile:
    parsed, records = expected(path)
    streamed = open_settlement_file(path)
    assert streamed is not None
    assert (streamed.format, streamed.document, streamed.sha256) == (parsed.format, parsed.document, parsed.sha256)
    assert list(streamed.records()) == records
    assert streamed.rows == parsed.rows and tuple(streamed.warnings) == parsed.warnings
    return streamed


def line(**cells: str) -> str:
    row = dict.fromkeys(COLUMNS, "")
    row.update({name.replace("_", "-"): value for name, value in cells.items()})
    return "\t".join(row[c] for c in COLUMNS)


def summary(sid="9001", total="0.00", currency="USD") -> str:
    return line(settlement_id=sid, settlement_start_date="2026-01-01 00:00:00 UTC",
                settlement_end_date="2026-01-14 00:00:00 UTC", deposit_date="2026-01-16 00:00:00 UTC",
                total_amount=total, currency=currency)


def data(amount="1.25", sid="9001", description="Principal") -> str:
    return line(settlement_id=sid, currency="USD", transaction_type="Order", amount_type="ItemPrice",
                amount_description=description, amount=amount)


def write_v2(path: Path, lines: list[str], encoding="utf-8") -> Path:
    path.write_bytes(("\n".join(["\t".join(COLUMNS), *lines]) + "\n").encode(encoding))
    return path


# ---------------------------------------------------------------------------------------------------------------
# Same records as parse_document


def test_every_fixture_is_covered():
    assert set(GOOD) | set(BAD) == {p.name for p in DATA.iterdir()}
    assert {"v2_two_settlements.txt.gz", "v2_de_cp1252.txt", "v2_jp_shiftjis.txt", "v2_bom.txt",
            "legacy_33_negative.txt", "legacy_36.txt"} <= set(GOOD)


@pytest.mark.parametrize("name", GOOD)
def test_fixture_streams_like_parse_document(name):
    assert_same(DATA / name)


def test_public_v2_sample():
    streamed = assert_same(XIEYI)
    assert streamed.rows == 23 and streamed.format == "settlement-v2"


def test_warnings_and_two_settlements(tmp_path):
    path = write_v2(tmp_path / "two.txt", [summary("1", "2.50"), data("1.25", "1"), data("1.25", "1"),
                                           summary("2", "9.99"), data("1.00", "2")])
    streamed = assert_same(path)
    assert streamed.warnings == ["settlement 2: rows sum to 1.00, total-amount is 9.99"]
    assert streamed.rows == 3


def test_bad_row_raises_the_same_error_when_reached():
    path = DATA / "v2_bad_row.txt"
    with pytest.raises(ParseError) as parsed:
        parse_document(path.read_bytes(), path.name)
    streamed = open_settlement_file(path)
    assert streamed is not None
    records = streamed.records()
    with pytest.raises(ParseError) as raised:
        list(records)
    assert str(raised.value) == str(parsed.value)
    assert (raised.value.document, raised.value.where) == (path.name, 4)


def test_column_count_error_at_the_end_raises_before_any_record(tmp_path):
    # parse_document refuses the table before reading any row; the stream must not yield the good rows first.
    path = write_v2(tmp_path / "short.txt", [summary(total="1.25"), data(), "9001\tUSD"])
    with pytest.raises(ParseError) as parsed:
        parse_document(path.read_bytes(), path.name)
    streamed = open_settlement_file(path)
    records = streamed.records()
    with pytest.raises(ParseError) as raised:
        next(records)
    assert str(raised.value) == str(parsed.value) == "short.txt:4: 2 columns, header has 24"


def test_encoding_decided_by_a_byte_past_the_first_mebibyte(tmp_path):
    # ASCII for more than 1 MiB, then one cp1252 byte: decode() reads the whole file as cp1252, and so must we.
    rows = [summary(total="0.00")] + [data("0.00") for _ in range(20_000)] + [data("0.00", description="Gebühr")]
    path = write_v2(tmp_path / "late.txt", rows, encoding="cp1252")
    assert path.stat().st_size > 1 << 20
    streamed = assert_same(path)
    assert streamed.encoding == "cp1252"
    assert streamed.rows == 20_001


def test_decimal_comma_decided_late(tmp_path):
    # Amounts that decide nothing first ("5", "1.234"), then "2,50": the whole file is decimal-comma.
    path = write_v2(tmp_path / "eu.txt", [summary(total="5"), data("5"), data("1.234"), data("2,50")])
    streamed = assert_same(path)
    assert streamed.decimal_comma is True
    assert [r.amount for r in list(streamed.records())[1:]] == [Decimal("5"), Decimal("1234"), Decimal("2.50")]


def test_gzip_of_gzip(tmp_path):
    path = tmp_path / "two.txt.gz.gz"
    path.write_bytes(gzip.compress(gzip.compress((DATA / "v2_two_settlements.txt").read_bytes())))
    assert_same(path)


def test_records_can_be_read_twice():
    streamed = open_settlement_file(DATA / "v2_two_settlements.txt")
    assert list(streamed.records()) == list(streamed.records())


def test_document_name_is_taken_from_the_argument(tmp_path):
    path = tmp_path / "x.bin"
    path.write_bytes((DATA / "legacy_36.txt").read_bytes())
    streamed = open_settlement_file(path, "legacy_36.txt")
    assert list(streamed.records()) == expected(DATA / "legacy_36.txt")[1]


def test_file_changed_between_passes_raises(tmp_path):
    path = write_v2(tmp_path / "moving.txt", [summary(total="1.25"), data()])
    streamed = open_settlement_file(path)
    write_v2(path, [summary(total="1.25"), data("1.26")])
    with pytest.raises(ParseError, match="file changed"):
        list(streamed.records())


@pytest.mark.parametrize("name", [p.name for p in SAMPLES.glob("*.json")])
def test_json_is_not_a_settlement_file(name):
    assert open_settlement_file(SAMPLES / name) is None


def test_other_documents_are_not_settlement_files(tmp_path):
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "other.txt").write_text("a\tb\n1\t2\n")
    (tmp_path / "bad.gz").write_bytes(b"\x1f\x8bnot gzip at all")
    for name in ("empty.txt", "other.txt", "bad.gz"):
        assert open_settlement_file(tmp_path / name) is None
        with pytest.raises(ParseError):  # the caller's fallback reports it
            parse_document((tmp_path / name).read_bytes(), name)


# ---------------------------------------------------------------------------------------------------------------
# Memory flat in file size

ROWS = 20_000  # and 4x that: enough to show flat memory, fast enough for every run


def write_big_v2(path: Path, rows: int) -> Path:
    row = data("1.25")
    with path.open("w", encoding="utf-8", newline="\n") as out:
        out.write("\t".join(COLUMNS) + "\n" + summary(total=f"{rows * 5 // 4}.{rows * 25 % 100:02d}") + "\n")
        for start in range(0, rows, 10_000):
            out.write((row + "\n") * min(10_000, rows - start))
    return path


def peak_while_streaming(path: Path, rows: int) -> int:
    tracemalloc.start()
    try:
        streamed = open_settlement_file(path)
        count = sum(1 for _ in streamed.records())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == rows + 1 and streamed.rows == rows and streamed.warnings == []
    return peak


@pytest.mark.slow
def test_memory_is_flat_in_file_size(tmp_path):
    small_path = write_big_v2(tmp_path / "small.txt", ROWS)
    small = peak_while_streaming(small_path, ROWS)
    small_path.unlink()
    large_path = write_big_v2(tmp_path / "large.txt", 4 * ROWS)
    large = peak_while_streaming(large_path, 4 * ROWS)
    print(f"peak traced memory: {ROWS} rows {small / 2**20:.2f} MiB, {4 * ROWS} rows "
          f"({large_path.stat().st_size / 2**20:.0f} MiB on disk) {large / 2**20:.2f} MiB")
    assert small < 30 * 2**20
    assert large < small * 1.2
