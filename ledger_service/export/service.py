"""The beancount export's query: a subsidiary's entries up to a date, and its balances at each month end."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import Connection, select

from ledger_service.balances.queries import balance_rows
from ledger_service.chart.service import get_subsidiary
from ledger_service.errors import Invalid
from ledger_service.export.beancount import BOOKINGS, Assertion, ExportEntry, Journal, month_ends, render
from ledger_service.journal.model import DIMENSIONS, Posting
from ledger_service.money import currency_exponent, from_minor
from ledger_service.store.tables import accounts, commodities, entries, postings


def beancount_text(conn: Connection, subsidiary: str, to: date | None = None, booking: str = "none") -> str:
    """The journal as beancount text; `booking="fifo"` (export.beancount) only for a FIFO subsidiary: beancount's
    FIFO would book an average or a specific lot's reductions at other costs than the ledger's."""
    if booking not in BOOKINGS:
        raise Invalid(f"booking must be one of {', '.join(BOOKINGS)}, not {booking!r}")
    if booking == "fifo":
        method = get_subsidiary(conn, subsidiary).valuation_method
        if method != "fifo":
            raise Invalid(f"booking fifo lets beancount book {subsidiary}'s lots first in, first out, but "
                          f"{subsidiary} values its inventory by {method}: export it with booking none")
    return render(journal(conn, subsidiary, to), booking=booking)


def journal(conn: Connection, subsidiary: str, to: date | None = None) -> Journal:
    """Every entry of the subsidiary dated on or before `to` (all when None), posted and pending, reversals
    included, and a balance for every account and commodity used so far at every month end (and at `to`),
    posted + pending, from the balances projection."""
    sub = get_subsidiary(conn, subsidiary)
    q = (
        select(entries.c.id, entries.c.event_id, entries.c.effective_date, entries.c.state, entries.c.currency,
               entries.c.rate, entries.c.description, entries.c.reverses_entry_id, entries.c.reason,
               accounts.c.name.label("account"), postings.c.commodity, postings.c.quantity, postings.c.cost_per_unit,
               postings.c.amount, postings.c.functional_amount, postings.c.dimensions, commodities.c.kind,
               commodities.c.exponent,
               *[postings.c[d] for d in DIMENSIONS])
        .join(postings, postings.c.entry_id == entries.c.id)
        .join(accounts, accounts.c.id == postings.c.account_id)
        .join(commodities, commodities.c.code == postings.c.commodity)
        .where(entries.c.subsidiary == subsidiary)
        .order_by(entries.c.effective_date, entries.c.id, postings.c.id)
    )
    if to is not None:
        q = q.where(entries.c.effective_date <= to)
    fexp = currency_exponent(sub.functional_currency)
    headers: dict[int, dict] = {}
    lines: dict[int, list[Posting]] = {}
    for r in conn.execute(q).mappings():
        if r["id"] not in headers:
            headers[r["id"]] = dict(r)
            lines[r["id"]] = []
        exp = currency_exponent(r["currency"])
        dims = [(d, r[d]) for d in DIMENSIONS if r[d] is not None]
        if r["dimensions"]:
            dims += [(k, str(v)) for k, v in json.loads(r["dimensions"]).items()]
        units = r["kind"] == "units"
        lines[r["id"]].append(Posting(
            account=r["account"],
            amount=from_minor(r["amount"], exp),
            units=from_minor(r["quantity"], r["exponent"]) if units else None,
            commodity=r["commodity"] if units else None,
            cost_per_unit=Decimal(r["cost_per_unit"]) if units else None,
            functional_amount=from_minor(r["functional_amount"], fexp),
            dimensions=tuple(sorted(dims)),
        ))
    result = tuple(
        ExportEntry(id=h["id"], event_id=h["event_id"], date=h["effective_date"], state=h["state"],
                    currency=h["currency"], rate=h["rate"], description=h["description"], postings=tuple(lines[i]),
                    reverses_entry_id=h["reverses_entry_id"], reason=h["reason"])
        for i, h in headers.items()
    )
    return Journal(subsidiary, sub.functional_currency, result, tuple(_assertions(conn, subsidiary, result, to)), to)


def _assertions(conn: Connection, subsidiary: str, entries_: tuple[ExportEntry, ...],
                to: date | None) -> list[Assertion]:
    if not entries_:
        return []
    d = entries_[-1].date
    last = to or (date(d.year + d.month // 12, d.month % 12 + 1, 1) - timedelta(days=1))  # its month's end
    dates = month_ends(entries_[0].date, last)
    if to is not None and (not dates or dates[-1] != to):
        dates.append(to)
    # (account, commodity) -> first date used, units?, exponent
    used: dict[tuple[str, str], tuple[date, bool, int]] = {}
    for e in entries_:
        for p in e.postings:
            commodity = p.commodity if p.is_units else e.currency
            exp = 0 if p.is_units else currency_exponent(commodity)
            used.setdefault((p.account, commodity), (e.date, p.is_units, exp))
    result = []
    for as_of in dates:
        held: dict[tuple[str, str], Decimal] = {}
        for row in balance_rows(conn, subsidiary, as_of):
            key = (row["account"], row["commodity"])
            held[key] = held.get(key, Decimal(0)) + row["balance"] + row["pending"]
        for (account, commodity), (first, units, exp) in sorted(used.items()):
            if first > as_of:
                continue
            amount = held.pop((account, commodity), None)
            if amount is None:
                amount = Decimal(0).scaleb(-exp)
            result.append(Assertion(as_of, account, commodity, amount, units))
        if any(held.values()):  # a balance the export has no posting for: the projection and journal disagree
            raise ValueError(f"balances hold {sorted(held)} that no exported entry posts")
    return result
