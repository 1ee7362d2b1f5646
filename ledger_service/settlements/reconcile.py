"""Settlement reconciliation, from the log: does each settlement close to its total and its deposit?

For every settlement of a subsidiary:
- total_amount: the report's own total (the summary row / closed group), from the summary event's payload;
- rows_sum: the sum of the settlement's amounts as posted to clearing (every row, mapped or in suspense);
- rows: how many amounts: a flat file's summary counts them (its rows post as one entry per Amazon transaction,
  with one clearing line each); for a Finances group, one clearing line per amount;
- deposit: what the disbursement moved from clearing to the bank;
- clearing: the net clearing movement tagged with the settlement id (zero once disbursed).
Status is `reconciled` when rows_sum == total_amount == deposit and clearing nets to zero; otherwise
`difference`, with the difference and the suspense rows that may explain it. Posted (final) entries only, and
only live ones: an entry reversed because a flat file superseded it, and its reversal, are left out. A Finances
group that the flat file of the same settlement superseded is not listed (ingest.precedence links them).
"""

from __future__ import annotations

import json
from collections import defaultdict
from decimal import Decimal

from sqlalchemy import Connection, and_, func, select

from ledger_service.chart.service import get_subsidiary
from ledger_service.errors import NotFound
from ledger_service.ingest.precedence import FLAT_FILE_SYSTEMS, known_settlements, settled_by_flat_file
from ledger_service.journal.service import live_entries
from ledger_service.money import currency_exponent, fmt, from_minor
from ledger_service.posting.amazon import BANK, CLEARING, SUSPENSE
from ledger_service.store.tables import accounts, entries, events, postings


def settlements(conn: Connection, subsidiary: str) -> list[dict]:
    get_subsidiary(conn, subsidiary)
    summaries = conn.execute(
        select(events.c.id, events.c.payload, events.c.source_document, events.c.source_line,
               events.c.source_system).where(
            events.c.subsidiary == subsidiary, events.c.kind == "amazon_settlement").order_by(events.c.id)
    ).all()
    movements = _movements(conn, subsidiary)
    settled = settled_by_flat_file(known_settlements(conn, subsidiary))
    result = []
    for event_id, payload, document, line, system in summaries:
        facts = json.loads(payload)
        if system not in FLAT_FILE_SYSTEMS and facts["settlement_id"] in settled:
            continue
        sid, currency = facts["settlement_id"], facts["currency"]
        exp = currency_exponent(currency)
        m = movements.get((sid, currency), defaultdict(int))
        total = Decimal(facts["total_amount"]) if facts.get("total_amount") is not None else None
        rows_sum = from_minor(m["rows"], exp)
        deposit = from_minor(m["deposit"], exp)
        clearing = from_minor(m["clearing"], exp)
        reconciled = total is not None and rows_sum == total and deposit == total and clearing == 0
        row = {
            "settlement_id": sid, "currency": currency,
            "start": facts.get("start"), "end": facts.get("end"), "deposit_date": facts.get("deposit_date"),
            "total_amount": fmt(total) if total is not None else None,
            "rows_sum": fmt(rows_sum), "clearing": fmt(clearing), "deposit": fmt(deposit),
            "suspense": fmt(from_minor(m["suspense"], exp)), "rows": facts.get("rows", m["count"]),
            "status": "reconciled" if reconciled else "difference",
            "source": {"event_id": event_id, "document": document, "line": line},
        }
        if not reconciled:  # each gap on its own: rows against the total, deposit against the total, open clearing
            row["difference"] = fmt((rows_sum - total) if total is not None else rows_sum)
            row["deposit_difference"] = fmt((deposit - total) if total is not None else deposit)
        result.append(row)
    return result


def settlement(conn: Connection, subsidiary: str, settlement_id: str) -> dict:
    for row in settlements(conn, subsidiary):
        if row["settlement_id"] == settlement_id:
            return row | {"suspense_rows": _suspense_rows(conn, subsidiary, settlement_id)}
    raise NotFound(f"settlement {settlement_id} is not in subsidiary {subsidiary}")


def _movements(conn: Connection, subsidiary: str) -> dict:
    """Per (settlement id, currency): rows to clearing, deposit to bank, net clearing, suspense; posted only."""
    q = (
        select(postings.c.settlement_id, entries.c.currency, accounts.c.name, events.c.kind,
               func.sum(postings.c.amount), func.count())
        .join(entries, entries.c.id == postings.c.entry_id)
        .join(events, events.c.id == entries.c.event_id)
        .join(accounts, accounts.c.id == postings.c.account_id)
        .where(and_(postings.c.subsidiary == subsidiary, postings.c.settlement_id.is_not(None),
                    entries.c.state == "posted", accounts.c.name.in_([CLEARING, BANK, SUSPENSE]),
                    live_entries()))
        .group_by(postings.c.settlement_id, entries.c.currency, accounts.c.name, events.c.kind)
    )
    out: dict = defaultdict(lambda: defaultdict(int))
    for sid, currency, account, kind, amount, count in conn.execute(q):
        m = out[(sid, currency)]
        amount = int(amount)
        if account == CLEARING:
            m["clearing"] += amount
            if kind == "amazon_amount":
                m["rows"] += amount
                m["count"] += count
        elif account == BANK and kind == "amazon_settlement":
            m["deposit"] += amount
        elif account == SUSPENSE:
            m["suspense"] -= amount
    return out


def _suspense_rows(conn: Connection, subsidiary: str, settlement_id: str) -> list[dict]:
    q = (
        select(events.c.id, events.c.source_document,
               func.coalesce(postings.c.source_line, events.c.source_line), postings.c.dimensions,
               postings.c.amount, entries.c.currency)
        .join(entries, entries.c.event_id == events.c.id).join(postings, postings.c.entry_id == entries.c.id)
        .join(accounts, accounts.c.id == postings.c.account_id)
        .where(postings.c.subsidiary == subsidiary, postings.c.settlement_id == settlement_id,
               accounts.c.name == SUSPENSE, entries.c.state == "posted", live_entries())
    )
    return [{"event_id": e, "document": d, "line": ln, "amazon_type": json.loads(dims or "{}").get("amazon_type"),
             "amount": fmt(-from_minor(a, currency_exponent(c)))} for e, d, ln, dims, a, c in conn.execute(q)]
