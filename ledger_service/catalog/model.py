"""The catalog as values, and how an import changes it: items, effective-dated Amazon identities, bundles.

The problem: units post as the brand's SKU (the item), but Amazon names them per marketplace by seller SKU (MSKU),
ASIN and FNSKU, and those change: ASINs merge and split, FNSKUs are relabelled, an MSKU is remapped. A lookup for
an event of March must find what was in force in March, so nothing is overwritten: an identity is in force from
`valid_from` to `valid_to` (None: still in force), and a change closes the one in force the day before the new
one starts. History only grows: a row that starts after the latest identity of its MSKU changes it (if it differs);
a row that starts before the MSKU's first identity fills the time before it; any other row must agree with what
the catalog says for its day (then it changes nothing), else it is refused naming file:line.

An identity is keyed by (marketplace, MSKU): a brand SKU may have several MSKUs in a marketplace (an FBA and an
FBM listing, a relisted MSKU), and the brand SKU an MSKU stands for is part of its identity, so remapping an MSKU
is an effective-dated change too. A bundle's composition (component SKU -> units per bundle unit) is dated the
same way, as a whole.

Pure: `apply(catalog, parsed, event_id)` returns the catalog after an import (parse.ParsedImport) or raises
Invalid naming document:line. The service writes the difference; a rebuild folds every import from empty.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import NamedTuple

from ledger_service import limits
from ledger_service.errors import Invalid

IDENTITY_FIELDS = ("sku", "asin", "fnsku", "parent_asin")  # what an identity says about its (marketplace, MSKU)


class Item(NamedTuple):
    sku: str
    title: str
    is_bundle: bool
    event_id: int


class Identity(NamedTuple):
    marketplace: str
    msku: str
    sku: str
    asin: str | None
    fnsku: str | None
    parent_asin: str | None
    valid_from: date
    valid_to: date | None
    event_id: int
    line: int | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.marketplace, self.msku)

    @property
    def values(self) -> tuple:
        return (self.sku, self.asin, self.fnsku, self.parent_asin)

    def covers(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


class Component(NamedTuple):
    bundle_sku: str
    component_sku: str
    quantity: int
    valid_from: date
    valid_to: date | None
    event_id: int
    line: int | None = None


class ItemRow(NamedTuple):
    """An item a file names: its title, when the file gives one."""

    line: int
    sku: str
    title: str | None


class IdentityRow(NamedTuple):
    """What a file says of one (marketplace, MSKU) from `valid_from`: only the fields it states (`stated`);
    the others stay as the catalog has them. `open_start`: an Amazon report's first sighting of an MSKU the catalog
    does not know yet stands from limits.EARLIEST (nothing says it was different before). `title`: for the item an
    MSKU creates when the file names no brand SKU (an Amazon report: the MSKU is the SKU)."""

    line: int
    marketplace: str
    msku: str
    valid_from: date
    stated: tuple[tuple[str, str | None], ...]
    open_start: bool = False
    title: str | None = None


class ComponentRow(NamedTuple):
    line: int
    bundle_sku: str
    component_sku: str
    quantity: int
    valid_from: date
    title: str | None = None  # of the bundle item


@dataclass
class Catalog:
    """A subsidiary's catalog: items by SKU, identity history per (marketplace, MSKU) and composition history per
    bundle, each history in valid_from order."""

    items: dict[str, Item] = field(default_factory=dict)
    identities: dict[tuple[str, str], list[Identity]] = field(default_factory=dict)
    components: dict[str, list[Component]] = field(default_factory=dict)

    def copy(self) -> Catalog:
        return Catalog(dict(self.items), {k: list(v) for k, v in self.identities.items()},
                       {k: list(v) for k, v in self.components.items()})

    def composition(self, bundle_sku: str, day: date | None = None) -> dict[str, int]:
        """Component SKU -> units, in force on `day` (None: now)."""
        return {c.component_sku: c.quantity for c in self.components.get(bundle_sku, ())
                if (c.valid_to is None if day is None else c.valid_from <= day and (c.valid_to is None
                                                                                     or day <= c.valid_to))}


def _where(document: str, line: int) -> str:
    return f"{document}:{line}"


def apply(catalog: Catalog, parsed, event_id: int) -> Catalog:
    """The catalog after an import; Invalid (document:line) when a row contradicts it or the file itself."""
    out = catalog.copy()
    doc = parsed.document
    for row in parsed.items:
        _item(out, row, event_id)
    _components(out, parsed.components, doc, event_id)
    _identities(out, parsed.identities, doc, event_id)
    return out


def _item(catalog: Catalog, row: ItemRow, event_id: int, is_bundle: bool = False) -> None:
    held = catalog.items.get(row.sku)
    if held is None:
        catalog.items[row.sku] = Item(row.sku, row.title or "", is_bundle, event_id)
    elif (row.title and row.title != held.title) or (is_bundle and not held.is_bundle):
        catalog.items[row.sku] = held._replace(title=row.title or held.title, is_bundle=held.is_bundle or is_bundle,
                                               event_id=event_id)


def _components(catalog: Catalog, rows, doc: str, event_id: int) -> None:
    groups: dict[tuple[str, date], list[ComponentRow]] = {}
    for row in rows:
        groups.setdefault((row.bundle_sku, row.valid_from), []).append(row)
    bundles = {bundle for bundle, _ in groups}
    components = {c.component_sku for history in catalog.components.values() for c in history}
    components |= {r.component_sku for r in rows}
    for (bundle, start), group in sorted(groups.items()):
        first = group[0]
        if bundle in components:
            raise Invalid(f"{_where(doc, first.line)}: {bundle} is a component of a bundle, so it cannot be a bundle "
                          "itself (nested bundles are not supported: list the units it consumes)")
        for i, row in enumerate(group):
            twice = next((r for r in group[:i] if r.component_sku == row.component_sku), None)
            if twice is not None:
                raise Invalid(f"{_where(doc, row.line)}: component {row.component_sku} of bundle {bundle} from {start} "
                              f"is already on line {twice.line}: give its units once")
            held = catalog.items.get(row.component_sku)
            if held is None:
                raise Invalid(f"{_where(doc, row.line)}: component {row.component_sku} of bundle {bundle} is not in "
                              "the catalog; import the item first (a catalog file with it)")
            if held.is_bundle or row.component_sku in bundles:
                raise Invalid(f"{_where(doc, row.line)}: component {row.component_sku} of bundle {bundle} is a "
                              "bundle itself (nested bundles are not supported: list the units it consumes)")
        _item(catalog, ItemRow(first.line, bundle, next((r.title for r in group if r.title), None)), event_id,
              is_bundle=True)
        wanted = {r.component_sku: r.quantity for r in group}
        history = catalog.components.setdefault(bundle, [])
        current = [c for c in history if c.valid_to is None]
        if history and start < history[0].valid_from:  # the time before its first composition: filled
            before = history[0].valid_from - timedelta(days=1)
            history[:0] = [Component(bundle, r.component_sku, r.quantity, start, before, event_id, r.line)
                           for r in sorted(group, key=lambda r: r.component_sku)]
            continue
        if current and start <= current[0].valid_from:
            said = catalog.composition(bundle, start)
            if said == wanted:
                continue
            raise Invalid(f"{_where(doc, first.line)}: bundle {bundle} from {start} is {_composition(wanted)}, but "
                          f"the catalog has {_composition(said)} on that day; a change must start after "
                          f"{current[0].valid_from}: give a later valid_from")
        if current and {c.component_sku: c.quantity for c in current} == wanted:
            continue
        end = start - timedelta(days=1)
        history[:] = [c._replace(valid_to=end) if c.valid_to is None else c for c in history]
        history.extend(Component(bundle, r.component_sku, r.quantity, start, None, event_id, r.line)
                       for r in sorted(group, key=lambda r: r.component_sku))


def _composition(parts: dict[str, int] | None) -> str:
    return " + ".join(f"{units} x {sku}" for sku, units in sorted((parts or {}).items())) or "nothing"


def _identities(catalog: Catalog, rows, doc: str, event_id: int) -> None:
    seen: dict[tuple, IdentityRow] = {}
    for row in sorted(rows, key=lambda r: (r.marketplace, r.msku, r.valid_from, r.line)):
        slot = (row.marketplace, row.msku, row.valid_from)
        if slot in seen:
            if seen[slot].stated != row.stated:
                raise Invalid(f"{_where(doc, row.line)}: MSKU {row.msku} on {row.marketplace} from {row.valid_from} "
                              f"differs from line {seen[slot].line}, which gives the same MSKU and date")
            continue
        seen[slot] = row
        _identity(catalog, row, doc, event_id)


def _identity(catalog: Catalog, row: IdentityRow, doc: str, event_id: int) -> None:
    key = (row.marketplace, row.msku)
    history = catalog.identities.setdefault(key, [])
    stated = dict(row.stated)
    if not history:
        start = limits.EARLIEST if row.open_start else row.valid_from
        values = {f: stated.get(f) for f in IDENTITY_FIELDS}
        values["sku"] = values["sku"] or row.msku  # no brand SKU given: the MSKU is the SKU (1:1)
        _ensure_item(catalog, values["sku"], row, doc, event_id)
        history.append(Identity(row.marketplace, row.msku, **values, valid_from=start, valid_to=None,
                                event_id=event_id, line=row.line))
        return
    latest, first = history[-1], history[0]
    if row.valid_from < first.valid_from:  # the time before its first identity, which nothing covered: filled
        values = _merged(stated, first)
        _ensure_item(catalog, values[0], row, doc, event_id)
        history.insert(0, Identity(row.marketplace, row.msku, *values, valid_from=row.valid_from,
                                   valid_to=first.valid_from - timedelta(days=1), event_id=event_id, line=row.line))
        return
    if row.valid_from <= latest.valid_from:
        on = next(i for i in history if i.covers(row.valid_from))
        if _merged(stated, on) == on.values:
            return
        raise Invalid(f"{_where(doc, row.line)}: MSKU {row.msku} on {row.marketplace} from {row.valid_from} says "
                      f"{_said(_merged(stated, on))}, but the catalog has {_said(on.values)} on that day (from "
                      f"{on.valid_from}); a change must start after {latest.valid_from}: give a later valid_from")
    values = _merged(stated, latest)
    if values == latest.values:
        return
    _ensure_item(catalog, values[0], row, doc, event_id)
    history[-1] = latest._replace(valid_to=row.valid_from - timedelta(days=1))
    history.append(Identity(row.marketplace, row.msku, *values, valid_from=row.valid_from, valid_to=None,
                            event_id=event_id, line=row.line))


def _merged(stated: dict, base: Identity) -> tuple:
    return tuple(stated[f] if f in stated and (f != "sku" or stated[f]) else getattr(base, f)
                 for f in IDENTITY_FIELDS)


def _said(values: tuple) -> str:
    return ", ".join(f"{name} {value or '-'}" for name, value in zip(IDENTITY_FIELDS, values))


def _ensure_item(catalog: Catalog, sku: str, row: IdentityRow, doc: str, event_id: int) -> None:
    if sku not in catalog.items:
        if dict(row.stated).get("sku"):
            raise Invalid(f"{_where(doc, row.line)}: SKU {sku} is not in the catalog")  # parse adds an item per row
        catalog.items[sku] = Item(sku, row.title or "", False, event_id)


def in_force(history: list[Identity], day: date) -> Identity | None:
    return next((i for i in history if i.covers(day)), None)


def all_identities(catalog: Catalog) -> list[Identity]:
    return [i for key in sorted(catalog.identities) for i in catalog.identities[key]]


def all_components(catalog: Catalog) -> list[Component]:
    return [c for bundle in sorted(catalog.components) for c in catalog.components[bundle]]


def same_catalog(a: Catalog, b: Catalog) -> list[str]:
    """What differs between two catalogs (a stored projection and a fold of the log), for `verify`."""
    problems = []
    for name, left, right in (
            ("item", a.items, b.items),
            ("identity", {(i.key, i.valid_from): i for i in all_identities(a)},
             {(i.key, i.valid_from): i for i in all_identities(b)}),
            ("bundle component", {(c.bundle_sku, c.component_sku, c.valid_from): c for c in all_components(a)},
             {(c.bundle_sku, c.component_sku, c.valid_from): c for c in all_components(b)})):
        for key in sorted(set(left) | set(right), key=str):
            if left.get(key) != right.get(key):
                problems.append(f"{name} {key}: the table has {left.get(key)}, the log says {right.get(key)}")
    return problems
