"""Revaluation at period end: open foreign-currency balances restated at the period-end rate.

The problem: a balance in a foreign currency (EUR sitting in Amazon clearing, a USD supplier invoice not yet paid)
is carried in the functional currency at the rates of the days it was posted. At period end the books must show
it at the period-end rate, and the difference is an unrealized gain or loss; next period it is reversed, so that
when the balance is settled the realized FX is measured against what it was really carried at, and nothing is
counted twice.

Monetary accounts only: asset and liability accounts holding a currency (never SKU units, whose cost stays
historical), and never Assets:Amazon:Conversion (a trading account: the foreign amount it took in is matched by
the functional amount it paid out, so it is closed however the rate moves). The caller (fx.service) picks them.

Per currency, one entry in that currency at the period-end rate, each posting amount 0 with functional amount
round(foreign x rate) - carried, balanced by Income:FX:Unrealized (a credit is a gain). An account whose foreign
balance is zero but which still carries a functional amount (what different rates left behind) is restated to zero.

Pure: no I/O.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Iterable, Mapping

from ledger_service.errors import Invalid
from ledger_service.journal.model import EntryDraft, Posting
from ledger_service.money import fmt, round_money

UNREALIZED = "Income:FX:Unrealized"
CONVERSION = "Assets:Amazon:Conversion"  # posting.amazon.CONVERSION: a trading account, never revalued
MONETARY_TYPES = ("asset", "liability")


@dataclass(frozen=True)
class OpenBalance:
    """One account's posted balance in one foreign currency as of the period end."""

    account: str
    currency: str
    foreign: Decimal  # in the currency
    carried: Decimal  # the functional amount it is carried at


@dataclass(frozen=True)
class Line:
    account: str
    currency: str
    foreign_balance: Decimal
    rate: Decimal
    carried: Decimal
    revalued: Decimal  # round(foreign x rate)
    adjustment: Decimal  # revalued - carried: the revaluation posting's functional amount

    def as_dict(self) -> dict:
        return {"account": self.account, "currency": self.currency, "foreign_balance": fmt(self.foreign_balance),
                "rate": fmt(self.rate.normalize()), "carried": fmt(self.carried), "revalued": fmt(self.revalued),
                "adjustment": fmt(self.adjustment)}


def is_monetary(account: str, account_type: str, commodity_is_currency: bool) -> bool:
    """Whether a balance is revalued: a currency held in an asset or liability account other than Conversion."""
    return commodity_is_currency and account_type in MONETARY_TYPES and account != CONVERSION


def revaluation_lines(balances: Iterable[OpenBalance], rates: Mapping[str, Decimal],
                      functional_currency: str) -> list[Line]:
    """The balances that the period-end rates move, by currency then account; those already right are left out."""
    lines = []
    for b in sorted(balances, key=lambda b: (b.currency, b.account)):
        if b.currency == functional_currency:
            continue
        rate = rates.get(b.currency)
        if rate is None:
            raise Invalid(f"no {b.currency}->{functional_currency} rate to revalue {b.account}")
        revalued = round_money(b.foreign * rate, functional_currency)
        adjustment = revalued - b.carried
        if adjustment:
            lines.append(Line(b.account, b.currency, b.foreign, rate, b.carried, revalued, adjustment))
    return lines


def revaluation_entries(subsidiary: str, on: date, functional_currency: str, lines: list[Line]) -> list[EntryDraft]:
    """One entry per currency, dated `on`, at that currency's rate: every posting amount 0 with its adjustment as
    functional amount, and Income:FX:Unrealized taking the opposite of their sum."""
    by_currency: dict[str, list[Line]] = defaultdict(list)
    for line in lines:
        by_currency[line.currency].append(line)
    result = []
    for currency in sorted(by_currency):
        group = by_currency[currency]
        rate = group[0].rate
        postings = [Posting(line.account, Decimal(0), functional_amount=line.adjustment) for line in group]
        net = sum((line.adjustment for line in group), Decimal(0))
        if net:
            postings.append(Posting(UNREALIZED, Decimal(0), functional_amount=-net))
        result.append(EntryDraft(
            subsidiary=subsidiary, date=on, currency=currency, rate=rate, postings=tuple(postings),
            description=f"Revaluation of {currency} balances at {on.isoformat()} ({currency}->{functional_currency} "
                        f"{fmt(rate.normalize())})"))
    return result
