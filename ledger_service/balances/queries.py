"""Balance and trial-balance queries, answered from the daily aggregates, never from the postings.

`balances` holds one row per (subsidiary, account, commodity, weight currency, state, day) with the day's net
movement; a balance as of a date is the sum of the rows up to that day. A row of units carries the units in
`quantity` and their cost in `amount` (the weight, in the weight currency); a money row has both equal.
Posted and pending (provisional, from open settlement groups) are reported apart.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

from sqlalchemy import Connection, func, or_, select

from ledger_service.chart.service import get_subsidiary
from ledger_service.money import currency_exponent, fmt, from_minor
from ledger_service.store.tables import accounts, balances, commodities


def balance_rows(
    conn: Connection,
    subsidiary: str,
    as_of: date | None = None,
    account: str | None = None,
    commodity: str | None = None,
) -> list[dict]:
    """Balances per account and commodity as of a date (inclusive), posted and pending apart."""
    sub = get_subsidiary(conn, subsidiary)
    fexp = currency_exponent(sub.functional_currency)
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
    if account:
        q = q.where(or_(accounts.c.name == account, accounts.c.name.like(account.replace("%", r"\%") + ":%", escape="\\")))
    if commodity:
        q = q.where(balances.c.commodity == commodity)

    rows: dict[tuple, dict] = {}
    for r in conn.execute(q):
        key = (r.name, r.commodity, r.weight_currency)
        row = rows.setdefault(key, {
            "account": r.name, "type": r.type, "commodity": r.commodity, "kind": r.kind,
            "weight_currency": r.weight_currency, "exponent": r.exponent,
            "posted": [0, 0, 0], "pending": [0, 0, 0],
        })
        row[r.state] = [int(r.quantity), int(r.amount), int(r.functional)]
    result = []
    wexp_cache: dict[str, int] = {}
    for key in sorted(rows):
        row = rows[key]
        wexp = wexp_cache.setdefault(row["weight_currency"], currency_exponent(row["weight_currency"]))
        posted, pending = row["posted"], row["pending"]
        if posted == [0, 0, 0] and pending == [0, 0, 0]:
            continue
        out = {
            "account": row["account"],
            "type": row["type"],
            "commodity": row["commodity"],
            "balance": from_minor(posted[0], row["exponent"]),
            "pending": from_minor(pending[0], row["exponent"]),
            "functional_balance": from_minor(posted[2], fexp),
            "functional_currency": sub.functional_currency,
        }
        if row["kind"] == "units":
            out["value"] = from_minor(posted[1], wexp)
            out["value_currency"] = row["weight_currency"]
        out["_weight"] = (row["weight_currency"], from_minor(posted[1], wexp), from_minor(pending[1], wexp))
        result.append(out)
    return result


def trial_balance(conn: Connection, subsidiary: str, as_of: date | None = None) -> dict:
    """Every account's balance and the totals per currency (money, plus units at cost), which must be zero."""
    rows = balance_rows(conn, subsidiary, as_of)
    sub = get_subsidiary(conn, subsidiary)
    debit: dict[str, Decimal] = defaultdict(Decimal)
    credit: dict[str, Decimal] = defaultdict(Decimal)
    pending: dict[str, Decimal] = defaultdict(Decimal)
    functional = Decimal(0)
    for row in rows:
        currency, weight, pend = row.pop("_weight")
        (debit if weight > 0 else credit)[currency] += weight
        pending[currency] += pend
        functional += row["functional_balance"]
    totals = []
    for currency in sorted(set(debit) | set(credit) | set(pending)):
        exp = currency_exponent(currency)
        totals.append({
            "commodity": currency,
            "debit": fmt(from_minor(0, exp) + debit[currency]),
            "credit": fmt(from_minor(0, exp) + credit[currency]),
            "balance": fmt(from_minor(0, exp) + debit[currency] + credit[currency]),
            "pending": fmt(from_minor(0, exp) + pending[currency]),
        })
    fexp = currency_exponent(sub.functional_currency)
    return {
        "subsidiary": subsidiary,
        "as_of": as_of.isoformat() if as_of else None,
        "functional_currency": sub.functional_currency,
        "rows": [serialise(r) for r in rows],
        "totals": totals,
        "functional_total": fmt(from_minor(0, fexp) + functional),
    }


def serialise(row: dict) -> dict:
    return {k: fmt(v) if isinstance(v, Decimal) else v for k, v in row.items() if not k.startswith("_")}


def balances_view(conn: Connection, subsidiary: str, as_of: date | None = None, account: str | None = None,
                  commodity: str | None = None) -> list[dict]:
    return [serialise(r) for r in balance_rows(conn, subsidiary, as_of, account, commodity)]
