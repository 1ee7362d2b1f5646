"""Subsidiaries and accounts as small immutable values.

An account name is a colon-separated path whose root gives its type, as in beancount
(`Assets:Amazon:Clearing` is an asset). Parents are implied by the path: a balance query for `Assets:Amazon`
covers every account below it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ledger_service.errors import Invalid

ROOT_TYPES = {
    "Assets": "asset",
    "Liabilities": "liability",
    "Equity": "equity",
    "Income": "income",
    "Expenses": "expense",
}
VALUATION_METHODS = ("fifo", "average")
_COMPONENT = re.compile(r"^[A-Z0-9][A-Za-z0-9\-]*$")
_SUBSIDIARY_CODE = re.compile(r"^[A-Z][A-Z0-9_]{0,31}$")


@dataclass(frozen=True)
class Subsidiary:
    code: str
    name: str
    functional_currency: str
    valuation_method: str = "fifo"


@dataclass(frozen=True)
class Account:
    name: str
    type: str
    description: str = ""
    netsuite_id: str | None = None


def account_type(name: str) -> str:
    """The type of an account from its root, refusing names beancount would not accept."""
    parts = name.split(":")
    if parts[0] not in ROOT_TYPES or len(parts) < 2:
        raise Invalid(
            f"account {name!r} must start with one of {', '.join(ROOT_TYPES)} and have at least two components"
        )
    for part in parts[1:]:
        if not _COMPONENT.match(part):
            raise Invalid(f"account {name!r}: component {part!r} must start with a capital letter or digit")
    return ROOT_TYPES[parts[0]]


def validate_subsidiary(sub: Subsidiary) -> Subsidiary:
    from ledger_service.money import is_currency

    if not _SUBSIDIARY_CODE.match(sub.code):
        raise Invalid(f"subsidiary code {sub.code!r} must be upper-case letters, digits or _ (at most 32)")
    if not is_currency(sub.functional_currency):
        raise Invalid(f"functional currency {sub.functional_currency!r} is not an ISO 4217 code")
    if sub.valuation_method not in VALUATION_METHODS:
        raise Invalid(f"valuation method must be one of {', '.join(VALUATION_METHODS)}, not {sub.valuation_method!r}")
    return sub
