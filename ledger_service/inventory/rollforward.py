"""The inventory roll-forward: per month, opening + receipts - COGS - write-offs + adjustments = closing.

The problem: a controller closing a month must show how the inventory value got from the month's opening to its
closing, in value and in units, and the movements must explain the difference to the cent. Opening and closing are
the inventory accounts' balances (units commodities, posted) from the balances aggregates (views.inventory_balances);
the movements are read from the postings, so the tie is a real check between two readings of the journal, asserted
(`views.Inconsistent`).

Classification, by the entry's other postings (its money postings: an inventory entry balances in the functional
currency, so its inventory value change is minus the sum of them):
  - `Liabilities:AccountsPayable` -> receipts (a purchase receipt at landed cost, charges included);
  - `Expenses:COGS` -> COGS (a sale; a customer return's reversal nets it);
  - `Expenses:Inventory:WriteOff:*` and `Expenses:Inventory:Shrinkage` -> write-offs (lost, damaged, disposed,
    count corrections; a found unit's reversed loss nets it);
  - any other account -> adjustments (signed).
An entry with no other postings (a move between states or locations) changes neither value nor units. Units go to
the one class of the entry's other postings, or to adjustments when there are none or several.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import Connection, select

from ledger_service.chart.service import get_subsidiary
from ledger_service.inventory import facts as f
from ledger_service.inventory.views import (PREFIX, Inconsistent, _money, _money_postings, _unit_postings,
                                            inventory_balances)
from ledger_service.money import currency_exponent, fmt
from ledger_service.store.tables import accounts, commodities, entries, postings

KINDS = ("receipts", "cogs", "write_offs", "adjustments")
SIGN = {"receipts": -1, "cogs": 1, "write_offs": 1, "adjustments": -1}  # inventory change = -SIGN x kind's amount


def classify(account: str) -> str:
    """The roll-forward column of a money posting in an inventory entry."""
    if account == f.PAYABLE:
        return "receipts"
    if account == f.COGS:
        return "cogs"
    if account == f.SHRINKAGE or account.startswith("Expenses:Inventory:WriteOff:"):
        return "write_offs"
    return "adjustments"


def months(start: date, end: date) -> list[tuple[date, date]]:
    """The months start..end touches, each clipped to start..end."""
    out, first = [], start.replace(day=1)
    while first <= end:
        following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
        out.append((max(first, start), min(following - timedelta(days=1), end)))
        first = following
    return out


def rollforward(conn: Connection, subsidiary: str, start: date, end: date) -> dict:
    """One row per month start..end: opening, receipts, COGS, write-offs, adjustments and closing, in functional
    value and units; each row's tie is checked against the balances aggregates."""
    sub = get_subsidiary(conn, subsidiary)
    exp = currency_exponent(sub.functional_currency)
    units = [(e, d, int(q)) for e, d, _a, _s, q, _m, _x in _unit_postings(conn, subsidiary, start, end)]
    touched = (select(postings.c.entry_id).join(entries, entries.c.id == postings.c.entry_id)
               .join(accounts, accounts.c.id == postings.c.account_id)
               .join(commodities, commodities.c.code == postings.c.commodity)
               .where(postings.c.subsidiary == subsidiary, commodities.c.kind == "units",
                      accounts.c.name.like(PREFIX + "%"), entries.c.effective_date >= start,
                      entries.c.effective_date <= end))
    other = [(e, d, a, _money(m, exp))
             for e, d, a, _s, _mk, m, _x in _money_postings(conn, subsidiary, start, end,
                                                           postings.c.entry_id.in_(touched))]
    rows = []
    for first, last in months(start, end):
        opening = _totals(inventory_balances(conn, subsidiary, first - timedelta(days=1)), exp)
        closing = _totals(inventory_balances(conn, subsidiary, last), exp)
        row = assemble_month(opening, closing, [u for u in units if first <= u[1] <= last],
                             [o for o in other if first <= o[1] <= last], _money(0, exp))
        rows.append({"period": first.strftime("%Y-%m"), "from": first.isoformat(), "to": last.isoformat(), **row})
    return {"subsidiary": subsidiary, "from": start.isoformat(), "to": end.isoformat(),
            "currency": sub.functional_currency, "rows": rows}


def _totals(balances: dict, exp: int) -> tuple[int, Decimal]:
    return sum(v[0] for v in balances.values()), sum((v[1] for v in balances.values()), _money(0, exp))


def assemble_month(opening: tuple[int, Decimal], closing: tuple[int, Decimal], units, other,
                   zero: Decimal = Decimal("0.00")) -> dict:
    """Pure. opening, closing: (units, value); units: (entry, date, units) inventory units postings of the month;
    other: (entry, date, account, amount) money postings of the month's inventory entries. Raises Inconsistent
    unless opening + receipts - COGS - write-offs + adjustments = closing, in value and in units."""
    value = dict.fromkeys(KINDS, zero)
    kinds: dict[int, set] = defaultdict(set)
    for entry_id, _d, account, amount in other:
        kind = classify(account)
        value[kind] += SIGN[kind] * amount
        kinds[entry_id].add(kind)
    count = dict.fromkeys(KINDS, 0)
    for entry_id, _d, n in units:
        found = kinds.get(entry_id, set())
        kind = next(iter(found)) if len(found) == 1 else "adjustments"
        count[kind] += n if kind in ("receipts", "adjustments") else -n
    moved_units = opening[0] + count["receipts"] - count["cogs"] - count["write_offs"] + count["adjustments"]
    moved_value = opening[1] + value["receipts"] - value["cogs"] - value["write_offs"] + value["adjustments"]
    if (moved_units, moved_value) != closing:
        raise Inconsistent(f"inventory roll-forward does not tie: opening {opening[1]} ({opening[0]} units) and the "
                           f"movements give {moved_value} ({moved_units} units), the accounts hold {closing[1]} "
                           f"({closing[0]} units)")
    out = {"opening_units": opening[0], "opening_value": fmt(opening[1])}
    for kind in KINDS:
        out[f"{kind}_units"], out[f"{kind}_value"] = count[kind], fmt(value[kind])
    out["closing_units"], out["closing_value"] = closing[0], fmt(closing[1])
    return out
