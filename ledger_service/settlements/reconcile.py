"""Settlement reconciliation, from the log: does each settlement close to its total, and its total to cash?

For every settlement of a subsidiary (amounts in the settlement's currency, Amazon's sign: positive is owed to
the seller):
- total_amount: the report's own total (the summary row / closed group), from the summary event's payload;
- rows_sum: the settlement's amounts as posted to clearing (every row, mapped or in suspense); `rows` counts them
  (a flat file's summary counts its amounts; for a Finances group, one clearing line per amount);
- deposit: what the settlement's disbursement moved from clearing to the bank (a positive total);
- carried: what it moved from clearing to Liabilities:Amazon:Payable (a negative total: not paid, not charged,
  carried into the next settlement's `Payable to Amazon` row). Rows that touch the bank or the payable themselves
  (Successful charge, Micro Deposit, Payable to Amazon) are rows, counted in rows_sum, never in deposit or carried;
- clearing: the net movement of Amazon clearing tagged with the settlement id (zero once disbursed or carried);
- suspense: what of the settlement still sits in Assets:Suspense:Amazon (its net there: a reclass, an event of
  kind `suspense_reclass` tagged with the settlement, takes an amount back out), in Amazon's sign;
  suspense_count: how many of its amounts are open exceptions (exceptions.service decides what is open);
- difference: rows_sum - total_amount; deposit_difference: deposit + carried - total_amount;
- explained_by: entries tagged with the settlement that move clearing and are neither its rows nor its
  disbursement (a manual journal, say), each with its clearing movement; clearing always equals
  difference - deposit_difference + the sum of these.

Status, the first that applies:
- `inconsistent`: Amazon's own rows do not sum to its total (or it has no total); ingest accepts such a file with
  a warning, and this is where it shows;
- `difference`: the rows sum to the total, but cash does not tie: clearing does not net to zero, or the
  disbursement / carry differs from the total (see deposit_difference and explained_by);
- `reconciled_with_suspense`: ties to the cent, but some amounts are still unclassified (suspense_count,
  suspense; the single-settlement view lists them);
- `reconciled`: ties to the cent and nothing is in suspense.

Posted (final) entries only, and only live ones (journal.service.live_entries): an entry reversed because a flat
file superseded it, and its reversal, are left out. A Finances group that the flat file of the same settlement
superseded is not listed (ingest.precedence links them).
"""

from __future__ import annotations

import json
from collections import defaultdict
from decimal import Decimal

from sqlalchemy import Connection, and_, func, select

from ledger_service.chart.service import get_subsidiary
from ledger_service.errors import NotFound
from ledger_service.exceptions.service import exceptions
from ledger_service.ingest.precedence import FLAT_FILE_SYSTEMS, known_settlements, settled_by_flat_file
from ledger_service.journal.service import live_entries
from ledger_service.money import currency_exponent, fmt, from_minor
from ledger_service.posting.amazon import BANK, CLEARING, CONVERSION, PAYABLE, SUSPENSE
from ledger_service.store.tables import accounts, entries, events, postings

ROWS_KIND = "amazon_amount"  # the settlement's amounts
SUMMARY_KIND = "amazon_settlement"  # its summary, whose entry is the disbursement or the carry
STATUSES = ("inconsistent", "difference", "reconciled_with_suspense", "reconciled")  # in order of precedence


def settlements(conn: Connection, subsidiary: str) -> list[dict]:
    """Every settlement of the subsidiary with its figures and status, in the order they were ingested."""
    return [row for row, _open in _reconcile(conn, subsidiary)]


def settlement(conn: Connection, subsidiary: str, settlement_id: str) -> dict:
    """One settlement, with its open suspense amounts listed."""
    for row, open_items in _reconcile(conn, subsidiary):
        if row["settlement_id"] == settlement_id:
            return row | {"suspense_rows": [_suspense_row(e) for e in open_items]}
    raise NotFound(f"settlement {settlement_id} is not in subsidiary {subsidiary}")


def _reconcile(conn: Connection, subsidiary: str) -> list[tuple[dict, list[dict]]]:
    get_subsidiary(conn, subsidiary)
    movements = _movements(conn, subsidiary)
    others = _other_clearing_entries(conn, subsidiary)
    open_items: dict = defaultdict(list)
    for e in exceptions(conn, subsidiary):  # open ones only
        open_items[(e["settlement_id"], e["currency"])].append(e)
    result = []
    for facts, source in _summaries(conn, subsidiary):
        key = (facts["settlement_id"], facts["currency"])
        m = movements.get(key, defaultdict(int))
        result.append((_row(facts, source, m, open_items[key], others.get(key, [])), open_items[key]))
    return result


def _summaries(conn: Connection, subsidiary: str) -> list[tuple[dict, dict]]:
    """The final summary of every settlement, less Finances groups whose flat file is the truth."""
    rows = conn.execute(
        select(events.c.id, events.c.payload, events.c.source_document, events.c.source_line,
               events.c.source_system).where(
            events.c.subsidiary == subsidiary, events.c.kind == SUMMARY_KIND).order_by(events.c.id)
    ).all()
    settled = settled_by_flat_file(known_settlements(conn, subsidiary))
    result = []
    for event_id, payload, document, line, system in rows:
        facts = json.loads(payload)
        if system not in FLAT_FILE_SYSTEMS and facts["settlement_id"] in settled:
            continue
        result.append((facts, {"event_id": event_id, "document": document, "line": line}))
    return result


def _row(facts: dict, source: dict, m: dict, open_items: list[dict], others: list[dict]) -> dict:
    exp = currency_exponent(facts["currency"])
    total = Decimal(facts["total_amount"]) if facts.get("total_amount") is not None else None
    rows_sum, deposit, carried, clearing, suspense = (
        from_minor(m[k], exp) for k in ("rows", "deposit", "carried", "clearing", "suspense"))
    status = _status(total, rows_sum, deposit + carried, clearing, len(open_items), suspense)
    return {
        "settlement_id": facts["settlement_id"], "currency": facts["currency"],
        "start": facts.get("start"), "end": facts.get("end"), "deposit_date": facts.get("deposit_date"),
        "total_amount": fmt(total) if total is not None else None,
        "rows_sum": fmt(rows_sum), "rows": facts.get("rows", m["count"]),
        "deposit": fmt(deposit), "carried": fmt(carried), "clearing": fmt(clearing),
        "suspense_count": len(open_items), "suspense": fmt(suspense),
        "difference": fmt(rows_sum - total) if total is not None else None,
        "deposit_difference": fmt(deposit + carried - total) if total is not None else None,
        "explained_by": others,
        "status": status, "source": source,
    }


def _status(total: Decimal | None, rows_sum: Decimal, moved: Decimal, clearing: Decimal, open_count: int,
            suspense: Decimal) -> str:
    if total is None or rows_sum != total:
        return "inconsistent"
    if clearing != 0 or moved != total:
        return "difference"
    if open_count or suspense:
        return "reconciled_with_suspense"
    return "reconciled"


def _posted_live(subsidiary: str):
    return and_(postings.c.subsidiary == subsidiary, postings.c.settlement_id.is_not(None),
                entries.c.state == "posted", live_entries())


def _movements(conn: Connection, subsidiary: str) -> dict:
    """Per (settlement id, currency), in minor units: rows to clearing (and how many), deposit to the bank, carry
    to the payable, net clearing, net suspense in Amazon's sign."""
    q = (
        select(postings.c.settlement_id, entries.c.currency, accounts.c.name, events.c.kind,
               func.sum(postings.c.amount), func.count())
        .join(entries, entries.c.id == postings.c.entry_id)
        .join(events, events.c.id == entries.c.event_id)
        .join(accounts, accounts.c.id == postings.c.account_id)
        .where(_posted_live(subsidiary), accounts.c.name.in_([CLEARING, BANK, CONVERSION, PAYABLE, SUSPENSE]))
        .group_by(postings.c.settlement_id, entries.c.currency, accounts.c.name, events.c.kind)
    )
    out: dict = defaultdict(lambda: defaultdict(int))
    for sid, currency, account, kind, amount, count in conn.execute(q):
        m, amount = out[(sid, currency)], int(amount)
        if account == CLEARING:
            m["clearing"] += amount
            if kind == ROWS_KIND:
                m["rows"] += amount
                m["count"] += count
        elif account == SUSPENSE:  # rows put amounts in, reclasses take them out
            m["suspense"] -= amount
        elif kind == SUMMARY_KIND:
            # a foreign settlement is deposited through Amazon's conversion (posting.amazon): its currency's
            # Conversion posting is the deposit; in the functional currency bank and Conversion cancel
            m["deposit" if account in (BANK, CONVERSION) else "carried"] += amount
    return out


def _other_clearing_entries(conn: Connection, subsidiary: str) -> dict:
    """Per (settlement id, currency): entries tagged with it that move clearing and are neither its rows nor its
    disbursement / carry (a manual journal, say), each with its net clearing movement."""
    q = (
        select(postings.c.settlement_id, entries.c.currency, entries.c.id, entries.c.effective_date,
               entries.c.description, events.c.kind, func.sum(postings.c.amount))
        .join(entries, entries.c.id == postings.c.entry_id)
        .join(events, events.c.id == entries.c.event_id)
        .join(accounts, accounts.c.id == postings.c.account_id)
        .where(_posted_live(subsidiary), accounts.c.name == CLEARING,
               events.c.kind.not_in([ROWS_KIND, SUMMARY_KIND]))
        .group_by(postings.c.settlement_id, entries.c.currency, entries.c.id, entries.c.effective_date,
                  entries.c.description, events.c.kind)
        .order_by(entries.c.id)
    )
    out: dict = defaultdict(list)
    for sid, currency, entry_id, on, description, kind, amount in conn.execute(q):
        out[(sid, currency)].append({
            "entry_id": entry_id, "date": on.isoformat(), "kind": kind, "description": description,
            "amount": fmt(from_minor(amount, currency_exponent(currency)))})
    return out


def _suspense_row(e: dict) -> dict:
    return {"event_id": e["event_id"], "document": e["source"]["document"],
            "line": e["source"]["line"] or e["source"]["page"], "amazon_type": e["amazon_type"],
            "amount": e["amount"]}
