"""Inbound shipment files: which units of which SKU an FBA inbound shipment carries, and how far it has got.

The problem: units sent from a warehouse to FBA are in none of Amazon's money reports; the seller knows them from
the shipment plan (Send to Amazon, or the inbound API's shipments and their items). The ledger needs only, per
shipment and SKU, the units shipped, where they left from and went to, and the shipment's status on a date, read
exactly or not at all: a wrong number, date, status or header is refused naming file:line, and nothing of the file
posts. Pure: no I/O; the catalog, the locations and the log are inventory.inbound's.

Format (UTF-8 with or without a BOM, or cp1252 / Shift_JIS as Amazon files; comma-separated, or tab-separated
when the header has a tab and no comma). Column names are matched by their letters and digits, case-insensitively,
so `ShipmentId`, `Shipment ID` and `shipment_id` are one column; columns not listed are ignored (kept in the raw
row):

    shipment_id  ShipmentId, Shipment ID, FBA shipment ID
    sku          SKU, MSKU, Merchant SKU, Seller SKU: the brand SKU, or an MSKU the catalog maps to one
    units        Units, QuantityShipped, Quantity shipped, Units shipped, Quantity: whole, 1..limits.MAX_UNITS
    from         From, From location, Ship from location: the warehouse or 3PL code the units leave
    to           To, To location, Destination location: the FBA location code they go to
    date         Date, Status date: the day the shipment reached the status (YYYY-MM-DD, MM/DD/YYYY, DD.MM.YYYY)
    status       Status, Shipment status: Amazon's inbound shipment status (STATUSES, ALIASES, DROPPED)

`from` and `to` may be left out of the header when the caller gives a default for them (`--from`, `--to`).
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import NamedTuple

from ledger_service import limits
from ledger_service.errors import Invalid
from ledger_service.sources.amazon import text as tx
from ledger_service.sources.model import ParseError

STATUSES = ("WORKING", "SHIPPED", "RECEIVING", "CLOSED")  # the order a shipment moves through them
# Amazon's other statuses of the same steps: READY_TO_SHIP is still at the warehouse (Amazon maps it to WORKING);
# in transit and delivered are shipped, not yet being received; checked in is being received.
ALIASES = {"READY_TO_SHIP": "WORKING", "IN_TRANSIT": "SHIPPED", "DELIVERED": "SHIPPED", "CHECKED_IN": "RECEIVING"}
# A shipment in one of these has moved no units, or will not: nothing to post while nothing of it is recorded.
DROPPED = ("UNCONFIRMED", "CANCELLED", "DELETED", "ABANDONED")
FIELDS = {
    "shipment_id": ("shipmentid", "fbashipmentid"),
    "sku": ("sku", "msku", "merchantsku", "sellersku"),
    "units": ("units", "quantityshipped", "unitsshipped", "shippedquantity", "quantity"),
    "from_location": ("from", "fromlocation", "shipfromlocation"),
    "to_location": ("to", "tolocation", "destinationlocation", "shiptolocation"),
    "date": ("date", "statusdate"),
    "status": ("status", "shipmentstatus"),
}
_SHIPMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")  # FBA15DJ8K2L9: no ':' (it is part of the event key)
_ISO_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")


class InboundRow(NamedTuple):
    line: int
    raw: str  # the row verbatim
    shipment_id: str
    sku: str  # as written: inventory.inbound resolves it through the catalog
    units: int
    from_location: str
    to_location: str
    date: dt.date
    status: str  # WORKING | SHIPPED | RECEIVING | CLOSED, or one of DROPPED
    given: str  # the status as written (IN_TRANSIT, ...)


def parse_inbound(data: bytes | str, document: str, from_location: str | None = None,
                  to_location: str | None = None) -> tuple[str, list[InboundRow]]:
    """(the header line, the rows in file order); Invalid naming file:line on any bad row."""
    try:
        text = tx.decode(data, document) if isinstance(data, bytes) else data
    except ParseError as exc:
        raise Invalid(str(exc)) from None
    text = text.lstrip("\ufeff")
    header, header_raw, rows, seen = None, "", [], {}
    for n, line in enumerate(text.split("\n"), start=1):
        line = line.rstrip("\r")
        if not line.strip():
            continue
        if header is None:
            delimiter = "\t" if "\t" in line and "," not in line else ","
            names = _cells(line, delimiter, f"{document}:{n}")
            header, header_raw = _header(names, f"{document}:{n}", from_location, to_location), line
            continue
        where = f"{document}:{n}"
        cells = _cells(line, delimiter, where)
        if len(cells) > len(names) and any(c.strip() for c in cells[len(names):]):
            raise Invalid(f"{where}: {len(cells)} cells, but the header has {len(names)} columns")
        named = {field: cells[i].strip() if i < len(cells) else "" for field, i in header.items()}
        row = _row(named, n, line, where, from_location, to_location)
        key = (row.shipment_id, row.sku, row.status)
        if key in seen and _content(seen[key]) != _content(row):
            raise Invalid(f"{where}: shipment {row.shipment_id} {row.sku} {row.status} differs from line "
                          f"{seen[key].line}: one shipment, SKU and status say one thing")
        seen.setdefault(key, row)
        rows.append(row)
    if header is None:
        raise Invalid(f"{document}: empty file: expected a header with shipment_id, sku, units, from, to, date, "
                      "status")
    if not rows:
        raise Invalid(f"{document}: no rows after the header")
    return header_raw, rows


def _content(row: InboundRow) -> tuple:
    return row.units, row.from_location, row.to_location, row.date


def _cells(line: str, delimiter: str, where: str) -> list[str]:
    try:
        cells = next(csv.reader([line], delimiter=delimiter, strict=True))
    except csv.Error as exc:
        raise Invalid(f"{where}: not a CSV row ({exc})") from None
    # Excel's ="000123" keeps leading zeros: the value is what is inside the quotes
    return [c[2:-1] if c.startswith('="') and c.endswith('"') else c for c in cells]


def _header(cells: list[str], where: str, from_location: str | None, to_location: str | None) -> dict[str, int]:
    names = [re.sub(r"[^a-z0-9]", "", c.lower()) for c in cells]
    out: dict[str, int] = {}
    for field, spellings in FIELDS.items():
        at = [i for i, name in enumerate(names) if name in spellings]
        if len(at) > 1:
            raise Invalid(f"{where}: columns {', '.join(repr(cells[i]) for i in at)} all name {field}: keep one")
        if at:
            out[field] = at[0]
    defaults = {"from_location": from_location, "to_location": to_location}
    missing = [field for field in FIELDS if field not in out and not defaults.get(field)]
    if missing:
        raise Invalid(f"{where}: the header lacks {', '.join(missing)} (e.g. "
                      + ", ".join(f"{field}: {' or '.join(FIELDS[field][:2])}" for field in missing)
                      + ("; from and to may instead be given as --from and --to" if
                         {"from_location", "to_location"} & set(missing) else "") + ")")
    return out


def _row(named: dict, n: int, raw: str, where: str, from_location: str | None,
         to_location: str | None) -> InboundRow:
    try:
        limits.check_cells(named, {"shipment_id": "order_id"})
    except ValueError as exc:
        raise Invalid(f"{where}: {exc}") from None
    shipment = named["shipment_id"]
    if not _SHIPMENT.match(shipment):
        raise Invalid(f"{where}: shipment id {shipment!r} must be letters, digits, '.', '_' and '-' (e.g. "
                      "FBA15DJ8K2L9)")
    sku = named["sku"]
    if not sku:
        raise Invalid(f"{where}: sku is empty")
    try:
        units = Decimal(named["units"].replace(",", "") if re.fullmatch(r"\d{1,3}(,\d{3})+", named["units"])
                        else named["units"])
    except (InvalidOperation, ValueError):
        raise Invalid(f"{where}: units {named['units']!r} is not a number") from None
    if not units.is_finite() or units != units.to_integral_value() or not 1 <= units <= limits.MAX_UNITS:
        raise Invalid(f"{where}: units must be a whole number from 1 to {limits.MAX_UNITS}, not {named['units']!r}")
    given = named["status"].strip().upper().replace(" ", "_").replace("-", "_")
    status = ALIASES.get(given, given)
    if status not in STATUSES and status not in DROPPED:
        raise Invalid(f"{where}: status {named['status']!r} is not an inbound shipment status: "
                      f"{', '.join(STATUSES)} (also {', '.join(ALIASES)}; {', '.join(DROPPED)} post nothing)")
    places = {}
    for field, default in (("from_location", from_location), ("to_location", to_location)):
        places[field] = (named.get(field) or default or "").strip().upper()
        if not places[field]:
            raise Invalid(f"{where}: {field.replace('_location', '')} location is empty")
    return InboundRow(n, raw, shipment, sku, int(units), places["from_location"], places["to_location"],
                      _date(named["date"], where), status, given)


def _date(text: str, where: str) -> dt.date:
    try:
        moment = tx.parse_datetime(text)
    except ValueError as exc:
        raise Invalid(f"{where}: date {text!r}: {exc}") from None
    match = _ISO_DAY.match(text.strip())
    return dt.date(*map(int, match.groups())) if match else moment.date()  # the day written, not shifted to UTC
