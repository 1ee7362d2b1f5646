"""The FBA inventory ledger report into the ledger, and the retry of its rows that posted nothing.

The problem: each row of the report is a unit movement to post at cost against the holdings the database already
holds, under the subsidiary's chain-head lock, all of a file or none of it; a row that cannot post (the catalog
does not know its MSKU, Amazon or the reasons table flags it, nothing is inbound or held to cost it) must not be
lost either: it is an item of the exception queue, kept in the log until it posts.

- `ingest_ledger(conn, sub, data, document, location)`: each row's MSKU (else FNSKU) resolved to the brand SKU
  through the catalog on its date, turned into a fact (facts.from_movement) and posted by post() in file order
  against `load_state` of its SKUs; one event per row (movement_events): `inventory_movement` when it posted
  (entries, or none: a leg that waits, a warehouse transfer), `inventory_exception` when it posted nothing, with
  the raw row and its source (document, sha256, line). A refused row (too few units, a lane) refuses the file
  naming file:line. Rows whose movement is already in the log are skipped; a row still failing records nothing
  new, so the same file again changes nothing.
- `retry_exceptions(conn, sub)`: the open `inventory_exception` items (no movement of their natural key yet),
  rebuilt from their stored rows and run through the same code path, in the order they were recorded, per
  location: what resolves now (after a catalog import, a receipt) posts its movement event, which resolves the
  item; what still fails stays open, and a refused row is reported, not raised. Idempotent.
Both run inside the caller's write transaction.
"""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import Connection, select

from ledger_service.catalog.service import components_on, identity_on, resolve_sku
from ledger_service.chart.model import Subsidiary
from ledger_service.chart.service import get_subsidiary
from ledger_service.errors import Invalid
from ledger_service.inventory import facts as f
from ledger_service.inventory.adjustments import pending_legs
from ledger_service.inventory.exceptions import open_exceptions
from ledger_service.inventory.holdings import InventoryState
from ledger_service.inventory.loading import load_state, waiting_legs
from ledger_service.inventory.movement_events import (
    EXCEPTION_KIND, MOVEMENT_KIND, exception_event, movement_event, pair_group,
)
from ledger_service.inventory.moves import Books
from ledger_service.inventory.posting import post
from ledger_service.journal.writer import lock_chain_heads, post_batch
from ledger_service.locations.model import Location, check_lane
from ledger_service.locations.service import lanes_of, load_locations
from ledger_service.sources.model import InventoryMovement
from ledger_service.store.tables import events

_CHUNK = 500


class Run(NamedTuple):
    posted: int  # new inventory_movement events
    entries: int
    recorded: int  # new inventory_exception events
    exceptions: list[dict]  # every exception item of the rows run: {key, line, kind, message}
    refused: list[dict]  # a retry's rows refused (too few units, a lane): they stay open
    state: InventoryState
    counted: int = 0  # Shipments rows counted by the settlement (one source of unit truth), not posted


def ingest_ledger(conn: Connection, subsidiary: str, data: bytes, document: str, location: str,
                  actor: str | None = None, lost_to: str = f.RESEARCHING) -> dict:
    """Post an FBA inventory ledger detail report at an FBA location, all of it or none. `lost_to`: where a lost
    (M, 5) unit goes (moves.Books.lost_to): Researching, or "write-off" at once."""
    from ledger_service.sources.amazon.inventory_ledger import parse_inventory_ledger

    sub = get_subsidiary(conn, subsidiary)
    loc = _fba_location(conn, subsidiary, location)
    movements = parse_inventory_ledger(data, document)
    lock_chain_heads(conn, [subsidiary])
    known = _known_keys(conn, subsidiary, [m.natural_key for m in movements])
    run = _run(conn, sub, loc, [m for m in movements if m.natural_key not in known], actor, lost_to, refuse=True)
    return {"subsidiary": subsidiary, "document": document, "location": location, "rows": len(movements),
            "posted": run.posted, "duplicates": len(known), "entries": run.entries,
            "counted_by_settlement": run.counted,  # Shipments rows the settlement counts
            "exceptions": run.exceptions, "exceptions_recorded": run.recorded, "pending_legs": _legs(run.state)}


def retry_exceptions(conn: Connection, subsidiary: str, actor: str | None = None,
                     lost_to: str = f.RESEARCHING) -> dict:
    """Run the open inventory exception items again, from their stored rows (see the module's docstring)."""
    sub = get_subsidiary(conn, subsidiary)
    lock_chain_heads(conn, [subsidiary])
    by_location: dict[str, list[InventoryMovement]] = {}
    for item in open_exceptions(conn, subsidiary):
        by_location.setdefault(item.location, []).append(item.movement)
    posted = entries = counted = 0
    still: list[dict] = []
    for location, movements in sorted(by_location.items()):
        loc = load_locations(conn, subsidiary).get(location)
        if loc is None or loc.kind != "fba":
            still += [_item(m, "location", f"location {location} is not an FBA location of {subsidiary}")
                      for m in movements]
            continue
        run = _run(conn, sub, loc, movements, actor, lost_to, refuse=False)
        posted, entries, counted = posted + run.posted, entries + run.entries, counted + run.counted
        still += run.refused + [x for x in run.exceptions if not x["posted"]]
    retried = sum(len(ms) for ms in by_location.values())
    return {"subsidiary": subsidiary, "retried": retried, "posted": posted, "entries": entries,
            "still_open": retried - posted, "counted_by_settlement": counted, "items": still}


def _run(conn: Connection, sub: Subsidiary, loc: Location, movements: list[InventoryMovement],
         actor: str | None, lost_to: str, refuse: bool) -> Run:
    """Resolve, post and record `movements` in order: the one code path of an ingest and of a retry."""
    subsidiary, location = sub.code, loc.code
    # One source of unit truth (inventory/settlement_units.py): Shipments rows the settlement counts (unit_source =
    # settlement, or an order item a settlement sale already took) are counted, never posted: on a retry too.
    from ledger_service.inventory.settlement_units import counted_by_settlement
    counted = counted_by_settlement(conn, subsidiary, movements)
    movements = [m for m in movements if m.natural_key not in counted]
    resolved, bundles = [], {}
    for m in movements:
        sku = _movement_sku(conn, subsidiary, loc.marketplace, m)
        if sku is not None and (sku, m.date) not in bundles:
            bundles[(sku, m.date)] = tuple(components_on(conn, subsidiary, sku, m.date).items())
        resolved.append(sku)
    legs = tuple(leg for leg in waiting_legs(conn, subsidiary) if leg.location == location)
    skus = {s for s in resolved if s} | {c for parts in bundles.values() for c, _ in parts} | {x.sku for x in legs}
    state = load_state(conn, subsidiary, sorted(skus), legs=legs)
    lanes = lanes_of(conn, subsidiary)
    books = Books(subsidiary, sub.functional_currency, sub.valuation_method,
                  allowed=lambda lane, code: check_lane(lanes, lane, code), lost_to=lost_to)
    batch, items, refused = [], [], []
    for m, sku in zip(movements, resolved):
        if sku is None and not m.flags:
            message = (f"MSKU {m.msku} / FNSKU {m.fnsku} is not in the catalog of {subsidiary} on {m.date}: "
                       "nothing posted for it")
            items.append(_item(m, "unknown-sku", message, posted=False))
            batch.append((exception_event(subsidiary, m, location, None, "unknown-sku", message), []))
            continue
        fact = f.from_movement(m, location, sku)
        parts = bundles.get((sku, m.date)) or ()
        try:
            done = post(fact, state, books._replace(bundles={sku: parts} if parts else {}))
        except Invalid as exc:
            if refuse:
                raise Invalid(f"{m.source.document}:{m.source.line}: {exc.message}") from exc
            refused.append(_item(m, getattr(exc, "kind", "refused"), exc.message, posted=False))
            continue
        flags = tuple((x.kind, x.message) for x in done.exceptions)
        items += [_item(m, kind, message, posted=bool(done.entries)) for kind, message in flags]
        if flags and not done.entries:  # posts nothing: an open item until the row posts
            kind, message = ",".join(k for k, _ in flags), "; ".join(msg for _, msg in flags)
            batch.append((exception_event(subsidiary, m, location, sku, kind, message), []))
            continue
        waiting, pairs_with = _leg(fact, state, done.state)
        state = done.state
        batch.append((movement_event(subsidiary, m, location, sku, flags=flags, waiting=waiting,
                                     pairs_with=pairs_with), list(done.entries)))
    results = post_batch(conn, batch, actor=actor)
    fresh = [(event, drafts) for (event, drafts), r in zip(batch, results) if not r.duplicate]
    return Run(posted=sum(event.kind == MOVEMENT_KIND for event, _ in fresh),
               entries=sum(len(drafts) for _, drafts in fresh),
               recorded=sum(event.kind == EXCEPTION_KIND for event, _ in fresh),
               exceptions=items, refused=refused, state=state, counted=len(counted))


def _leg(fact, before: InventoryState, after: InventoryState) -> tuple[bool, str | None]:
    """Whether an adjustment leg now waits for its pair, or the natural key of the waiting leg it paired."""
    group = pair_group(fact) if isinstance(fact, f.Adjustment) else None
    if group is None:
        return False, None
    was, now = before.pending.get(group, ()), after.pending.get(group, ())
    if fact in now:
        return True, None
    gone = [leg for leg in was if leg not in now]
    return False, gone[0].key if gone else None


def _fba_location(conn: Connection, subsidiary: str, location: str) -> Location:
    loc = load_locations(conn, subsidiary).get(location)
    if loc is None or loc.kind != "fba":
        raise Invalid(f"location {location} is not an FBA location of {subsidiary}: the inventory ledger's units "
                      "are at an FBA location (`ledger-service locations add CODE --kind fba --marketplace M`)")
    return loc


def _movement_sku(conn: Connection, subsidiary: str, marketplace: str | None, m) -> str | None:
    """The brand SKU of a row on its day: its MSKU through the catalog, else its FNSKU's identity; else None."""
    sku = resolve_sku(conn, subsidiary, marketplace, m.msku, m.date) if m.msku else None
    if sku is None and m.fnsku:
        found = identity_on(conn, subsidiary, marketplace, m.date, fnsku=m.fnsku)
        sku = found.sku if found is not None else None
    return sku


def _known_keys(conn: Connection, subsidiary: str, keys: list[str]) -> set[str]:
    out: set[str] = set()
    for i in range(0, len(keys), _CHUNK):
        out |= set(conn.execute(select(events.c.idempotency_key).where(
            events.c.subsidiary == subsidiary, events.c.idempotency_key.in_(keys[i:i + _CHUNK]))).scalars())
    return out


def _legs(state: InventoryState) -> list[dict]:
    return [{"key": leg.key, "sku": leg.sku, "quantity": leg.quantity, "reason": leg.reason}
            for leg in pending_legs(state)]


def _item(m: InventoryMovement, kind: str, message: str, posted: bool = False) -> dict:
    return {"key": m.natural_key, "document": m.source.document, "line": m.source.line, "kind": kind,
            "message": message, "posted": posted}
