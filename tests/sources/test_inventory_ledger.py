"""FBA inventory ledger detail report: every published layout parses to the same canonical movements, keys are
idempotent without merging Amazon's repeated rows, and bad input is a ParseError naming file:line, never a crash."""

from __future__ import annotations

import gzip
import tracemalloc
from datetime import date, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from ledger_service.sources.amazon.inventory_ledger import (
    DISPOSITIONS, EVENT_TYPES, is_inventory_ledger, iter_movements, load_reasons, parse_inventory_ledger)
from ledger_service.sources.model import InventoryMovement, ParseError, SourceRef

DATA = Path(__file__).resolve().parents[1] / "data" / "inventory_ledger"
API, CSV, BOM, TRIM = (DATA / n for n in ("api_detail.tsv", "seller_central_detail.csv",
                                          "seller_central_bom_crlf.txt", "trimmed_11_columns.csv"))
FIXTURES = [API, CSV, BOM, TRIM]
HEADER = ("Date\tFNSKU\tASIN\tMSKU\tTitle\tEventType\tReferenceID\tQuantity\tFulfillmentCenter\tDisposition\tReason"
          "\tCountry\tReconciledQuantity\tUnreconciledQuantity")


def parse(path: Path) -> list[InventoryMovement]:
    return parse_inventory_ledger(path.read_bytes(), path.name)


def tsv(*rows: str) -> bytes:
    return ("\n".join([HEADER, *rows]) + "\n").encode()


def row(day="2024-05-01", qty="-1", event="Shipments", disposition="SELLABLE", reason="", fnsku="X0012ABCD1",
        msku="000123", ref="113-1", recon="", title="Mug") -> str:
    return "\t".join([day, fnsku, "B00012ABCD", msku, title, event, ref, qty, "PHX6", disposition, reason, "US",
                      recon, ""])


def refused(data: bytes, name: str = "bad.tsv") -> ParseError:
    with pytest.raises(ParseError) as info:
        parse_inventory_ledger(data, name)
    assert str(info.value).startswith(name), str(info.value)
    return info.value


# --- layouts -------------------------------------------------------------------------------------------------


def test_api_tsv_first_row_exactly():
    movements = parse(API)
    raw = API.read_text().split("\n")[1]
    assert movements[0] == InventoryMovement(
        natural_key=movements[0].natural_key, date=date(2024, 5, 1), occurred_at=None, fnsku="X0012ABCD1",
        asin="B00012ABCD", msku="000123", title="Ceramic Mug 12oz", event_type="Receipts", reference_id="FBA15ABC123",
        quantity=24, fulfillment_center="PHX6", disposition="SELLABLE", reason=None, country="US",
        reconciled_quantity=None, unreconciled_quantity=None,
        source=SourceRef("amazon-inventory-ledger", "api_detail.tsv", movements[0].source.sha256, 2, None, raw))
    assert movements[0].natural_key.startswith("inventory-ledger:2024-05-01:")


def test_api_tsv_every_event_type_and_disposition():
    movements = parse(API)
    assert len(movements) == 15 and [m.source.line for m in movements] == list(range(2, 17))
    assert {m.event_type for m in movements} == set(EVENT_TYPES)
    assert {m.disposition for m in movements} == set(DISPOSITIONS)
    assert [m.quantity for m in movements] == [24, -1, -1, 1, 1, -1, 1, -16, 1, -2, -3, 3, 2, 1, -1]
    lost = movements[7]
    assert (lost.reason, lost.reconciled_quantity, lost.unreconciled_quantity, lost.msku, lost.asin) == \
           ("M", 5, 11, "00042-BLUE", "0312306180")
    assert movements[10].reference_id is None and all(m.flags == () for m in movements)


def test_seller_central_csv_quoted_headers_date_and_time_and_extra_columns():
    movements = parse(CSV)
    assert [(m.date, m.occurred_at, m.event_type, m.disposition, m.quantity) for m in movements] == [
        (date(2026, 7, 6), datetime(2026, 7, 6, 7, 0), "Shipments", "SELLABLE", -1),
        (date(2026, 7, 6), datetime(2026, 7, 6, 7, 0), "Shipments", "SELLABLE", -1),
        (date(2026, 7, 6), datetime(2026, 7, 6, 22, 30), "CustomerReturns", "CUSTOMER_DAMAGED", 1),
        (date(2026, 7, 7), datetime(2026, 7, 8, 6, 10), "Adjustments", "SELLABLE", -16),  # Date stays Amazon's day
        (date(2026, 7, 7), datetime(2026, 7, 8, 6, 15), "Adjustments", "WAREHOUSE_DAMAGED", 1),
    ]
    assert movements[0].title == 'Coffee, Light Roast 250g "Geisha"' and movements[0].msku == "0000789"
    assert movements[0].reference_id is None and movements[0].extra == ()
    assert movements[2].extra == (("Store", "Low-Cost Store"),)
    assert (movements[3].reason, movements[3].reconciled_quantity, movements[3].unreconciled_quantity) == ("M", 5, 11)


def test_bom_crlf_tab_separated_download_with_trailing_empty_column():
    movements = parse(BOM)
    assert [(m.source.line, m.msku, m.asin, m.event_type, m.reason, m.disposition, m.quantity, m.country)
            for m in movements] == [
        (2, "007-UK", "0312306180", "Receipts", None, "SELLABLE", 10, "GB"),
        (3, "007-UK", "0312306180", "Adjustments", "Q", "SELLABLE", -1, "GB"),
        (4, "007-UK", "0312306180", "Adjustments", "P", "EXPIRED", 1, "GB"),
    ]
    assert movements[0].occurred_at == datetime(2021, 5, 26, 8, 15) and movements[0].date == date(2021, 5, 26)
    assert not movements[0].source.raw.endswith("\r")


def test_trimmed_export_without_country_or_reconciliation():
    first, second = parse(TRIM)
    assert (first.country, first.reconciled_quantity, first.date, first.reason) == (None, None, date(2026, 9, 20), "M")
    assert first.natural_key != second.natural_key


def test_path_stream_bytes_and_gzip_agree(tmp_path):
    for fixture in FIXTURES:
        expected = parse(fixture)
        assert list(iter_movements(fixture)) == expected
        zipped = tmp_path / fixture.name
        zipped.write_bytes(gzip.compress(fixture.read_bytes()))
        assert [m._replace(source=m.source._replace(sha256="")) for m in iter_movements(zipped)] == \
               [m._replace(source=m.source._replace(sha256="")) for m in expected]


def test_header_detection():
    for fixture in FIXTURES:
        assert is_inventory_ledger(fixture.read_bytes().decode("utf-8-sig").split("\n")[0])
    assert is_inventory_ledger("\ufeff" + HEADER + "\r\n")
    assert not is_inventory_ledger("settlement-id\tsettlement-start-date\tamount-type\tamount\tquantity-purchased")
    assert not is_inventory_ledger('"Date","FNSKU","ASIN","MSKU","Title","Disposition","Starting Warehouse Balance"')
    assert not is_inventory_ledger("") and not is_inventory_ledger('"unclosed') and not is_inventory_ledger(None)


def test_unknown_vocabulary_is_kept_and_flagged():
    movements = parse_inventory_ledger(tsv(
        row(event="Liquidations"), row(disposition="Researching"), row(event="Adjustments", reason="X"),
        row(event="Adjustments"), row(event="customer returns", disposition="carrier-damaged")), "new.tsv")
    assert [(m.event_type, m.disposition, m.flags) for m in movements] == [
        ("Liquidations", "SELLABLE", ("unknown-event-type",)),
        ("Shipments", "RESEARCHING", ("unknown-disposition",)),
        ("Adjustments", "SELLABLE", ("unknown-reason",)),
        ("Adjustments", "SELLABLE", ("unknown-reason",)),
        ("CustomerReturns", "CARRIER_DAMAGED", ()),
    ]


def test_excel_text_formula_keeps_leading_zeros():
    (movement,) = parse_inventory_ledger(tsv(row(msku='="000123"')), "excel.tsv")
    assert movement.msku == "000123"


# --- keys ----------------------------------------------------------------------------------------------------


def test_same_file_twice_gives_the_same_keys_and_identical_rows_different_keys():
    for fixture in FIXTURES:
        keys = [m.natural_key for m in parse(fixture)]
        assert keys == [m.natural_key for m in parse(fixture)] and len(set(keys)) == len(keys)
    first, second = parse(API)[1:3]  # two identical Shipments rows: two facts
    assert first._replace(natural_key="", source=None) == second._replace(natural_key="", source=None)
    assert first.natural_key[:-2] == second.natural_key[:-2]
    assert (first.natural_key[-2:], second.natural_key[-2:]) == (":1", ":2")


def test_keys_survive_a_rename_later_reconciliation_and_a_wider_report():
    first = parse_inventory_ledger(tsv(row(), row(), row(day="2024-05-02", event="Adjustments", reason="M",
                                                     qty="-16", recon="0")), "week1.tsv")
    later = parse_inventory_ledger(tsv(row(day="2024-04-30"), row(title="Mug, renamed"), row(title="Mug, renamed"),
                                       row(), row(day="2024-05-02", event="Adjustments", reason="M", qty="-16",
                                                  recon="5")), "wider.tsv")
    old, new = {m.natural_key for m in first}, {m.natural_key for m in later}
    assert old < new and len(new - old) == 2  # the 30 April row and the third identical shipment are new facts


def test_keys_do_not_depend_on_row_order():
    rows = [row(day="2024-05-01"), row(day="2024-05-02"), row(day="2024-05-01"), row(day="2024-05-02")]
    forward = parse_inventory_ledger(tsv(*rows), "a.tsv")  # dates come back: counted again from the top
    grouped = parse_inventory_ledger(tsv(*sorted(rows)), "b.tsv")
    assert sorted(m.natural_key for m in forward) == sorted(m.natural_key for m in grouped)
    assert len({m.natural_key for m in forward}) == 4


def test_a_path_that_returns_to_an_earlier_date_is_recounted(tmp_path):
    data = tsv(row(day="2024-05-01"), row(day="2024-05-02"), row(day="2024-05-01"), row(day="2024-05-03"),
               row(day="2024-05-02"))
    (tmp_path / "unsorted.tsv").write_bytes(data)
    streamed = list(iter_movements(tmp_path / "unsorted.tsv"))
    assert streamed == parse_inventory_ledger(data, "unsorted.tsv")
    assert [m.natural_key.rsplit(":", 1)[1] for m in streamed] == ["1", "1", "2", "1", "2"]


def test_stream_memory_is_flat_in_file_size(tmp_path):
    def peak(rows: int) -> int:
        path = tmp_path / f"{rows}.tsv"
        with open(path, "w") as out:
            out.write(HEADER + "\n")
            for i in range(rows):
                out.write(row(day=f"2024-{1 + i // 2500:02d}-{1 + i // 100 % 25:02d}", ref=str(i)) + "\n")
        tracemalloc.start()
        try:
            assert sum(1 for _ in iter_movements(path)) == rows
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    small, large = peak(2_500), peak(10_000)
    assert large < small * 1.3, (small, large)


# --- refusals ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("data, where, reason", [
    (HEADER.replace("\tEventType", "").encode() + b"\n", 1, "lacks column(s) Event Type"),
    (HEADER.replace("Date\t", "When\t").encode() + b"\n", 1, "lacks column(s) Date"),
    (tsv(row(), row(day="2024-13-45")), 3, "Date:"),
    (tsv(row(day="31/05/2024")), 2, "Date:"),
    (tsv(row(day="9999-12-31")), 2, "outside 1999-01-01..2100-12-31"),
    (tsv(row(qty="1.5")), 2, "Quantity '1.5' is not a whole number"),
    (tsv(row(qty="")), 2, "Quantity is empty"),
    (tsv(row(qty="99999999999")), 2, "Quantity 99999999999 is outside the allowed range"),
    (tsv(row(recon="lots")), 2, "Reconciled Quantity 'lots'"),
    (tsv(row(), row() + "\textra"), 3, "15 columns, header has 14"),
    (tsv(row(), HEADER), 3, "the header again"),
    (tsv(row(fnsku="", msku="")), 2, "neither FNSKU nor MSKU"),
    (tsv(row(event="")), 2, "Event Type is empty"),
    (tsv(row(title="a\x00b")), 2, "control character"),
])
def test_bad_input_names_file_and_line(data, where, reason):
    error = refused(data)
    assert error.where == where and reason in error.reason, str(error)


def test_date_and_time_far_from_date_is_refused():
    data = CSV.read_bytes().replace(b"2026-07-07T23:10:00-0700", b"2026-07-17T23:10:00-0700")
    error = refused(data, "far.csv")
    assert error.where == 5 and "more than a day from Date" in error.reason


def test_unterminated_quote_and_empty_and_binary_files():
    assert refused(b"", "empty.csv").reason == "empty document"
    assert refused(b"\n \r\n", "blank.csv").reason == "empty document"
    error = refused(CSV.read_bytes() + b'"07/08/2026","X1,"unterminated\n', "quote.csv")
    assert error.where == 7 and "quoting" in error.reason
    error = refused(bytes(range(256)) * 4, "binary.bin")
    assert error.where is not None


def test_path_refusals_name_file_and_line(tmp_path):
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "binary.bin").write_bytes(HEADER.encode() + b"\n" + bytes(range(256)) * 4)  # 0x0A ends line 2
    with pytest.raises(ParseError, match=r"^empty.txt: empty document"):
        list(iter_movements(tmp_path / "empty.txt"))
    with pytest.raises(ParseError, match=r"^binary.bin:3: cannot decode"):
        list(iter_movements(tmp_path / "binary.bin"))


def test_date_and_time_alone_gives_the_day():
    header = "Date and Time,FNSKU,MSKU,Event Type,Quantity,Disposition\n"
    (movement,) = parse_inventory_ledger((header + "2024-05-01T23:30:00-07:00,X1,0001,Receipts,3,SELLABLE\n").encode(),
                                         "timeonly.csv")
    assert (movement.date, movement.occurred_at, movement.msku) == (date(2024, 5, 1), datetime(2024, 5, 2, 6, 30), "0001")


def test_a_late_error_yields_nothing_from_parse():
    with pytest.raises(ParseError):
        parse_inventory_ledger(tsv(*[row(ref=str(i)) for i in range(50)], row(qty="x")), "late.tsv")


def test_reason_table_covers_the_published_codes():
    table = load_reasons()
    assert set(table["disposition"]) == set(DISPOSITIONS)
    kinds = {"disposition_change", "lost", "found", "disposed", "correction_out", "catalog_transfer",
             "software_correction"}
    for code, entry in table["reason"].items():
        assert entry["sign"] in "+-" and entry["kind"] in kinds and entry["meaning"] and entry["movement"], code
    assert set("67EHKUDFNM534OPQG12J") == set(table["reason"])
    assert (table["reason"]["M"]["kind"], table["reason"]["F"]["kind"], table["reason"]["D"]["kind"]) == \
           ("lost", "found", "disposed")


# --- fuzz ----------------------------------------------------------------------------------------------------

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def parse_or_refuse(data: bytes, name: str) -> None:
    try:
        parse_inventory_ledger(data, name)
    except ParseError as exc:
        assert str(exc).startswith(name), str(exc)


@FUZZ
@given(st.binary(max_size=2048))
def test_random_bytes_never_crash(data):
    parse_or_refuse(data, "random.bin")


@FUZZ
@given(st.sampled_from(FIXTURES), st.lists(st.tuples(st.integers(0, 4096), st.binary(max_size=8),
                                                      st.integers(0, 8)), min_size=1, max_size=4))
def test_mutated_fixtures_never_crash(fixture, edits):
    data = fixture.read_bytes()
    for at, insert, cut in edits:
        at %= len(data) + 1
        data = data[:at] + insert + data[at + cut:]
    parse_or_refuse(data, "mutated.csv")
