"""Source events, their idempotency and the hash chain.

An event is one fact from a source (a settlement row, a Finances event, a controller's manual journal), kept with
its raw payload verbatim and where it came from. Its idempotency key is unique per subsidiary: the same fact sent
again is a no-op, but the same key with different content is a conflict (never a silent no-op), decided by
`input_hash`, a sha256 over the fact's content.

Who wrote an event through the API is its `actor` (`token:NAME`), set by the writer for a whole batch: it is not
part of the fact, so the input hash leaves it out (the same fact sent by two tokens is still one fact), but the
chain hash covers it when it is set, so the log says unalterably who did what.

Each subsidiary has its own hash chain (so subsidiaries never wait on each other): an event's hash is
sha256(previous hash + canonical JSON of the event and the entries it posted). `verify` recomputes it from the
stored rows, so any change made behind the triggers' back is found and named.

The record hashed has two versions. Version 1 (events written before migration 0006) left out columns that carry
meaning: the subsidiary of entries and postings, the ids that link an entry to its event, the account's type and
the commodity's kind and exponent, so a superuser could move postings to another subsidiary or retype an account
unseen. Version 2 (every event written since) covers every column of the event, its entries and postings, and what
a posting means through the rows it refers to: its account's id, name and type, its commodity's kind and exponent,
its subsidiary's functional currency. The version is inside the record (`hash_version`), and records of different
versions never serialise alike, so an event cannot be passed off as the other version without its hash changing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property
from datetime import date, datetime, timezone
from decimal import Decimal

import orjson


@dataclass(frozen=True)
class Source:
    system: str  # manual, amazon-settlement-v2, sp-api-finances-v0, ...
    document: str | None = None
    sha256: str | None = None
    line: int | None = None
    page: str | None = None


@dataclass(frozen=True)
class EventDraft:
    subsidiary: str
    kind: str
    occurred_at: datetime
    idempotency_key: str
    raw: str  # the source row or payload, verbatim
    source: Source
    content: object = None  # what the input hash covers; defaults to the raw source
    payload: object = None  # the parsed record, stored as canonical JSON beside the raw source

    @cached_property  # the writer and the settlement digest both read it
    def input_hash(self) -> str:
        content = self.content if self.content is not None else {"raw": self.raw}
        return hashlib.sha256(canonical_bytes({"kind": self.kind, "content": content})).hexdigest()


def naive_utc(value: datetime) -> datetime:
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value


def _default(value: object) -> object:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return naive_utc(value).isoformat(timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (tuple, set, frozenset)):
        return list(value)
    raise TypeError(f"cannot serialise {type(value).__name__} canonically")


# orjson writes the same text as json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False) for the
# values the ledger hashes (tests/eventlog/test_canonical.py checks this against json), several times faster: the
# canonical forms run several times per ingested row.
_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME


def canonical_bytes(value: object) -> bytes:
    """Sorted keys, no whitespace, decimals as plain strings, datetimes as naive UTC ISO, UTF-8: one text per value."""
    return orjson.dumps(value, default=_default, option=_OPTIONS)


def canonical_json(value: object) -> str:
    return canonical_bytes(value).decode()


def sha256_hex(text: str | bytes) -> str:
    return hashlib.sha256(text.encode("utf-8") if isinstance(text, str) else text).hexdigest()


def chain_hash(prev_hash: str, record: dict) -> str:
    return hashlib.sha256(prev_hash.encode() + canonical_bytes(record)).hexdigest()


ENTRY_FIELDS = ("effective_date", "currency", "rate", "description", "state", "reverses_entry_id", "reason")
POSTING_FIELDS = ("account", "commodity", "quantity", "cost_per_unit", "amount", "functional_amount",
                  "marketplace", "settlement_id", "order_id", "sku", "location", "dimensions")
EVENT_FIELDS = ("subsidiary", "seq", "kind", "occurred_at", "recorded_at", "idempotency_key", "input_hash",
                "source_system", "source_document", "source_sha256", "source_line", "source_page", "raw")

HASH_VERSION = 2  # what the writer hashes with; verify also recognises version 1 (events before migration 0006)
HASH_VERSIONS = (2, 1)  # newest first

# Version 2: every column, always present (None as null), plus what the referenced rows say the posting means.
# The event's and entries' ids are allocated before hashing (journal.writer), so they are covered; a posting's own
# id is not (the database assigns it on COPY), but the order of an entry's postings is.
EVENT_FIELDS_V2 = ("id", *EVENT_FIELDS, "payload", "actor",
                   "functional_currency")  # the subsidiary's, which gives functional amounts their meaning
ENTRY_FIELDS_V2 = ("id", "event_id", "subsidiary", *ENTRY_FIELDS)
POSTING_FIELDS_V2 = ("subsidiary", "account_id", "account", "account_type", "commodity", "commodity_kind",
                     "commodity_exponent", "quantity", "cost_per_unit", "amount", "functional_amount",
                     "marketplace", "settlement_id", "order_id", "sku", "location", "dimensions", "source_line")


def chain_record(event_row: dict, entry_rows: list[dict], posting_rows: list[list[dict]],
                 version: int = HASH_VERSION) -> dict:
    """What the chain hash covers, built from the stored column values (the same at post time and at verify).

    Version 2 reads, besides the rows' own columns, `functional_currency` on the event row and `account`,
    `account_type`, `commodity_kind`, `commodity_exponent` on each posting row (balances.integrity joins them in).
    journal.writer builds the same structure from the values it is about to write, in one pass with the rows;
    `verify` after every ingest test compares them.
    """
    if version == 1:
        return {
            "event": event_record(event_row),
            "entries": [
                # posting values are ints, strings or None on both engines: no normalising needed
                {**{k: _norm(e[k]) for k in ENTRY_FIELDS},
                 "postings": [posting_record({**{k: p[k] for k in POSTING_FIELDS}, "source_line": p.get("source_line")})
                              for p in ps]}
                for e, ps in zip(entry_rows, posting_rows)
            ],
        }
    if version != 2:
        raise ValueError(f"unknown hash version {version}")
    return versioned_record(
        event_record_v2(event_row),
        [{**{k: _norm(e[k]) for k in ENTRY_FIELDS_V2}, **late_part(e.get("original_date")),
          "postings": [{k: p[k] for k in POSTING_FIELDS_V2} for p in ps]}
         for e, ps in zip(entry_rows, posting_rows)])


def late_part(original_date: object) -> dict:
    """A late entry's original date (migration 0009), in the record only when set: every entry before it, and
    every entry posted on its own date, keeps its hash; setting or clearing it behind the log's back changes it."""
    return {} if original_date is None else {"original_date": _norm(original_date)}


def versioned_record(event: dict, entries: list[dict]) -> dict:
    """The version 2 record from its event part and its entries (each with its postings)."""
    return {"hash_version": 2, "event": event, "entries": entries}


def event_record(event_row: dict) -> dict:
    """The event's part of a version 1 chain record."""
    event = {k: _norm(event_row[k]) for k in EVENT_FIELDS}
    if event_row.get("payload") is not None:  # only events that have one: older chains keep their hashes
        event["payload"] = event_row["payload"]
    if event_row.get("actor") is not None:  # who wrote it (API writes): likewise only when set (migration 0005)
        event["actor"] = event_row["actor"]
    return event


def event_record_v2(event_row: dict) -> dict:
    """The event's part of a version 2 chain record: every field, null or not."""
    return {k: _norm(event_row[k]) for k in EVENT_FIELDS_V2}


def posting_record(values: dict) -> dict:
    """A posting's part of a version 1 chain record: POSTING_FIELDS and source_line, a dict that is changed and
    returned. source_line is dropped when None: only postings read from a file line carry it, so older chains keep
    their hashes."""
    if values.get("source_line") is None:
        values.pop("source_line", None)
    return values


def _norm(value: object) -> object:
    """Make stored values engine-independent (PostgreSQL and SQLite return some types differently)."""
    if value is None or type(value) is str or type(value) is int:
        return value
    if isinstance(value, datetime):
        return naive_utc(value).isoformat(timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return value
