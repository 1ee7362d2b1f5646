"""The exception queue is derived from the journal, not kept beside it.

An open exception is a posted amount in Assets:Suspense:Amazon (one suspense posting) with no reclass yet. Once the mapping
has the missing triple, `reclass` posts, per exception, an event of kind `suspense_reclass` with an entry that
moves the amount from suspense to the mapped account (never an edit of the original), keyed
`reclass:<event>:<posting>` so it happens once per amount.

Inventory ledger rows that posted nothing are `inventory_exception` events (inventory.exceptions lists them, open
until a movement of the same row posts); `retry_inventory` runs the open ones again after the operator fixed the
cause (imported the catalog identity, received the units).
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import Connection, Engine, func, select

from ledger_service.chart.service import get_subsidiary
from ledger_service.errors import Invalid
from ledger_service.eventlog.model import EventDraft, Source, canonical_json
from ledger_service.journal.model import EntryDraft, money_posting
from ledger_service.journal.service import live_entries
from ledger_service.journal.writer import post_batch
from ledger_service.mapping.loader import mapping_for
from ledger_service.money import currency_exponent, fmt, from_minor
from ledger_service.posting.amazon import SUSPENSE
from ledger_service.settings import Settings
from ledger_service.store.engine import write_transaction
from ledger_service.store.tables import accounts, entries, events, postings


def _suspense_postings(conn: Connection, subsidiary: str) -> list[dict]:
    reclassed = {r.idempotency_key for r in conn.execute(
        select(events.c.idempotency_key).where(events.c.subsidiary == subsidiary, events.c.kind == "suspense_reclass"))}
    q = (
        select(events.c.id.label("event_id"), postings.c.id.label("posting_id"), events.c.source_system,
               events.c.source_document, func.coalesce(postings.c.source_line, events.c.source_line).label("source_line"),
               events.c.source_page, entries.c.effective_date, entries.c.currency, postings.c.amount,
               postings.c.settlement_id, postings.c.order_id, postings.c.marketplace, postings.c.sku,
               postings.c.dimensions)
        .join(entries, entries.c.event_id == events.c.id).join(postings, postings.c.entry_id == entries.c.id)
        .join(accounts, accounts.c.id == postings.c.account_id)
        .where(events.c.subsidiary == subsidiary, accounts.c.name == SUSPENSE, entries.c.state == "posted",
               events.c.kind == "amazon_amount", live_entries())  # not what a flat file superseded
        .order_by(events.c.id, postings.c.id)
    )
    rows = []
    for r in conn.execute(q).mappings():
        amount = -from_minor(r["amount"], currency_exponent(r["currency"]))  # as Amazon signed it
        dims = json.loads(r["dimensions"] or "{}")
        rows.append({
            "event_id": r["event_id"], "posting_id": r["posting_id"], "amazon_type": dims.get("amazon_type"),
            "amount": amount,
            "currency": r["currency"], "date": r["effective_date"], "settlement_id": r["settlement_id"],
            "order_id": r["order_id"], "marketplace": r["marketplace"], "sku": r["sku"],
            "source": {"system": r["source_system"], "document": r["source_document"], "line": r["source_line"],
                       "page": r["source_page"]},
            "key": reclass_key(r["event_id"], r["posting_id"]),
            "status": "reclassed" if reclass_key(r["event_id"], r["posting_id"]) in reclassed else "open",
        })
    return rows


def reclass_key(event_id: int, posting_id: int) -> str:
    """One reclass per suspense posting: an Amazon transaction (one event) may hold several unmapped amounts."""
    return f"reclass:{event_id}:{posting_id}"


def exceptions(conn: Connection, subsidiary: str, include_closed: bool = False) -> list[dict]:
    get_subsidiary(conn, subsidiary)  # an unknown code is named (404), not answered with an empty queue
    rows = [r for r in _suspense_postings(conn, subsidiary) if include_closed or r["status"] == "open"]
    return [{k: v for k, v in r.items() if k != "key"} | {"amount": fmt(r["amount"]), "date": r["date"].isoformat()}
            for r in rows]


LATE_KIND = "late_entries_posted"


def late_key(event_id: int) -> str:
    return f"late:{event_id}"


def late_refused(conn: Connection, subsidiary: str, include_posted: bool = False) -> list[dict]:
    """Events whose entries were dated in a closed period under the `refuse` policy (periods.model): kept in the
    log without entries, with the entries as drafted, each an open item until `post_late` posts them (once their
    period is reopened, or the policy is next_open). A scan of the subsidiary's events by payload: such events
    are rare and only written while a period is closed."""
    get_subsidiary(conn, subsidiary)
    posted = {r.idempotency_key for r in conn.execute(
        select(events.c.idempotency_key).where(events.c.subsidiary == subsidiary, events.c.kind == LATE_KIND))}
    rows = conn.execute(
        select(events.c.id, events.c.kind, events.c.payload, events.c.source_system, events.c.source_document,
               events.c.source_line, events.c.source_page, events.c.recorded_at)
        .where(events.c.subsidiary == subsidiary, events.c.payload.like('%"late_refused":%'))
        .order_by(events.c.id))
    out = []
    for r in rows:
        note = json.loads(r.payload).get("late_refused")
        if not isinstance(note, dict):
            continue
        status = "posted" if late_key(r.id) in posted else "open"
        if status == "posted" and not include_posted:
            continue
        out.append({"event_id": r.id, "kind": r.kind, "date": note.get("date"), "period": note.get("period"),
                    "entries": len(note.get("entries") or ()), "status": status, "drafts": note.get("entries") or [],
                    "source": {"system": r.source_system, "document": r.source_document, "line": r.source_line,
                               "page": r.source_page},
                    "recorded_at": r.recorded_at.isoformat(timespec="seconds")})
    return out


def post_late(engine: Engine, subsidiary: str, actor: str | None = None) -> dict:
    """Post the entries of every refused late event, as drafted, each through an event of its own keyed
    `late:<event id>` (so once). The writer places them again: into their period if it has been reopened, else
    into the first open one under next_open; still refused under `refuse` while the period is closed."""
    from ledger_service.journal.model import draft_from_dict

    with write_transaction(engine) as conn:
        items = []
        for item in late_refused(conn, subsidiary):
            drafts = [draft_from_dict(subsidiary, d) for d in item["drafts"]]
            raw = canonical_json({"event_id": item["event_id"]})
            event = EventDraft(subsidiary=subsidiary, kind=LATE_KIND,
                               occurred_at=datetime.combine(drafts[0].date, datetime.min.time()),
                               idempotency_key=late_key(item["event_id"]), raw=raw,
                               source=Source(system="ledger", document=f"event {item['event_id']}"))
            items.append((event, drafts))
        results = post_batch(conn, items, actor=actor)
        still = [item for item, result in zip(items, results) if not result.entry_ids]
        if still:
            raise Invalid(f"{len(still)} late event(s) would be refused again: their period is still closed under "
                          "late_entries = refuse; reopen it (`ledger-service reopen`) or set --late-entries next_open")
    return {"posted": len(items), "entries": sum(len(r.entry_ids) for r in results)}


def reclass(engine: Engine, subsidiary: str, settings: Settings | None = None) -> dict:
    """Move every open exception whose triple now has a mapping out of suspense."""
    settings = settings or Settings.from_env()
    with write_transaction(engine) as conn:
        mapping = mapping_for(conn, subsidiary, settings.accounts_dir)
        items, still_open = [], 0
        for r in _suspense_postings(conn, subsidiary):
            if r["status"] != "open":
                continue
            triple = tuple(r["amazon_type"].split(" / "))
            rule = mapping.resolve(r["source"]["system"], triple,
                                   r["marketplace"])
            if rule is None:
                still_open += 1
                continue
            dims = dict(settlement_id=r["settlement_id"], order_id=r["order_id"], marketplace=r["marketplace"],
                        sku=r["sku"], amazon_type=r["amazon_type"])
            role = {"role": rule.role} if rule.role else {}  # gross to net reads the reclassed amount by its role
            entry = EntryDraft(subsidiary, r["date"], r["currency"],
                               f"Reclass {r['amazon_type']} from suspense to {rule.account}",
                               (money_posting(SUSPENSE, r["amount"], r["source"]["line"], **dims),
                                money_posting(rule.account, -r["amount"], r["source"]["line"], **dims, **role)))
            event = EventDraft(subsidiary=subsidiary, kind="suspense_reclass",
                               occurred_at=datetime.combine(r["date"], datetime.min.time()),
                               idempotency_key=r["key"],
                               raw=canonical_json({"event_id": r["event_id"], "account": rule.account}),
                               source=Source(system="ledger", document=f"event {r['event_id']}"))
            items.append((event, [entry]))
        post_batch(conn, items)
    return {"reclassed": len(items), "still_open": still_open}


def inventory_exceptions(conn: Connection, subsidiary: str, include_resolved: bool = False) -> list[dict]:
    """Inventory ledger rows in the queue (inventory.exceptions): `open` (posted nothing), `flagged` (posted at
    the current cost, to review), and with `include_resolved` the rows that posted since (`resolved`)."""
    from ledger_service.inventory.exceptions import inventory_exceptions as listed

    return listed(conn, subsidiary, include_resolved)


def retry_inventory(engine: Engine, subsidiary: str, actor: str | None = None) -> dict:
    """Run the open inventory exception items again from their stored rows, as an ingest would: what resolves
    now (the catalog identity imported, the units received) posts; the rest stays open."""
    from ledger_service.inventory.ledger_ingest import retry_exceptions

    with write_transaction(engine) as conn:
        return retry_exceptions(conn, subsidiary, actor=actor)
