"""Reading the text inside Amazon documents: encodings, dates, decimals, tab-separated rows.

The problem: Amazon writes the same report in whatever convention the marketplace uses. A US file is UTF-8
with `1,234.56` and `2026-06-17 08:14:22 UTC`; a German one may be cp1252 with `1.234,56` and `05.03.2019`;
a Japanese one may be Shift_JIS. Parsers must read all of them into one shape: text, naive-UTC datetimes, and
Decimal amounts (never float). Every function here is pure and raises ValueError (or ParseError for a
whole document) with a reason a person can act on.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from ledger_service import limits
from ledger_service.sources.model import ParseError

# ---------------------------------------------------------------------------------------------------------------
# Encodings

# Characters cp1252 puts in 0x80-0x9F. Shift_JIS lead bytes (0x81-0x9F) decode to these when the bytes are read
# as cp1252, so many of them in a cp1252 reading is the mark of Japanese text. The euro sign is left out: it is
# legitimately common in EU files.
_CP1252_C1 = frozenset("‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ")


def _latin_letters(text: str) -> int:
    return sum(1 for ch in text if "\u00c0" <= ch <= "\u00ff" and ch not in "×÷")


def _c1_marks(text: str) -> int:
    return sum(1 for ch in text if ch in _CP1252_C1)


def _japanese(text: str) -> int:
    return sum(1 for ch in text if "\u3040" <= ch <= "\u30ff" or "\u4e00" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef")


def decode(data: bytes, document: str) -> str:
    """Bytes -> text. UTF-8 (with or without BOM) strictly first, then the better of cp1252 and Shift_JIS."""
    return decode_with(data, document)[0]


def decode_with(data: bytes, document: str) -> tuple[str, str]:
    """(text, encoding) for `decode`: encoding is "utf-8-sig", "cp1252" or "shift_jis".

    A streaming reader detects the encoding on a sample of complete lines and decodes the rest line by line.

    Strict UTF-8 almost never accepts cp1252 or Shift_JIS bytes by accident, so it goes first. Between cp1252 and
    Shift_JIS both often decode without error; we choose by what the text looks like (Japanese characters in the
    Shift_JIS reading and C1 punctuation in the cp1252 reading, versus accented Latin letters).
    """
    try:
        return data.decode("utf-8-sig"), "utf-8-sig"
    except UnicodeDecodeError:
        pass
    readings: dict[str, str] = {}
    for encoding in ("cp1252", "shift_jis"):
        try:
            readings[encoding] = data.decode(encoding)
        except UnicodeDecodeError:
            continue
    if not readings:
        raise ParseError(document, None, "cannot decode: not UTF-8, cp1252 or Shift_JIS")
    if len(readings) == 1:
        encoding, text = next(iter(readings.items()))
        return text, encoding
    as_cp1252, as_sjis = readings["cp1252"], readings["shift_jis"]
    if _prefers_shift_jis(_japanese(as_sjis), _c1_marks(as_cp1252), _latin_letters(as_cp1252)):
        return as_sjis, "shift_jis"
    return as_cp1252, "cp1252"


def _prefers_shift_jis(japanese: int, c1_marks: int, latin_letters: int) -> bool:
    return bool(japanese) and c1_marks > latin_letters


ENCODINGS = ("utf-8-sig", "cp1252", "shift_jis")


class EncodingDetector:
    """decode_with's choice of encoding, made from a document fed piece by piece (e.g. line by line).

    Pieces must be fed in order and each must end where the document has a b"\n" (or at its end). None of the
    three encodings has 0x0A inside a multibyte character, so a document decodes in an encoding exactly when each
    of its pieces does, and the counts the choice rests on are sums over characters: `encoding()` after the
    last piece equals decode_with(whole document)[1], without holding the document in memory.
    """

    def __init__(self) -> None:
        self.valid = dict.fromkeys(ENCODINGS, True)
        self._japanese = self._c1_marks = self._latin_letters = 0
        self._first = True

    def feed(self, piece: bytes) -> dict[str, str]:
        """The piece read in every encoding still possible (encoding -> text); updates the evidence."""
        first, self._first = self._first, False
        live = [encoding for encoding in ENCODINGS if self.valid[encoding]]
        if piece.isascii():  # the same text in all three; no evidence for or against any
            text = piece.decode("ascii")
            return dict.fromkeys(live, text)
        readings: dict[str, str] = {}
        for encoding in live:
            codec = "utf-8" if encoding == "utf-8-sig" and not first else encoding
            try:
                readings[encoding] = piece.decode(codec)
            except UnicodeDecodeError:
                self.valid[encoding] = False
        if "cp1252" in readings and "shift_jis" in readings:
            self._japanese += _japanese(readings["shift_jis"])
            self._c1_marks += _c1_marks(readings["cp1252"])
            self._latin_letters += _latin_letters(readings["cp1252"])
        return readings

    def encoding(self, document: str) -> str:
        """The encoding decode_with would choose for everything fed so far."""
        if self.valid["utf-8-sig"]:
            return "utf-8-sig"
        if not (self.valid["cp1252"] or self.valid["shift_jis"]):
            raise ParseError(document, None, "cannot decode: not UTF-8, cp1252 or Shift_JIS")
        if not (self.valid["cp1252"] and self.valid["shift_jis"]):
            return "cp1252" if self.valid["cp1252"] else "shift_jis"
        if _prefers_shift_jis(self._japanese, self._c1_marks, self._latin_letters):
            return "shift_jis"
        return "cp1252"


# ---------------------------------------------------------------------------------------------------------------
# Dates

# Zone names seen in Amazon flat files. Fixed offsets are right for these abbreviations by definition
# (PST is always -8, PDT always -7), unlike region names.
_ZONES = {
    "UTC": 0, "GMT": 0, "Z": 0,
    "PST": -8, "PDT": -7, "MST": -7, "MDT": -6, "CST": -6, "CDT": -5, "EST": -5, "EDT": -4,
    "CET": 1, "CEST": 2, "MEZ": 1, "MESZ": 2, "BST": 1, "JST": 9,
}
_DMY = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")
_MDY = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_TIME = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")


def _to_naive_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value
    return value.astimezone(timezone.utc).replace(tzinfo=None)


@lru_cache(maxsize=4096)  # a settlement repeats few dates over many rows; datetimes are immutable
def parse_datetime(text: str) -> datetime:
    """One Amazon date or date-time -> naive UTC datetime. A bare date is midnight UTC.

    Accepts ISO 8601 with or without offset (`2025-06-05T22:07:18+00:00`, `...128Z`), `2023-01-03 10:00:00 UTC`,
    `05.03.2019` (DD.MM.YYYY, optionally with a time), `MM/DD/YYYY` (optionally with a time), `YYYY-MM-DD`.
    """
    value = text.strip()
    if not value:
        raise ValueError("empty date")
    offset = 0
    parts = value.rsplit(" ", 1)
    if len(parts) == 2 and parts[1].upper() in _ZONES:
        value, offset = parts[0].strip(), _ZONES[parts[1].upper()]
    moment = _parse_local(value)
    if moment is None:
        raise ValueError(f"unrecognised date {text!r}")
    if moment.tzinfo is None and offset:
        moment = moment.replace(tzinfo=timezone(timedelta(hours=offset)))
    try:
        moment = _to_naive_utc(moment)
    except OverflowError:  # 0001-01-01 with a positive offset has no UTC time
        raise ValueError(f"date {text!r} is outside any plausible range") from None
    limits.check_date(moment)  # 9999-12-31 is a broken cell, not a date
    return moment


def _parse_local(value: str) -> datetime | None:
    for pattern, order in ((_DMY, "dmy"), (_MDY, "mdy")):
        match = pattern.match(value)
        if match:
            first, second, year = (int(g) for g in match.groups())
            day, month = (first, second) if order == "dmy" else (second, first)
            rest = value[match.end():].strip()
            hour = minute = sec = 0
            if rest:
                time_match = _TIME.fullmatch(rest)
                if not time_match:
                    return None
                hour, minute = int(time_match.group(1)), int(time_match.group(2))
                sec = int(time_match.group(3) or 0)
            try:
                return datetime(year, month, day, hour, minute, sec)
            except ValueError:
                return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def parse_date_or_none(text: str) -> datetime | None:
    return parse_datetime(text) if text.strip() else None


def as_date(value: datetime) -> date:
    return value.date()


# ---------------------------------------------------------------------------------------------------------------
# Decimals

_US = re.compile(r"\d{1,3}(,\d{3})+(\.\d+)?|\d+(\.\d+)?")
_EU = re.compile(r"\d{1,3}(\.\d{3})+(,\d+)?|\d+(,\d+)?")
_GROUPING_NOISE = str.maketrans("", "", " \u00a0\u202f'")


@lru_cache(maxsize=8192)  # fees and prices repeat; Decimals are immutable
def parse_decimal(text: str, decimal_comma: bool | None = None) -> Decimal:
    """An Amazon amount -> Decimal. Never goes through float.

    `decimal_comma` is the file's convention when the caller knows it (see `infer_decimal_comma`); None means
    decide from this value alone: the last of ',' and '.' is the decimal mark when both appear, a single ','
    followed by one or two digits is a decimal comma, anything else is grouping.
    """
    value = text.strip().translate(_GROUPING_NOISE)
    if not value:
        raise ValueError("empty amount")
    sign = ""
    if value[0] in "+-":
        sign, value = ("-" if value[0] == "-" else ""), value[1:]
    elif value.endswith("-"):  # some exports write 12.50-
        sign, value = "-", value[:-1]
    # Grouping must be well formed (groups of three) so that a typo like 1,2,3.4.5 is refused, not guessed at.
    if _comma_is_decimal(value, decimal_comma):
        if not _EU.fullmatch(value):
            raise ValueError(f"unrecognised amount {text!r}")
        value = value.replace(".", "").replace(",", ".")
    else:
        if not _US.fullmatch(value):
            raise ValueError(f"unrecognised amount {text!r}")
        value = value.replace(",", "")
    try:
        return Decimal(sign + value)
    except InvalidOperation as exc:  # pragma: no cover - the patterns already guard this
        raise ValueError(f"unrecognised amount {text!r}") from exc


def _comma_is_decimal(value: str, decimal_comma: bool | None) -> bool:
    if "," in value and "." in value:
        return value.rfind(",") > value.rfind(".")
    if decimal_comma is not None:
        return decimal_comma and ("," in value or value.count(".") != 1 or not _looks_like_decimal_point(value))
    if value.count(",") == 1:
        return len(value) - value.index(",") - 1 in (1, 2)
    return False


def _looks_like_decimal_point(value: str) -> bool:
    # In a decimal-comma file a lone '.' is grouping (1.234) unless it cannot be: '12.5' has no 3-digit group.
    return len(value) - value.index(".") - 1 != 3


def infer_decimal_comma(samples: list[str]) -> bool | None:
    """The file's decimal mark from its amounts: True (comma), False (point) or None (no evidence either way)."""
    for raw in samples:
        value = raw.strip().lstrip("+-").rstrip("-")
        if "," in value and "." in value:
            return value.rfind(",") > value.rfind(".")
        if re.search(r",\d{1,2}$", value):
            return True
        if re.search(r"\.\d{1,2}$", value):
            return False
    return None


@lru_cache(maxsize=1024)  # quantities repeat
def parse_int_or_none(text: str) -> int | None:
    value = text.strip()
    if not value:
        return None
    amount = parse_decimal(value)
    if amount != amount.to_integral_value():
        raise ValueError(f"not a whole number {text!r}")
    return int(amount)


# ---------------------------------------------------------------------------------------------------------------
# Tab-separated rows


def tab_rows(text: str) -> list[tuple[int, str, list[str]]]:
    """Non-blank lines as (1-based physical line, raw line, stripped cells).

    Only the line break is removed before splitting, never tabs: trailing empty cells are real columns.
    """
    # split on "\n" only: str.splitlines also breaks on form feeds and U+2028, which would shift line numbers.
    rows = (tab_row(number, line) for number, line in enumerate(text.split("\n"), start=1))
    return [row for row in rows if row is not None]


def tab_row(number: int, line: str) -> tuple[int, str, list[str]] | None:
    """One physical line (without its "\n") -> (line number, raw line, stripped cells), or None when blank."""
    line = line.rstrip("\r")
    if not line or line.isspace():  # blank (isspace: the test of strip() without building the stripped copy)
        return None
    return number, line, list(map(str.strip, line.split("\t")))
