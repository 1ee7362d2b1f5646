"""Importing rates into the ledger and finding the rate in force on a day.

The problem: a conversion must use a rate the ledger can show was there, and the same rate every time it asks.
Import is all or nothing: the whole file is parsed and checked first (rates.parse), then written in one
transaction; a rate the table already holds is a duplicate (skipped, counted), a different rate for a date and
pair the table holds is refused naming the file line, and nothing of the file is written. Corrections are a later
concern (they will need their own event and audit trail), so a stored rate is never overwritten.

Lookup (`rate_on`): the rate of that date; else the latest earlier one within limits.RATE_FALLBACK (weekends,
holidays); else the inverse pair's (1/rate, to RATE_DIGITS significant digits); else, when the ledger holds both
currencies against EUR (the ECB's rates), the cross rate EUR->to / EUR->from; else NotFound naming pair and date.
"""

from __future__ import annotations

import datetime as dt
from decimal import Context, Decimal
from pathlib import Path

from sqlalchemy import Connection, Engine, and_, insert, or_, select

from ledger_service import limits
from ledger_service.errors import Conflict, Invalid, NotFound
from ledger_service.rates.model import Rate, RateInForce
from ledger_service.rates.parse import parse_rates
from ledger_service.store.engine import write_transaction
from ledger_service.store.tables import rates as rates_table

# Derived rates (inverse, cross) keep this many significant digits: the ECB publishes 5 or 6, so 10 loses nothing
# a conversion of 10 digits of minor units could show.
RATE_DIGITS = 10
_CONTEXT = Context(prec=RATE_DIGITS)
_BATCH = 1000


def import_file(engine: Engine, path: Path, now: dt.datetime | None = None) -> dict:
    """Read, check and import one file in one transaction: {file, imported, duplicates}."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Invalid(f"{path.name}: not UTF-8 text: {exc.reason}") from None
    parsed = parse_rates(text, path.name)
    with write_transaction(engine) as conn:
        result = import_rates(conn, parsed, path.name, now)
    return {"file": path.name} | result


def import_rates(conn: Connection, rates: list[Rate], name: str, now: dt.datetime | None = None) -> dict:
    """Write the rates the table lacks; {imported, duplicates}. Conflict (and nothing written by the caller's
    transaction) when one contradicts a stored rate."""
    now = now or dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    unique: dict[tuple, Rate] = {}
    for rate in rates:
        unique.setdefault(rate.key, rate)  # the parser refused differing repeats within the file
    stored = _stored(conn, list(unique))
    new, duplicates = [], len(rates) - len(unique)
    for key, rate in unique.items():
        held = stored.get(key)
        if held is None:
            new.append(rate)
        elif Decimal(held[0]) == rate.rate:
            duplicates += 1
        else:
            raise Conflict(f"{name}:{rate.line}: {rate.from_currency}->{rate.to_currency} on {rate.date} is "
                           f"{rate.rate} here but the ledger holds {held[0]} (from {held[1]}); a stored rate is "
                           "never overwritten (corrections are not supported yet), so nothing of this file was "
                           "imported")
    rows = [{"date": r.date, "from_currency": r.from_currency, "to_currency": r.to_currency,
             "rate": format(r.rate, "f"), "source": r.source, "imported_at": now} for r in new]
    for i in range(0, len(rows), _BATCH):
        conn.execute(insert(rates_table), rows[i:i + _BATCH])
    return {"imported": len(rows), "duplicates": duplicates}


def _stored(conn: Connection, keys: list[tuple]) -> dict[tuple, tuple[str, str]]:
    """The stored (rate, source) of these (date, from, to) keys."""
    out: dict[tuple, tuple[str, str]] = {}
    if not keys:
        return out
    t = rates_table.c
    days = [k[0] for k in keys]
    query = select(t.date, t.from_currency, t.to_currency, t.rate, t.source).where(t.date.between(min(days),
                                                                                              max(days)))
    wanted = set(keys)
    for row in conn.execute(query):
        key = (row.date, row.from_currency, row.to_currency)
        if key in wanted:
            out[key] = (row.rate, row.source)
    return out


def list_rates(conn: Connection, from_currency: str | None = None, to_currency: str | None = None,
               date_from: dt.date | None = None, date_to: dt.date | None = None,
               after: tuple[dt.date, str, str] | None = None, limit: int = 100) -> list[dict]:
    """Stored rates by date, from, to: those after the cursor key `after`, at most `limit`."""
    t = rates_table.c
    conditions = []
    if from_currency:
        conditions.append(t.from_currency == from_currency)
    if to_currency:
        conditions.append(t.to_currency == to_currency)
    if date_from:
        conditions.append(t.date >= date_from)
    if date_to:
        conditions.append(t.date <= date_to)
    if after:
        day, source, target = after  # keyset: rows after (date, from, to), written out for both engines
        conditions.append(or_(t.date > day, and_(t.date == day, or_(
            t.from_currency > source, and_(t.from_currency == source, t.to_currency > target)))))
    query = (select(t.date, t.from_currency, t.to_currency, t.rate, t.source, t.imported_at)
             .where(*conditions).order_by(t.date, t.from_currency, t.to_currency).limit(limit))
    return [{"date": r.date.isoformat(), "from": r.from_currency, "to": r.to_currency, "rate": r.rate,
             "source": r.source, "imported_at": r.imported_at.isoformat()} for r in conn.execute(query)]


def rate_on(conn: Connection, from_currency: str, to_currency: str, day: dt.date) -> RateInForce:
    """The rate in force on `day` for 1 `from_currency` in `to_currency`, and how it was found; NotFound."""
    pair = f"{from_currency}->{to_currency}"
    if from_currency == to_currency:
        return RateInForce(from_currency, to_currency, day, Decimal(1), "identity", (), (), "the same currency")
    found = _direct_or_inverse(conn, from_currency, to_currency, day)
    if found is not None:
        return found
    if "EUR" not in (from_currency, to_currency):
        legs = (_direct_or_inverse(conn, "EUR", from_currency, day), _direct_or_inverse(conn, "EUR", to_currency, day))
        if all(legs):
            base, quote = legs
            rate = _CONTEXT.divide(quote.rate, base.rate)
            return RateInForce(from_currency, to_currency, day, rate, "cross", base.rate_dates + quote.rate_dates,
                               base.sources + quote.sources,
                               f"cross rate through EUR: EUR->{to_currency} {quote.rate} / EUR->{from_currency} "
                               f"{base.rate}, to {RATE_DIGITS} significant digits ({base.explanation}; "
                               f"{quote.explanation})")
    days = limits.RATE_FALLBACK.days
    raise NotFound(f"no {pair} rate on {day} (nor within {days} days before it, for the inverse pair, or as a "
                   f"cross rate through EUR); import one with `ledger-service rates import FILE`")


def _direct_or_inverse(conn: Connection, from_currency: str, to_currency: str, day: dt.date) -> RateInForce | None:
    """The later of the pair's and the inverse pair's latest rate within the fallback window (the pair's on a tie)."""
    direct = _latest(conn, from_currency, to_currency, day)
    inverse = _latest(conn, to_currency, from_currency, day)
    if direct is None and inverse is None:
        return None
    if direct is not None and (inverse is None or direct.date >= inverse.date):
        rate, method, how = Decimal(direct.rate), "direct", f"{from_currency}->{to_currency} {direct.rate}"
        row = direct
    else:
        row = inverse
        rate = _CONTEXT.divide(Decimal(1), Decimal(inverse.rate))
        method, how = "inverse", (f"inverse of {to_currency}->{from_currency} {inverse.rate}, to {RATE_DIGITS} "
                                  "significant digits")
    when = f"of {day}" if row.date == day else (f"of {row.date}, the latest within {limits.RATE_FALLBACK.days} days "
                                                  f"before {day}")
    return RateInForce(from_currency, to_currency, day, rate, method, (row.date,), (row.source,),
                       f"{how}, {when} (source {row.source})")


def _latest(conn: Connection, from_currency: str, to_currency: str, day: dt.date):
    t = rates_table.c
    return conn.execute(select(t.date, t.rate, t.source).where(
        t.from_currency == from_currency, t.to_currency == to_currency, t.date <= day,
        t.date >= day - limits.RATE_FALLBACK).order_by(t.date.desc()).limit(1)).first()
