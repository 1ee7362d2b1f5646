"""The NetSuite mapping: where each of our postings goes in NetSuite. Data (TOML), validated when it is loaded.

    [journal]
    subsidiary = { US = "1", UK = "2" }     # NetSuite subsidiary internal id, per subsidiary code (or one string)
    rounding_account = "Expenses:FX:Rounding"  # ours, mapped below: takes the residue of rounding to 2 decimals
    csv_date_format = "MM/DD/YYYY"          # the Date column of the CSV (the import's date preference)

    [currencies]                            # ISO code -> NetSuite currency internal id (optional)
    USD = "1"

    [accounts]                              # every account the export meets must be here
    "Assets:Bank:Operating" = "1010"        # short form: the NetSuite account, for the CSV and REST alike
    "Income:Amazon:Sales:Principal" = { account = "4000", id = "213", class = "1", segments = { cseg_x = "4" } }
    "Assets:Inventory:FBA-*:Inbound:**" = { account = "1410", location = "2" }  # a pattern (below)

    [dimensions.marketplace."amazon.com"]   # per value of one of our posting dimensions
    department = "10"
    segments = { custcol_channel = "1" }

A line's department, class, location, name and segments come from its account's own settings first, then from the
dimension tables in the order of DIMENSION_ORDER (the first that sets a field wins). The operator's mapping is
`<config_dir>/netsuite/<SUBSIDIARY>.toml`, else `<config_dir>/netsuite.toml`, else the package's example.

Account patterns: inventory accounts are made per location and state (`Assets:Inventory:FBA-US:Inbound:Working`,
one set per location an operator adds), so naming each one would make every new location break the export. A key
of [accounts] with `*` is a pattern: `*` matches within one segment (`FBA-*` matches `FBA-US`, never `A:B`), `**`
matches one or more whole segments. An account's exact name wins; otherwise the matching pattern with the most
literal characters; two equally specific patterns that both match are refused, naming both, rather than one
chosen silently.
"""

from __future__ import annotations

import re
from functools import lru_cache
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from ledger_service.chart.config import read_toml
from ledger_service.errors import Invalid

PACKAGE_EXAMPLE = Path(__file__).resolve().parents[2] / "defaults" / "netsuite" / "example.toml"
FIELDS = ("department", "class", "location", "name")  # NetSuite's standard line fields (Name is `entity` in REST)
DIMENSION_ORDER = ("location", "marketplace", "sku", "order_id", "settlement_id")  # our posting dimensions
DATE_FORMATS = {"MM/DD/YYYY": "%m/%d/%Y", "DD/MM/YYYY": "%d/%m/%Y", "YYYY-MM-DD": "%Y-%m-%d",
                "DD.MM.YYYY": "%d.%m.%Y"}
_SEGMENT = re.compile(r"^(custcol|cseg|custbody)[a-z0-9_]*$")
_ACCOUNT_KEYS = {"account", "id", "segments", *FIELDS}
_DIMENSION_KEYS = {"segments", *FIELDS}


@dataclass(frozen=True)
class Target:
    """Where a posting goes: a NetSuite account and the line's dimensions. Postings with equal targets are summed
    into one line of a journal; targets sort the lines."""

    account: str  # as the CSV's Account column writes it (a number, or "number name", or an internal id)
    account_id: str  # the internal id REST references it by
    department: str = ""
    klass: str = ""
    location: str = ""
    name: str = ""
    segments: tuple[tuple[str, str], ...] = ()

    def key(self) -> tuple:
        return (self.account, self.account_id, self.department, self.klass, self.location, self.name, self.segments)


@dataclass(frozen=True)
class LineFields:
    """Department, class, location, name and segments set by an account or a dimension value."""

    values: tuple[tuple[str, str], ...] = ()  # (field, value) of FIELDS
    segments: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Mapping:
    origin: str
    subsidiary: tuple[tuple[str, str], ...]  # (code, id); code "*" for a single id that serves every subsidiary
    rounding_account: str
    accounts: dict[str, tuple[str, str, LineFields]]  # ours -> (account, id, settings)
    dimensions: dict[tuple[str, str], LineFields] = field(default_factory=dict)  # (dimension, value) -> settings
    currencies: tuple[tuple[str, str], ...] = ()
    csv_date_format: str = "MM/DD/YYYY"

    def subsidiary_id(self, code: str) -> str:
        ids = dict(self.subsidiary)
        found = ids.get(code, ids.get("*"))
        if found is None:
            raise Invalid(f"NetSuite mapping {self.origin}: [journal] subsidiary has no id for {code}; add "
                          f'{code} = "<internal id>"')
        return found

    def currency_id(self, iso: str) -> str | None:
        return dict(self.currencies).get(iso)

    def segment_names(self) -> tuple[str, ...]:
        names = {k for _, _, s in self.accounts.values() for k, _ in s.segments}
        names |= {k for s in self.dimensions.values() for k, _ in s.segments}
        return tuple(sorted(names))

    def resolve(self, account: str) -> str | None:
        """The key of [accounts] that maps `account`: its own name, else the most specific matching pattern."""
        if account in self.accounts:
            return account
        found = [(_literal_chars(p), p) for p in self.accounts if "*" in p and _pattern(p).fullmatch(account)]
        if not found:
            return None
        found.sort(key=lambda x: (-x[0], x[1]))
        if len(found) > 1 and found[0][0] == found[1][0]:
            raise Invalid(f"NetSuite mapping {self.origin}: account {account} matches the patterns "
                          f"{found[0][1]!r} and {found[1][1]!r} equally; map it by name or make one more specific")
        return found[0][1]

    def check_accounts(self, used: Iterable[str], where: str) -> None:
        """Invalid listing every account of `used` the mapping lacks."""
        missing = sorted(a for a in set(used) if self.resolve(a) is None)
        if missing:
            raise Invalid(f"NetSuite mapping {self.origin} has no NetSuite account for {len(missing)} account(s) "
                          f"used in {where}: {', '.join(missing)}; add them under [accounts]")

    def target(self, account: str, dims: dict[str, str]) -> Target:
        key = self.resolve(account)
        if key is None:
            raise Invalid(f"NetSuite mapping {self.origin} has no NetSuite account for {account}; add it under "
                          "[accounts]")
        ns_account, ns_id, own = self.accounts[key]
        chosen = [own, *(self.dimensions[(d, _norm(d, dims[d]))] for d in DIMENSION_ORDER
                         if d in dims and (d, _norm(d, dims[d])) in self.dimensions)]
        values: dict[str, str] = {}
        segments: dict[str, str] = {}
        for settings in chosen:  # the first that sets a field wins
            for name, value in settings.values:
                values.setdefault(name, value)
            for name, value in settings.segments:
                segments.setdefault(name, value)
        return Target(ns_account, ns_id, values.get("department", ""), values.get("class", ""),
                      values.get("location", ""), values.get("name", ""), tuple(sorted(segments.items())))

    def as_dict(self) -> dict:
        """The mapping as plain data (recorded on the export event, and read back with from_dict)."""

        def fields_of(s: LineFields) -> dict:
            return {**dict(s.values), **({"segments": dict(s.segments)} if s.segments else {})}

        dims: dict[str, dict] = {}
        for (dim, value), s in sorted(self.dimensions.items()):
            dims.setdefault(dim, {})[value] = fields_of(s)
        subsidiary = dict(self.subsidiary)
        return {"journal": {"subsidiary": subsidiary.get("*") if list(subsidiary) == ["*"] else subsidiary,
                            "rounding_account": self.rounding_account, "csv_date_format": self.csv_date_format},
                "currencies": dict(self.currencies),
                "accounts": {name: {"account": a, "id": i, **fields_of(s)}
                             for name, (a, i, s) in sorted(self.accounts.items())},
                "dimensions": dims}


@lru_cache(maxsize=256)
def _pattern(key: str) -> re.Pattern:
    """`*` within one segment, `**` one or more whole segments; everything else literal."""
    parts = re.split(r"(\*\*|\*)", key)
    return re.compile("".join(".+" if x == "**" else "[^:]*" if x == "*" else re.escape(x) for x in parts))


def _literal_chars(key: str) -> int:
    return len(key.replace("*", ""))


def _norm(dimension: str, value: str) -> str:
    return value.strip().lower() if dimension == "marketplace" else value


def load(path: Path) -> Mapping:
    return from_dict(read_toml(Path(path)), str(path))


def from_dict(data: dict[str, Any], origin: str) -> Mapping:
    """A Mapping from its TOML (or recorded) form; Invalid naming `origin` and the key for anything malformed."""
    where = f"NetSuite mapping {origin}"
    _only(data, {"journal", "currencies", "accounts", "dimensions"}, where)
    journal = _table(data.get("journal"), f"{where}: [journal]", required=True)
    _only(journal, {"subsidiary", "rounding_account", "csv_date_format"}, f"{where}: [journal]")
    subsidiary = journal.get("subsidiary")
    if isinstance(subsidiary, dict):
        if not subsidiary:
            raise Invalid(f"{where}: [journal] subsidiary is an empty table")
        subs = tuple(sorted((str(k), _text(v, f"{where}: [journal] subsidiary.{k}")) for k, v in subsidiary.items()))
    else:
        subs = (("*", _text(subsidiary, f"{where}: [journal] subsidiary")),)
    date_format = journal.get("csv_date_format", "MM/DD/YYYY")
    if date_format not in DATE_FORMATS:
        raise Invalid(f"{where}: [journal] csv_date_format = {date_format!r}; use one of {', '.join(DATE_FORMATS)}")
    currencies = _table(data.get("currencies"), f"{where}: [currencies]")
    for code in currencies:
        if not (len(code) == 3 and code.isalpha() and code.isupper()):
            raise Invalid(f"{where}: [currencies] {code!r} is not an ISO 4217 code")
    accounts: dict[str, tuple[str, str, LineFields]] = {}
    for name, value in _table(data.get("accounts"), f"{where}: [accounts]", required=True).items():
        here = f'{where}: [accounts] "{name}"'
        if any("**" in seg and seg != "**" for seg in str(name).split(":")):
            raise Invalid(f"{here}: `**` stands for whole segments (`Assets:Inventory:**`), not part of one")
        if isinstance(value, dict):
            _only(value, _ACCOUNT_KEYS, here)
            number = _text(value.get("account"), f"{here}.account")
            accounts[name] = (number, _text(value.get("id", number), f"{here}.id"), _settings(value, here))
        else:
            number = _text(value, here)
            accounts[name] = (number, number, LineFields())
    rounding = _text(journal.get("rounding_account"), f"{where}: [journal] rounding_account")
    if rounding not in accounts:
        raise Invalid(f"{where}: [journal] rounding_account {rounding!r} is not mapped under [accounts]")
    dimensions: dict[tuple[str, str], LineFields] = {}
    for dim, values in _table(data.get("dimensions"), f"{where}: [dimensions]").items():
        if dim not in DIMENSION_ORDER:
            raise Invalid(f"{where}: [dimensions.{dim}]: unknown dimension; use one of {', '.join(DIMENSION_ORDER)}")
        for value, settings in _table(values, f"{where}: [dimensions.{dim}]").items():
            here = f'{where}: [dimensions.{dim}."{value}"]'
            settings = _table(settings, here)
            _only(settings, _DIMENSION_KEYS, here)
            dimensions[(dim, _norm(dim, value))] = _settings(settings, here)
    return Mapping(origin, subs, rounding, accounts, dimensions,
                   tuple(sorted((k, _text(v, f"{where}: [currencies] {k}")) for k, v in currencies.items())),
                   date_format)


def _settings(table: dict, here: str) -> LineFields:
    values = tuple((f, _text(table[f], f"{here}.{f}")) for f in FIELDS if f in table)
    segments = _table(table.get("segments"), f"{here}.segments")
    for name in segments:
        if not _SEGMENT.match(name):
            raise Invalid(f"{here}.segments: {name!r} is not a NetSuite custom field or segment script id "
                          "(custcol..., cseg..., custbody...)")
    return LineFields(values, tuple(sorted((k, _text(v, f"{here}.segments.{k}")) for k, v in segments.items())))


def _table(value: Any, here: str, required: bool = False) -> dict:
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise Invalid(f"{here} must be a table" if value is not None else f"{here} is missing")
    return value


def _only(table: dict, allowed: set[str], here: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise Invalid(f"{here}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(allowed))}")


def _text(value: Any, here: str) -> str:
    """A reference as text: a string, or a whole number (TOML `account = 4000`); nothing else."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise Invalid(f"{here} must be a string (a NetSuite number or internal id), not {value!r}")
    text = str(value).strip()
    if not text or any(ord(c) < 32 for c in text):
        raise Invalid(f"{here} must be a non-empty single-line string, not {value!r}")
    return text


def mapping_path(config_dir: Path | None, code: str) -> Path:
    """The operator's mapping for a subsidiary, else the package's example."""
    if config_dir is not None:
        for path in (Path(config_dir) / "netsuite" / f"{code}.toml", Path(config_dir) / "netsuite.toml"):
            if path.is_file():
                return path
    return PACKAGE_EXAMPLE
