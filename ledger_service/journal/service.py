"""Journal services: post one event with its entries, reverse an entry, read an entry with its links."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Connection, Engine, and_, select

from ledger_service.chart.service import get_subsidiary
from ledger_service.errors import Invalid, NotFound
from ledger_service.eventlog.model import EventDraft, Source, canonical_json
from ledger_service.journal.model import DIMENSIONS, EntryDraft, Posting, reversal_of
from ledger_service.journal.writer import PostResult, post_batch
from ledger_service.money import currency_exponent, fmt, from_minor
from ledger_service.store.engine import write_transaction
from ledger_service.store.tables import accounts, commodities, entries, events, postings


def live_entries():
    """SQL condition: the entry is neither a reversal nor reversed. Reports that show what stands (reconciliation,
    gross to net, the exception queue, what a flat file may still supersede) read only these."""
    reversed_ids = select(entries.c.reverses_entry_id).where(entries.c.reverses_entry_id.is_not(None))
    return and_(entries.c.reverses_entry_id.is_(None), entries.c.id.not_in(reversed_ids))


def post(engine: Engine, event: EventDraft, drafts: list[EntryDraft], actor: str | None = None) -> PostResult:
    with write_transaction(engine) as conn:
        return post_batch(conn, [(event, drafts)], actor)[0]


def reverse(engine: Engine, entry_id: int, reason: str, on: date | None = None,
            idempotency_key: str | None = None, actor: str | None = None) -> PostResult:
    """Post the reversing entry of `entry_id` as its own event, linked to the original, with a reason."""
    if not reason or not reason.strip():
        raise Invalid("a reversal needs a reason")
    with write_transaction(engine) as conn:
        original = load_entry(conn, entry_id)
        on = on or original.date
        key = idempotency_key or f"reverse-entry-{entry_id}"
        payload = {"reverses_entry_id": entry_id, "reason": reason, "date": on}
        event = EventDraft(
            subsidiary=original.subsidiary,
            kind="reversal",
            occurred_at=datetime.combine(on, datetime.min.time()),
            idempotency_key=key,
            raw=canonical_json(payload),
            source=Source(system="ledger", document=f"entry {entry_id}"),
        )
        return post_batch(conn, [(event, [reversal_of(original, on, reason, entry_id)])], actor)[0]


def load_entry(conn: Connection, entry_id: int) -> EntryDraft:
    """Rebuild the draft of a stored entry (exact amounts, functional amounts included)."""
    row, _sub, exp, fexp = _entry_header(conn, entry_id)
    result = []
    for p in _posting_rows(conn, [entry_id]):
        units = p["cost_per_unit"] is not None
        dims = tuple((k, p[k]) for k in DIMENSIONS if p[k] is not None) + _extra(p["dimensions"])
        result.append(Posting(
            account=p["account"],
            amount=from_minor(p["amount"], exp),
            units=Decimal(p["quantity"]) if units else None,
            commodity=p["commodity"] if units else None,
            cost_per_unit=Decimal(p["cost_per_unit"]) if units else None,
            functional_amount=from_minor(p["functional_amount"], fexp),
            dimensions=tuple(sorted(dims)),
            source_line=p["source_line"],
        ))
    return EntryDraft(row["subsidiary"], row["effective_date"], row["currency"], row["description"],
                      tuple(result), Decimal(row["rate"]), row["state"], row["reverses_entry_id"], row["reason"])


def entry_subsidiary(conn: Connection, entry_id: int) -> str:
    """The subsidiary an entry belongs to (404 when there is no such entry): what a scope check asks first."""
    code = conn.execute(select(entries.c.subsidiary).where(entries.c.id == entry_id)).scalar()
    if code is None:
        raise NotFound(f"entry {entry_id} does not exist")
    return code


def _entry_header(conn: Connection, entry_id: int):
    """The entry row, its subsidiary, and the exponents of its currency and of the functional currency."""
    row = conn.execute(select(entries).where(entries.c.id == entry_id)).mappings().first()
    if row is None:
        raise NotFound(f"entry {entry_id} does not exist")
    sub = get_subsidiary(conn, row["subsidiary"])
    return row, sub, currency_exponent(row["currency"]), currency_exponent(sub.functional_currency)


def _extra(text: str | None) -> tuple:
    return tuple(json.loads(text).items()) if text else ()


def _posting_rows(conn: Connection, entry_ids: list[int]) -> list[dict]:
    query = (
        select(postings, accounts.c.name.label("account"), commodities.c.kind, commodities.c.exponent)
        .join(accounts, accounts.c.id == postings.c.account_id)
        .join(commodities, commodities.c.code == postings.c.commodity)
        .where(postings.c.entry_id.in_(entry_ids))
        .order_by(postings.c.id)
    )
    return [dict(r) for r in conn.execute(query).mappings()]


def entry_view(conn: Connection, entry_id: int) -> dict:
    """An entry as the API shows it: postings, source event, links (reverses / reversed by)."""
    row, sub, exp, fexp = _entry_header(conn, entry_id)
    event = conn.execute(
        select(events.c.id, events.c.kind, events.c.idempotency_key, events.c.source_system,
               events.c.source_document, events.c.source_line, events.c.source_page).where(events.c.id == row["event_id"])
    ).mappings().first()
    reversed_by = conn.execute(select(entries.c.id).where(entries.c.reverses_entry_id == entry_id)).scalar()
    lines = []
    for p in _posting_rows(conn, [entry_id]):
        line = {
            "id": p["id"],
            "account": p["account"],
            "commodity": p["commodity"],
            "amount": fmt(from_minor(p["amount"], exp)),
            "functional_amount": fmt(from_minor(p["functional_amount"], fexp)),
            "dimensions": {k: p[k] for k in DIMENSIONS if p[k]}
            | dict(_extra(p["dimensions"])),
        }
        if p["source_line"] is not None:
            line["source_line"] = p["source_line"]
        if p["kind"] == "units":
            line["units"] = fmt(Decimal(p["quantity"]))
            line["cost_per_unit"] = p["cost_per_unit"]
        lines.append(line)
    return {
        "id": row["id"],
        "subsidiary": row["subsidiary"],
        "date": row["effective_date"].isoformat(),
        "currency": row["currency"],
        "functional_currency": sub.functional_currency,
        "rate": row["rate"],
        "description": row["description"],
        "state": row["state"],
        "reason": row["reason"],
        "links": {"reverses": row["reverses_entry_id"], "reversed_by": reversed_by},
        "source_events": [dict(event) | {"href": f"/events/{event['id']}"}],
        "postings": lines,
    }
