"""FBA inventory ledger detail report (GET_LEDGER_DETAIL_VIEW_DATA) -> InventoryMovement records.

The problem: the report is a subsidiary's unit truth at Amazon (docs/inventory.md), one row per movement of units of
one FNSKU into (+) or out of (-) one disposition at one fulfillment center, in several layouts (docs/inventory.md
lists them with their sources): the SP-API's tab-separated file with names without spaces (EventType, ReferenceID,
FulfillmentCenter, ...; SP-API docs "FBA Inventory reports attributes"); Seller Central's .csv (quoted) and .txt
(tab-separated) downloads with names with spaces ("Event Type", "Reference ID", ...) and extra columns ("Date and
Time", an ISO time with offset, downloads only; "Store"; help page G4FKT5KQWFFJ7LDN, exports in public test
fixtures); trimmed exports without Country or the reconciliation columns. Names match by their letters and digits,
case-insensitively; unknown columns are kept in `extra`. Identifiers stay strings (leading zeros kept; Excel's
="00123" is unwrapped). Dates: YYYY-MM-DD, MM/DD/YYYY (a DD/MM date with a day above 12 is refused, never guessed),
DD.MM.YYYY; "Date and Time" becomes naive UTC and must lie within a day of Date.

Amazon repeats identical rows (three one-unit shipments of an FNSKU from one FC on one day carry no event id), so
the natural key is the row's content plus its occurrence index among identical rows of the file:
`inventory-ledger:<date>:<sha256 of the content, 32 hex>:<n>`. The content is what identifies the event (date,
FNSKU, MSKU, event type, reference id, quantity, FC, disposition, reason, country), not what Amazon rewrites later
(Title on a rename, ASIN on a merge, the reconciled/unreconciled split, the time, which API files lack): the same
day read again from an overlapping or later report gives the same keys; a row Amazon added since gives a new one.
Counts are kept for the current Date only while the file runs date by date (memory flat in file size); a file
that comes back to an earlier Date is re-read once and every count is kept from then on.

A bad row stops the whole document with ParseError(document, line, reason); a caller ingests a file in one
transaction, so nothing of it posts. Unknown event types, dispositions and adjustment reasons are kept as given and
flagged (InventoryMovement.flags): the posting step sends them to the exception queue and never posts them.
"""

from __future__ import annotations

import csv
import hashlib
import re
import tomllib
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

from ledger_service import limits
from ledger_service.settings import DEFAULT_ACCOUNTS_DIR
from ledger_service.sources.amazon import _gunzip
from ledger_service.sources.amazon import text as tx
from ledger_service.sources.amazon.settlement_v2 import MAX_LINE
from ledger_service.sources.amazon.stream import _Source
from ledger_service.sources.model import InventoryMovement, ParseError, SourceRef

__all__ = ["iter_movements", "parse_inventory_ledger", "is_inventory_ledger", "load_reasons", "EVENT_TYPES",
           "DISPOSITIONS", "REASONS_FILE"]

SYSTEM = "amazon-inventory-ledger"
FORMAT = "inventory-ledger-detail"
EVENT_TYPES = ("Receipts", "Shipments", "CustomerReturns", "Adjustments", "VendorReturns", "WhseTransfers")
DISPOSITIONS = ("SELLABLE", "UNSELLABLE", "DEFECTIVE", "CUSTOMER_DAMAGED", "CARRIER_DAMAGED", "DISTRIBUTOR_DAMAGED",
                "WAREHOUSE_DAMAGED", "EXPIRED")
REASONS_FILE = DEFAULT_ACCOUNTS_DIR / "amazon" / "inventory_reasons.toml"

_EVENTS = {name.lower(): name for name in EVENT_TYPES} | {"warehousetransfers": "WhseTransfers"}
# Seller Central's help calls WAREHOUSE_DAMAGED "Fulfillment center damaged".
_DISPOSITION_ALIASES = {"FULFILLMENT_CENTER_DAMAGED": "WAREHOUSE_DAMAGED"}
# Column names (lower-case letters and digits only) -> field; Amazon's name of each required field.
_COLUMNS = {
    "date": "date", "dateandtime": "occurred_at", "fnsku": "fnsku", "fulfillmentnetworksku": "fnsku",
    "fulfillmentnetworkskufnsku": "fnsku", "asin": "asin", "msku": "msku", "merchantsku": "msku", "title": "title",
    "eventtype": "event_type", "referenceid": "reference_id", "quantity": "quantity",
    "fulfillmentcenter": "fulfillment_center", "fulfillmentcenterid": "fulfillment_center",
    "disposition": "disposition", "reason": "reason", "country": "country",
    "reconciledquantity": "reconciled_quantity", "unreconciledquantity": "unreconciled_quantity",
}
_FIELDS = tuple(dict.fromkeys(_COLUMNS.values()))
REQUIRED = {"fnsku": "FNSKU", "msku": "MSKU", "event_type": "Event Type", "quantity": "Quantity",
            "disposition": "Disposition"}  # and Date or "Date and Time"
_LONGER = {"msku": limits.MAX_LENGTH["sku"], "title": limits.MAX_CELL}  # other known columns: 64 characters
_WHOLE = re.compile(r"[+-]?\d{1,30}")
_ISO_DAY = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


def _name(column: str) -> str:
    return "".join(ch for ch in column.lower() if ch.isalnum())


class _Layout(NamedTuple):
    delimiter: str
    quoted: bool  # cells may be quoted (CSV rules); an unquoted TSV is split on tabs, quotes being plain text

    @classmethod
    def of(cls, header: str) -> _Layout:
        delimiter = "\t" if "\t" in header else ","
        return cls(delimiter, delimiter == "," or header.lstrip("\ufeff ").startswith('"'))

    def cells(self, line: str) -> list[str]:
        if not self.quoted:
            return [cell.strip() for cell in line.split(self.delimiter)]
        try:
            return [cell.strip() for row in csv.reader((line,), delimiter=self.delimiter, strict=True) for cell in row]
        except csv.Error as exc:
            raise ValueError(f"unreadable quoting ({exc}); a field may not span lines") from None


def _header(number: int, line: str, document: str) -> tuple[_Layout, list[str], dict[str, int]]:
    if len(line) > MAX_LINE:
        raise ParseError(document, number, f"header is {len(line):,} characters long: not a report header")
    layout = _Layout.of(line)
    try:
        names = layout.cells(line.lstrip("\ufeff"))
    except ValueError as exc:
        raise ParseError(document, number, f"header: {exc}") from None
    while names and not names[-1]:  # trailing empty columns
        names.pop()
    index: dict[str, int] = {}
    for i, name in enumerate(names):
        if (field := _COLUMNS.get(_name(name))) is not None:
            if field in index:
                raise ParseError(document, number, f"column {name!r} twice (also {names[index[field]]!r})")
            index[field] = i
    missing = [] if "date" in index or "occurred_at" in index else ["Date"]
    missing += [title for field, title in REQUIRED.items() if field not in index]
    if missing:
        raise ParseError(document, number, f"not an inventory ledger detail report: header lacks column(s) "
                                           f"{', '.join(missing)}")
    return layout, names, index


def is_inventory_ledger(header_line: str) -> bool:
    """True when the first line of a document is an inventory ledger detail header (any spelling); never raises."""
    try:
        line = header_line.split("\n", 1)[0].rstrip("\r")
        _header(1, line, "")
    except (ParseError, ValueError, AttributeError):
        return False
    return True


@lru_cache(maxsize=4)
def load_reasons(path: Path = REASONS_FILE) -> dict:
    """The reason-code table ([disposition] and [reason.<code>]), as the posting step reads it."""
    with open(path, "rb") as file:
        return tomllib.load(file)


def _whole(text: str, what: str, required: bool = False) -> int | None:
    if not (text or required):
        return None
    if not _WHOLE.fullmatch(text):
        raise ValueError(f"{what} {text[:40]!r} is not a whole number of units" if text else f"{what} is empty")
    if abs(value := int(text)) > limits.MAX_UNITS:
        raise ValueError(f"{what} {value} is outside the allowed range (at most {limits.MAX_UNITS} units either way)")
    return value


def _unexcel(cell: str) -> str:
    """="000123" (Excel's way of keeping leading zeros) -> 000123."""
    return cell[2:-1] if cell.startswith('="') and cell.endswith('"') and len(cell) > 2 else cell


def _day(text: str) -> date:
    """A Date cell -> the day it names; a time and offset in it are checked but do not move the day."""
    moment = tx.parse_datetime(text)
    return date(*map(int, match.groups())) if (match := _ISO_DAY.match(text)) else moment.date()


def _labelled(parse: Callable[[str], object], text: str, what: str):
    try:
        return parse(text)
    except ValueError as exc:
        raise ValueError(f"{what}: {exc}") from None


class _Table:
    """The header of one document and what turns each data row into an InventoryMovement's fields."""

    def __init__(self, document: str, sha256: str, number: int, line: str):
        self.document, self.sha256 = document, sha256
        self.layout, self.names, self.index = _header(number, line, document)
        fields = {i: field for field, i in self.index.items()}
        self.lengths = [_LONGER.get(fields[i], 64) if i in fields else limits.MAX_CELL for i in range(len(self.names))]
        self.extra = [i for i in range(len(self.names)) if i not in fields and self.names[i]]
        self.reasons = load_reasons()["reason"]

    def row(self, number: int, raw: str) -> tuple[dict, bytes]:
        """(the fields of the row's InventoryMovement but its key, the digest of its content)."""
        try:
            return self._row(number, raw)
        except ValueError as exc:
            raise ParseError(self.document, number, str(exc)) from None

    def _row(self, number: int, raw: str) -> tuple[dict, bytes]:
        if len(raw) > MAX_LINE:
            raise ValueError(f"line is {len(raw):,} characters long; a report row is at most {MAX_LINE:,}")
        cells, width = self.layout.cells(raw), len(self.names)
        if len(cells) < width or any(cells[width:]):
            raise ValueError(f"{len(cells)} columns, header has {width}")
        if cells[:width] == self.names:
            raise ValueError("the header again: two reports joined into one file?")
        for i in range(width):
            limits.check_text(cells[i], self.names[i] or f"column {i + 1}", self.lengths[i])
        cell = {field: _unexcel(cells[i]) for field, i in self.index.items()}
        get = {field: cell.get(field) or None for field in _FIELDS}
        if not (get["fnsku"] or get["msku"]):
            raise ValueError("row has neither FNSKU nor MSKU")
        day, occurred_at = self._when(cell)
        if not (event_type := cell["event_type"]):
            raise ValueError("Event Type is empty")
        flags = [] if (canonical := _EVENTS.get(_name(event_type))) else ["unknown-event-type"]
        event_type = canonical or event_type
        if (disposition := get["disposition"]) is not None:
            disposition = re.sub(r"[\s-]+", "_", disposition.upper())
            disposition = _DISPOSITION_ALIASES.get(disposition, disposition)
            flags += [] if disposition in DISPOSITIONS else ["unknown-disposition"]
        if event_type == "Adjustments" and get["reason"] not in self.reasons:
            flags.append("unknown-reason")
        fields = dict(
            date=day, occurred_at=occurred_at, fnsku=get["fnsku"], asin=get["asin"], msku=get["msku"],
            title=get["title"], event_type=event_type, reference_id=get["reference_id"],
            quantity=_whole(cell["quantity"], "Quantity", required=True), fulfillment_center=get["fulfillment_center"],
            disposition=disposition, reason=get["reason"], country=get["country"],
            reconciled_quantity=_whole(cell.get("reconciled_quantity", ""), "Reconciled Quantity"),
            unreconciled_quantity=_whole(cell.get("unreconciled_quantity", ""), "Unreconciled Quantity"),
            source=SourceRef(SYSTEM, self.document, self.sha256, number, None, raw), flags=tuple(flags),
            extra=tuple((self.names[i], cells[i]) for i in self.extra if cells[i]))
        content = (day.isoformat(), *(str(fields[f] or "") for f in ("fnsku", "msku", "event_type", "reference_id",
                   "quantity", "fulfillment_center", "disposition", "reason", "country")))
        return fields, hashlib.sha256("\x1f".join(content).encode()).digest()[:16]

    @staticmethod
    def _when(cell: dict[str, str]):
        text, day_text = cell.get("occurred_at", ""), cell.get("date", "")
        if not (day_text or text):
            raise ValueError("no Date")
        occurred_at = _labelled(tx.parse_datetime, text, "Date and Time") if text else None
        day = _labelled(_day, day_text or text, "Date" if day_text else "Date and Time")
        if occurred_at is not None and abs((occurred_at.date() - day).days) > 1:
            raise ValueError(f"Date and Time {text!r} is more than a day from Date {day_text!r}")
        return day, occurred_at


class _Occurrences:
    """The occurrence index of each row's content among the rows of the file with the same content (1, 2, ...).

    Identical content has one Date, so while the file runs date by date only the current Date's counts are kept;
    when a Date comes back after another, `recount(line)` re-reads the rows above `line` and all counts are kept."""

    def __init__(self, recount: Callable[[int], Iterator[bytes]]):
        self.recount, self.day, self.closed, self.counts, self.all = recount, None, set(), Counter(), False

    def next(self, day: date, digest: bytes, line: int) -> int:
        if not self.all and day != self.day:
            if day in self.closed:
                self.all, self.counts = True, Counter(self.recount(line))
            else:
                self.closed.add(self.day)
                self.day, self.counts = day, Counter()
        self.counts[digest] += 1
        return self.counts[digest]


def _nonblank(lines: Iterator[tuple[int, str]]) -> Iterator[tuple[int, str]]:
    for number, line in lines:
        line = line.rstrip("\r")
        if line and not line.isspace():
            yield number, line


def _movements(lines: Callable[[], Iterator[tuple[int, str]]], document: str, sha256: str
               ) -> Iterator[InventoryMovement]:
    rows = _nonblank(lines())
    if (first := next(rows, None)) is None:
        raise ParseError(document, None, "empty document")
    table = _Table(document, sha256, *first)

    def recount(upto: int) -> Iterator[bytes]:
        for number, raw in _nonblank(lines()):
            if number >= upto:
                return
            if number > first[0]:
                yield table.row(number, raw)[1]

    seen = _Occurrences(recount)
    for number, raw in rows:
        fields, digest = table.row(number, raw)
        n = seen.next(fields["date"], digest, number)
        yield InventoryMovement(f"inventory-ledger:{fields['date'].isoformat()}:{digest.hex()}:{n}", **fields)


def _file_lines(path: Path, document: str, encoding: str, sha256: str) -> Iterator[tuple[int, str]]:
    codec = "utf-8" if encoding == "utf-8-sig" else encoding
    with _Source(path, document) as source:
        for number, line in source.lines():
            try:
                yield number, line.decode(encoding if number == 1 else codec)
            except UnicodeDecodeError as exc:
                raise ParseError(document, number, f"cannot decode as {encoding} (file changed while it was read?): "
                                                   f"{exc.reason}") from None
        if source.sha256() != sha256:
            raise ParseError(document, None, "file changed while it was read (sha256 differs)")


def _survey(lines: Iterator[tuple[int, bytes]], document: str) -> str:
    """The encoding text.decode would choose for these lines; ParseError at the line no encoding can read."""
    detector = tx.EncodingDetector()
    for number, line in lines:
        if not detector.feed(line):
            raise ParseError(document, number, "cannot decode: not UTF-8, cp1252 or Shift_JIS (a binary file?)")
    return detector.encoding(document)


def iter_movements(source: Path | str | bytes, document: str | None = None) -> Iterator[InventoryMovement]:
    """Every movement of a report (a path, or its bytes; gzip or not) in file order; ParseError at the first bad row.

    A path is read twice, line by line (encoding and sha256, then the rows): memory stays flat in the file's size.
    Consume it inside one transaction: a ParseError late in the file must leave nothing of it posted."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        document = document or "inventory-ledger"
        sha256, content = hashlib.sha256(data).hexdigest(), _gunzip(data, document)
        try:
            text = tx.decode(content, document)
        except ParseError:
            _survey(enumerate(content.split(b"\n"), start=1), document)  # names the line
            raise
        return _movements(lambda: enumerate(text.split("\n"), start=1), document, sha256)
    path = Path(source)
    document = document or path.name
    with _Source(path, document) as first_pass:
        encoding = _survey(first_pass.lines(), document)
        sha256 = first_pass.sha256()
    return _movements(lambda: _file_lines(path, document, encoding, sha256), document, sha256)


def parse_inventory_ledger(data: bytes | Path | str, document: str | None = None) -> list[InventoryMovement]:
    """The whole report at once: every movement, or a ParseError and none."""
    return list(iter_movements(data, document))
