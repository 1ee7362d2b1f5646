"""Locations and lanes in the ledger: changes recorded as events, their projection, and the lane check.

The problem: where units may sit and which lane may take them decide every unit posting, so a change must say who
made it and when, and reach every writer at once. Each change (a location added or renamed, a lane's locations
set, a TOML file of both) is a `locations_config` event of the subsidiary's log, with its author; the tables
`locations` and `lanes` are its projection, written in the same transaction under the chain-head lock. A change
that changes nothing records nothing. A location's kind, marketplace and currency never change (its accounts and
postings mean them): a different one is a new location. Adding a location creates its state accounts
(`Assets:Inventory:<CODE>:Available`, ...) and makes sure the subsidiary has the expense accounts its units post to.
"""

from __future__ import annotations

import json
import tomllib

from sqlalchemy import Connection, func, select

from ledger_service.chart.service import get_subsidiary, upsert_accounts, utcnow
from ledger_service.errors import Conflict, Invalid
from ledger_service.eventlog.model import EventDraft, Source, canonical_json, sha256_hex
from ledger_service.locations.model import (EXPENSES, STATES, Location, check_lane, check_lane_locations,
                                            check_location, parse_locations_toml, state_account, state_accounts)
from ledger_service.store.tables import accounts, events, lanes, locations

KIND = "locations_config"


def add_location(conn: Connection, subsidiary: str, code: str, kind: str, marketplace: str | None = None,
                 currency: str | None = None, name: str | None = None, actor: str | None = None) -> dict:
    spec = {"code": code, "kind": kind, "marketplace": marketplace, "currency": currency, "name": name}
    return configure(conn, subsidiary, [spec], [], f"locations add {code}", actor)


def set_lane(conn: Connection, subsidiary: str, lane: str, codes: list[str], actor: str | None = None) -> dict:
    return configure(conn, subsidiary, [], [(lane, tuple(codes))], f"lanes set {lane}", actor)


def import_locations(conn: Connection, subsidiary: str, text: str, document: str, actor: str | None = None) -> dict:
    """A TOML file of [[location]] and [[lane]] tables: each location added (or renamed), each lane set."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise Invalid(f"{document}: not valid TOML: {exc}") from None
    specs, lane_specs = parse_locations_toml(data, document)
    return configure(conn, subsidiary, specs, lane_specs, document, actor, raw=text)


def configure(conn: Connection, subsidiary: str, specs: list[dict], lane_specs: list[tuple[str, tuple[str, ...]]],
              document: str, actor: str | None, raw: str | None = None) -> dict:
    """Apply location and lane changes inside the caller's write transaction: all of them, or none."""
    from ledger_service.journal.writer import lock_chain_heads, post_batch

    sub = get_subsidiary(conn, subsidiary)
    lock_chain_heads(conn, [subsidiary])
    held = load_locations(conn, subsidiary)
    staged, changed, seen = dict(held), [], set()
    for spec in specs:
        where = spec.get("where", "")
        loc = check_location(spec.get("code"), spec.get("kind"), spec.get("marketplace"), spec.get("currency"),
                             spec.get("name"), sub.functional_currency, where)
        if loc.code in seen:
            raise Invalid(f"{where or document}: location {loc.code} is given twice")
        seen.add(loc.code)
        old = staged.get(loc.code)
        if old == loc:
            continue
        if old is not None and (old.kind, old.marketplace, old.currency) != (loc.kind, loc.marketplace, loc.currency):
            raise Conflict(f"location {loc.code} of {subsidiary} is {_describe(old)}; a location's kind, marketplace "
                           f"and currency never change (its accounts and postings mean them): add another code")
        if old is None:
            _check_free(conn, subsidiary, loc.code)
        staged[loc.code] = loc
        changed.append(loc)
    current = lanes_of(conn, subsidiary)
    lane_changes, lanes_seen = [], set()
    for lane, codes in lane_specs:
        lane, codes = check_lane_locations(lane, codes, staged, document)
        if lane in lanes_seen:
            raise Invalid(f"{document}: lane {lane} is given twice")
        lanes_seen.add(lane)
        if sorted(codes) != sorted(current.get(lane, ())):
            lane_changes.append({"lane": lane, "locations": list(codes)})
    result = {"subsidiary": subsidiary, "document": document, "locations": [loc._asdict() for loc in changed],
              "lanes": lane_changes}
    if not changed and not lane_changes:
        return result | {"event_id": None, "changed": False, "accounts_added": 0}
    payload = {"document": document, "locations": result["locations"], "lanes": lane_changes}
    previous = conn.execute(select(func.max(events.c.id)).where(events.c.subsidiary == subsidiary,
                                                                events.c.kind == KIND)).scalar()
    text = canonical_json(payload)
    event = EventDraft(subsidiary=subsidiary, kind=KIND, occurred_at=utcnow().replace(microsecond=0),
                       idempotency_key=f"locations:{previous or 0}:{sha256_hex(text)[:16]}", raw=raw or text,
                       source=Source(system="ledger", document=document), content={"payload": payload},
                       payload=payload)
    event_id = post_batch(conn, [(event, [])], actor=actor)[0].event_id
    _project(conn, subsidiary, payload, event_id)
    have = {r.name for r in conn.execute(select(accounts.c.name).where(accounts.c.subsidiary == subsidiary))}
    wanted = [a for loc in changed for a in state_accounts(loc.code)] + list(EXPENSES)
    added = upsert_accounts(conn, subsidiary, tuple(a for a in wanted if a.name not in have))
    return result | {"event_id": event_id, "changed": True, "accounts_added": added}


def _describe(loc: Location) -> str:
    return f"of kind {loc.kind}" + (f" on {loc.marketplace}" if loc.marketplace else "") + f" in {loc.currency}"


def _check_free(conn: Connection, subsidiary: str, code: str) -> None:
    """A new location's accounts must not fall under accounts the chart already has (Assets:Inventory:FBA:*):
    its balances would mix with theirs."""
    prefix = f"Assets:Inventory:{code}"
    own = {state_account(code, s) for s in STATES}
    clash = sorted(r.name for r in conn.execute(select(accounts.c.name).where(
        accounts.c.subsidiary == subsidiary, (accounts.c.name == prefix) | accounts.c.name.like(prefix + ":%")))
        if r.name not in own)
    if clash:
        raise Invalid(f"location code {code} would put its accounts among {', '.join(clash[:3])} of the chart; "
                      f"choose another code (e.g. {code}-US)")


def _project(conn: Connection, subsidiary: str, payload: dict, event_id: int) -> None:
    for loc in payload["locations"]:
        values = {k: loc[k] for k in ("kind", "marketplace", "currency", "name")} | {"event_id": event_id}
        done = conn.execute(locations.update().where(locations.c.subsidiary == subsidiary,
                                                     locations.c.code == loc["code"]).values(**values)).rowcount
        if not done:
            conn.execute(locations.insert().values(subsidiary=subsidiary, code=loc["code"], **values))
    for lane in payload["lanes"]:
        conn.execute(lanes.delete().where(lanes.c.subsidiary == subsidiary, lanes.c.lane == lane["lane"]))
        conn.execute(lanes.insert(), [{"subsidiary": subsidiary, "lane": lane["lane"], "location": code,
                                       "event_id": event_id} for code in lane["locations"]])


def load_locations(conn: Connection, subsidiary: str) -> dict[str, Location]:
    rows = conn.execute(select(locations).where(locations.c.subsidiary == subsidiary).order_by(locations.c.code))
    return {r.code: Location(r.code, r.kind, r.marketplace, r.currency, r.name) for r in rows}


def lanes_of(conn: Connection, subsidiary: str) -> dict[str, tuple[str, ...]]:
    """Lane -> the locations it may draw from (what check_lane takes)."""
    out: dict[str, list[str]] = {}
    for r in conn.execute(select(lanes.c.lane, lanes.c.location).where(lanes.c.subsidiary == subsidiary)
                          .order_by(lanes.c.lane, lanes.c.location)):
        out.setdefault(r.lane, []).append(r.location)
    return {lane: tuple(codes) for lane, codes in out.items()}


def check_movement(conn: Connection, subsidiary: str, lane: str, location: str) -> None:
    """The posting step's check: refuse (locations.model.CrossLane) a movement of `lane` out of `location`."""
    check_lane(lanes_of(conn, subsidiary), lane, location)


def list_locations(conn: Connection, subsidiary: str) -> list[dict]:
    """The subsidiary's locations by code, each with the lanes that draw from it and its state accounts."""
    get_subsidiary(conn, subsidiary)
    drawn = lanes_of(conn, subsidiary)
    rows = conn.execute(select(locations).where(locations.c.subsidiary == subsidiary).order_by(locations.c.code))
    return [{"subsidiary": subsidiary, "code": r.code, "kind": r.kind, "marketplace": r.marketplace,
             "currency": r.currency, "name": r.name, "lanes": [lane for lane, codes in drawn.items() if r.code in codes],
             "accounts": [state_account(r.code, s) for s in STATES], "event_id": r.event_id} for r in rows]


def list_lanes(conn: Connection, subsidiary: str) -> list[dict]:
    get_subsidiary(conn, subsidiary)
    return [{"subsidiary": subsidiary, "lane": lane, "locations": list(codes)}
            for lane, codes in lanes_of(conn, subsidiary).items()]


def projection_problems(conn: Connection) -> list[str]:
    """`verify`: the tables must equal the fold of the `locations_config` events."""
    folded_locations: dict[tuple, tuple] = {}
    folded_lanes: dict[tuple, set] = {}
    for r in conn.execute(select(events.c.id, events.c.subsidiary, events.c.payload).where(events.c.kind == KIND)
                          .order_by(events.c.id)):
        payload = json.loads(r.payload)
        for loc in payload["locations"]:
            folded_locations[(r.subsidiary, loc["code"])] = (loc["kind"], loc["marketplace"], loc["currency"],
                                                             loc["name"], r.id)
        for lane in payload["lanes"]:
            folded_lanes[(r.subsidiary, lane["lane"])] = {(code, r.id) for code in lane["locations"]}
    stored_locations = {(r.subsidiary, r.code): (r.kind, r.marketplace, r.currency, r.name, r.event_id)
                        for r in conn.execute(select(locations))}
    stored_lanes: dict[tuple, set] = {}
    for r in conn.execute(select(lanes)):
        stored_lanes.setdefault((r.subsidiary, r.lane), set()).add((r.location, r.event_id))
    problems = [f"location {key[1]} of {key[0]}: the table has {stored_locations.get(key)}, the log says "
                f"{folded_locations.get(key)}" for key in sorted(set(folded_locations) | set(stored_locations))
                if folded_locations.get(key) != stored_locations.get(key)]
    problems += [f"lane {key[1]} of {key[0]}: the table has {sorted(stored_lanes.get(key, ()))}, the log says "
                 f"{sorted(folded_lanes.get(key, ()))}" for key in sorted(set(folded_lanes) | set(stored_lanes))
                 if folded_lanes.get(key, set()) != stored_lanes.get(key, set())]
    return problems


def rebuild(conn: Connection) -> dict:
    """Replace the locations and lanes tables with a fold of the log (inside the caller's write transaction)."""
    conn.execute(lanes.delete())
    conn.execute(locations.delete())
    rows = conn.execute(select(events.c.id, events.c.subsidiary, events.c.payload).where(events.c.kind == KIND)
                        .order_by(events.c.id)).all()
    for r in rows:
        _project(conn, r.subsidiary, json.loads(r.payload), r.id)
    return {"location_changes": len(rows)}
