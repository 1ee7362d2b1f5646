"""Inbound shipments to FBA into the ledger: each status a step of lots at cost, and the shortage to Researching.

The problem: units sent to FBA leave the warehouse's books when the shipment is built, not when Amazon receives
them, and some never arrive. A shipment file (inventory.inbound_parse) says, per shipment and SKU, the units and
the status reached on a date; the ledger must move those units at cost, step by step, exactly once however often
the file (or a later one with the next status) is ingested, and put what Amazon never received where someone
will look for it:

- WORKING moves the units from `<from>:Available` to `<to>:Inbound:Working`; SHIPPED on to `:Inbound:Shipped`;
  RECEIVING on to `:Inbound:Receiving` (posting.post_inbound). A row whose status is further than what is
  recorded posts every step between (a shipment first seen SHIPPED posts working and shipped at once), dated on
  the row's date. The steps after WORKING move the units not yet received: Amazon's receipts (the inventory
  ledger's Receipts rows, `inventory_movement` events whose reference id is the shipment) take units out of
  inbound whatever step the shipment file has reached.
- CLOSED moves the units shipped but not received (units - received, per SKU) from inbound (Receiving, then
  Shipped, then Working: where receipts take units from) to `<to>:Researching` at cost, in one entry. A receipt
  after that comes out of Researching (posting.post_fba_receipt). Writing the loss off, or a unit found, is the
  operator's and Amazon's (inventory.write_offs; an Adjustment F/N row).
- One `inbound_shipment` event per (shipment, SKU, status) row, keyed `inbound:<shipment>:<sku>:<status>`: the
  same row again is a no-op (other units, locations or date for it: Conflict); a status before the recorded one
  is refused; so are units or locations that differ from the recorded steps'. Atomic per file: a refused row
  (unknown SKU, a location not the subsidiary's or outside the FBA lane, too few units) refuses the file naming
  file:line. Inside the caller's write transaction, under the chain-head lock.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from datetime import datetime, time
from decimal import Decimal

from sqlalchemy import Connection, or_, select

from ledger_service.catalog.service import components_on, resolve_sku
from ledger_service.chart.service import get_subsidiary
from ledger_service.errors import Conflict, Invalid
from ledger_service.eventlog.model import EventDraft, Source
from ledger_service.inventory import facts as f
from ledger_service.inventory.holdings import InventoryState
from ledger_service.inventory.inbound_parse import DROPPED, STATUSES, InboundRow, parse_inbound
from ledger_service.inventory.model import ShortOfUnits
from ledger_service.inventory.moves import Books, Outcome, entry
from ledger_service.inventory.posting import post
from ledger_service.journal.writer import late_rules, lock_chain_heads, post_batch
from ledger_service.locations.model import check_lane
from ledger_service.locations.service import lanes_of, load_locations
from ledger_service.money import fmt
from ledger_service.periods.model import refusal
from ledger_service.store.tables import events, items

KIND = "inbound_shipment"
SYSTEM = "inbound-shipment-csv"
MOVEMENT_KIND = "inventory_movement"  # inventory.service's events of the inventory ledger's rows
RANK = {status: n for n, status in enumerate(STATUSES, start=1)}
STAGES = ("working", "shipped", "receiving")  # posting.post_inbound's stages, in RANK order
SOURCES = ("warehouse", "3pl")  # a shipment to FBA leaves the brand's own stock
_CHUNK = 200


def event_key(shipment_id: str, sku: str, status: str) -> str:
    return f"inbound:{shipment_id}:{sku}:{status.lower()}"


def steps(recorded: str | None, status: str) -> tuple[str, ...]:
    """The stages a row posts: those after `recorded` up to `status` (CLOSED: up to receiving, then the close)."""
    done = RANK.get(recorded or "", 0)
    return tuple(stage for n, stage in enumerate(STAGES, start=1) if done < n <= RANK[status])


def post_shortage(key: str, shipment_id: str, sku: str, units: int, location: str, day, state: InventoryState,
                  books: Books) -> Outcome:
    """`units` short on a closed shipment: out of inbound (Receiving, Shipped, Working) into Researching at cost,
    as StateMoves folded into one entry."""
    postings, need = [], units
    for stock in f.INBOUND:
        n = min(need, state.units(sku, location, stock))
        if n:
            done = post(f.StateMove(key, sku, n, location, stock, f.RESEARCHING, day), state, books)
            state, need = done.state, need - n
            postings += [p for e in done.entries for p in e.postings]
    if need:
        raise ShortOfUnits(sku, f"{location} inbound", units, units - need)
    return Outcome((entry(books, day, f"Inbound shipment {shipment_id} closed: {units} {sku} not received, "
                          "to Researching", postings),), state)


def ingest_inbound(conn: Connection, subsidiary: str, data: bytes, document: str, from_location: str | None = None,
                   to_location: str | None = None, actor: str | None = None) -> dict:
    """Post an inbound shipment file, all of it or none, inside the caller's write transaction."""
    from ledger_service.inventory.service import load_state

    sub = get_subsidiary(conn, subsidiary)
    header, rows = parse_inbound(data, document, from_location, to_location)
    places, lanes = load_locations(conn, subsidiary), lanes_of(conn, subsidiary)
    cache: dict = {}
    skus = [_check(conn, subsidiary, row, places, lanes, document, cache) for row in rows]
    lock_chain_heads(conn, [subsidiary])  # the holdings read below stay the holdings the entries post against
    recorded = _recorded(conn, subsidiary, {(r.shipment_id, sku) for r, sku in zip(rows, skus)})
    received = _received(conn, subsidiary, sorted({r.shipment_id for r in rows}))
    state = load_state(conn, subsidiary, sorted(set(skus)))
    books = Books(subsidiary, sub.functional_currency, sub.valuation_method)
    closed, late_policy = late_rules(conn, subsidiary)
    sha = hashlib.sha256(data if isinstance(data, bytes) else data.encode()).hexdigest()
    batch, out = [], []
    order = sorted(range(len(rows)), key=lambda i: (rows[i].date, RANK.get(rows[i].status, 0), rows[i].line))
    for i in order:
        row, sku = rows[i], skus[i]
        where = f"{document}:{row.line}"
        have = recorded[(row.shipment_id, sku)]
        result = {"line": row.line, "shipment_id": row.shipment_id, "sku": sku, "status": row.status,
                  "units": row.units, "steps": "", "value": None, "shortage": None}
        outcome = _outcome(row, sku, have, where)
        if outcome:
            out.append(result | {"outcome": outcome})
            continue
        got = received.get((row.shipment_id, sku, row.to_location), 0)
        latest = max(have, key=RANK.get) if have else None
        try:
            entries, state, moved = _post_row(row, sku, latest, got, state, books)
        except Invalid as exc:
            raise Invalid(f"{where}: shipment {row.shipment_id} {sku} {row.status}: {exc.message}") from exc
        refused = refusal(entries, closed, late_policy)
        if refused is not None:  # later rows would move units this one never moved: the file waits whole
            raise Invalid(f"{where}: shipment {row.shipment_id} {sku} {row.status} is {refused}, and {subsidiary} "
                          "refuses late entries (late_entries = refuse): nothing of the file is posted; reopen the "
                          "period to post it")
        content = {"shipment_id": row.shipment_id, "sku": sku, "status": row.status, "units": row.units,
                   "from_location": row.from_location, "to_location": row.to_location, "date": row.date.isoformat()}
        payload = content | {"given_status": row.given, "written_sku": row.sku, "steps": moved, "received": got,
                             "shortage": max(0, row.units - got) if row.status == "CLOSED" else None}
        key = event_key(row.shipment_id, sku, row.status)
        batch.append((EventDraft(subsidiary, KIND, datetime.combine(row.date, time()), key,
                                 "\n".join([header, row.raw]), Source(system=SYSTEM, document=document, sha256=sha,
                                                                      line=row.line),
                                 content=content, payload=payload), entries))
        have[row.status] = content | {"line": row.line}
        value = _value(entries[-1]) if entries else None
        out.append(result | {"outcome": "posted", "steps": "+".join(moved + ["closed"] * (row.status == "CLOSED")),
                             "value": value, "shortage": payload["shortage"]})
    results = post_batch(conn, [(e, list(ds)) for e, ds in batch], actor=actor)
    out.sort(key=lambda r: r["line"])
    return {"subsidiary": subsidiary, "document": document, "rows": len(rows),
            "posted": sum(not r.duplicate for r in results), "entries": sum(len(ds) for _, ds in batch),
            "duplicates": sum(r["outcome"] == "duplicate" for r in out),
            "skipped": sum(r["outcome"] == "skipped" for r in out), "results": out}


def _outcome(row: InboundRow, sku: str, have: dict, where: str) -> str | None:
    """"duplicate" or "skipped" for a row that posts nothing; None for one that posts; Invalid / Conflict for one
    that must not."""
    what = f"shipment {row.shipment_id} {sku}"
    if row.status in DROPPED:
        if have:
            raise Invalid(f"{where}: {what} is {row.given}, but its units have already moved ({', '.join(have)} "
                          "recorded): taking back a shipment that left the warehouse is not supported")
        return "skipped"
    mine = {"units": row.units, "from_location": row.from_location, "to_location": row.to_location,
            "date": row.date.isoformat()}
    if row.status in have:
        earlier = have[row.status]
        differs = [f"{k} {earlier[k]} -> {v}" for k, v in mine.items() if earlier[k] != v]
        if differs:
            raise Conflict(f"{where}: {what} was recorded {row.status} with other content ({'; '.join(differs)}; "
                           f"{_origin(earlier)}): a status is recorded once")
        return "duplicate"
    if not have:
        return None
    latest = max(have, key=RANK.get)
    earlier = have[latest]
    if RANK[row.status] < RANK[latest]:
        raise Invalid(f"{where}: {what} is {row.status}, but it is already {latest} ({_origin(earlier)}): a status "
                      "never goes back")
    differs = [f"{k} {earlier[k]} -> {v}" for k, v in mine.items() if k != "date" and earlier[k] != v]
    if differs:
        raise Invalid(f"{where}: {what}: {'; '.join(differs)} since {latest} ({_origin(earlier)}): the units and "
                      "locations of a shipment's SKU stay those its first step moved")
    if row.date.isoformat() < earlier["date"]:
        raise Invalid(f"{where}: {what} {row.status} on {row.date} is before its {latest} on {earlier['date']}")
    return None


def _origin(earlier: dict) -> str:
    return f"event {earlier['event_id']}" if earlier.get("event_id") else f"line {earlier.get('line')} of this file"


def _post_row(row: InboundRow, sku: str, latest: str | None, received: int, state: InventoryState,
              books: Books) -> tuple[list, InventoryState, list[str]]:
    entries, moved = [], []
    for stage in steps(latest, row.status):
        # WORKING takes the shipment's units from the warehouse; later steps move those not yet received
        units = row.units if stage == "working" else max(0, row.units - received)
        if units:
            done = post(f.InboundShipment(row.shipment_id, sku, units, row.from_location, row.to_location, row.date,
                                          stage), state, books)
            entries += done.entries
            state = done.state
        moved.append(stage)
    if row.status == "CLOSED" and row.units > received:
        done = post_shortage(event_key(row.shipment_id, sku, "CLOSED"), row.shipment_id, sku,
                             row.units - received, row.to_location, row.date, state, books)
        entries += done.entries
        state = done.state
    return entries, state, moved


def _value(e) -> str:
    return fmt(sum((p.amount for p in e.postings if p.units is not None and p.units > 0), Decimal(0)))


def _check(conn: Connection, subsidiary: str, row: InboundRow, places: dict, lanes: dict, document: str,
           cache: dict) -> str:
    """The row's brand SKU, once its locations are checked: from a warehouse or 3PL of the subsidiary, to an FBA
    location the FBA lane draws from."""
    where = f"{document}:{row.line}"
    src, dst = places.get(row.from_location), places.get(row.to_location)
    for code, loc in ((row.from_location, src), (row.to_location, dst)):
        if loc is None:
            raise Invalid(f"{where}: location {code} is not a location of {subsidiary} (known: "
                          f"{', '.join(sorted(places)) or 'none'}): add it first (`ledger-service locations add`)")
    if src.kind not in SOURCES:
        raise Invalid(f"{where}: shipment {row.shipment_id} leaves {src.code}, a location of kind {src.kind}: an "
                      f"inbound shipment leaves a {' or '.join(SOURCES)} location")
    if dst.kind != "fba":
        raise Invalid(f"{where}: shipment {row.shipment_id} goes to {dst.code}, a location of kind {dst.kind}: an "
                      "inbound shipment goes to an FBA location")
    try:
        check_lane(lanes, "FBA", dst.code)  # units sent to FBA are the FBA lane's stock
    except Invalid as exc:
        raise Invalid(f"{where}: shipment {row.shipment_id}: {exc.message}") from exc
    if (row.sku, dst.marketplace, row.date) not in cache:  # a shipment file repeats its SKUs and days
        sku = conn.execute(select(items.c.sku).where(items.c.subsidiary == subsidiary, items.c.sku == row.sku)
                           ).scalar()
        sku = sku or resolve_sku(conn, subsidiary, dst.marketplace, row.sku, row.date)
        cache[(row.sku, dst.marketplace, row.date)] = sku, sku and components_on(conn, subsidiary, sku, row.date)
    sku, bundle = cache[(row.sku, dst.marketplace, row.date)]
    if sku is None:
        raise Invalid(f"{where}: SKU {row.sku} is not in the catalog of {subsidiary} on {row.date} (neither an item "
                      f"nor an MSKU of {dst.marketplace}): import it first (`ledger-service catalog import`); units "
                      "of an unknown SKU are never moved")
    if bundle:
        raise Invalid(f"{where}: SKU {sku} is a bundle: its units are not stocked; ship its components")
    return sku


def _recorded(conn: Connection, subsidiary: str, pairs: set[tuple[str, str]]) -> dict:
    """(shipment, sku) -> {status: its recorded content and event id}."""
    out: dict = defaultdict(dict)
    keys = [event_key(s, sku, status) for s, sku in sorted(pairs) for status in STATUSES]
    for i in range(0, len(keys), _CHUNK):
        for r in conn.execute(select(events.c.id, events.c.payload).where(
                events.c.subsidiary == subsidiary, events.c.kind == KIND,
                events.c.idempotency_key.in_(keys[i:i + _CHUNK]))):
            p = json.loads(r.payload)
            out[(p["shipment_id"], p["sku"])][p["status"]] = p | {"event_id": r.id}
    return out


def _received(conn: Connection, subsidiary: str, shipment_ids: list[str]) -> dict[tuple[str, str, str], int]:
    """(shipment, sku, location) -> units Amazon received: the inventory ledger's Receipts rows recorded with the
    shipment as their reference id."""
    out: dict = defaultdict(int)
    wanted = set(shipment_ids)
    for i in range(0, len(shipment_ids), _CHUNK):
        like = [events.c.payload.contains(f'"{s}"', autoescape=True) for s in shipment_ids[i:i + _CHUNK]]
        for (payload,) in conn.execute(select(events.c.payload).where(
                events.c.subsidiary == subsidiary, events.c.kind == MOVEMENT_KIND, or_(*like))):
            p = json.loads(payload)
            if p.get("event_type") == "Receipts" and p.get("reference_id") in wanted and p.get("sku"):
                out[(p["reference_id"], p["sku"], p["location"])] += int(p["quantity"])
    return out
