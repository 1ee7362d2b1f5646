"""The catalog in the ledger: imports recorded as events, their projection, and the lookups posting needs.

The problem: which brand SKU an Amazon MSKU, FNSKU or ASIN stood for on a given day decides whose lots a unit
movement takes, so the catalog must say who changed it and when, and answer for any day. An import is an event of
the subsidiary's log (`catalog_import`: the file's rows, who imported it, the file kept as the raw source when it
is small), keyed by the file's sha256 (and, for an Amazon report, the marketplace and --valid-from it was read
with): importing the same file again changes nothing. The tables `items`, `item_identities` and
`bundle_components` are its projection, written in the same transaction, under the subsidiary's chain-head lock;
`projection_problems` compares them with a fold of the log.

Lookups never guess: an identifier on two SKUs that day is refused (Invalid), an unknown one is None, so an unknown
SKU never silently takes another's lots. `Resolver` gives the same answers from memory (one load per ingest, not a
query per row) to an ingest of many rows.
"""

from __future__ import annotations

import json
from datetime import date

from sqlalchemy import Connection, or_, select

from ledger_service.catalog.model import Catalog, Component, Identity, Item, all_components, all_identities, apply
from ledger_service.catalog.parse import (ParsedImport, check_marketplace, parse_amazon_report, parse_catalog_file,
                                          read_text)
from ledger_service.chart.service import get_subsidiary, utcnow
from ledger_service.errors import Invalid
from ledger_service.eventlog.model import EventDraft, Source, canonical_json
from ledger_service.store.tables import bundle_components, events, item_identities, items

KIND = "catalog_import"
RAW_LIMIT = 4 << 20  # characters of a file kept verbatim on its event; a larger one is named by its sha256
_CHUNK = 500


def import_catalog(conn: Connection, subsidiary: str, data: bytes, document: str, *, marketplace: str | None = None,
                   valid_from: date | None = None, actor: str | None = None) -> dict:
    """Import a catalog or bundles CSV, or (with `marketplace`) an Amazon report's identity columns, inside the
    caller's write transaction. Refused whole (Invalid naming file:line) or applied whole."""
    if marketplace is None and valid_from is not None:
        raise Invalid("--valid-from is for an Amazon report (--amazon-report); a catalog CSV has a valid_from column")
    parsed = (parse_amazon_report(data, document, marketplace, valid_from) if marketplace is not None
              else parse_catalog_file(data, document))
    return record_import(conn, subsidiary, parsed, read_text(data, document), actor)


def record_import(conn: Connection, subsidiary: str, parsed: ParsedImport, text: str, actor: str | None) -> dict:
    from ledger_service.journal.writer import lock_chain_heads, post_batch

    get_subsidiary(conn, subsidiary)
    lock_chain_heads(conn, [subsidiary])  # one import at a time per subsidiary, and writers see it whole
    result = {"subsidiary": subsidiary, "document": parsed.document, "format": parsed.format, "sha256": parsed.sha256}
    prior = conn.execute(select(events.c.id).where(events.c.subsidiary == subsidiary,
                                                   events.c.idempotency_key == parsed.key)).scalar()
    if prior is not None:
        return result | {"event_id": prior, "duplicate": True, **_counts(Catalog(), Catalog())}
    before = load_catalog(conn, subsidiary)
    raw = text if len(text) <= RAW_LIMIT else canonical_json(
        {"document": parsed.document, "sha256": parsed.sha256, "characters": len(text),
         "note": "not kept verbatim: larger than the limit; the payload holds every row read, with its line"})
    event = EventDraft(subsidiary=subsidiary, kind=KIND, occurred_at=utcnow().replace(microsecond=0),
                       idempotency_key=parsed.key, raw=raw,
                       source=Source(system=f"catalog-{parsed.format}", document=parsed.document,
                                     sha256=parsed.sha256),
                       content={"key": parsed.key}, payload=parsed.as_payload())
    event_id = post_batch(conn, [(event, [])], actor=actor)[0].event_id
    after = apply(before, parsed, event_id)
    _write(conn, subsidiary, before, after)
    return result | {"event_id": event_id, "duplicate": False, **_counts(before, after)}


def _counts(before: Catalog, after: Catalog) -> dict:
    old_ids = {(i.key, i.valid_from): i for i in all_identities(before)}
    new_ids = all_identities(after)
    old_parts = {(c.bundle_sku, c.component_sku, c.valid_from) for c in all_components(before)}
    return {"items_added": len(set(after.items) - set(before.items)),
            "items_changed": sum(1 for k, v in after.items.items() if k in before.items and before.items[k] != v),
            "identities_opened": sum(1 for i in new_ids if (i.key, i.valid_from) not in old_ids),
            "identities_closed": sum(1 for i in new_ids if (i.key, i.valid_from) in old_ids
                                     and old_ids[(i.key, i.valid_from)].valid_to != i.valid_to),
            "bundles_changed": len({c.bundle_sku for c in all_components(after)
                                    if (c.bundle_sku, c.component_sku, c.valid_from) not in old_parts})}


def _write(conn: Connection, sub: str, before: Catalog, after: Catalog) -> None:
    new_items = [i for k, i in after.items.items() if k not in before.items]
    _insert(conn, items, [{"subsidiary": sub, **i._asdict()} for i in new_items])
    for k, i in after.items.items():
        if k in before.items and before.items[k] != i:
            conn.execute(items.update().where(items.c.subsidiary == sub, items.c.sku == k)
                         .values(title=i.title, is_bundle=i.is_bundle, event_id=i.event_id))
    old = {(i.key, i.valid_from): i for i in all_identities(before)}
    fresh = []
    for i in all_identities(after):
        held = old.get((i.key, i.valid_from))
        if held is None:
            fresh.append(_row(sub, i))
        elif held.valid_to != i.valid_to:
            t = item_identities.c
            conn.execute(item_identities.update().where(t.subsidiary == sub, t.marketplace == i.marketplace,
                                                        t.msku == i.msku, t.valid_from == i.valid_from)
                         .values(valid_to=i.valid_to))
    _insert(conn, item_identities, fresh)
    parts = {(c.bundle_sku, c.component_sku, c.valid_from): c for c in all_components(before)}
    fresh = []
    for c in all_components(after):
        held = parts.get((c.bundle_sku, c.component_sku, c.valid_from))
        if held is None:
            fresh.append(_row(sub, c))
        elif held.valid_to != c.valid_to:
            t = bundle_components.c
            conn.execute(bundle_components.update().where(
                t.subsidiary == sub, t.bundle_sku == c.bundle_sku, t.component_sku == c.component_sku,
                t.valid_from == c.valid_from).values(valid_to=c.valid_to))
    _insert(conn, bundle_components, fresh)


def _row(sub: str, record: Identity | Component) -> dict:
    """A projection row of an identity or component: its fields, `line` stored as source_line."""
    row = {"subsidiary": sub, **record._asdict(), "source_line": record.line}
    row.pop("line")
    return row


def _insert(conn: Connection, table, rows: list[dict]) -> None:
    for start in range(0, len(rows), _CHUNK):
        conn.execute(table.insert(), rows[start:start + _CHUNK])


def load_catalog(conn: Connection, subsidiary: str) -> Catalog:
    """The stored projection of a subsidiary's catalog."""
    catalog = Catalog()
    for r in conn.execute(select(items).where(items.c.subsidiary == subsidiary)):
        catalog.items[r.sku] = Item(r.sku, r.title, bool(r.is_bundle), r.event_id)
    t = item_identities.c
    for r in conn.execute(select(item_identities).where(t.subsidiary == subsidiary)
                          .order_by(t.marketplace, t.msku, t.valid_from)):
        catalog.identities.setdefault((r.marketplace, r.msku), []).append(_identity(r))
    c = bundle_components.c
    for r in conn.execute(select(bundle_components).where(c.subsidiary == subsidiary)
                          .order_by(c.bundle_sku, c.valid_from, c.component_sku)):
        catalog.components.setdefault(r.bundle_sku, []).append(
            Component(r.bundle_sku, r.component_sku, r.quantity, _day(r.valid_from), _day(r.valid_to), r.event_id,
                      r.source_line))
    return catalog


def _identity(r) -> Identity:
    return Identity(r.marketplace, r.msku, r.sku, r.asin, r.fnsku, r.parent_asin, _day(r.valid_from),
                    _day(r.valid_to), r.event_id, r.source_line)


def _day(value) -> date | None:
    return value if value is None or isinstance(value, date) else date.fromisoformat(str(value)[:10])


def fold(conn: Connection, subsidiary: str) -> Catalog:
    """The catalog as the log says: every import applied in order, from empty."""
    catalog = Catalog()
    for r in conn.execute(select(events.c.id, events.c.payload).where(
            events.c.subsidiary == subsidiary, events.c.kind == KIND).order_by(events.c.seq)):
        catalog = apply(catalog, ParsedImport.from_payload(json.loads(r.payload)), r.id)
    return catalog


def projection_problems(conn: Connection) -> list[str]:
    """`verify`: per subsidiary with catalog imports, the tables must equal the fold of its `catalog_import` events."""
    from ledger_service.catalog.model import same_catalog

    subs = sorted({r.subsidiary for r in conn.execute(select(events.c.subsidiary).where(events.c.kind == KIND)
                                                       .distinct())}
                  | {r.subsidiary for r in conn.execute(select(items.c.subsidiary).distinct())})
    return [f"catalog of {sub}: {p}" for sub in subs for p in same_catalog(load_catalog(conn, sub), fold(conn, sub))]


def rebuild(conn: Connection) -> dict:
    """Replace the catalog tables with a fold of the log (inside the caller's write transaction)."""
    subs = sorted({r.subsidiary for r in conn.execute(select(events.c.subsidiary).where(events.c.kind == KIND)
                                                       .distinct())})
    for table in (bundle_components, item_identities, items):
        conn.execute(table.delete())
    for sub in subs:
        _write(conn, sub, Catalog(), fold(conn, sub))
    return {"catalogs": len(subs)}


def list_catalog(conn: Connection, subsidiary: str, after: str | None = None, limit: int | None = None,
                 as_of: date | None = None) -> list[dict]:
    """Items by SKU (after the SKU `after`, at most `limit`), each with its identities and bundle components (all
    of their history, or those in force on `as_of`)."""
    get_subsidiary(conn, subsidiary)
    query = select(items).where(items.c.subsidiary == subsidiary).order_by(items.c.sku)
    if after is not None:
        query = query.where(items.c.sku > after)
    if limit is not None:
        query = query.limit(limit)
    rows = [dict(r) for r in conn.execute(query).mappings()]
    skus = [r["sku"] for r in rows]
    ids: dict[str, list[dict]] = {}
    parts: dict[str, list[dict]] = {}
    t, c = item_identities.c, bundle_components.c
    for start in range(0, len(skus), _CHUNK):
        chunk = skus[start:start + _CHUNK]
        q = select(item_identities).where(t.subsidiary == subsidiary, t.sku.in_(chunk))
        for r in conn.execute(q.order_by(t.marketplace, t.msku, t.valid_from)):
            if as_of is None or _identity(r).covers(as_of):
                ids.setdefault(r.sku, []).append(_identity_view(_identity(r)))
        q = select(bundle_components).where(c.subsidiary == subsidiary, c.bundle_sku.in_(chunk))
        for r in conn.execute(q.order_by(c.valid_from, c.component_sku)):
            valid_from, valid_to = _day(r.valid_from), _day(r.valid_to)
            if as_of is None or (valid_from <= as_of and (valid_to is None or as_of <= valid_to)):
                parts.setdefault(r.bundle_sku, []).append(
                    {"component_sku": r.component_sku, "quantity": r.quantity, "valid_from": valid_from.isoformat(),
                     "valid_to": valid_to.isoformat() if valid_to else None, "event_id": r.event_id})
    return [{"subsidiary": subsidiary, "sku": r["sku"], "title": r["title"], "is_bundle": bool(r["is_bundle"]),
             "event_id": r["event_id"], "identities": ids.get(r["sku"], []), "components": parts.get(r["sku"], [])}
            for r in rows]


def _identity_view(i: Identity) -> dict:
    return {"marketplace": i.marketplace, "msku": i.msku, "sku": i.sku, "asin": i.asin, "fnsku": i.fnsku,
            "parent_asin": i.parent_asin, "valid_from": i.valid_from.isoformat(),
            "valid_to": i.valid_to.isoformat() if i.valid_to else None, "event_id": i.event_id, "line": i.line}


def identity_on(conn: Connection, subsidiary: str, marketplace: str | None, day: date, *, msku: str | None = None,
                fnsku: str | None = None, asin: str | None = None) -> Identity | None:
    """The identity (and so the brand SKU, `.sku`) that one of msku, fnsku or asin named on `day`, in one
    marketplace or (None) any; None when the catalog does not know it then; Invalid when it names two SKUs.

    An FNSKU relabelled away still names its SKU after its last day (units with the old label stay in the
    fulfillment centers for a while), as long as it never named another SKU."""
    given = [(name, value) for name, value in (("msku", msku), ("fnsku", fnsku), ("asin", asin)) if value]
    if len(given) != 1:
        raise Invalid("identity_on takes exactly one of msku, fnsku, asin")
    name, value = given[0]
    value = value if name == "msku" else value.strip().upper()
    t = item_identities.c
    query = select(item_identities).where(t.subsidiary == subsidiary, getattr(t, name) == value)
    if marketplace:
        query = query.where(t.marketplace == check_marketplace(marketplace))
    dated = query.where(t.valid_from <= day, or_(t.valid_to.is_(None), t.valid_to >= day))
    found = [_identity(r) for r in conn.execute(dated.order_by(t.marketplace, t.msku))]
    if not found and name == "fnsku":
        found = [_identity(r) for r in conn.execute(query.order_by(t.valid_from.desc(), t.marketplace, t.msku))]
    skus = sorted({i.sku for i in found})
    if len(skus) > 1:
        on = "; ".join(f"SKU {i.sku} (MSKU {i.msku} on {i.marketplace}, from {i.valid_from})" for i in found)
        raise Invalid(f"{name.upper()} {value} names {len(skus)} SKUs of {subsidiary} on {day}: {on}; fix the "
                      "catalog (`ledger-service catalog audit`) before its units can post")
    return found[0] if found else None


def resolve_sku(conn: Connection, subsidiary: str, marketplace: str | None, msku: str, day: date) -> str | None:
    """The brand SKU a seller SKU stood for on `day`: its identity in force; else, when the catalog has no identity
    for that MSKU in that marketplace at all, the item of the same SKU (the brand sells it under its own SKU);
    else None (a gap: never another item's)."""
    found = identity_on(conn, subsidiary, marketplace, day, msku=msku)
    if found is not None:
        return found.sku
    t = item_identities.c
    query = select(t.msku).where(t.subsidiary == subsidiary, t.msku == msku).limit(1)
    if marketplace:
        query = query.where(t.marketplace == check_marketplace(marketplace))
    if conn.execute(query).first() is not None:
        return None
    return conn.execute(select(items.c.sku).where(items.c.subsidiary == subsidiary, items.c.sku == msku)).scalar()


def components_on(conn: Connection, subsidiary: str, bundle_sku: str, day: date) -> dict[str, int]:
    """What one unit of a bundle consumes on `day`: component SKU -> units (empty for a SKU that is no bundle)."""
    c = bundle_components.c
    rows = conn.execute(select(c.component_sku, c.quantity).where(
        c.subsidiary == subsidiary, c.bundle_sku == bundle_sku, c.valid_from <= day,
        or_(c.valid_to.is_(None), c.valid_to >= day)))
    return {r.component_sku: r.quantity for r in rows}



class Resolver:
    """The catalog of one subsidiary (in one marketplace, or any) in memory: the answers of `resolve_sku`,
    `identity_on(fnsku=)` and `components_on`, without a query per row, for an ingest of many rows.

    Loaded once (`Resolver.load`, inside the ingest's transaction, under its chain-head lock: the catalog cannot
    change meanwhile); the same rules as the queries above: the identities in force on the day (an FNSKU also
    after its last day, when no identity is in force then), an identifier naming two SKUs refused with the same
    Invalid, an MSKU without any identity resolving to the item of the same SKU. A bundle's components come in
    component SKU order (the order of the primary key components_on reads SQLite's rows in)."""

    def __init__(self, subsidiary: str, identities: list[Identity], skus: set[str], parts: list[Component]):
        self.subsidiary, self.items = subsidiary, skus
        self.by_msku: dict[str, list[Identity]] = {}
        self.by_fnsku: dict[str, list[Identity]] = {}
        for i in sorted(identities, key=lambda i: (i.marketplace, i.msku, i.valid_from)):
            self.by_msku.setdefault(i.msku, []).append(i)
            if i.fnsku:
                self.by_fnsku.setdefault(i.fnsku, []).append(i)
        self.parts: dict[str, list[Component]] = {}
        for c in sorted(parts, key=lambda c: (c.bundle_sku, c.component_sku, c.valid_from)):
            self.parts.setdefault(c.bundle_sku, []).append(c)

    @classmethod
    def load(cls, conn: Connection, subsidiary: str, marketplace: str | None) -> Resolver:
        t, c = item_identities.c, bundle_components.c
        query = select(item_identities).where(t.subsidiary == subsidiary)
        if marketplace:
            query = query.where(t.marketplace == check_marketplace(marketplace))
        parts = [Component(r.bundle_sku, r.component_sku, r.quantity, _day(r.valid_from), _day(r.valid_to),
                           r.event_id, r.source_line)
                 for r in conn.execute(select(bundle_components).where(c.subsidiary == subsidiary))]
        skus = set(conn.execute(select(items.c.sku).where(items.c.subsidiary == subsidiary)).scalars())
        return cls(subsidiary, [_identity(r) for r in conn.execute(query)], skus, parts)

    def sku(self, msku: str, day: date) -> str | None:
        """resolve_sku: the brand SKU of a seller SKU on `day`, or None."""
        found = self.identity(day, msku=msku)
        if found is not None:
            return found.sku
        if msku in self.by_msku:  # an identity on other days: a gap, never the item of the same name
            return None
        return msku if msku in self.items else None

    def identity(self, day: date, *, msku: str | None = None, fnsku: str | None = None) -> Identity | None:
        """identity_on of an MSKU or an FNSKU."""
        if (msku is None) == (fnsku is None):
            raise Invalid("Resolver.identity takes exactly one of msku, fnsku")
        name, value = ("msku", msku) if fnsku is None else ("fnsku", fnsku.strip().upper())
        known = (self.by_msku if fnsku is None else self.by_fnsku).get(value, ())
        found = [i for i in known if i.covers(day)]
        if not found and name == "fnsku":
            found = sorted(known, key=lambda i: (-i.valid_from.toordinal(), i.marketplace, i.msku))
        if len({i.sku for i in found}) > 1:
            on = "; ".join(f"SKU {i.sku} (MSKU {i.msku} on {i.marketplace}, from {i.valid_from})" for i in found)
            raise Invalid(f"{name.upper()} {value} names {len({i.sku for i in found})} SKUs of {self.subsidiary} "
                          f"on {day}: {on}; fix the catalog (`ledger-service catalog audit`) before its units can "
                          "post")
        return found[0] if found else None

    def components(self, bundle_sku: str, day: date) -> dict[str, int]:
        """components_on: what one unit of a bundle consumes on `day` (empty for a SKU that is no bundle)."""
        return {c.component_sku: c.quantity for c in self.parts.get(bundle_sku, ())
                if c.valid_from <= day and (c.valid_to is None or day <= c.valid_to)}
