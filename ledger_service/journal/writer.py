"""Write events with their entries: one database transaction, idempotent, chained, with running balances.

The unit of work is a batch of (event, entries) pairs, so that ingest writes thousands of rows per transaction
with executemany instead of row by row. For each batch:

1. lock the chain heads of the batch's subsidiaries, in code order (a fixed order, so two writers never deadlock);
2. drop events whose idempotency key is already in the log with the same input hash; refuse (409) a known key with
   other content;
3. balance every entry (journal.model.balance) and resolve accounts, before anything is written;
4. insert events, entries and postings, add the batch's deltas to the daily balances, move the chain heads.

Steps 1-3 and the rows for step 4 are `prepare_batch`; the writes are `write_batch`, mostly waiting on the
database, so that ingest can run them on a second thread while it prepares the next batch. Everything commits
together or not at all: a batch with one bad entry writes nothing.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import lru_cache
from typing import Sequence

from sqlalchemy import Connection, select
from sqlalchemy.exc import DBAPIError, IntegrityError

from ledger_service.chart.service import account_refs, commodity_kinds, ensure_commodity, recorded_setting, utcnow
from ledger_service.errors import Conflict, Invalid, NotFound
from ledger_service.eventlog.model import (ENTRY_FIELDS_V2, EVENT_FIELDS_V2, POSTING_FIELDS_V2, EventDraft,
                                           canonical_json, chain_hash, event_record_v2, late_part, naive_utc,
                                           versioned_record)
from ledger_service.journal.model import DIMENSIONS, EntryDraft, balance, draft_as_dict
from ledger_service.money import currency_exponent, to_minor
from ledger_service.periods.model import DEFAULT_LATE_POLICY, Refused, place
from ledger_service.store.bulk import allocate_ids, prepare_rows, upsert_add, write_rows
from ledger_service.store.tables import balances, chain_heads, entries, events, periods, postings, subsidiaries

CHUNK = 500  # keys per IN (...) query
BALANCE_KEYS = ("subsidiary", "account_id", "commodity", "weight_currency", "state", "day")
EVENT_COLUMNS = ("subsidiary", "seq", "kind", "occurred_at", "recorded_at", "idempotency_key", "input_hash",
                 "source_system", "source_document", "source_sha256", "source_line", "source_page", "raw", "payload",
                 "actor", "prev_hash", "hash")
ENTRY_COLUMNS = ("subsidiary", "effective_date", "currency", "rate", "description", "state", "reverses_entry_id",
                 "reason", "original_date")
POSTING_COLUMNS = ("account_id", "commodity", "quantity", "cost_per_unit", "amount", "functional_amount",
                   *DIMENSIONS, "dimensions", "source_line")


@dataclass(frozen=True)
class PostResult:
    event_id: int
    entry_ids: tuple[int, ...]
    duplicate: bool = False


@dataclass(frozen=True)
class PreparedBatch:
    """A batch checked, balanced, chained and serialised: only its writes are left (write_batch)."""

    results: list[PostResult]
    inserts: tuple = ()  # store.bulk.PreparedRows for events, entries, postings
    balances: list[tuple] = field(default_factory=list)  # daily balance deltas, in lock order
    heads: tuple[tuple[str, int, str], ...] = ()  # (subsidiary, seq, hash) after the batch


def post_batch(conn: Connection, items: Sequence[tuple[EventDraft, Sequence[EntryDraft]]],
               actor: str | None = None) -> list[PostResult]:
    """Post a batch inside the caller's transaction (see store.engine.write_transaction)."""
    return write_batch(conn, prepare_batch(conn, items, actor))


def prepare_batch(conn: Connection, items: Sequence[tuple[EventDraft, Sequence[EntryDraft]]],
                  actor: str | None = None) -> PreparedBatch:
    """Everything up to the writes: reads the chain heads and known keys, balances, allocates ids, hashes.

    `actor` is who writes the batch (`token:NAME` through the API, None from the CLI), stored on each new event
    and covered by its chain hash; an event already in the log keeps the actor it was first written by."""
    if not items:
        return PreparedBatch([])
    subs = sorted({event.subsidiary for event, _ in items})
    heads = lock_chain_heads(conn, subs)
    context = {code: _SubsidiaryContext.load(conn, code) for code in subs}
    known = _existing_events(conn, items)
    results: list[PostResult | None] = [None] * len(items)
    fresh: list[tuple[int, EventDraft, list[EntryDraft]]] = []
    seen: dict[tuple[str, str], tuple[int, str]] = {}

    for i, (event, drafts) in enumerate(items):
        key = (event.subsidiary, event.idempotency_key)
        input_hash = event.input_hash
        prior = known.get(key)
        if prior is not None:
            _same_or_conflict(event, input_hash, prior[1], f"event {prior[0]}")
            results[i] = PostResult(prior[0], _entry_ids_of(conn, prior[0]), duplicate=True)
            continue
        if key in seen:
            _same_or_conflict(event, input_hash, seen[key][1], f"item {seen[key][0] + 1} of this batch")
            continue  # filled in after insert from the first occurrence
        seen[key] = (i, input_hash)
        ctx = context[event.subsidiary]
        balanced = []
        for draft in drafts:
            if draft.subsidiary != event.subsidiary:
                raise Invalid(f"entry for subsidiary {draft.subsidiary} cannot come from an event of {event.subsidiary}")
            balanced.append(balance(draft, ctx.functional_currency))
        if ctx.closed and balanced:
            event, balanced = _place_in_open_periods(event, balanced, ctx)
        fresh.append((i, event, balanced))

    _check_reversals(conn, [d for _, _, ds in fresh for d in ds])
    kinds = _ensure_commodities(conn, [d for _, _, ds in fresh for d in ds])
    if not fresh:
        return PreparedBatch(results)  # type: ignore[arg-type]  # every item was already in the log
    recorded_at = utcnow()
    n_entries = sum(len(drafts) for _, _, drafts in fresh)
    event_ids = allocate_ids(conn, events, len(fresh))
    entry_ids = iter(allocate_ids(conn, entries, n_entries))
    event_tuples, entry_tuples, posting_tuples, flat_postings, per_event_entry_ids = [], [], [], [], []
    for (i, event, drafts), event_id in zip(fresh, event_ids):
        sub = event.subsidiary
        ctx = context[sub]
        seq, prev = heads[sub]
        erow = _event_row(event, seq + 1, recorded_at, seen[(sub, event.idempotency_key)][1], actor)
        chain_entries, ids = [], []
        for d in drafts:
            entry_id = next(entry_ids)
            ids.append(entry_id)
            e_row = _entry_row(d)
            entry_tuples.append((entry_id, event_id, *e_row))
            chain_postings = []
            for p in d.postings:
                row, record = _posting_row(d, p, ctx, kinds)
                posting_tuples.append((entry_id, sub, *row))
                chain_postings.append(record)
                flat_postings.append((sub, row[0], row[1], d.currency, d.state, d.date, row[2], row[4], row[5]))
            chain_entries.append(_entry_record(entry_id, event_id, e_row, chain_postings))
        erow["prev_hash"] = prev
        # the hash covers the event's id and its subsidiary's functional currency too (eventlog.model, version 2)
        event_part = event_record_v2({**erow, "id": event_id, "functional_currency": ctx.functional_currency})
        erow["hash"] = chain_hash(prev, versioned_record(event_part, chain_entries))
        heads[sub] = (seq + 1, erow["hash"])
        event_tuples.append((event_id, *(erow[c] for c in EVENT_COLUMNS)))
        per_event_entry_ids.append(tuple(ids))
    for (i, _event, _drafts), event_id, ids in zip(fresh, event_ids, per_event_entry_ids):
        results[i] = PostResult(event_id, ids)
    for i, (event, _drafts) in enumerate(items):
        if results[i] is None:  # a repeat of an earlier item of the same batch
            first = seen[(event.subsidiary, event.idempotency_key)][0]
            results[i] = PostResult(results[first].event_id, results[first].entry_ids, duplicate=True)
    inserts = (prepare_rows(conn, events, ("id", *EVENT_COLUMNS), event_tuples),
               prepare_rows(conn, entries, ("id", "event_id", *ENTRY_COLUMNS), entry_tuples),
               prepare_rows(conn, postings, ("entry_id", "subsidiary", *POSTING_COLUMNS), posting_tuples))
    return PreparedBatch(results, inserts, _balance_rows(flat_postings),  # type: ignore[arg-type]
                         tuple((code, *heads[code]) for code in subs))


def write_batch(conn: Connection, batch: PreparedBatch) -> list[PostResult]:
    """The writes of a prepared batch: rows, daily and month-end balances, chain heads. Mostly waiting on the
    database, so that ingest can run it on a second thread while it prepares the next batch (see ingest.service)."""
    try:
        for prepared in batch.inserts:
            write_rows(conn, prepared)
    except (IntegrityError, conn.dialect.loaded_dbapi.IntegrityError) as exc:  # COPY/executemany use the driver
        raise _integrity_conflict(exc) from None
    try:
        upsert_add(conn, balances, BALANCE_KEYS, ("quantity", "amount", "functional_amount", "postings"),
                   batch.balances)
    except (DBAPIError, conn.dialect.loaded_dbapi.Error) as exc:  # the raw cursor raises the driver's errors
        # SQLite: migration 0007's guard; PostgreSQL: "bigint out of range"
        if "balance overflow" in str(exc) or "out of range" in str(exc):
            raise Invalid("a daily balance would overflow a 64-bit integer of minor units: nothing of this batch "
                          "was written") from None
        raise
    add_to_month_balances(conn, batch.balances)
    for code, seq, head in batch.heads:
        conn.execute(chain_heads.update().where(chain_heads.c.subsidiary == code).values(seq=seq, hash=head))
    return batch.results


class _SubsidiaryContext:
    def __init__(self, code: str, functional_currency: str, accounts: dict[str, tuple[int, str]],
                 closed: frozenset[str] = frozenset(), late_policy: str = DEFAULT_LATE_POLICY):
        self.code = code
        self.functional_currency = functional_currency
        self.functional_exponent = currency_exponent(functional_currency)
        self.accounts = accounts  # name -> (id, type): the chain hash covers both
        self.closed = closed  # closed periods (YYYY-MM), read under the chain-head lock
        self.late_policy = late_policy

    @classmethod
    def load(cls, conn: Connection, code: str) -> "_SubsidiaryContext":
        row = conn.execute(select(subsidiaries.c.functional_currency).where(subsidiaries.c.code == code)).first()
        if row is None:
            raise NotFound(f"unknown subsidiary {code!r}")
        return cls(code, row.functional_currency, account_refs(conn, code), *late_rules(conn, code))

    def account(self, name: str) -> tuple[int, str]:
        try:
            return self.accounts[name]
        except KeyError:
            raise Invalid(
                f"unknown account {name!r} in subsidiary {self.code}; add it to accounts/ and run `ledger-service init`"
            ) from None


def late_rules(conn: Connection, code: str) -> tuple[frozenset[str], str]:
    """A subsidiary's closed periods (YYYY-MM) and its late_entries policy: what the writer places entries by
    (periods.model.place). Read under the chain-head lock, they hold until the transaction ends."""
    closed = frozenset(r.period for r in conn.execute(
        select(periods.c.period).where(periods.c.subsidiary == code, periods.c.status == "closed")))
    policy = recorded_setting(conn, code, "late_entries", DEFAULT_LATE_POLICY) if closed else DEFAULT_LATE_POLICY
    return closed, policy


def _place_in_open_periods(event: EventDraft, drafts: list[EntryDraft], ctx: _SubsidiaryContext
                           ) -> tuple[EventDraft, list[EntryDraft]]:
    """Entries dated in a closed period move to the first open one (their date kept as original_date), or, under
    the `refuse` policy, the event is kept without its entries and says why (the exception queue lists it)."""
    try:
        return event, [place(d, ctx.closed, ctx.late_policy) for d in drafts]
    except Refused as refused:
        # the drafts are kept, so that `exceptions post-late` can post them as drafted once the period reopens
        note = {"late_refused": {"period": refused.period, "date": refused.day.isoformat(),
                                 "entries": [draft_as_dict(d) for d in drafts]}}
        payload = {**event.payload, **note} if isinstance(event.payload, dict) else {"parsed": event.payload, **note}
        return replace(event, payload=payload), []


def lock_chain_heads(conn: Connection, subs: list[str]) -> dict[str, tuple[int, str]]:
    query = select(chain_heads).where(chain_heads.c.subsidiary.in_(subs)).order_by(chain_heads.c.subsidiary)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    heads = {r.subsidiary: (r.seq, r.hash) for r in conn.execute(query)}
    missing = [s for s in subs if s not in heads]
    if missing:
        raise NotFound(f"unknown subsidiary {missing[0]!r}; add it with `ledger-service subsidiaries add`")
    return heads


def _existing_events(conn: Connection, items) -> dict[tuple[str, str], tuple[int, str]]:
    by_sub: dict[str, set[str]] = defaultdict(set)
    for event, _ in items:
        by_sub[event.subsidiary].add(event.idempotency_key)
    found = {}
    for sub, keys in by_sub.items():
        keys = sorted(keys)
        for start in range(0, len(keys), CHUNK):
            rows = conn.execute(
                select(events.c.id, events.c.idempotency_key, events.c.input_hash).where(
                    events.c.subsidiary == sub, events.c.idempotency_key.in_(keys[start : start + CHUNK])
                )
            )
            for r in rows:
                found[(sub, r.idempotency_key)] = (r.id, r.input_hash)
    return found


def _same_or_conflict(event: EventDraft, input_hash: str, prior_hash: str, where: str) -> None:
    if input_hash != prior_hash:
        raise Conflict(
            f"idempotency key {event.idempotency_key!r} of subsidiary {event.subsidiary} was already used by {where} "
            f"with different content; use a new key, or reverse the original and post again",
            idempotency_key=event.idempotency_key,
        )


def _entry_ids_of(conn: Connection, event_id: int) -> tuple[int, ...]:
    rows = conn.execute(select(entries.c.id).where(entries.c.event_id == event_id).order_by(entries.c.id))
    return tuple(r.id for r in rows)


def _check_reversals(conn: Connection, drafts: list[EntryDraft]) -> None:
    targets = [d for d in drafts if d.reverses_entry_id is not None]
    ids = [d.reverses_entry_id for d in targets]
    if len(set(ids)) != len(ids):
        raise Conflict("the same entry cannot be reversed twice in one batch")
    for draft in targets:
        row = conn.execute(select(entries.c.subsidiary).where(entries.c.id == draft.reverses_entry_id)).first()
        if row is None:
            raise NotFound(f"entry {draft.reverses_entry_id} does not exist")
        if row.subsidiary != draft.subsidiary:
            raise Invalid(f"entry {draft.reverses_entry_id} belongs to subsidiary {row.subsidiary}")
        by = conn.execute(select(entries.c.id).where(entries.c.reverses_entry_id == draft.reverses_entry_id)).first()
        if by is not None:
            raise Conflict(f"entry {draft.reverses_entry_id} was already reversed by entry {by.id}")


def _ensure_commodities(conn: Connection, drafts: list[EntryDraft]) -> dict[str, tuple[str, int]]:
    """Every commodity the drafts use, created if new: code -> (kind, exponent) as stored (the chain hash covers
    them, so that a commodity changed later no longer matches the postings hashed with it)."""
    wanted: dict[str, str] = {}
    for d in drafts:
        wanted[d.currency] = "currency"
        for p in d.postings:
            if p.is_units:
                if wanted.get(p.commodity) == "currency":
                    raise Invalid(f"sku {p.commodity!r} collides with a currency code")
                wanted[p.commodity] = "units"
    have = commodity_kinds(conn, list(wanted))
    for code, kind in wanted.items():
        if code in have:
            if have[code][0] != kind:
                raise Conflict(f"commodity {code!r} is a {have[code][0]}, it cannot be used as {kind}")
        else:
            have[code] = ensure_commodity(conn, code, kind)
    return have


def _event_row(event: EventDraft, seq: int, recorded_at, input_hash: str, actor: str | None) -> dict:
    return {
        "subsidiary": event.subsidiary,
        "seq": seq,
        "kind": event.kind,
        "occurred_at": naive_utc(event.occurred_at),
        "recorded_at": recorded_at,
        "idempotency_key": event.idempotency_key,
        "input_hash": input_hash,
        "source_system": event.source.system,
        # an absent source field is None, never "": one stored form whatever the caller gave
        "source_document": event.source.document or None,
        "source_sha256": event.source.sha256 or None,
        "source_line": event.source.line,
        "source_page": event.source.page or None,
        "raw": event.raw,
        "payload": None if event.payload is None else canonical_json(event.payload),
        "actor": actor or None,  # "" is no actor: one stored form, and the chain hash leaves it out as for None
    }


def _entry_row(d: EntryDraft) -> tuple:
    """The entry's columns, in ENTRY_COLUMNS order."""
    return (d.subsidiary, d.date, d.currency, format(d.rate.normalize(), "f") if d.rate != 1 else "1",
            d.description, d.state, d.reverses_entry_id, d.reason or None, d.original_date)


# _posting_row, _entry_record and prepare_batch name these fields themselves (a dict literal per posting is the
# fast form); eventlog.model.chain_record reads them back from the stored rows
assert DIMENSIONS == ("marketplace", "settlement_id", "order_id", "sku", "location")
assert POSTING_FIELDS_V2 == ("subsidiary", "account_id", "account", "account_type", "commodity", "commodity_kind",
                             "commodity_exponent", "quantity", "cost_per_unit", "amount", "functional_amount",
                             *DIMENSIONS, "dimensions", "source_line")
assert ENTRY_FIELDS_V2 == ("id", "event_id", "subsidiary", "effective_date", "currency", "rate", "description",
                           "state", "reverses_entry_id", "reason")
assert set(EVENT_FIELDS_V2) == {*EVENT_COLUMNS, "id", "functional_currency"} - {"prev_hash", "hash"}


def _posting_row(d: EntryDraft, p, ctx: _SubsidiaryContext, kinds: dict[str, tuple[str, int]]) -> tuple[tuple, dict]:
    """The posting's columns in POSTING_COLUMNS order, and what the chain hashes of it (eventlog.chain_record's
    version 2 posting fields, built here directly: this runs for every posting ingest writes)."""
    extra = dict(p.dimensions)  # what is left after the named dimensions (DIMENSIONS) are taken out
    take = extra.pop
    marketplace, settlement_id, order_id = take("marketplace", None), take("settlement_id", None), take("order_id", None)
    sku, location = take("sku", None), take("location", None)
    exp = currency_exponent(d.currency)
    amount = _minor(p.amount, exp, "amount")
    if p.functional_amount is p.amount and ctx.functional_exponent == exp:  # the functional currency's own entry
        functional = amount
    else:
        functional = _minor(p.functional_amount, ctx.functional_exponent, "functional amount")
    if p.units is None:
        commodity, quantity = d.currency, amount
    else:
        commodity, quantity = p.commodity, to_minor(p.units, 0, "units")
    cost = None if p.cost_per_unit is None else format(p.cost_per_unit, "f")
    dimensions = _extra_json(tuple(extra.items())) if extra else None
    account_id, account_type = ctx.account(p.account)
    commodity_kind, commodity_exponent = kinds[commodity]
    row = (account_id, commodity, quantity, cost, amount, functional, marketplace, settlement_id,
           order_id, sku, location, dimensions, p.source_line)
    record = {"subsidiary": ctx.code, "account_id": account_id, "account": p.account, "account_type": account_type,
              "commodity": commodity, "commodity_kind": commodity_kind, "commodity_exponent": commodity_exponent,
              "quantity": quantity, "cost_per_unit": cost, "amount": amount, "functional_amount": functional,
              "marketplace": marketplace, "settlement_id": settlement_id, "order_id": order_id, "sku": sku,
              "location": location, "dimensions": dimensions, "source_line": p.source_line}
    return row, record


@lru_cache(maxsize=65536)
def _minor(amount: Decimal, exp: int, what: str) -> int:
    return to_minor(amount, exp, what)  # amounts repeat (fees, prices): equal Decimals have equal minor units


@lru_cache(maxsize=4096)
def _extra_json(extra: tuple[tuple[str, str], ...]) -> str:
    return canonical_json(dict(extra))  # the same few (amazon_type, role) pairs on most postings


def _entry_record(entry_id: int, event_id: int, e_row: tuple, postings: list[dict]) -> dict:
    sub, day, currency, rate, description, state, reverses, reason, original_date = e_row
    return {"id": entry_id, "event_id": event_id, "subsidiary": sub, "effective_date": day.isoformat(),
            "currency": currency, "rate": rate, "description": description, "state": state,
            "reverses_entry_id": reverses, "reason": reason, **late_part(original_date), "postings": postings}


def _balance_rows(rows: list[tuple]) -> list[tuple]:
    """rows: (subsidiary, account_id, commodity, weight currency, state, day, quantity, amount, functional)."""
    deltas: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for r in rows:
        d = deltas[r[:6]]
        d[0] += r[6]
        d[1] += r[7]
        d[2] += r[8]
        d[3] += 1
    return balance_delta_rows(deltas)


def balance_delta_rows(deltas: dict[tuple, list[int]]) -> list[tuple]:
    """Deltas keyed (subsidiary, account_id, commodity, weight_currency, state, day) as rows, in lock order."""
    return [(*k, *v) for k, v in sorted(deltas.items(), key=lambda kv: tuple(str(x) for x in kv[0]))]


def upsert_balances(conn: Connection, deltas: dict[tuple, list[int]]) -> None:
    """Add deltas keyed (subsidiary, account_id, commodity, weight_currency, state, day) to the daily balances
    and the month-end balances."""
    rows = balance_delta_rows(deltas)
    upsert_add(conn, balances, BALANCE_KEYS, ("quantity", "amount", "functional_amount", "postings"), rows)
    add_to_month_balances(conn, rows)


def _integrity_conflict(exc: Exception) -> Conflict:
    text = str(getattr(exc, "orig", exc))
    if "reverses_entry_id" in text:
        return Conflict("that entry was already reversed (each entry can be reversed once)")
    if "uq_events_idempotency" in text or "events.subsidiary, events.idempotency_key" in text:
        return Conflict("another writer recorded the same idempotency key at the same moment; retry to see it")
    return Conflict(f"the database refused the write: {text.splitlines()[0]}")


MONTH_KEYS = ("subsidiary", "account_id", "commodity", "weight_currency", "state", "month")
BALANCE_VALUES = ("quantity", "amount", "functional_amount", "postings")


def add_to_month_balances(conn: Connection, rows: Sequence[tuple]) -> None:
    """Add daily deltas (BALANCE_KEYS then BALANCE_VALUES, as write_batch's) to the month-end balances.

    `month_balances` holds each key's cumulative balance at the end of every month from its first to its
    subsidiary's last (store.tables), so a delta dated in month M adds to the key's rows of M and every later month.
    First, when the deltas reach past the subsidiary's last month, every key's last row is carried to each new
    month (one INSERT ... SELECT per month, usually none). Then each key gets, for every month from its earliest
    delta's to the subsidiary's last, its deltas up to that month's end, added to the row, or inserted as it is
    where the key had no row (a month before the key's first: nothing was before it). Writes mostly land in the
    last month: one row per key. Runs in the caller's transaction, under the subsidiaries' chain-head locks, so no
    other writer moves a subsidiary's last month meanwhile.
    """
    if not rows:
        return
    from sqlalchemy import Date, func, literal

    from ledger_service.store.tables import month_balances as mb

    by_key: dict[tuple, dict] = defaultdict(dict)
    for r in rows:
        delta = by_key[r[:5]].setdefault(r[5].replace(day=1), [0, 0, 0, 0])
        delta[0] += r[6]
        delta[1] += r[7]
        delta[2] += r[8]
        delta[3] += r[9]
    wanted: dict[str, object] = {}
    for key, months in by_key.items():
        wanted[key[0]] = max(wanted.get(key[0], min(months)), max(months))
    try:
        last = {}
        for sub in sorted(wanted):
            stored = conn.execute(select(func.max(mb.c.month)).where(mb.c.subsidiary == sub)).scalar()
            month = stored
            while stored is not None and (month := _next_month(month)) <= wanted[sub]:
                carried = select(*(mb.c[c] for c in MONTH_KEYS[:5]), literal(month, Date),
                                 *(mb.c[c] for c in BALANCE_VALUES)).where(mb.c.subsidiary == sub, mb.c.month == stored)
                conn.execute(mb.insert().from_select([*MONTH_KEYS, *BALANCE_VALUES], carried))
            last[sub] = wanted[sub] if stored is None else max(stored, wanted[sub])
        out = []
        for key in sorted(by_key, key=lambda k: tuple(str(x) for x in k)):
            months = by_key[key]
            month, total = min(months), [0, 0, 0, 0]
            while month <= last[key[0]]:
                delta = months.get(month)
                if delta is not None:
                    total = [t + d for t, d in zip(total, delta)]
                out.append((*key, month, *total))
                month = _next_month(month)
        upsert_add(conn, mb, MONTH_KEYS, BALANCE_VALUES, out)
    except (DBAPIError, conn.dialect.loaded_dbapi.Error) as exc:  # the raw cursor raises the driver's errors
        # SQLite: migration 0010's guard; PostgreSQL: "bigint out of range"
        if "balance overflow" in str(exc) or "out of range" in str(exc):
            raise Invalid("a month-end balance would overflow a 64-bit integer of minor units: nothing of this "
                          "batch was written") from None
        raise


def _next_month(first):
    """The first day of the month after `first`'s."""
    return first.replace(year=first.year + first.month // 12, month=first.month % 12 + 1, day=1)
