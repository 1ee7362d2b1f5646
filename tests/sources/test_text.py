"""Decoding, dates and decimals as Amazon writes them."""

from datetime import datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger_service.sources.amazon import text as tx
from ledger_service.sources.model import ParseError


class TestDecode:
    def test_utf8_with_and_without_bom(self):
        assert tx.decode("Gebühr".encode("utf-8"), "d") == "Gebühr"
        assert tx.decode(b"\xef\xbb\xbf" + "Gebühr".encode("utf-8"), "d") == "Gebühr"

    def test_cp1252_latin_text(self):
        assert tx.decode("Lagergebühr für März, 12,50 €".encode("cp1252"), "d") == "Lagergebühr für März, 12,50 €"

    def test_cp1252_accent_before_ascii_is_not_read_as_kanji(self):
        # 0xE9 ('é') followed by 't' is also a valid Shift_JIS pair; the Latin reading must win.
        assert tx.decode("Frais d'expédition".encode("cp1252"), "d") == "Frais d'expédition"

    def test_shift_jis(self):
        assert tx.decode("配送料\t在庫保管手数料\tアマゾン".encode("shift_jis"), "d") == "配送料\t在庫保管手数料\tアマゾン"

    def test_undecodable_names_the_document(self):
        with pytest.raises(ParseError, match=r"^x\.txt: cannot decode"):
            tx.decode(b"\x81\xff\x81\xff", "x.txt")


class TestDates:
    @pytest.mark.parametrize("text, expected", [
        ("2025-06-05T22:07:18+00:00", datetime(2025, 6, 5, 22, 7, 18)),
        ("2003-10-03T16:00:00-07:00", datetime(2003, 10, 3, 23, 0, 0)),
        ("2020-02-07T14:38:42.128Z", datetime(2020, 2, 7, 14, 38, 42, 128000)),
        ("2023-01-03 10:00:00 UTC", datetime(2023, 1, 3, 10, 0, 0)),
        ("2026-06-17 08:14:22 UTC", datetime(2026, 6, 17, 8, 14, 22)),
        ("2026-06-17 08:14:22 PDT", datetime(2026, 6, 17, 15, 14, 22)),
        ("05.03.2019", datetime(2019, 3, 5)),
        ("05.03.2019 14:21:09 UTC", datetime(2019, 3, 5, 14, 21, 9)),
        ("06/05/2025", datetime(2025, 6, 5)),
        ("12/31/2024 23:59:59", datetime(2024, 12, 31, 23, 59, 59)),
        ("2024-02-29", datetime(2024, 2, 29)),
        ("  2024-02-29  ", datetime(2024, 2, 29)),
    ])
    def test_formats_to_naive_utc(self, text, expected):
        got = tx.parse_datetime(text)
        assert got == expected and got.tzinfo is None

    @pytest.mark.parametrize("text", ["", "31.02.2019", "13/45/2020", "yesterday", "2020-01-01 10:00 XYZ"])
    def test_rejects(self, text):
        with pytest.raises(ValueError):
            tx.parse_datetime(text)


class TestDecimals:
    @pytest.mark.parametrize("text, expected", [
        ("1,234.56", "1234.56"), ("1.234,56", "1234.56"), ("-12,50", "-12.50"), ("12.50 ", "12.50"),
        ("-0.01", "-0.01"), ("1,980", "1980"), ("1.234.567,89", "1234567.89"), ("1 234,56", "1234.56"),
        ("+3", "3"), ("12.50-", "-12.50"), ("0", "0"), ("-582.89", "-582.89"),
    ])
    def test_values(self, text, expected):
        got = tx.parse_decimal(text)
        assert isinstance(got, Decimal) and got == Decimal(expected) and str(got) == expected

    def test_file_convention_decides_ambiguous_values(self):
        assert tx.parse_decimal("1.234", decimal_comma=True) == Decimal("1234")
        assert tx.parse_decimal("1.234", decimal_comma=False) == Decimal("1.234")
        assert tx.parse_decimal("1,234", decimal_comma=True) == Decimal("1.234")
        assert tx.infer_decimal_comma(["", "1.299,00", "5.00"]) is True
        assert tx.infer_decimal_comma(["1,980", "12.50"]) is False
        assert tx.infer_decimal_comma(["1,980", "-297"]) is None

    @pytest.mark.parametrize("text", ["", "  ", "12.3x", "1,2,3.4.5", "--1", "abc", "1e5"])
    def test_rejects(self, text):
        with pytest.raises(ValueError):
            tx.parse_decimal(text)

    @given(st.decimals(min_value=Decimal("-99999999.99"), max_value=Decimal("99999999.99"), places=2))
    def test_round_trips_both_separators(self, value):
        us = f"{value:,.2f}"                                           # 1,234.56
        eu = us.replace(",", "_").replace(".", ",").replace("_", ".")  # 1.234,56
        assert tx.parse_decimal(us) == value
        assert tx.parse_decimal(eu) == value
        assert tx.parse_decimal(us, decimal_comma=False) == value
        assert tx.parse_decimal(eu, decimal_comma=True) == value
        assert tx.parse_decimal(f"{value:.2f}  ") == value


def test_tab_rows_keep_physical_lines_and_trailing_empty_cells():
    rows = tx.tab_rows("a\tb\t\r\n\n  \nc \t d\t\n")
    assert [(line, cells) for line, _, cells in rows] == [(1, ["a", "b", ""]), (4, ["c", "d", ""])]
