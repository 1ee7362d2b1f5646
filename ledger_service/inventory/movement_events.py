"""The events an inventory ledger row leaves in the log, and how they are read back.

The problem: each report row is one fact of the subsidiary's log, written once and never updated, and whatever a
later ingest (or a retry, or the month-end close) must know about that row is only in its event: whether it
posted, waits for the other leg of an adjustment, paired a leg that waited, posted with a flag, or posted nothing
for a reason an operator must act on. This module says, in one place and without I/O, what those events hold:

- `inventory_movement`, keyed by the parser's natural key: the row posted (its entries; none for a warehouse
  transfer, a leg that waits, or two dispositions of one state). Its payload is the movement's fields
  (`movement_payload`) and, when they apply:
  - `adjustment_leg: "waiting"`: a leg of a two-leg adjustment that waited for its pair (no entry);
  - `pairs_with: <natural key>`: the leg that paired a waiting one, so that a waiting leg pairs once, even when
    the two legs are in two files (`load_state` reads both back: `waiting_legs`);
  - `exceptions: [{kind, message}]`: the row posted and was flagged (`return-without-sale`,
    `found-without-loss`): posted at the current cost, listed in the exception queue for review.
- `inventory_exception`, keyed `inventory-exception:<natural key>`: the row posted nothing (an unknown MSKU/FNSKU,
  a row Amazon or the reasons table flags, a receipt with nothing inbound, a found or returned unit with no cost)
  and has no entry. Its payload holds every field of the parsed row (so `movement_of` rebuilds it for a retry),
  `exception` (the kind) and `message`. Its content is the natural key alone, so the same row ingested again
  records nothing new, whatever it fails on then. It is open until an `inventory_movement` of the same natural
  key exists (the row posted since), then resolved: a status derived from the log, never an update.
"""

from __future__ import annotations

from datetime import date, datetime, time

from ledger_service.eventlog.model import EventDraft, Source
from ledger_service.inventory import facts as f
from ledger_service.sources.model import InventoryMovement, SourceRef

MOVEMENT_KIND = "inventory_movement"
EXCEPTION_KIND = "inventory_exception"
WAITING = "waiting"
# how the markers read in the canonical JSON of a payload (sorted keys, no spaces): what a LIKE scan looks for
WAITING_LIKE, PAIRS_LIKE, FLAGGED_LIKE = '%"adjustment_leg":"waiting"%', '%"pairs_with":%', '%"exceptions":[%'
_ROW_FIELDS = ("asin", "title", "country", "reconciled_quantity", "unreconciled_quantity")


EXCEPTION_PREFIX = "inventory-exception:"


def exception_key(natural_key: str) -> str:
    return EXCEPTION_PREFIX + natural_key


def natural_key_of(exception_event_key: str) -> str:
    return exception_event_key[len(EXCEPTION_PREFIX):]


def movement_payload(m: InventoryMovement, location: str, sku: str | None) -> dict:
    """What a movement event says of its row: the resolved SKU, the location and Amazon's fields."""
    return {"sku": sku, "location": location, "date": m.date.isoformat(), "msku": m.msku, "fnsku": m.fnsku,
            "event_type": m.event_type, "reference_id": m.reference_id, "quantity": m.quantity,
            "disposition": m.disposition, "reason": m.reason, "fulfillment_center": m.fulfillment_center}


def movement_event(subsidiary: str, m: InventoryMovement, location: str, sku: str | None, *,
                   flags: tuple[tuple[str, str], ...] = (), waiting: bool = False,
                   pairs_with: str | None = None) -> EventDraft:
    payload = movement_payload(m, location, sku)
    if flags:
        payload["exceptions"] = [{"kind": kind, "message": message} for kind, message in flags]
    if waiting:
        payload["adjustment_leg"] = WAITING
    if pairs_with:
        payload["pairs_with"] = pairs_with
    return EventDraft(subsidiary, MOVEMENT_KIND, _when(m), m.natural_key, m.source.raw, _source(m),
                      content={"natural_key": m.natural_key}, payload=payload)


def exception_event(subsidiary: str, m: InventoryMovement, location: str, sku: str | None, kind: str,
                    message: str) -> EventDraft:
    payload = movement_payload(m, location, sku) | {name: getattr(m, name) for name in _ROW_FIELDS} | {
        "natural_key": m.natural_key, "occurred_at": m.occurred_at.isoformat() if m.occurred_at else None,
        "flags": list(m.flags), "extra": [list(pair) for pair in m.extra], "exception": kind, "message": message}
    return EventDraft(subsidiary, EXCEPTION_KIND, _when(m), exception_key(m.natural_key), m.source.raw, _source(m),
                      content={"natural_key": m.natural_key}, payload=payload)


def movement_of(payload: dict, source: SourceRef) -> InventoryMovement:
    """The parsed row an `inventory_exception` event keeps, as the parser gave it (for a retry)."""
    p = payload
    at = datetime.fromisoformat(p["occurred_at"]) if p.get("occurred_at") else None
    return InventoryMovement(p["natural_key"], date.fromisoformat(p["date"]), at, p["fnsku"], p["asin"], p["msku"],
                             p["title"], p["event_type"], p["reference_id"], int(p["quantity"]),
                             p["fulfillment_center"], p["disposition"], p["reason"], p["country"],
                             p["reconciled_quantity"], p["unreconciled_quantity"], source,
                             tuple(p.get("flags") or ()), tuple(tuple(x) for x in p.get("extra") or ()))


def adjustment_of(key: str, payload: dict) -> f.Adjustment:
    """The Adjustment fact a movement event's row made (facts.from_movement), from its payload."""
    p = payload
    return f.Adjustment(key, p["sku"], int(p["quantity"]), p["location"], date.fromisoformat(p["date"]),
                        p["disposition"] or "", p["reason"] or "", p["reference_id"])


def pair_group(a: f.Adjustment) -> tuple | None:
    """The `pending` key a two-leg adjustment waits under (adjustments._pair's rule); None for any other code."""
    reason = f.reasons()["reason"].get(a.reason)
    kind = reason["kind"] if reason else None
    if kind == "catalog_transfer":
        return (kind, a.location)
    if kind == "disposition_change":
        return (kind, a.sku, a.location)
    return None


def _when(m: InventoryMovement) -> datetime:
    return m.occurred_at or datetime.combine(m.date, time())


def _source(m: InventoryMovement) -> Source:
    return Source(system=m.source.system, document=m.source.document, sha256=m.source.sha256, line=m.source.line)
