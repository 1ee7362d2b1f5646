"""Entries and postings, and the rule that every entry balances.

A posting moves either money in the entry's transaction currency, or units of a SKU carried at a cost per unit
in that currency. Its *weight* is what it is worth in the transaction currency: the amount itself for money,
units x cost for units (beancount's rule). An entry balances when its weights sum to zero in the transaction
currency, its functional-currency amounts sum to zero, and units only move at cost. So inventory moving from
Inbound to Available balances in units and in money, and a sale that takes units out of inventory balances
against COGS by weight: the same check `bean-check` makes on an export.

The functional amount of a posting is its weight x the entry's exchange rate, rounded once (money.round_money).
When rounding leaves the functional amounts a few minor units off zero, the residual goes to the posting with
the largest functional amount: a booking rule, stated here, instead of a plug account.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from ledger_service import limits
from ledger_service.errors import Invalid, UnbalancedEntry
from ledger_service.money import fmt, is_currency, round_money

STATES = ("posted", "pending")
DIMENSIONS = ("marketplace", "settlement_id", "order_id", "sku", "location")


class Posting(NamedTuple):
    """One line of an entry. A NamedTuple, as beancount's Posting is: immutable, and built several times per
    ingested row, where a frozen dataclass's __init__ costs three times as much."""

    account: str
    amount: Decimal  # weight in the entry's transaction currency (for units: units x cost, rounded)
    units: Decimal | None = None  # quantity of a SKU; None for a money posting
    commodity: str | None = None  # the SKU for units; None means the entry currency
    cost_per_unit: Decimal | None = None
    functional_amount: Decimal | None = None  # filled by balance()
    dimensions: tuple[tuple[str, str], ...] = ()
    source_line: int | None = None  # the line of the source file this amount was read from (audit trail)

    @property
    def is_units(self) -> bool:
        return self.units is not None

    def dimension(self, name: str) -> str | None:
        return dict(self.dimensions).get(name)


@dataclass(frozen=True)
class EntryDraft:
    subsidiary: str
    date: date
    currency: str
    description: str
    postings: tuple[Posting, ...]
    rate: Decimal = Decimal(1)  # transaction currency -> functional currency
    state: str = "posted"
    reverses_entry_id: int | None = None
    reason: str | None = None
    original_date: date | None = None  # a late entry's own date, when its period was closed (periods.model)


def money_posting(account: str, amount: Decimal, source_line: int | None = None, **dimensions: str | None) -> Posting:
    return Posting(account=account, amount=amount, dimensions=dims(**dimensions), source_line=source_line)


def units_posting(
    account: str, sku: str, units: Decimal, cost_per_unit: Decimal, currency: str, **dimensions: str | None
) -> Posting:
    return Posting(
        account=account,
        amount=round_money(units * cost_per_unit, currency),
        units=units,
        commodity=sku,
        cost_per_unit=cost_per_unit,
        dimensions=dims(**dimensions),
    )


def dims(**values: str | None) -> tuple[tuple[str, str], ...]:
    """Dimensions as a sorted tuple, dropping empty values, so that equal dimensions compare equal."""
    return tuple(sorted((k, str(v)) for k, v in values.items() if v not in (None, "")))


def balance(entry: EntryDraft, functional_currency: str) -> EntryDraft:
    """Validate an entry and fill functional amounts; raise UnbalancedEntry naming the imbalance."""
    if entry.state not in STATES:
        raise Invalid(f"entry state must be one of {', '.join(STATES)}, not {entry.state!r}")
    if not is_currency(entry.currency):
        raise Invalid(f"entry currency {entry.currency!r} is not an ISO 4217 code")
    if len(entry.postings) < 2:
        raise Invalid("an entry needs at least two postings")
    if entry.rate <= 0:
        raise Invalid(f"exchange rate must be positive, not {entry.rate}")
    if entry.currency == functional_currency and entry.rate != 1:
        raise Invalid(f"an entry in the functional currency {functional_currency} must have rate 1")
    if entry.currency != functional_currency and entry.rate == 1:  # no two currencies trade at exactly 1
        raise Invalid(f"an entry in {entry.currency} for a subsidiary whose functional currency is "
                      f"{functional_currency} needs its exchange rate ({entry.currency} -> {functional_currency}); "
                      "none was given, and it is never posted at 1")
    if not limits.EARLIEST <= entry.date <= limits.LATEST:
        raise Invalid(f"entry date {entry.date.isoformat()} is outside {limits.EARLIEST}..{limits.LATEST}")
    for p in entry.postings:
        _check_posting(p, entry.currency)

    total = sum((p.amount for p in entry.postings), Decimal(0))
    if total != 0:
        debits = sum((p.amount for p in entry.postings if p.amount > 0), Decimal(0))
        credits = sum((p.amount for p in entry.postings if p.amount < 0), Decimal(0))
        raise UnbalancedEntry(
            f"entry does not balance: {entry.currency} postings sum to {fmt(total)} "
            f"(debits {fmt(debits)}, credits {fmt(credits)}); every entry must sum to zero per commodity"
        )
    if all(p.functional_amount is not None for p in entry.postings):
        return _check_functional(entry, functional_currency)
    return EntryDraft(entry.subsidiary, entry.date, entry.currency, entry.description,  # replace() is slower
                      _functional(entry, functional_currency), entry.rate, entry.state, entry.reverses_entry_id,
                      entry.reason, entry.original_date)


def _check_functional(entry: EntryDraft, functional_currency: str) -> EntryDraft:
    """Functional amounts given by the caller (a reversal copies them): they must be exact and sum to zero."""
    for p in entry.postings:
        if round_money(p.functional_amount, functional_currency) != p.functional_amount:
            raise Invalid(f"posting to {p.account}: functional amount has more decimals than {functional_currency}")
    total = sum((p.functional_amount for p in entry.postings), Decimal(0))
    if total != 0:
        raise UnbalancedEntry(f"entry does not balance in {functional_currency}: functional amounts sum to {fmt(total)}")
    return entry


def _check_posting(p: Posting, currency: str) -> None:
    _check_finite(p, "amount", p.amount)
    if not -limits.MAX_AMOUNT <= p.amount <= limits.MAX_AMOUNT:
        raise Invalid(f"posting to {p.account}: amount {fmt(p.amount)} is outside the allowed range (at most "
                      f"{limits.MAX_AMOUNT} either way)")
    if round_money(p.amount, currency) != p.amount:
        raise Invalid(f"posting to {p.account}: amount {fmt(p.amount)} has more decimals than {currency} allows")
    if p.is_units:
        _check_finite(p, "units", p.units)
        if p.cost_per_unit is not None:
            _check_finite(p, "cost per unit", p.cost_per_unit)
        if not p.commodity:
            raise Invalid(f"posting to {p.account}: units need a sku")
        if is_currency(p.commodity):
            raise Invalid(f"posting to {p.account}: sku {p.commodity!r} collides with a currency code")
        if p.units != p.units.to_integral_value():
            raise Invalid(f"posting to {p.account}: units of {p.commodity} must be whole, not {fmt(p.units)}")
        if p.cost_per_unit is None or p.cost_per_unit < 0:
            raise Invalid(f"posting to {p.account}: units of {p.commodity} need a cost per unit >= 0")
        if abs(p.units) > limits.MAX_UNITS or p.cost_per_unit > limits.MAX_UNIT_COST:
            raise Invalid(f"posting to {p.account}: {fmt(p.units)} {p.commodity} at {fmt(p.cost_per_unit)} is "
                          f"outside the allowed range ({limits.MAX_UNITS} units, {limits.MAX_UNIT_COST} a unit)")
        if round_money(p.units * p.cost_per_unit, currency) != p.amount:
            raise Invalid(
                f"posting to {p.account}: {fmt(p.units)} {p.commodity} at {fmt(p.cost_per_unit)} is worth "
                f"{fmt(round_money(p.units * p.cost_per_unit, currency))} {currency}, not {fmt(p.amount)}"
            )
    elif p.cost_per_unit is not None:
        raise Invalid(f"posting to {p.account}: a cost per unit needs units")
    for key, _ in p.dimensions:
        if key not in _CHECKED_NAMES:
            if not key.replace("_", "").isalnum():
                raise Invalid(f"posting to {p.account}: dimension name {key!r} must be letters, digits or _")
            _CHECKED_NAMES.add(key)


def _check_finite(p: Posting, name: str, value: Decimal) -> None:
    if not value.is_finite():  # NaN or infinity: no amount of money, and Decimal arithmetic on them raises
        raise Invalid(f"posting to {p.account}: {name} {value} is not a finite number")


_CHECKED_NAMES: set[str] = set()  # dimension names already found valid: the same few names on every posting


def _functional(entry: EntryDraft, functional_currency: str) -> tuple[Posting, ...]:
    if entry.currency == functional_currency:
        # Rate 1, amounts already checked to the minor unit and summing to zero: nothing to round, no residual.
        amounts = [p.amount for p in entry.postings]
    else:
        amounts = [round_money(p.amount * entry.rate, functional_currency) for p in entry.postings]
        residual = sum(amounts, Decimal(0))
        if residual != 0:
            largest = max(range(len(amounts)), key=lambda i: (abs(amounts[i]), -i))
            amounts[largest] -= residual
    # Direct construction: dataclasses.replace is the slowest part of balancing a large batch.
    return tuple(Posting(p.account, p.amount, p.units, p.commodity, p.cost_per_unit, a, p.dimensions, p.source_line)
                 for p, a in zip(entry.postings, amounts))


def reversal_of(entry: EntryDraft, on: date, reason: str, entry_id: int) -> EntryDraft:
    """The entry that undoes `entry`: every posting negated exactly, functional amounts included."""
    postings = tuple(
        p._replace(
            amount=-p.amount,
            units=None if p.units is None else -p.units,
            functional_amount=None if p.functional_amount is None else -p.functional_amount,
        )
        for p in entry.postings
    )
    return EntryDraft(
        subsidiary=entry.subsidiary,
        date=on,
        currency=entry.currency,
        description=f"Reversal of entry {entry_id}: {entry.description}",
        postings=postings,
        rate=entry.rate,
        state=entry.state,
        reverses_entry_id=entry_id,
        reason=reason,
    )


def draft_as_dict(entry: EntryDraft) -> dict:
    """An entry draft as plain JSON values (decimal strings), to be kept in an event's payload and posted later
    exactly as it was drafted (a late entry refused while its period was closed)."""
    return {"date": entry.date.isoformat(), "currency": entry.currency, "rate": format(entry.rate, "f"),
            "description": entry.description, "state": entry.state,
            "postings": [{"account": p.account, "amount": format(p.amount, "f"),
                          "units": None if p.units is None else format(p.units, "f"), "commodity": p.commodity,
                          "cost_per_unit": None if p.cost_per_unit is None else format(p.cost_per_unit, "f"),
                          "functional_amount": None if p.functional_amount is None
                          else format(p.functional_amount, "f"),
                          "dimensions": [list(d) for d in p.dimensions], "source_line": p.source_line}
                         for p in entry.postings]}


def draft_from_dict(subsidiary: str, data: dict) -> EntryDraft:
    """The inverse of draft_as_dict."""
    def dec(value):
        return None if value is None else Decimal(value)

    return EntryDraft(subsidiary=subsidiary, date=date.fromisoformat(data["date"]), currency=data["currency"],
                      description=data["description"], rate=Decimal(data["rate"]), state=data["state"],
                      postings=tuple(Posting(p["account"], Decimal(p["amount"]), dec(p["units"]), p["commodity"],
                                             dec(p["cost_per_unit"]), dec(p["functional_amount"]),
                                             tuple(tuple(d) for d in p["dimensions"]), p["source_line"])
                                     for p in data["postings"]))


@dataclass(frozen=True)
class EntryRecord:
    """An entry as the journal holds it, with its id and links."""

    id: int
    event_id: int
    entry: EntryDraft
    reversed_by: int | None = None
    postings_ids: tuple[int, ...] = field(default=())
