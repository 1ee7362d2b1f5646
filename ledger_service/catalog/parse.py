"""Reading catalog files: the brand's catalog CSV, its bundles CSV, and the identity columns of Amazon reports.

The problem: a catalog arrives as files a person made in a spreadsheet or Amazon generated, and one bad cell must
not leave half a catalog nor a wrong identity. Pure: bytes in, a `ParsedImport` out, or Invalid naming file:line.
Every cell is checked (limits.check_text: length, control characters); identifiers stay strings (leading zeros
kept; Excel's `="000123"` is read as 000123); ASIN, FNSKU and parent ASIN are 10 letters or digits (upper-cased);
dates are YYYY-MM-DD within limits.EARLIEST..LATEST; a marketplace is a domain (amazon.com), lower-cased.

- Catalog CSV: `sku,title,marketplace,msku,asin,fnsku,parent_asin,valid_from` (any order; only `sku` required).
  A row with a marketplace is an identity of that (marketplace, MSKU) from valid_from (empty: limits.EARLIEST); a
  row without one names an item only. A column left out of the header is not stated (the catalog keeps its value);
  an empty cell in a column that is there clears it.
- Bundles CSV: `bundle_sku,component_sku,quantity[,valid_from][,title]`: the rows of a bundle with one valid_from
  are its whole composition from that day.
- Amazon reports (`--amazon-report`): any report with seller SKU and FNSKU or ASIN columns, such as the FBA Manage
  Inventory report (GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA: sku, fnsku, asin, product-name) or the inventory
  ledger (MSKU, FNSKU, ASIN, Title, Date). The MSKU is the brand SKU when the catalog has none for it. With a Date
  column, each identity stands from the first day the report shows it (an MSKU new to the catalog: from the start);
  without one, from --valid-from (default limits.EARLIEST).
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass
from datetime import date

from ledger_service import limits
from ledger_service.catalog.model import ComponentRow, IdentityRow, ItemRow
from ledger_service.errors import Invalid
from ledger_service.money import is_currency

CATALOG, BUNDLES, AMAZON = "catalog", "bundles", "amazon-report"
CATALOG_COLUMNS = ("sku", "title", "marketplace", "msku", "asin", "fnsku", "parent_asin", "valid_from")
BUNDLE_COLUMNS = ("bundle_sku", "component_sku", "quantity", "valid_from", "title")
# Amazon's column names (letters and digits, lower case) -> field
AMAZON_COLUMNS = {"sku": "msku", "msku": "msku", "sellersku": "msku", "merchantsku": "msku", "fnsku": "fnsku",
                  "fulfillmentchannelsku": "fnsku", "fulfillmentnetworksku": "fnsku", "asin": "asin", "asin1": "asin",
                  "productname": "title", "title": "title", "itemname": "title", "date": "date",
                  "snapshotdate": "date"}
MAX_BYTES = 256 << 20
_AMAZON_ID = re.compile(r"^[A-Z0-9]{10}$")
_MARKETPLACE = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$")
_ISO_DAY = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


@dataclass(frozen=True)
class ParsedImport:
    format: str  # catalog | bundles | amazon-report
    document: str
    sha256: str
    items: tuple[ItemRow, ...] = ()
    identities: tuple[IdentityRow, ...] = ()
    components: tuple[ComponentRow, ...] = ()
    marketplace: str | None = None  # an Amazon report's
    valid_from: date | None = None  # an undated Amazon report's --valid-from

    @property
    def key(self) -> str:
        """The import's idempotency key: the file's content (and, for a report, what it was read as)."""
        options = f":{self.marketplace}:{self.valid_from or ''}" if self.format == AMAZON else ""
        return f"catalog:{self.format}:{self.sha256}{options}"

    def as_payload(self) -> dict:
        return {"format": self.format, "document": self.document, "sha256": self.sha256,
                "marketplace": self.marketplace, "valid_from": self.valid_from,
                "items": [r._asdict() for r in self.items], "components": [r._asdict() for r in self.components],
                "identities": [r._asdict() | {"stated": dict(r.stated)} for r in self.identities]}

    @classmethod
    def from_payload(cls, data: dict) -> ParsedImport:
        def day(value):
            return value if isinstance(value, date) else date.fromisoformat(value)

        return cls(data["format"], data["document"], data["sha256"],
                   tuple(ItemRow(**r) for r in data["items"]),
                   tuple(IdentityRow(**(r | {"valid_from": day(r["valid_from"]),
                                             "stated": tuple(sorted(r["stated"].items()))}))
                         for r in data["identities"]),
                   tuple(ComponentRow(**(r | {"valid_from": day(r["valid_from"])})) for r in data["components"]),
                   data.get("marketplace"), day(data["valid_from"]) if data.get("valid_from") else None)


def read_text(data: bytes, document: str) -> str:
    if len(data) > MAX_BYTES:
        raise Invalid(f"{document}: {len(data):,} bytes; a catalog file may have at most {MAX_BYTES:,}")
    from ledger_service.sources.amazon.text import decode
    from ledger_service.sources.model import ParseError

    try:
        return decode(data, document)
    except ParseError as exc:
        raise Invalid(str(exc)) from None


def parse_catalog_file(data: bytes, document: str) -> ParsedImport:
    """A catalog or bundles CSV, told apart by its header."""
    text = read_text(data, document)
    sha = hashlib.sha256(data).hexdigest()
    rows = _rows(text, document)
    if not rows:
        raise Invalid(f"{document}: empty: expected a header such as {','.join(CATALOG_COLUMNS)}")
    line, header = rows[0]
    names = [h.strip().lower().replace(" ", "_").replace("-", "_") for h in header]
    while names and not names[-1]:
        names.pop()
    fmt = BUNDLES if "bundle_sku" in names else CATALOG if "sku" in names else None
    if fmt is None:
        raise Invalid(f"{document}:{line}: not a catalog file: the header must be {','.join(CATALOG_COLUMNS)} "
                      f"(only sku required) or {','.join(BUNDLE_COLUMNS[:3])}[,valid_from][,title]; for an Amazon "
                      "report use --amazon-report FILE --marketplace M")
    known = CATALOG_COLUMNS if fmt == CATALOG else BUNDLE_COLUMNS
    for name in names:
        if name not in known:
            raise Invalid(f"{document}:{line}: unknown column {name!r}; a {fmt} file has {', '.join(known)}")
        if names.count(name) > 1:
            raise Invalid(f"{document}:{line}: column {name!r} twice")
    table = [(n, _cells(document, n, names, cells)) for n, cells in rows[1:]]
    if fmt == BUNDLES:
        for column in BUNDLE_COLUMNS[:3]:
            if column not in names:
                raise Invalid(f"{document}:{line}: a bundles file needs the column {column}")
        return ParsedImport(BUNDLES, document, sha, components=tuple(_bundle_row(document, n, r) for n, r in table))
    items: dict[str, ItemRow] = {}
    identities = []
    for n, row in table:
        item, identity = _catalog_row(document, n, row, [c for c in ("asin", "fnsku", "parent_asin") if c in names])
        held = items.setdefault(item.sku, item)
        if item.title and held.title and item.title != held.title:
            raise Invalid(f"{document}:{n}: SKU {item.sku} is titled {item.title!r} here but {held.title!r} on line "
                          f"{held.line}")
        if item.title and not held.title:
            items[item.sku] = held._replace(title=item.title)
        if identity is not None:
            identities.append(identity)
    return ParsedImport(CATALOG, document, sha, tuple(items.values()), tuple(identities))


def _catalog_row(doc: str, n: int, row: dict, stated: list[str]) -> tuple[ItemRow, IdentityRow | None]:
    sku = _required(doc, n, row, "sku")
    item = ItemRow(n, sku, row.get("title") or None)
    marketplace, msku = row.get("marketplace"), row.get("msku")
    if not marketplace:
        extra = [c for c in ("msku", "asin", "fnsku", "parent_asin", "valid_from") if row.get(c)]
        if extra:
            raise Invalid(f"{doc}:{n}: {', '.join(extra)} given without a marketplace: an Amazon identity belongs "
                          "to a marketplace (e.g. amazon.com)")
        return item, None
    if not msku:
        raise Invalid(f"{doc}:{n}: marketplace {marketplace} needs the seller SKU (msku) it lists {sku} under")
    start = _date(doc, n, row["valid_from"]) if row.get("valid_from") else limits.EARLIEST
    values = (("sku", sku),) + tuple((c, _amazon_id(doc, n, c, row.get(c))) for c in stated)
    return item, IdentityRow(n, _marketplace(doc, n, marketplace), msku, start, tuple(sorted(values)))


def _bundle_row(doc: str, n: int, row: dict) -> ComponentRow:
    bundle, component = _required(doc, n, row, "bundle_sku"), _required(doc, n, row, "component_sku")
    text = _required(doc, n, row, "quantity")
    if not text.isdigit() or not 1 <= int(text) <= limits.MAX_UNITS:
        raise Invalid(f"{doc}:{n}: quantity {text[:40]!r} is not a whole number of units from 1 to "
                      f"{limits.MAX_UNITS}")
    start = _date(doc, n, row["valid_from"]) if row.get("valid_from") else limits.EARLIEST
    return ComponentRow(n, bundle, component, int(text), start, row.get("title") or None)


def parse_amazon_report(data: bytes, document: str, marketplace: str, valid_from: date | None = None
                        ) -> ParsedImport:
    """The identities an Amazon report shows (see the module's docstring)."""
    text = read_text(data, document)
    marketplace = _marketplace(document, None, marketplace)
    if valid_from is not None:
        limits.check_date(valid_from, "--valid-from")
    lines = text.splitlines()
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        raise Invalid(f"{document}: empty: expected an Amazon report with a header line")
    tabbed = "\t" in lines[first]
    quoted = not tabbed or lines[first].lstrip("\ufeff ").startswith('"')
    rows = _rows(text, document, "\t" if tabbed else ",", quoted)
    line, header = rows[0]
    index: dict[str, int] = {}
    for i, name in enumerate(header):
        field = AMAZON_COLUMNS.get("".join(ch for ch in name.lower() if ch.isalnum()))
        if field is not None and field not in index:
            index[field] = i
    if "msku" not in index or not ({"fnsku", "asin"} & set(index)):
        raise Invalid(f"{document}:{line}: not an Amazon report with identity columns: it needs a seller SKU column "
                      "(sku, MSKU, seller-sku) and FNSKU or ASIN")
    dated = "date" in index
    if dated and valid_from is not None:
        raise Invalid(f"{document}: the report dates its rows (Date); --valid-from is for undated reports")
    seen: dict[str, dict[tuple, tuple[date, int]]] = {}  # msku -> values -> (first day, first line)
    titles: dict[str, str] = {}
    for n, cells in rows[1:]:
        cell = {f: _unexcel(cells[i].strip()) if i < len(cells) else "" for f, i in index.items()}
        for f, value in cell.items():
            _check(document, n, "title" if f == "title" else "sku", value)
        msku = _required(document, n, cell, "msku")
        values = tuple((f, _amazon_id(document, n, f, cell[f])) for f in ("asin", "fnsku") if cell.get(f))
        day = _report_day(document, n, cell["date"]) if dated else (valid_from or limits.EARLIEST)
        known = seen.setdefault(msku, {})
        if not dated and known and values not in known:
            other = next(iter(known.values()))[1]
            raise Invalid(f"{document}:{n}: MSKU {msku} has other identifiers than on line {other}; an undated "
                          "report shows one identity per MSKU")
        if values not in known or (day, n) < known[values]:
            known[values] = (day, n)
        if cell.get("title") and msku not in titles:
            titles[msku] = cell["title"]
    identities = []
    for msku, known in seen.items():
        for i, (values, (day, n)) in enumerate(sorted(known.items(), key=lambda kv: kv[1])):
            identities.append(IdentityRow(n, marketplace, msku, day, values, open_start=dated and i == 0,
                                          title=titles.get(msku)))
    return ParsedImport(AMAZON, document, hashlib.sha256(data).hexdigest(), identities=tuple(identities),
                        marketplace=marketplace, valid_from=valid_from)


def _rows(text: str, document: str, delimiter: str | None = None, quoted: bool = True
          ) -> list[tuple[int, list[str]]]:
    """Non-blank rows with the line each starts on."""
    text = text.lstrip("\ufeff")
    if delimiter is None:
        head = text.split("\n", 1)[0]
        delimiter = "\t" if "\t" in head else ";" if ";" in head and "," not in head else ","
    out = []
    if not quoted:
        for n, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                out.append((n, line.rstrip("\r").split(delimiter)))
        return out
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    start = 1
    try:
        for cells in reader:
            if any(c.strip() for c in cells):
                out.append((start, cells))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise Invalid(f"{document}:{start}: unreadable quoting: {exc}") from None
    return out


def _cells(doc: str, n: int, names: list[str], cells: list[str]) -> dict[str, str]:
    values = [_unexcel(c.strip()) for c in cells]
    if any(values[len(names):]):
        raise Invalid(f"{doc}:{n}: {len(values)} cells for the {len(names)} columns of the header")
    row = dict(zip(names, values))
    for name, value in row.items():
        _check(doc, n, name, value)
    return row


def _check(doc: str, n: int, name: str, value: str) -> None:
    limit = {"title": 2000, "sku": limits.MAX_LENGTH["sku"], "msku": limits.MAX_LENGTH["sku"],
             "bundle_sku": limits.MAX_LENGTH["sku"], "component_sku": limits.MAX_LENGTH["sku"]}.get(name, 64)
    try:
        limits.check_text(value, name, limit)
    except ValueError as exc:
        raise Invalid(f"{doc}:{n}: {exc}") from None


def _required(doc: str, n: int, row: dict, name: str) -> str:
    value = row.get(name) or ""
    if not value:
        raise Invalid(f"{doc}:{n}: {name} is empty")
    if name in ("sku", "msku", "bundle_sku", "component_sku") and is_currency(value):
        raise Invalid(f"{doc}:{n}: SKU {value!r} is a currency code: its units could not be told from money")
    return value


def _unexcel(cell: str) -> str:
    """="000123" (Excel's way of keeping leading zeros) -> 000123."""
    return cell[2:-1] if cell.startswith('="') and cell.endswith('"') and len(cell) > 2 else cell


def _amazon_id(doc: str, n: int, name: str, value: str | None) -> str | None:
    if not value:
        return None
    if not _AMAZON_ID.match(value.upper()):
        raise Invalid(f"{doc}:{n}: {name} {value[:40]!r} is not 10 letters or digits")
    return value.upper()


def _marketplace(doc: str, n: int | None, value: str) -> str:
    text = (value or "").strip().lower()
    if len(text) > limits.MAX_LENGTH["marketplace"] or not _MARKETPLACE.match(text):
        where = f"{doc}:{n}" if n is not None else doc
        raise Invalid(f"{where}: marketplace {value[:70]!r} is not a marketplace domain such as amazon.com")
    return text


def check_marketplace(value: str) -> str:
    """A marketplace as the ledger keeps it (amazon.com), or Invalid."""
    return _marketplace("marketplace", None, value)


def _date(doc: str, n: int, text: str) -> date:
    try:
        day = date.fromisoformat(text)
        limits.check_date(day, "valid_from")
    except ValueError as exc:
        raise Invalid(f"{doc}:{n}: valid_from {text[:40]!r}: {exc} (write YYYY-MM-DD)") from None
    return day


def _report_day(doc: str, n: int, text: str) -> date:
    from ledger_service.sources.amazon.text import parse_datetime

    try:
        if match := _ISO_DAY.match(text):
            day = date(*map(int, match.groups()))
            limits.check_date(day)
            return day
        return parse_datetime(text).date()
    except ValueError as exc:
        raise Invalid(f"{doc}:{n}: Date {text[:40]!r}: {exc}") from None
