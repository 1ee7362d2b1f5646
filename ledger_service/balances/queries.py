"""Balance and trial-balance queries, answered from the aggregates, never from the postings.

`balances` holds one row per (subsidiary, account, commodity, weight currency, state, day) with the day's net
movement; `month_balances` holds, per key and month, the cumulative balance at the month's end, dense from the
key's first month to the subsidiary's last (store.tables). A balance as of a date is a month-end row per key and
the daily rows between it and the date: the end of the month before plus the days since, or, in the second half
of a month, the end of that month less the days after the date (so at most 16 days of daily rows). A subsidiary
whose last month is earlier than that month-end is read at its last one. Without a date, the balance is the last
month-end. The cost grows with the keys (accounts, commodities), not with the days of history. A row of units
carries the units in `quantity` and their cost in `amount` (the weight, in the weight currency); a money row has
both equal. Posted and pending (provisional, from open settlement groups) are reported apart.

`balance_rows_from_days` and `trial_balance_from_days` give the same answers by summing every daily row up to the
date (the query used before month-end balances): an independent method for the tests and the benchmark.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import BigInteger, Connection, Date, Select, bindparam, case, cast, func, or_, select, union_all

from ledger_service.chart.model import Subsidiary
from ledger_service.chart.service import get_subsidiary
from ledger_service.money import currency_exponent, fmt
from ledger_service.store.tables import accounts, balances, commodities, month_balances


def balance_rows(
    conn: Connection,
    subsidiary: str,
    as_of: date | None = None,
    account: str | None = None,
    commodity: str | None = None,
) -> list[dict]:
    """Balances per account and commodity as of a date (inclusive), posted and pending apart."""
    sub = get_subsidiary(conn, subsidiary)
    return _balance_rows(conn, sub, *_month_end_query(subsidiary, as_of, commodity), account)


def balance_rows_from_days(conn: Connection, subsidiary: str, as_of: date | None = None, account: str | None = None,
                           commodity: str | None = None) -> list[dict]:
    """balance_rows by summing every daily row up to the date (cost grows with the days of history)."""
    sub = get_subsidiary(conn, subsidiary)
    return _balance_rows(conn, sub, _daily_query(subsidiary, as_of, commodity), {}, account)


def _month_end_statement(by_commodity: bool) -> Select:
    """Sums per account, commodity, weight currency and state of a month-end row per key and of the daily rows
    day > :lo and day <= :hi, times :sign. The month-end is :end's, or the subsidiary's last when that is earlier
    (it then has no row for :end, and no daily rows after its last month). Built once: the parameters say which
    month-end and which days (_month_end_query)."""
    mb, b = month_balances, balances
    sub, end, sign = bindparam("subsidiary"), bindparam("end", type_=Date), bindparam("sign", type_=BigInteger)
    last = select(func.max(mb.c.month)).where(mb.c.subsidiary == sub).scalar_subquery()
    rows = select(mb.c.account_id, mb.c.commodity, mb.c.weight_currency, mb.c.state, mb.c.quantity, mb.c.amount,
                  mb.c.functional_amount).where(mb.c.subsidiary == sub,
                                                mb.c.month == case((last < end, last), else_=end))
    days = select(b.c.account_id, b.c.commodity, b.c.weight_currency, b.c.state, b.c.quantity * sign,
                  b.c.amount * sign, b.c.functional_amount * sign).where(
        b.c.subsidiary == sub, b.c.day > bindparam("lo", type_=Date), b.c.day <= bindparam("hi", type_=Date))
    if by_commodity:
        rows = rows.where(mb.c.commodity == bindparam("commodity"))
        days = days.where(b.c.commodity == bindparam("commodity"))
    src = union_all(rows, days).subquery()
    # BIGINT sums: PostgreSQL's SUM(bigint) is NUMERIC, which the driver turns into Decimals, row by row
    sums = (select(src.c.account_id, src.c.commodity, src.c.weight_currency, src.c.state,
                   *(cast(func.sum(src.c[c]), BigInteger).label(label) for c, label in
                     (("quantity", "quantity"), ("amount", "amount"), ("functional_amount", "functional"))))
            .group_by(src.c.account_id, src.c.commodity, src.c.weight_currency, src.c.state).subquery())
    return (select(accounts.c.name, accounts.c.type, sums.c.commodity, sums.c.weight_currency, sums.c.state,
                   commodities.c.kind, commodities.c.exponent, sums.c.quantity, sums.c.amount, sums.c.functional)
            .select_from(sums)
            .join(accounts, accounts.c.id == sums.c.account_id)
            .join(commodities, commodities.c.code == sums.c.commodity))


_MONTH_END = {False: _month_end_statement(False), True: _month_end_statement(True)}
_LATEST = date(9999, 12, 1)  # later than any month: the subsidiary's last month-end is the one read


def _month_end_query(subsidiary: str, as_of: date | None, commodity: str | None) -> tuple[Select, dict]:
    """The month-end statement and its parameters for `as_of`: the end of the month before plus the days since,
    or, nearer the end of `as_of`'s month, that month's end less the days after `as_of` (at most 16 days of daily
    rows either way). Without `as_of`, the subsidiary's last month-end and no days."""
    params: dict = {"subsidiary": subsidiary}
    if commodity:
        params["commodity"] = commodity
    if as_of is None:
        params.update(end=_LATEST, lo=_LATEST, hi=_LATEST, sign=1)
    else:
        first = as_of.replace(day=1)
        following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
        if (following - as_of).days - 1 < as_of.day:  # nearer the end of its month: that month-end less the days after
            params.update(end=first, lo=as_of, hi=following - timedelta(days=1), sign=-1)
        else:  # the end of the month before, plus the days since
            before = date(first.year - (first.month == 1), (first.month - 2) % 12 + 1, 1)
            params.update(end=before, lo=first - timedelta(days=1), hi=as_of, sign=1)
    return _MONTH_END[bool(commodity)], params


def _daily_query(subsidiary: str, as_of: date | None, commodity: str | None) -> Select:
    """The same sums over every daily row up to `as_of`: the query balance_rows ran before month-end balances."""
    q = (
        select(
            accounts.c.name, accounts.c.type, balances.c.commodity, balances.c.weight_currency, balances.c.state,
            commodities.c.kind, commodities.c.exponent,
            func.sum(balances.c.quantity).label("quantity"), func.sum(balances.c.amount).label("amount"),
            func.sum(balances.c.functional_amount).label("functional"),
        )
        .join(accounts, accounts.c.id == balances.c.account_id)
        .join(commodities, commodities.c.code == balances.c.commodity)
        .where(balances.c.subsidiary == subsidiary)
        .group_by(accounts.c.name, accounts.c.type, balances.c.commodity, balances.c.weight_currency,
                  balances.c.state, commodities.c.kind, commodities.c.exponent)
    )
    if as_of is not None:
        q = q.where(balances.c.day <= as_of)
    if commodity:
        q = q.where(balances.c.commodity == commodity)
    return q


def _collect(conn: Connection, q: Select, params: dict, account: str | None) -> list[tuple]:
    """(account, commodity, weight currency, type, kind, exponent, posted, pending) per key in order, posted and
    pending as (quantity, amount, functional) in minor units; keys whose every sum is zero left out."""
    if account:
        q = q.where(or_(accounts.c.name == account, accounts.c.name.like(account.replace("%", r"\%") + ":%", escape="\\")))
    # plain tuples and ints in one pass: once the query is cheap, this is most of a trial balance's time
    found: dict[tuple, list] = {}
    for name, type_, commodity, weight, state, kind, exponent, quantity, amount, functional in \
            conn.execute(q, params).all():
        row = found.get((name, commodity, weight))
        if row is None:
            row = found[(name, commodity, weight)] = [type_, kind, exponent, {}]
        row[3][state] = (int(quantity), int(amount), int(functional))
    zero = (0, 0, 0)
    out = []
    for key in sorted(found):
        type_, kind, exponent, states = found[key]
        posted, pending = states.get("posted", zero), states.get("pending", zero)
        if posted != zero or pending != zero:
            out.append((*key, type_, kind, exponent, posted, pending))
    return out


def _balance_rows(conn: Connection, sub: Subsidiary, q: Select, params: dict, account: str | None) -> list[dict]:
    fexp = currency_exponent(sub.functional_currency)
    result = []
    for name, commodity, weight, type_, kind, exponent, posted, pending in _collect(conn, q, params, account):
        wexp = currency_exponent(weight)
        out = {
            "account": name,
            "type": type_,
            "commodity": commodity,
            "balance": _decimal(posted[0], exponent),
            "pending": _decimal(pending[0], exponent),
            "functional_balance": _decimal(posted[2], fexp),
            "functional_currency": sub.functional_currency,
        }
        if kind == "units":
            out["value"] = _decimal(posted[1], wexp)
            out["value_currency"] = weight
        out["_weight"] = (weight, _decimal(posted[1], wexp), _decimal(pending[1], wexp))
        result.append(out)
    return result


def _decimal(minor: int, exp: int) -> Decimal:
    """money.from_minor, digit for digit (an integer's scaleb already has exactly `exp` places), at half the cost."""
    return Decimal(minor).scaleb(-exp)


def _text(minor: int, exp: int) -> str:
    """fmt(from_minor(minor, exp)), written from the integer directly: "-0.05", "0.00", "12"."""
    if exp == 0:
        return str(minor)
    digits = str(-minor if minor < 0 else minor).rjust(exp + 1, "0")
    return ("-" if minor < 0 else "") + digits[:-exp] + "." + digits[-exp:]


def trial_balance(conn: Connection, subsidiary: str, as_of: date | None = None) -> dict:
    """Every account's balance and the totals per currency (money, plus units at cost), which must be zero."""
    sub = get_subsidiary(conn, subsidiary)
    return _trial_balance(sub, as_of, _collect(conn, *_month_end_query(subsidiary, as_of, None), None))


def trial_balance_from_days(conn: Connection, subsidiary: str, as_of: date | None = None) -> dict:
    """trial_balance by summing every daily row up to the date (see balance_rows_from_days)."""
    sub = get_subsidiary(conn, subsidiary)
    return _trial_balance(sub, as_of, _collect(conn, _daily_query(subsidiary, as_of, None), {}, None))


def _trial_balance(sub: Subsidiary, as_of: date | None, collected: list[tuple]) -> dict:
    """The rows as balances_view serialises them, and the totals, in minor units until they are written out."""
    fexp = currency_exponent(sub.functional_currency)
    debit: dict[str, int] = defaultdict(int)
    credit: dict[str, int] = defaultdict(int)
    pending: dict[str, int] = defaultdict(int)
    functional = 0
    rows = []
    for name, commodity, weight, type_, kind, exponent, posted, pend in collected:
        wexp = currency_exponent(weight)
        row = {
            "account": name,
            "type": type_,
            "commodity": commodity,
            "balance": _text(posted[0], exponent),
            "pending": _text(pend[0], exponent),
            "functional_balance": _text(posted[2], fexp),
            "functional_currency": sub.functional_currency,
        }
        if kind == "units":
            row["value"] = _text(posted[1], wexp)
            row["value_currency"] = weight
        rows.append(row)
        (debit if posted[1] > 0 else credit)[weight] += posted[1]
        pending[weight] += pend[1]
        functional += posted[2]
    totals = []
    for currency in sorted(set(debit) | set(credit) | set(pending)):
        exp = currency_exponent(currency)
        totals.append({
            "commodity": currency,
            "debit": _text(debit[currency], exp),
            "credit": _text(credit[currency], exp),
            "balance": _text(debit[currency] + credit[currency], exp),
            "pending": _text(pending[currency], exp),
        })
    return {
        "subsidiary": sub.code,
        "as_of": as_of.isoformat() if as_of else None,
        "functional_currency": sub.functional_currency,
        "rows": rows,
        "totals": totals,
        "functional_total": _text(functional, fexp),
    }


def serialise(row: dict) -> dict:
    return {k: fmt(v) if isinstance(v, Decimal) else v for k, v in row.items() if not k.startswith("_")}


def balances_view(conn: Connection, subsidiary: str, as_of: date | None = None, account: str | None = None,
                  commodity: str | None = None) -> list[dict]:
    return [serialise(r) for r in balance_rows(conn, subsidiary, as_of, account, commodity)]
