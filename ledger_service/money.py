"""Money, units and the one place where amounts are rounded.

Amounts are `Decimal`, never float. A commodity is either an ISO 4217 currency (known to py-moneyed, whose
`sub_unit` gives the minor unit: 100 for USD, 1 for JPY, 1000 for KWD) or the units of a SKU (whole units).
The store keeps every amount as an integer count of its commodity's minor unit, so that sums in SQL are exact on
SQLite and PostgreSQL alike; `to_minor` / `from_minor` convert at that boundary, and `round_money` is the only
function that rounds money to a currency's minor unit.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache

import moneyed

from ledger_service.errors import Invalid

UNIT_EXPONENT = 0  # SKU units are counted whole


@lru_cache(maxsize=4096)
def is_currency(code: str) -> bool:
    if not code or len(code) != 3 or not code.isalpha() or not code.isupper():
        return False
    try:
        currency = moneyed.get_currency(code)
    except Exception:
        return False
    return currency.sub_unit is not None and currency.code != "XXX"


@lru_cache(maxsize=1024)
def currency_exponent(code: str) -> int:
    """Decimal places of a currency's minor unit (USD 2, JPY 0, KWD 3)."""
    if not is_currency(code):
        raise Invalid(f"{code!r} is not an ISO 4217 currency code")
    sub_unit = moneyed.get_currency(code).sub_unit or 1
    return len(str(sub_unit)) - 1


def exponent(commodity: str, is_units: bool = False) -> int:
    return UNIT_EXPONENT if is_units else currency_exponent(commodity)


def parse_decimal(text: object, what: str = "amount") -> Decimal:
    """A decimal from a string (or int/Decimal); floats are refused because they are already inexact."""
    if isinstance(text, float) or isinstance(text, bool):
        raise Invalid(f"{what} must be a decimal string such as \"125.40\", not the float {text!r}")
    try:
        value = Decimal(str(text).strip())
    except (InvalidOperation, ValueError):
        raise Invalid(f"{what} {text!r} is not a decimal number") from None
    if not value.is_finite():
        raise Invalid(f"{what} {text!r} is not a finite number")
    return value


def round_money(amount: Decimal, currency: str) -> Decimal:
    """Round to the currency's minor unit, half up (commercial rounding). The one rounding rule of the ledger."""
    return amount.quantize(_quantum(currency), rounding=ROUND_HALF_UP)


def round_places(amount: Decimal, places: int) -> Decimal:
    """The same rule to a number of places that is not a currency's: NetSuite's two decimals on a line whatever
    the currency, a unit cost carried to six."""
    return amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


@lru_cache(maxsize=1024)
def _quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-currency_exponent(currency))


def to_minor(amount: Decimal, exp: int, what: str = "amount") -> int:
    """An exact amount as an integer of minor units; refuses digits the commodity cannot hold."""
    scaled = amount.scaleb(exp)
    if scaled != scaled.to_integral_value():
        raise Invalid(f"{what} {amount} has more than {exp} decimal place(s)")
    return int(scaled)


def from_minor(minor: int, exp: int) -> Decimal:
    return Decimal(int(minor)).scaleb(-exp).quantize(Decimal(1).scaleb(-exp))


def fmt(amount: Decimal) -> str:
    """Decimal string as the API and exports print it: plain notation, no exponent."""
    return format(amount, "f")


def money(amount: Decimal, currency: str) -> moneyed.Money:
    return moneyed.Money(amount, currency)
