"""Manual write-offs: units an operator declares lost or damaged, out of a state at cost, with who and why.

The problem: units in Researching (a closed shipment's shortage, an Amazon M row) or Unfulfillable stay assets
until someone decides they are gone. That decision is a fact of its own, made by a person for a reason, and must
post once however often the command is repeated (a retry after a timeout must not write off twice):

- `write_off(conn, sub, sku, location, units, state, day, reason, kind, reference)`: a `inventory_write_off` event
  (actor: who; payload: the reason and what was written off) with posting.post_write_off's entry: the units out of
  `<location>:<state>` at cost (FIFO, or the average), `Expenses:Inventory:WriteOff:Lost` or `:Damaged` debited;
  the entry's reason is the operator's.
- Keyed `write-off:<reference>` when a reference is given (the operator's own: a case id, a ticket), else
  `write-off:<32 hex of the sha256 of what it says>`: the same command again is a no-op; the same reference saying
  something else is a Conflict naming the earlier event. To write off the same units again on purpose, give
  another reference.
- A unit found later (an inventory ledger F or N row) comes out of Researching first, then reverses the latest
  lost write-offs of that SKU at that location at the cost they were written off (inventory.adjustments).
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime, time
from decimal import Decimal

from sqlalchemy import Connection, select

from ledger_service import limits
from ledger_service.catalog.service import resolve_sku
from ledger_service.chart.service import get_subsidiary
from ledger_service.errors import Conflict, Invalid
from ledger_service.eventlog.model import EventDraft, Source, canonical_json, sha256_hex
from ledger_service.inventory import facts as f
from ledger_service.inventory.moves import Books
from ledger_service.inventory.posting import post
from ledger_service.journal.writer import lock_chain_heads, post_batch
from ledger_service.locations.service import load_locations
from ledger_service.money import fmt
from ledger_service.store.tables import events, items

KIND = "inventory_write_off"
KINDS = {"lost": f.WRITE_OFF_LOST, "damaged": f.WRITE_OFF_DAMAGED}
_REFERENCE_LIMIT = 64


def write_off(conn: Connection, subsidiary: str, sku: str, location: str, units: int, state: str, day: date,
              reason: str, kind: str = "lost", reference: str | None = None, actor: str | None = None) -> dict:
    """Write `units` of `sku` off `<location>:<state>` at cost, inside the caller's write transaction."""
    sub = get_subsidiary(conn, subsidiary)
    content = _content(conn, subsidiary, sku, location, units, state, day, reason, kind, reference)
    key = f"write-off:{reference.strip()}" if reference and reference.strip() else \
        f"write-off:{sha256_hex(canonical_json(content))[:32]}"
    lock_chain_heads(conn, [subsidiary])
    prior = conn.execute(select(events.c.id, events.c.payload).where(
        events.c.subsidiary == subsidiary, events.c.idempotency_key == key)).first()
    if prior is not None:
        said = json.loads(prior.payload or "{}")
        if {k: said.get(k) for k in content} != content:
            raise Conflict(f"write-off {key} is already recorded (event {prior.id}) with other content: a reference "
                           "names one write-off; give another --reference for another")
        return _result(subsidiary, key, prior.id, said, duplicate=True)
    from ledger_service.inventory.service import load_state

    fact = f.WriteOff(key, content["sku"], units, location, content["state"], day, kind)
    books = Books(subsidiary, sub.functional_currency, sub.valuation_method)
    done = post(fact, load_state(conn, subsidiary, [content["sku"]]), books)
    (e,) = done.entries
    e = replace(e, reason=content["reason"])  # the operator's reason on the entry itself
    value = sum((p.amount for p in e.postings if p.units is None), Decimal(0))
    payload = content | {"key": key, "account": KINDS[kind], "value": fmt(value)}
    event = EventDraft(subsidiary, KIND, datetime.combine(day, time()), key, canonical_json(content),
                       Source(system="ledger", document="inventory write-off"), content=content, payload=payload)
    (posted,) = post_batch(conn, [(event, [e])], actor=actor)
    return _result(subsidiary, key, posted.event_id, payload, duplicate=False)


def _content(conn: Connection, subsidiary: str, sku: str, location: str, units: int, state: str, day: date,
             reason: str, kind: str, reference: str | None) -> dict:
    """What the write-off says, checked: the brand SKU, a location of the subsidiary, a state, a kind, a reason."""
    if kind not in KINDS:
        raise Invalid(f"a write-off is {' or '.join(KINDS)}, not {kind!r}")
    if not isinstance(units, int) or not 1 <= units <= limits.MAX_UNITS:
        raise Invalid(f"units must be a whole number from 1 to {limits.MAX_UNITS}, not {units!r}")
    canonical = {s.lower(): s for s in f.STATES}.get((state or "").strip().lower())
    if canonical is None:
        raise Invalid(f"state must be one of {', '.join(f.STATES)}, not {state!r}")
    reason = (reason or "").strip()
    if not reason:
        raise Invalid("a write-off needs its reason (--reason): why the units are gone")
    try:
        limits.check_text(reason, "reason", 500)
        limits.check_text(reference, "reference", _REFERENCE_LIMIT)
        limits.check_date(day)
    except ValueError as exc:
        raise Invalid(str(exc)) from None
    loc = load_locations(conn, subsidiary).get(location)
    if loc is None:
        raise Invalid(f"location {location} is not a location of {subsidiary}")
    brand = conn.execute(select(items.c.sku).where(items.c.subsidiary == subsidiary, items.c.sku == sku)).scalar()
    brand = brand or resolve_sku(conn, subsidiary, loc.marketplace, sku, day)
    if brand is None:
        raise Invalid(f"SKU {sku} is not in the catalog of {subsidiary} on {day}")
    return {"sku": brand, "location": location, "units": units, "state": canonical, "date": day.isoformat(),
            "kind": kind, "reason": reason}


def _result(subsidiary: str, key: str, event_id: int, said: dict, duplicate: bool) -> dict:
    return {"subsidiary": subsidiary, "key": key, "event_id": event_id, "duplicate": duplicate,
            **{k: said.get(k) for k in ("sku", "location", "state", "units", "date", "kind", "reason", "account",
                                        "value")}}
