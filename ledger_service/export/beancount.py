"""Render a subsidiary's journal as a beancount file: entries in, text out (no database here).

What the file holds, in this order, each part sorted so that the same ledger always gives byte-identical text:

- `option "operating_currency"` (the functional currency) and `option "booking_method" "NONE"`: our entries
  carry their own cost per unit and the ledger does its own lot relief, so beancount is asked to keep the units
  at the cost each posting states rather than match lots (STRICT matching would refuse a sale that takes units
  at a cost no single lot has, or a balance that dips below zero in one state while the units are in transit);
  with foreign-currency entries, `option "inferred_tolerance_default"` at half the functional minor unit (_tolerance);
- a `commodity` directive for every currency and SKU, dated at its first use. A SKU's beancount name is made
  valid (upper case, A-Z 0-9 and `' . _ -`, starting with a letter, ending with a letter or digit, at most 24
  characters) by `commodity_names`, a deterministic mapping; the original SKU is the directive's `sku` metadata;
- an `open` directive for every account used, dated at its first use;
- one transaction per entry in date order then id, `*` for posted and `!` for pending, the description as the
  narration, `entry_id` and `event_id` (and `reverses_entry_id`, `reason`, `rate` where they apply) as metadata;
  postings in the entry currency, units as `N SKU {cost CUR}` (or `{{total CUR}}` when units x cost is not
  exactly the posting's amount, so that beancount weighs the posting at exactly our amount), dimensions as
  posting metadata;
- `balance` assertions, dated the day after each month end (beancount checks a balance at the start of its day)
  for every account and commodity used so far, equal to our balance as of the month end. beancount counts `!`
  transactions like `*` ones, so the assertions are posted + pending: what beancount computes.

An entry in a foreign currency (its currency is not the functional one) writes each money posting in its own
currency with a total price in the functional currency, `100.00 EUR @@ 86.12 GBP`, so that beancount weighs it at
exactly our functional amount and the transaction balances in the functional currency as ours does; units are at
a total cost in the functional currency, `{{86.12 GBP}}`. A posting of amount 0 that moves only a functional amount
(realized FX at a disbursement, a revaluation) is written in the functional currency, as is, in the rare case where
a posting's functional amount has the other sign than its amount (beancount refuses negative prices), the functional
part of it beside a zero-priced foreign line. These functional-only amounts land in the account's
functional-currency balance in beancount, so its assertion there adds them (`_with_functional_only`): every other
assertion is our balance per commodity unchanged.

`render(journal, booking="fifo")` (`export beancount --booking fifo`) writes the same journal for beancount to book
the lots itself, as an oracle of a FIFO subsidiary's lot relief (tests/inventory/test_oracle_export.py; the
service refuses it for another valuation method). Only the units postings change, and the booking option:
- `option "booking_method" "FIFO"`: beancount's FIFO takes the matching lots sorted by their cost date (a stable
  sort: lots of one date stay in the order they entered the account; ours are in lot id order then);
- every units REDUCTION is `-N SKU {}`, its cost left for beancount to book; the reductions of one account and SKU
  in an entry are one posting (beancount splits it over the lots), keeping the dimensions they share;
- every AUGMENTATION keeps its cost and gives its lot's date and id: `N SKU {cost CUR, YYYY-MM-DD, "PO-7:1"}`,
  the date being the lot's receipt date (the date of the first posting that put units into that lot), so a lot
  moved between states or returned by a customer keeps its FIFO place; a units posting naming no lot takes the
  transaction's date, as beancount does. The total form `{{total CUR, date, "lot"}}` as above when units x cost
  is not exactly the amount.
A reduction beancount books at other lots than ours weighs another amount than the entry's money postings, so the
transaction does not balance: loading the file is then an error, not a silent difference (lots of equal cost would
hide it in the transaction, never in the lots left, which the oracle compares). Exact to the cent when every lot's
units x unit cost is exact in the currency; a landed cost of more decimals shares its lot's value out by cent
(valuation.py), which beancount's per-unit cost cannot do.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from ledger_service.journal.model import Posting
from ledger_service.money import currency_exponent, fmt, round_money

MAX_COMMODITY = 24
_COMMODITY_OK = re.compile(r"^[A-Z][A-Z0-9'._-]{0,22}[A-Z0-9]$|^[A-Z]$")
_META_KEY_OK = re.compile(r"^[a-z][a-zA-Z0-9_-]*$")


@dataclass(frozen=True)
class ExportEntry:
    id: int
    event_id: int
    date: date
    state: str  # posted | pending
    currency: str
    rate: str
    description: str
    postings: tuple[Posting, ...]
    reverses_entry_id: int | None = None
    reason: str | None = None


@dataclass(frozen=True)
class Assertion:
    """The balance of one account in one commodity (a currency or a SKU, by its ledger name) as of `as_of`."""

    as_of: date
    account: str
    commodity: str
    amount: Decimal
    units: bool = False  # the commodity is a SKU


@dataclass(frozen=True)
class Journal:
    subsidiary: str
    functional_currency: str
    entries: tuple[ExportEntry, ...]
    assertions: tuple[Assertion, ...] = ()
    to: date | None = None


def month_ends(first: date, last: date) -> list[date]:
    """Every month end from `first`'s month to `last` (inclusive, when `last` is itself a month end)."""
    ends = []
    year, month = first.year, first.month
    while True:
        nxt = date(year + month // 12, month % 12 + 1, 1)
        end = nxt - timedelta(days=1)
        if end > last:
            return ends
        ends.append(end)
        year, month = nxt.year, nxt.month


def commodity_names(skus: set[str], currencies: set[str]) -> dict[str, str]:
    """SKU -> a valid beancount commodity name, deterministic and one-to-one.

    The name is the SKU upper-cased, every other character replaced by `-`, prefixed `SKU-` when it does not start
    with a letter, and trimmed to end with a letter or digit. When that is too long, or collides with a currency or
    with another SKU's name, the name is cut and given the first 8 hex digits of the SKU's sha256 instead, so the
    mapping depends on the SKU alone (and on which other SKUs collide with it), never on order.
    """
    def base(sku: str) -> str:
        name = re.sub(r"[^A-Z0-9'._-]", "-", sku.upper())
        if not name[:1].isalpha() or not name[:1].isascii():
            name = "SKU-" + name
        return re.sub(r"[^A-Z0-9]+$", "", name) or "SKU"

    def hashed(sku: str, name: str) -> str:
        digest = hashlib.sha256(sku.encode("utf-8")).hexdigest()[:8].upper()
        stem = re.sub(r"[^A-Z0-9]+$", "", name[:MAX_COMMODITY - 9])
        return f"{stem}-{digest}"

    bases = {sku: base(sku) for sku in skus}
    counts: dict[str, int] = {}
    for name in bases.values():
        counts[name] = counts.get(name, 0) + 1
    result = {}
    for sku, name in bases.items():
        if len(name) > MAX_COMMODITY or counts[name] > 1 or name in currencies:
            name = hashed(sku, name)
        result[sku] = name
    if len(set(result.values())) != len(result):  # a sha256 prefix collision: refuse rather than merge two SKUs
        raise ValueError("two SKUs map to the same beancount commodity name")
    for name in result.values():
        assert _COMMODITY_OK.match(name), name
    return result


def quote(text: str) -> str:
    """A beancount string: backslashes and double quotes escaped, control characters (newlines) as spaces."""
    text = re.sub(r"[\x00-\x1f\x7f]", " ", text)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def meta_key(name: str) -> str:
    """A beancount metadata key: lower case, starting with a letter, letters, digits, `_` and `-` only."""
    key = re.sub(r"[^a-z0-9_-]", "_", name.lower())
    if not key[:1].isalpha():
        key = "d_" + key
    return key


BOOKINGS = ("none", "fifo")


def render(journal: Journal, booking: str = "none") -> str:
    """The journal as beancount text; `booking="fifo"` leaves units reductions for beancount's FIFO (see above)."""
    if booking not in BOOKINGS:
        raise ValueError(f"booking must be one of {', '.join(BOOKINGS)}, not {booking!r}")
    entries = sorted(journal.entries, key=lambda e: (e.date, e.id))
    lots = _lot_dates(entries) if booking == "fifo" else None
    skus = {p.commodity for e in entries for p in e.postings if p.is_units}
    skus |= {a.commodity for a in journal.assertions if a.units}
    currencies = {e.currency for e in entries} | {a.commodity for a in journal.assertions if not a.units}
    currencies.add(journal.functional_currency)
    names = commodity_names(skus, currencies)

    first_use_account: dict[str, date] = {}
    first_use_commodity: dict[str, date] = {}
    for e in entries:
        first_use_commodity.setdefault(e.currency, e.date)
        if e.currency != journal.functional_currency:  # its prices (and FX-only postings) are in the functional one
            first_use_commodity.setdefault(journal.functional_currency, e.date)
        for p in e.postings:
            first_use_account.setdefault(p.account, e.date)
            if p.is_units:
                first_use_commodity.setdefault(names[p.commodity], e.date)
    start = entries[0].date if entries else (journal.to or date(1970, 1, 1))
    first_use_commodity.setdefault(journal.functional_currency, start)
    for c in currencies:
        first_use_commodity.setdefault(c, start)
    originals = {v: k for k, v in names.items()}

    out = [
        f"; ledger-service: the journal of subsidiary {journal.subsidiary}"
        + (f" up to {journal.to.isoformat()}" if journal.to else ""),
        "; balance assertions: posted + pending (beancount counts `!` transactions as it counts `*` ones)",
        "",
        f'option "title" {quote("ledger-service " + journal.subsidiary)}',
        f'option "operating_currency" "{journal.functional_currency}"',
        f'option "booking_method" "{booking.upper()}"',
        *(["; units reductions are `-N SKU {}` for beancount to book FIFO; augmentations state cost, lot date, lot"]
          if lots is not None else []),
        *_tolerance(journal.functional_currency, currencies),
        "",
    ]
    for name, on in sorted(first_use_commodity.items(), key=lambda kv: (kv[1], kv[0])):
        out.append(f"{on.isoformat()} commodity {name}")
        if name in originals:
            out.append(f"  sku: {quote(originals[name])}")
    out.append("")
    for account, on in sorted(first_use_account.items(), key=lambda kv: (kv[1], kv[0])):
        out.append(f"{on.isoformat()} open {account}")
    out.append("")

    # Assertions dated the day after their as-of date, placed before that day's transactions (as beancount orders).
    functional = journal.functional_currency
    checks = sorted(_with_functional_only(journal.assertions, entries, functional),
                    key=lambda a: (a.as_of, a.account, a.commodity))
    i = 0
    for e in entries:
        while i < len(checks) and checks[i].as_of < e.date:
            i = _render_checks(out, checks, i, names)
        out.extend(_transaction(e, names, functional, lots))
    while i < len(checks):
        i = _render_checks(out, checks, i, names)
    return "\n".join(out).rstrip("\n") + "\n"


def _render_checks(out: list[str], checks: list[Assertion], i: int, names: dict[str, str]) -> int:
    as_of = checks[i].as_of
    day = (as_of + timedelta(days=1)).isoformat()
    while i < len(checks) and checks[i].as_of == as_of:
        a = checks[i]
        out.append(f"{day} balance {a.account}  {fmt(a.amount)} {names.get(a.commodity, a.commodity)}")
        i += 1
    out.append("")
    return i


def _functional(p: Posting, e: ExportEntry, functional: str) -> Decimal:
    if p.functional_amount is not None:
        return p.functional_amount
    return round_money(p.amount * Decimal(e.rate), functional)  # a journal built without them (no residual known)


def _functional_only(p: Posting, e: ExportEntry, functional: str) -> Decimal:
    """What a foreign entry's posting adds to its account's functional-currency balance in beancount (see above)."""
    if e.currency == functional:
        return Decimal(0)
    f = _functional(p, e, functional)
    held = p.units if p.is_units else p.amount
    if not held or (f and (f > 0) != (held > 0)):
        return f
    return Decimal(0)


def _with_functional_only(assertions, entries: list[ExportEntry], functional: str) -> list[Assertion]:
    """The assertions, each account's functional-currency one adding the functional-only amounts posted to it up to
    its date (a missing one is added)."""
    parts = [(e.date, p.account, _functional_only(p, e, functional)) for e in entries for p in e.postings]
    parts = sorted((d, a, f) for d, a, f in parts if f)
    if not parts:
        return list(assertions)
    by_key = {(a.as_of, a.account, a.commodity): a for a in assertions}
    result = dict(by_key)
    held: dict[str, Decimal] = {}
    i = 0
    for as_of in sorted({a.as_of for a in assertions}):
        while i < len(parts) and parts[i][0] <= as_of:
            held[parts[i][1]] = held.get(parts[i][1], Decimal(0)) + parts[i][2]
            i += 1
        for account, extra in held.items():
            key = (as_of, account, functional)
            base = by_key.get(key)
            amount = (base.amount if base is not None else Decimal(0)) + extra
            result[key] = Assertion(as_of, account, functional, amount)
    return list(result.values())


def _transaction(e: ExportEntry, names: dict[str, str], functional: str,
                 lots: dict[str, date] | None = None) -> list[str]:
    flag = "*" if e.state == "posted" else "!"
    lines = [f"{e.date.isoformat()} {flag} {quote(e.description)}",
             f'  entry_id: "{e.id}"', f'  event_id: "{e.event_id}"']
    if e.reverses_entry_id is not None:
        lines.append(f'  reverses_entry_id: "{e.reverses_entry_id}"')
    if e.reason:
        lines.append(f"  reason: {quote(e.reason)}")
    if Decimal(e.rate) != 1:
        lines.append(f'  rate: "{e.rate}"')
    foreign = e.currency != functional
    for p in (e.postings if lots is None else _merge_reductions(e.postings)):
        meta = _metadata(p)
        if lots is not None and p.is_units:  # a foreign entry's units are at a total cost in the functional currency
            cost = _fifo_cost(p, lots, p.amount, e.currency) if not foreign else _fifo_cost(
                p, lots, _functional(p, e, functional) - _functional_only(p, e, functional), functional, False)
            lines.append(f"  {p.account}  {fmt(p.units)} {names[p.commodity]} {cost}")
            lines.extend(meta)
            continue
        if not foreign:
            if p.is_units:
                exact = p.units * p.cost_per_unit == p.amount
                cost = (f"{{{fmt(p.cost_per_unit)} {e.currency}}}" if exact
                        else f"{{{{{fmt(abs(p.amount))} {e.currency}}}}}")  # a total cost is never negative
                lines.append(f"  {p.account}  {fmt(p.units)} {names[p.commodity]} {cost}")
            else:
                lines.append(f"  {p.account}  {fmt(p.amount)} {e.currency}")
            lines.extend(meta)
            continue
        f = _functional(p, e, functional)
        apart = _functional_only(p, e, functional)
        weight = f"{fmt(abs(f - apart))} {functional}"
        if p.is_units:
            lines.append(f"  {p.account}  {fmt(p.units)} {names[p.commodity]} {{{{{weight}}}}}")
            lines.extend(meta)
        elif p.amount:
            lines.append(f"  {p.account}  {fmt(p.amount)} {e.currency} @@ {weight}")
            lines.extend(meta)
        if apart:
            lines.append(f"  {p.account}  {fmt(apart)} {functional}")
            lines.extend(meta)
    lines.append("")
    return lines


def _lot_dates(entries: list[ExportEntry]) -> dict[str, date]:
    """Lot id -> its receipt date: the date of the first posting that put units into it (entries in date order)."""
    dates: dict[str, date] = {}
    for e in entries:
        for p in e.postings:
            lot = p.dimension("lot") if p.is_units and p.units > 0 else None
            if lot is not None:
                dates.setdefault(lot, e.date)
    return dates


def _merge_reductions(postings: tuple[Posting, ...]) -> list[Posting]:
    """The units reductions of one account and SKU as one posting, where the first was, with the dimensions all of
    them share: beancount's FIFO splits it over the lots."""
    out: list[Posting] = []
    at: dict[tuple[str, str], int] = {}
    for p in postings:
        if not (p.is_units and p.units < 0):
            out.append(p)
            continue
        i = at.setdefault((p.account, p.commodity), len(out))
        if i == len(out):
            out.append(p)
            continue
        q = out[i]
        out[i] = q._replace(units=q.units + p.units, amount=q.amount + p.amount,
                            functional_amount=None if q.functional_amount is None or p.functional_amount is None
                            else q.functional_amount + p.functional_amount,
                            dimensions=tuple(d for d in q.dimensions if d in p.dimensions))
    return out


def _fifo_cost(p: Posting, lots: dict[str, date], total: Decimal, currency: str, per_unit: bool = True) -> str:
    """`{}` for a reduction; `{cost CUR, date, "lot"}` (or `{{total CUR, date, "lot"}}`) for an augmentation."""
    if p.units < 0:
        return "{}"
    lot = p.dimension("lot")
    where = (f", {lots[lot].isoformat()}, {quote(lot)}" if lot in lots else f", {quote(lot)}") if lot else ""
    if per_unit and p.units * p.cost_per_unit == total:
        return f"{{{fmt(p.cost_per_unit)} {currency}{where}}}"
    return f"{{{{{fmt(abs(total))} {currency}{where}}}}}"


def _metadata(p: Posting) -> list[str]:
    lines, seen = [], set()
    for key, value in sorted(p.dimensions):
        k = meta_key(key)
        if k in seen:
            continue
        seen.add(k)
        lines.append(f"    {k}: {quote(str(value))}")
    return lines


def _tolerance(functional: str, currencies) -> list[str]:
    """With foreign entries, a posting's functional weight is a price (`@@`) that beancount divides into a unit
    price and multiplies back: the residue is a few 1e-26 of the functional currency, and no posting in that
    currency gives beancount a tolerance to infer. Half the functional currency's minor unit is the tolerance
    then: our functional amounts are exact to the minor unit, so it cannot hide a missing cent."""
    if all(c == functional for c in currencies):
        return []
    half = Decimal(5).scaleb(-currency_exponent(functional) - 1)
    return [f'option "inferred_tolerance_default" "{functional}:{half}"']
