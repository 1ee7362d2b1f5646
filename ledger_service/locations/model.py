"""Locations, their state accounts, and the lanes that may draw from them: values and pure checks.

The problem: units of one SKU sit in several places a brand must keep apart: its own warehouse, a 3PL, FBA on each
marketplace (FBA on amazon.com and on amazon.co.uk are two locations, of two subsidiaries, in two currencies),
in transit between them. An order of one channel must never take units another channel holds: an FBM order
shipped from the warehouse may not consume FBA stock, and an FBA order may not consume the warehouse's. So each
lane (FBA, FBM, MCF, wholesale, retail 3PL) names the locations it may draw from, and `check_lane` refuses a
movement from any other location with an error naming both, never silently.

A location's states are accounts under it (`Assets:Inventory:<CODE>:Available`, ...: inventory.facts names them,
in one place), so a position by state is a balance. Pure: no I/O; locations.service records and projects.
"""

from __future__ import annotations

import re
from typing import Callable, Iterable, Mapping, NamedTuple

from ledger_service import limits
from ledger_service.chart.model import Account
from ledger_service.errors import Invalid
from ledger_service.inventory.facts import (COGS, SHRINKAGE, STATES, WRITE_OFF_DAMAGED, WRITE_OFF_LOST,
                                            state_account)
from ledger_service.money import is_currency

KINDS = ("warehouse", "3pl", "fba", "transit")
LANES = ("FBA", "FBM", "MCF", "WHOLESALE", "RETAIL_3PL")
# What each lane may draw from: FBA orders and Multi-Channel Fulfillment ship from FBA stock; merchant-fulfilled,
# wholesale and retail-3PL orders from the brand's own warehouses or 3PLs. Stock in transit is drawn by no lane.
LANE_KINDS = {"FBA": ("fba",), "MCF": ("fba",), "FBM": ("warehouse", "3pl"), "WHOLESALE": ("warehouse", "3pl"),
              "RETAIL_3PL": ("3pl", "warehouse")}
STATE_DESCRIPTIONS = {
    "Available": "sellable units, at cost", "Reserved": "units reserved (customer orders, transfers, processing)",
    "Inbound:Working": "units in an inbound shipment being prepared",
    "Inbound:Shipped": "units shipped to the location, not yet received",
    "Inbound:Receiving": "units arrived, being received", "Unfulfillable": "damaged or defective units",
    "Researching": "units under investigation (lost, misplaced)",
    "ReturnsHold": "customer returns awaiting a disposition"}
# Expense accounts a location's movements post to (inventory.facts names them; the shared chart has them, and a
# subsidiary that adds a location is made sure to): COGS when units are sold, lost and damaged write-offs at cost,
# shrinkage for disposals and corrections.
EXPENSES = (Account(COGS, "expense", "Cost of goods sold"),
            Account(WRITE_OFF_LOST, "expense", "Inventory lost, written off at cost; a found unit reverses it"),
            Account(WRITE_OFF_DAMAGED, "expense", "Inventory damaged beyond sale, written off at cost"),
            Account(SHRINKAGE, "expense", "Inventory disposed of, corrected or counted short or over, at cost"))
_CODE = re.compile(r"^[A-Z0-9][A-Z0-9-]*$")


class Location(NamedTuple):
    code: str
    kind: str
    marketplace: str | None
    currency: str
    name: str


def state_accounts(code: str) -> tuple[Account, ...]:
    return tuple(Account(state_account(code, s), "asset", f"{code}: {STATE_DESCRIPTIONS[s]}") for s in STATES)


def check_location(code: str, kind: str, marketplace: str | None, currency: str | None, name: str | None,
                   functional_currency: str, where: str = "") -> Location:
    """A location as the ledger keeps it, or Invalid naming `where` and what is wrong."""
    from ledger_service.catalog.parse import check_marketplace

    at = f"{where}: " if where else ""
    code = (code or "").strip()
    if not _CODE.match(code) or len(code) > limits.MAX_LENGTH["location"]:
        raise Invalid(f"{at}location code {code[:70]!r} must be upper-case letters, digits and '-' (at most "
                      f"{limits.MAX_LENGTH['location']}), e.g. FBA-US or WH-NJ: it names accounts")
    kind = (kind or "").strip().lower()
    if kind not in KINDS:
        raise Invalid(f"{at}location {code}: kind {kind!r}; use one of {', '.join(KINDS)}")
    marketplace = check_marketplace(marketplace) if marketplace and marketplace.strip() else None
    if kind == "fba" and marketplace is None:
        raise Invalid(f"{at}location {code}: an FBA location needs its marketplace (e.g. --marketplace amazon.com): "
                      "FBA stock of one marketplace is not another's")
    currency = (currency or functional_currency).strip().upper()
    if not is_currency(currency):
        raise Invalid(f"{at}location {code}: currency {currency!r} is not an ISO 4217 code")
    name = (name or code).strip()
    try:
        limits.check_text(name, "name", 200)
    except ValueError as exc:
        raise Invalid(f"{at}location {code}: {exc}") from None
    return Location(code, kind, marketplace, currency, name)


def check_lane_locations(lane: str, codes: Iterable[str], known: Mapping[str, Location], where: str = "") -> tuple:
    """A lane's locations as set: a known lane, at least one location, each known and of a kind the lane draws
    from; Invalid otherwise."""
    at = f"{where}: " if where else ""
    lane = lane_name(lane, where)
    codes = tuple(dict.fromkeys(c.strip() for c in codes if c and c.strip()))
    if not codes:
        raise Invalid(f"{at}lane {lane} needs at least one location to draw from")
    for code in codes:
        location = known.get(code)
        if location is None:
            raise Invalid(f"{at}lane {lane}: unknown location {code}; add it first (known: "
                          f"{', '.join(sorted(known)) or 'none'})")
        if location.kind not in LANE_KINDS[lane]:
            raise Invalid(f"{at}lane {lane} may not draw from {code}, a location of kind {location.kind}: {lane} "
                          f"draws from {' or '.join(LANE_KINDS[lane])} locations")
    return lane, codes


def lane_name(lane: str, where: str = "") -> str:
    name = (lane or "").strip().upper().replace("-", "_")
    if name not in LANES:
        raise Invalid(f"{where + ': ' if where else ''}unknown lane {lane!r}; lanes are {', '.join(LANES)}")
    return name


class CrossLane(Invalid):
    """A movement that would take units from a location its lane may not draw from."""

    kind = "cross_lane"


def lane_checker(lanes: Mapping[str, Iterable[str]]) -> Callable[[str, str], None]:
    """check_lane over fixed `lanes`, remembering the (lane, location) pairs it allowed: a posting run checks the
    lane of every movement, and its lanes do not change while it runs. A refused pair is checked (and raises)
    every time."""
    allowed: set[tuple[str, str]] = set()

    def check(lane: str, location: str) -> None:
        if (lane, location) not in allowed:
            check_lane(lanes, lane, location)
            allowed.add((lane, location))
    return check


def check_lane(lanes: Mapping[str, Iterable[str]], lane: str, location: str) -> None:
    """Refuse (CrossLane) a movement of `lane` out of `location` unless the lane may draw from it.

    `lanes`: lane -> the locations it may draw from (locations.service.lanes_of)."""
    lane = lane_name(lane)
    drawn = {name: tuple(codes) for name, codes in lanes.items()}
    allowed = drawn.get(lane, ())
    if location in allowed:
        return
    owners = [name for name, codes in sorted(drawn.items()) if location in codes]
    possessive = " and ".join(f"{owner}'s" for owner in owners)
    whose = f"{possessive} location" if owners else "a location of no lane"
    draws = f"{lane} draws from {', '.join(allowed)}" if allowed else (
        f"{lane} draws from no location yet: `ledger-service lanes set {lane} --locations CODE`")
    raise CrossLane(f"lane {lane} may not draw from {location} ({whose}); {draws}")


def parse_locations_toml(data: dict, origin: str) -> tuple[list[dict], list[tuple[str, tuple[str, ...]]]]:
    """`[[location]]` tables (code, kind, marketplace, currency, name) and `[[lane]]` tables (lane, locations) of
    a TOML file, checked for shape; the values are checked by check_location and check_lane_locations."""
    unknown = sorted(set(data) - {"location", "lane"})
    if unknown:
        raise Invalid(f"{origin}: unknown table(s) {', '.join(unknown)}; a locations file has [[location]] and "
                      "[[lane]]")
    locations, lanes = [], []
    for i, table in enumerate(data.get("location", []), start=1):
        where = f"{origin}: [[location]] #{i}"
        if not isinstance(table, dict):
            raise Invalid(f"{where} is not a table")
        extra = sorted(set(table) - {"code", "kind", "marketplace", "currency", "name"})
        if extra or not all(isinstance(v, str) for v in table.values()):
            raise Invalid(f"{where}: keys are code, kind, marketplace, currency, name (strings)"
                          + (f"; unknown: {', '.join(extra)}" if extra else ""))
        locations.append(table | {"where": where})
    for i, table in enumerate(data.get("lane", []), start=1):
        where = f"{origin}: [[lane]] #{i}"
        codes = table.get("locations") if isinstance(table, dict) else None
        if (not isinstance(table, dict) or set(table) != {"lane", "locations"} or not isinstance(table["lane"], str)
                or not isinstance(codes, list) or not all(isinstance(c, str) for c in codes)):
            raise Invalid(f'{where}: a lane is lane = "FBM" and locations = ["WH-NJ", ...]')
        lanes.append((lane_name(table["lane"], where), tuple(codes)))
    return locations, lanes
