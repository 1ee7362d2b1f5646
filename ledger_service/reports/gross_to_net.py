"""Gross to net: from gross sales to what Amazon paid, as a bridge that closes to the cent.

Every line is read from posted Amazon entries in the period, by the role its mapping gave it (revenue,
contra_revenue, promotion, fee, reimbursement, tax, reserve, ...), in Amazon's sign: positive is owed to the
seller. The lines add up to the net proceeds, which is the movement of Amazon clearing from the same rows; the
bridge states both and the difference (which must be zero). Unmapped amounts are their own line (suspense), so
the bridge closes even before the exception queue is cleared. Disbursed is what moved from clearing to the bank.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date
from decimal import Decimal

from sqlalchemy import Connection, func, select

from ledger_service.chart.service import get_subsidiary
from ledger_service.journal.service import live_entries
from ledger_service.money import currency_exponent, fmt, from_minor
from ledger_service.posting.amazon import BANK, CLEARING, SUSPENSE
from ledger_service.store.tables import accounts, entries, events, postings

ORDER = ["revenue", "contra_revenue", "promotion", "fee", "reimbursement", "other_income", "adjustment", "tax",
         "reserve", "financing", "disbursement", "suspense", "unassigned"]
LABELS = {"revenue": "gross sales", "contra_revenue": "refunds", "promotion": "promotions", "fee": "Amazon fees",
          "reimbursement": "reimbursements", "other_income": "other income", "adjustment": "adjustments",
          "tax": "taxes collected and withheld", "reserve": "reserves", "financing": "financing",
          "disbursement": "transfers within the settlement", "suspense": "unmapped (suspense)",
          "unassigned": "mapped, no role"}


def gross_to_net(conn: Connection, subsidiary: str, start: date | None = None, end: date | None = None) -> dict:
    get_subsidiary(conn, subsidiary)
    q = (
        select(entries.c.currency, accounts.c.name, postings.c.dimensions, events.c.kind,
               func.sum(postings.c.amount))
        .join(entries, entries.c.id == postings.c.entry_id)
        .join(events, events.c.id == entries.c.event_id)
        .join(accounts, accounts.c.id == postings.c.account_id)
        .where(postings.c.subsidiary == subsidiary, entries.c.state == "posted",
               events.c.kind.in_(["amazon_amount", "amazon_settlement"]),
               live_entries())  # what a flat file superseded (and its reversal) is not counted
        .group_by(entries.c.currency, accounts.c.name, postings.c.dimensions, events.c.kind)
    )
    if start:
        q = q.where(entries.c.effective_date >= start)
    if end:
        q = q.where(entries.c.effective_date <= end)
    lines: dict = defaultdict(lambda: defaultdict(int))  # currency -> (role, account) -> minor units
    net: dict = defaultdict(int)
    disbursed: dict = defaultdict(int)
    for currency, account, dims_text, kind, amount in conn.execute(q):
        amount = int(amount)
        if kind == "amazon_settlement":
            if account == BANK:
                disbursed[currency] += amount
            continue
        if account == CLEARING:
            net[currency] += amount
            continue
        role = "suspense" if account == SUSPENSE else json.loads(dims_text or "{}").get("role") or "unassigned"
        lines[currency][(role, account)] -= amount  # back to Amazon's sign
    result = []
    for currency in sorted(set(lines) | set(net) | set(disbursed)):
        exp = currency_exponent(currency)
        by_role: dict = defaultdict(list)
        for (role, account), minor in lines[currency].items():
            by_role[role].append({"account": account, "amount": fmt(from_minor(minor, exp))})
        bridge, total = [], Decimal(0)
        for role in sorted(by_role, key=lambda r: ORDER.index(r) if r in ORDER else len(ORDER)):
            subtotal = sum((Decimal(x["amount"]) for x in by_role[role]), Decimal(0))
            total += subtotal
            bridge.append({"line": LABELS.get(role, role), "role": role, "amount": fmt(subtotal),
                           "accounts": sorted(by_role[role], key=lambda x: x["account"])})
        net_proceeds = from_minor(net[currency], exp)
        result.append({
            "currency": currency, "bridge": bridge, "sum_of_lines": fmt(total), "net_proceeds": fmt(net_proceeds),
            "difference": fmt(total - net_proceeds), "disbursed": fmt(from_minor(disbursed[currency], exp)),
        })
    return {"subsidiary": subsidiary, "from": start.isoformat() if start else None,
            "to": end.isoformat() if end else None, "currencies": result}
