"""Reading rate files: a plain CSV (`date,from,to,rate`) and the ECB's euro reference rates as published.

The problem: rates arrive as files, and one bad cell must not leave half a file in the ledger nor a wrong rate
unnoticed. Pure: text in, `Rate`s out, or `Invalid` naming file:line and what is wrong. Checked at the edge: dates
within limits.EARLIEST..LATEST, currencies ISO 4217 (money.is_currency), rates positive decimals within
limits.MIN_RATE..MAX_RATE, one value per date and pair within the file.

The ECB files (https://www.ecb.europa.eu/stats/eurofxref/): the historic eurofxref-hist.csv has the header
`Date,USD,JPY,...` and one row per date (`2026-10-30,1.0850,...`), "N/A" where a currency had no rate, and a
trailing comma on every line; the daily eurofxref.csv has `Date, USD, JPY, ...,` and one row dated
`30 October 2026`. Each cell is units of the currency per 1 EUR, so it is read as EUR -> XXX.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal, InvalidOperation

from ledger_service import limits
from ledger_service.errors import Invalid
from ledger_service.money import is_currency
from ledger_service.rates.model import Rate

PLAIN_HEADER = ["date", "from", "to", "rate"]
ECB_SOURCE = "ecb"


def parse_rates(text: str, name: str) -> list[Rate]:
    """The rates of a file named `name` (used in errors and as the source of a plain CSV), in file order."""
    rows = [(n, [cell.strip() for cell in row]) for n, row in enumerate(csv.reader(io.StringIO(text)), start=1)]
    rows = [(n, row) for n, row in rows if any(row)]
    if not rows:
        raise Invalid(f"{name}: no rates: the file is empty")
    line, header = rows[0]
    if [h.lower() for h in header] == PLAIN_HEADER:
        rates = [_plain_row(name, n, row) for n, row in rows[1:]]
    elif header[0] == "Date":
        rates = _ecb(name, line, header, rows[1:])
    else:
        raise Invalid(f"{name}:{line}: unknown header {','.join(header)[:100]!r}: expected `date,from,to,rate` or "
                      "the ECB's `Date,USD,JPY,...`")
    _check_one_value_per_key(name, rates)
    return rates


def _plain_row(name: str, line: int, row: list[str]) -> Rate:
    if len(row) != 4:
        raise Invalid(f"{name}:{line}: expected 4 cells (date,from,to,rate), found {len(row)}")
    day, source, target, value = row
    try:
        rate = Rate(_date(day), _currency(source), _currency(target), _rate(value), name, line)
        if rate.from_currency == rate.to_currency:
            raise ValueError(f"from and to are both {rate.from_currency}")
    except ValueError as exc:
        raise Invalid(f"{name}:{line}: {exc}") from None
    return rate


def _ecb(name: str, header_line: int, header: list[str], rows: list[tuple[int, list[str]]]) -> list[Rate]:
    currencies = header[1:]
    while currencies and not currencies[-1]:  # the trailing comma
        currencies.pop()
    for currency in currencies:
        try:
            _currency(currency)
        except ValueError as exc:
            raise Invalid(f"{name}:{header_line}: {exc}") from None
        if currency == "EUR":
            raise Invalid(f"{name}:{header_line}: EUR as a column: ECB rates are per 1 EUR")
    rates = []
    for line, row in rows:
        cells = row[1:]
        while len(cells) > len(currencies) and not cells[-1]:
            cells.pop()
        if len(cells) != len(currencies):
            raise Invalid(f"{name}:{line}: {len(cells)} rates for {len(currencies)} currencies in the header")
        try:
            day = _ecb_date(row[0])
            for currency, value in zip(currencies, cells):
                if value in ("N/A", ""):
                    continue
                try:
                    rates.append(Rate(day, "EUR", currency, _rate(value), ECB_SOURCE, line))
                except ValueError as exc:
                    raise ValueError(f"{currency}: {exc}") from None
        except ValueError as exc:
            raise Invalid(f"{name}:{line}: {exc}") from None
    return rates


def _check_one_value_per_key(name: str, rates: list[Rate]) -> None:
    seen: dict[tuple, Rate] = {}
    for rate in rates:
        first = seen.setdefault(rate.key, rate)
        if first.rate != rate.rate:
            raise Invalid(f"{name}:{rate.line}: {rate.from_currency}->{rate.to_currency} on {rate.date} is "
                          f"{rate.rate} here but {first.rate} on line {first.line}")


def _date(text: str) -> dt.date:
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text[:40]!r} is not a date (YYYY-MM-DD)") from None
    limits.check_date(day)
    return day


def _ecb_date(text: str) -> dt.date:
    """2026-10-30 (historic file) or 30 October 2026 (daily file)."""
    try:
        day = dt.datetime.strptime(text, "%d %B %Y").date()
    except ValueError:
        return _date(text)
    limits.check_date(day)
    return day


def _currency(text: str) -> str:
    if not is_currency(text):
        raise ValueError(f"{text[:40]!r} is not an ISO 4217 currency code")
    return text


def _rate(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"rate {text[:40]!r} is not a decimal number") from None
    if not value.is_finite() or not limits.MIN_RATE <= value <= limits.MAX_RATE:
        raise ValueError(f"rate {text[:40]} is outside {limits.MIN_RATE}..{limits.MAX_RATE}")
    return value
