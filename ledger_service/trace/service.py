"""The audit trace: from a NetSuite line, or from a balance, back to the entries, events and raw source rows.

A NetSuite line is recomputed from the export that sent it (export.netsuite.service.find_journal: the recorded
watermark, summarisation and mapping), so its postings are exactly those summed into it; their functional amounts
sum to the line to the cent (a line of a 3-decimal currency is their sum rounded to 2 decimals; the rounding line
has no postings). A reversal journal's lines trace to the postings of the journal it reverses, negated.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

from sqlalchemy import Connection, func, or_, select

from ledger_service.chart.service import get_subsidiary
from ledger_service.errors import Invalid, NotFound
from ledger_service.export.netsuite.journals import Journal, Line, parse_external_id
from ledger_service.export.netsuite.service import find_journal
from ledger_service.money import currency_exponent, fmt, from_minor
from ledger_service.store.tables import accounts, entries, events, postings

MAX_POSTINGS = 100_000  # a line summarising more is traced whole, but this bounds one answer's size


def subsidiary_of(external_id: str) -> str:
    return parse_external_id(external_id)[0]


def trace_netsuite(conn: Connection, external_id: str, line: int | None = None) -> dict:
    """The journal sent under `external_id` and its lines; with `line` (from 1, in export order) that line's
    postings, entries, events and raw source rows."""
    generation, journal = find_journal(conn, external_id)
    subsidiary, period = parse_external_id(external_id)
    functional = get_subsidiary(conn, subsidiary).functional_currency
    result = {
        "external_id": external_id,
        "journal": {"external_id": journal.external_id, "subsidiary": subsidiary, "period": period,
                    "date": journal.date.isoformat(), "memo": journal.memo, "kind": journal.kind,
                    "version": journal.version, "currency": functional,
                    "debits": fmt(journal.debits), "credits": fmt(journal.credits)},
        "exports": [{"event_id": e["id"], "format": e["payload"]["format"], "file": e["document"],
                     "sha256": e["payload"]["sha256"], "recorded_at": e["recorded_at"], "actor": e["actor"]}
                    for e in generation.events],
        "lines": [_line(i, l) | {"postings": len(l.postings)} for i, l in enumerate(journal.lines, 1)],
        "line": None, "postings": [], "postings_total": None, "entries": [], "events": [], "sources": [],
    }
    if line is None:
        return result
    if not 1 <= line <= len(journal.lines):
        raise NotFound(f"journal {external_id} has {len(journal.lines)} line(s); line {line} does not exist")
    chosen = journal.lines[line - 1]
    rows = _postings(conn, chosen, journal, functional)
    total = sum((Decimal(p["amount"]) for p in rows), Decimal(0))
    result.update(line=_line(line, chosen), postings=rows, postings_total=fmt(total),
                  **_provenance(conn, rows))
    return result


def _line(number: int, line: Line) -> dict:
    t = line.target
    return {"number": number, "account": t.account, "account_id": t.account_id,
            "debit": None if line.debit is None else fmt(line.debit),
            "credit": None if line.credit is None else fmt(line.credit), "memo": line.memo,
            "department": t.department or None, "class": t.klass or None, "location": t.location or None,
            "name": t.name or None, "segments": dict(t.segments), "rounding": line.rounding}


def _postings(conn: Connection, line: Line, journal: Journal, functional: str) -> list[dict]:
    if len(line.postings) > MAX_POSTINGS:
        raise Invalid(f"this line sums {len(line.postings)} postings, more than one answer holds ({MAX_POSTINGS}); "
                      "trace it from the balance (/trace/balance) instead")
    exp = currency_exponent(functional)
    found = []
    ids = list(line.postings)
    for start in range(0, len(ids), 500):
        query = (select(postings.c.id, postings.c.entry_id, entries.c.event_id, entries.c.effective_date,
                        entries.c.currency, accounts.c.name, postings.c.amount, postings.c.functional_amount,
                        postings.c.commodity, postings.c.source_line, postings.c.settlement_id,
                        postings.c.order_id, postings.c.sku, postings.c.marketplace)
                 .join(entries, entries.c.id == postings.c.entry_id)
                 .join(accounts, accounts.c.id == postings.c.account_id)
                 .where(postings.c.id.in_(ids[start:start + 500])))
        found.extend(conn.execute(query))
    rows = []
    for r in sorted(found, key=lambda r: r.id):
        amount = from_minor(r.functional_amount * journal.sign, exp)
        rows.append({"posting_id": r.id, "account": r.name, "amount": fmt(amount), "currency": functional,
                     "transaction_amount": fmt(from_minor(r.amount * journal.sign, currency_exponent(r.currency))),
                     "transaction_currency": r.currency, "entry_id": r.entry_id, "event_id": r.event_id,
                     "date": r.effective_date.isoformat(), "source_line": r.source_line,
                     "settlement_id": r.settlement_id, "order_id": r.order_id, "sku": r.sku,
                     "marketplace": r.marketplace})
    return rows


def _provenance(conn: Connection, rows: list[dict]) -> dict:
    """The entries and events behind the postings, and the raw source row of each posting."""
    entry_ids = sorted({p["entry_id"] for p in rows})
    event_ids = sorted({p["event_id"] for p in rows})
    entry_rows, event_rows = [], {}
    for start in range(0, len(entry_ids), 500):
        entry_rows.extend(conn.execute(select(entries).where(entries.c.id.in_(entry_ids[start:start + 500])))
                          .mappings())
    for start in range(0, len(event_ids), 500):
        for r in conn.execute(select(events).where(events.c.id.in_(event_ids[start:start + 500]))).mappings():
            event_rows[r["id"]] = r
    sources, seen = [], set()
    for p in rows:
        event = event_rows[p["event_id"]]
        line, raw = _raw_row(event, p["source_line"])
        key = (event["id"], line, raw)
        if key not in seen:
            seen.add(key)
            sources.append({"event_id": event["id"], "document": event["source_document"],
                            "sha256": event["source_sha256"], "line": line, "page": event["source_page"],
                            "raw": raw})
    return {
        "entries": [{"id": e["id"], "event_id": e["event_id"], "date": e["effective_date"].isoformat(),
                     "description": e["description"], "state": e["state"], "currency": e["currency"],
                     "rate": e["rate"], "reverses_entry_id": e["reverses_entry_id"],
                     "original_date": e["original_date"].isoformat() if e["original_date"] else None}
                    for e in sorted(entry_rows, key=lambda e: e["id"])],
        "events": [{"id": e["id"], "kind": e["kind"], "idempotency_key": e["idempotency_key"],
                    "source_system": e["source_system"], "document": e["source_document"],
                    "sha256": e["source_sha256"], "line": e["source_line"], "page": e["source_page"],
                    "occurred_at": e["occurred_at"], "recorded_at": e["recorded_at"], "actor": e["actor"]}
                   for e in (event_rows[i] for i in event_ids)],
        "sources": sources,
    }


def _raw_row(event, source_line: int | None) -> tuple[int | None, str]:
    """The posting's own raw row when the event groups several (a flat file's transaction: its raw rows joined
    by newlines, in the order of its payload's `amounts`, each with its `line`); else the event's whole raw."""
    raw = event["raw"]
    if source_line is None or event["payload"] is None:
        return event["source_line"], raw
    try:
        amounts = json.loads(event["payload"]).get("amounts")
    except (ValueError, AttributeError):
        amounts = None
    parts = raw.split("\n")
    if isinstance(amounts, list) and len(amounts) == len(parts):
        for amount, part in zip(amounts, parts):
            if isinstance(amount, dict) and amount.get("line") == source_line:
                return source_line, part
    return source_line, raw


def _like_prefix(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def trace_balance(conn: Connection, subsidiary: str, account: str, as_of: date | None = None,
                  after: int | None = None, limit: int = 100) -> dict:
    """The postings that make up an account's balance (the account and its children) as of a date, by posting
    id a page at a time, with their entries, events and sources; the totals cover every page."""
    functional = get_subsidiary(conn, subsidiary).functional_currency
    exp = currency_exponent(functional)
    account_ids = [r.id for r in conn.execute(select(accounts.c.id).where(
        accounts.c.subsidiary == subsidiary,
        or_(accounts.c.name == account, accounts.c.name.like(_like_prefix(account) + ":%", escape="\\"))))]
    if not account_ids:
        raise NotFound(f"subsidiary {subsidiary} has no account {account!r}")
    where = [postings.c.account_id.in_(account_ids), entries.c.subsidiary == subsidiary]
    if as_of is not None:
        where.append(entries.c.effective_date <= as_of)
    totals = {r.state: r.total for r in conn.execute(
        select(entries.c.state, func.sum(postings.c.functional_amount).label("total"))
        .join(entries, entries.c.id == postings.c.entry_id).where(*where).group_by(entries.c.state))}
    query = (select(postings.c.id, postings.c.entry_id, entries.c.event_id, entries.c.effective_date,
                    entries.c.state, entries.c.currency, entries.c.description, accounts.c.name,
                    postings.c.commodity, postings.c.amount, postings.c.functional_amount, postings.c.source_line,
                    events.c.source_document, events.c.source_line.label("event_line"), events.c.source_page)
             .join(entries, entries.c.id == postings.c.entry_id)
             .join(accounts, accounts.c.id == postings.c.account_id)
             .join(events, events.c.id == entries.c.event_id)
             .where(*where).order_by(postings.c.id).limit(limit + 1))
    if after is not None:
        query = query.where(postings.c.id > after)
    items = [{"posting_id": r.id, "account": r.name, "date": r.effective_date.isoformat(), "state": r.state,
              "entry_id": r.entry_id, "event_id": r.event_id, "description": r.description,
              "commodity": r.commodity, "amount": fmt(from_minor(r.amount, currency_exponent(r.currency))),
              "currency": r.currency, "functional_amount": fmt(from_minor(r.functional_amount, exp)),
              "document": r.source_document, "line": r.source_line or r.event_line, "page": r.source_page}
             for r in conn.execute(query)]
    more = len(items) > limit
    items = items[:limit]
    return {"subsidiary": subsidiary, "account": account, "as_of": as_of.isoformat() if as_of else None,
            "functional_currency": functional, "total": fmt(from_minor(totals.get("posted") or 0, exp)),
            "pending": fmt(from_minor(totals.get("pending") or 0, exp)), "items": items,
            "next": items[-1]["posting_id"] if more and items else None}
