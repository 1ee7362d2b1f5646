"""Gross to net: from gross sales to what Amazon paid, as a bridge that closes to the cent.

Per currency, from posted, live Amazon rows (events of kind `amazon_amount`, and the `suspense_reclass` entries
that move their unmapped amounts to a mapped account) dated in the period:
- bridge: one line per role its mapping gave each amount, in Amazon's sign (positive is owed to the seller), in
  this order: gross sales, refunds, promotions, Amazon fees, reimbursements, other income, adjustments; taxes by
  kind (sales tax collected, sales tax withheld by Amazon, VAT output, input tax on Amazon fees, other taxes);
  reserves, financing, the balance carried from earlier settlements (`Payable to Amazon`), card charges
  (`Successful charge`), transfers within the settlement, and what is unmapped (suspense), so the bridge closes
  even before the exception queue is cleared. Each line lists its accounts.
- net_proceeds: the sum of the lines;
- check: the lines minus the movement of Amazon clearing by the same rows. Every row posts its amount to clearing
  against its lines, so this is 0.00 unless the journal is broken: a check, not a figure;
- disbursed: positive settlement totals moved from clearing to the bank, by deposit date within the period;
- carried: negative settlement totals moved from clearing to Liabilities:Amazon:Payable (owed to Amazon, carried
  into the next settlement), by their date within the period;
- in_transit: net_proceeds - disbursed - carried, which is exactly: the rows dated in the period whose
  settlement's disbursement (or carry) is dated outside it (usually after it, or not posted yet), minus the rows
  dated outside the period (usually before it) whose settlement's disbursement (or carry) is dated in it; plus,
  for a settlement whose own rows do not sum to its total (`inconsistent` in settlements.reconcile), that gap.
  Over a whole history of consistent settlements it is zero.

Filters: `start` / `end` (inclusive, on each entry's date), `settlement_id` (only postings tagged with that
settlement, its disbursement or carry included), `marketplace` (postings whose marketplace dimension equals it,
case-insensitively). A deposit is per settlement, not per marketplace, so with a marketplace filter disbursed,
carried and in_transit are left out and `notes` says why, rather than showing a misleading figure.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date

from sqlalchemy import Connection, func, select

from ledger_service.chart.service import get_subsidiary
from ledger_service.journal.service import live_entries
from ledger_service.money import currency_exponent, fmt, from_minor
from ledger_service.posting.amazon import BANK, CLEARING, CONVERSION, PAYABLE, SUSPENSE
from ledger_service.store.tables import accounts, entries, events, postings

ROW_KINDS = ("amazon_amount", "suspense_reclass")
SUMMARY_KIND = "amazon_settlement"
LABELS = {  # role -> line, in the bridge's order
    "revenue": "gross sales", "contra_revenue": "refunds", "promotion": "promotions", "fee": "Amazon fees",
    "reimbursement": "reimbursements", "other_income": "other income", "adjustment": "adjustments",
    "sales_tax": "sales tax collected", "tax_withheld": "sales tax withheld by Amazon", "vat": "VAT output",
    "input_tax": "input tax on Amazon fees", "tax": "other taxes",
    "reserve": "reserves", "financing": "financing", "carried_balance": "balance carried from earlier settlements",
    "card_charge": "card charges", "disbursement": "transfers within the settlement",
    "suspense": "unmapped (suspense)", "unassigned": "mapped, no role",
}
ORDER = list(LABELS)
MARKETPLACE_NOTE = ("filtered by marketplace: disbursed, carried and in transit are not shown, because a deposit "
                    "(or a carry to the payable) is made per settlement and cannot be split by marketplace")


def gross_to_net(conn: Connection, subsidiary: str, start: date | None = None, end: date | None = None,
                 settlement_id: str | None = None, marketplace: str | None = None) -> dict:
    sub = get_subsidiary(conn, subsidiary)
    lines, clearing, moved = _movements(conn, subsidiary, start, end, settlement_id, marketplace)
    with_cash = marketplace is None
    currencies = [_currency(c, lines[c], clearing[c], moved[c], with_cash)
                  for c in sorted(set(lines) | set(clearing) | (set(moved) if with_cash else set()))]
    return {"subsidiary": subsidiary, "subsidiary_name": sub.name,
            "from": start.isoformat() if start else None, "to": end.isoformat() if end else None,
            "settlement": settlement_id, "marketplace": marketplace, "currencies": currencies,
            "notes": [] if with_cash else [MARKETPLACE_NOTE]}


def _movements(conn: Connection, subsidiary: str, start: date | None, end: date | None,
               settlement_id: str | None, marketplace: str | None) -> tuple[dict, dict, dict]:
    """Minor units per currency: lines by (role, account) in Amazon's sign, clearing moved by the same rows, and
    what settlement summaries moved to the bank and to the payable."""
    q = (
        select(entries.c.currency, accounts.c.name, postings.c.dimensions, events.c.kind,
               func.sum(postings.c.amount))
        .join(entries, entries.c.id == postings.c.entry_id)
        .join(events, events.c.id == entries.c.event_id)
        .join(accounts, accounts.c.id == postings.c.account_id)
        .where(postings.c.subsidiary == subsidiary, entries.c.state == "posted",
               events.c.kind.in_([*ROW_KINDS, SUMMARY_KIND]),
               live_entries())  # what a flat file superseded (and its reversal) is not counted
        .group_by(entries.c.currency, accounts.c.name, postings.c.dimensions, events.c.kind)
    )
    if start:
        q = q.where(entries.c.effective_date >= start)
    if end:
        q = q.where(entries.c.effective_date <= end)
    if settlement_id:
        q = q.where(postings.c.settlement_id == settlement_id)
    if marketplace:
        q = q.where(func.lower(postings.c.marketplace) == marketplace.lower())
    lines: dict = defaultdict(lambda: defaultdict(int))
    clearing: dict = defaultdict(int)
    moved: dict = defaultdict(lambda: defaultdict(int))
    for currency, account, dims_text, kind, amount in conn.execute(q):
        amount = int(amount)
        if kind == SUMMARY_KIND:
            if account in (BANK, PAYABLE):
                moved[currency][account] += amount
            elif account == CONVERSION:  # a foreign settlement disbursed through Amazon's conversion: paid out
                moved[currency][BANK] += amount
        elif account == CLEARING:
            clearing[currency] += amount
        else:
            role = "suspense" if account == SUSPENSE else json.loads(dims_text or "{}").get("role") or "unassigned"
            lines[currency][(role, account)] -= amount  # back to Amazon's sign
    return lines, clearing, moved


def _currency(currency: str, lines: dict, clearing: int, moved: dict, with_cash: bool) -> dict:
    exp = currency_exponent(currency)
    money = lambda minor: fmt(from_minor(minor, exp))  # noqa: E731
    net = sum(lines.values())
    result = {"currency": currency, "bridge": _bridge(lines, money), "net_proceeds": money(net),
              "check": money(net - clearing)}
    if with_cash:
        disbursed, carried = moved[BANK], moved[PAYABLE]
        result |= {"disbursed": money(disbursed), "carried": money(carried),
                   "in_transit": money(net - disbursed - carried)}
    return result


def _bridge(lines: dict, money) -> list[dict]:
    by_role: dict = defaultdict(dict)
    for (role, account), minor in lines.items():
        by_role[role][account] = minor
    bridge = []
    for role in sorted(by_role, key=lambda r: ORDER.index(r) if r in ORDER else len(ORDER)):
        accounts_ = by_role[role]
        bridge.append({"line": LABELS.get(role, role), "role": role, "amount": money(sum(accounts_.values())),
                       "accounts": [{"account": a, "amount": money(accounts_[a])} for a in sorted(accounts_)]})
    return bridge
