"""The mapping-gap audit: what the catalog does not cover, or covers twice, before it costs someone a wrong lot.

The problem: a unit movement takes lots of the brand SKU its Amazon identifiers stood for that day. A seller SKU
the catalog does not know, an FNSKU on two SKUs at once, a bundle whose component has no cost, units held at no
cost: each would post a wrong COGS or none, silently. The audit lists every such gap, each with what it concerns
(SKU, FNSKU, ASIN, marketplace), where it was first seen (event, document:line, date) and what to do:

- `sku_not_in_catalog`: a SKU on postings (settlement rows carry the seller SKU) that no identity of its
  marketplace covers on the day it was seen, and that is no item's own SKU (service.resolve_sku's rule); and an
  MSKU (or FNSKU) of FBA inventory ledger rows the catalog could not resolve (open `unknown-sku` inventory
  exceptions: those rows posted nothing).
- `fnsku_on_two_skus`: one FNSKU on identities of two brand SKUs in force at the same time.
- `asin_changed` (informational): an MSKU whose ASIN changed (a merge or split); listed for review.
- `bundle_uncosted_component`: a component of a bundle in force that has no cost (`has_cost`).
- `units_without_cost`: units of a SKU received into inventory at a cost of zero.

Every gap but `asin_changed` blocks the units it concerns: `exception_items` gives them in the exception queue's
terms, for the queue and the close pack.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

from sqlalchemy import Connection, func, select

from ledger_service import limits
from ledger_service.catalog.model import Catalog
from ledger_service.catalog.service import load_catalog
from ledger_service.chart.service import get_subsidiary
from ledger_service.store.tables import accounts, commodities, entries, events, postings

INFO = "info"
BLOCKING = "blocking"
KINDS = {"sku_not_in_catalog": BLOCKING, "fnsku_on_two_skus": BLOCKING, "asin_changed": INFO,
         "bundle_uncosted_component": BLOCKING, "units_without_cost": BLOCKING}
INVENTORY = "Assets:Inventory:"


def catalog_audit(conn: Connection, subsidiary: str) -> list[dict]:
    """Every gap of the subsidiary's catalog, by kind, then SKU."""
    get_subsidiary(conn, subsidiary)
    catalog = load_catalog(conn, subsidiary)
    gaps = _not_in_catalog(conn, subsidiary, catalog)
    gaps = (gaps + _unresolved_movements(conn, subsidiary, gaps) + _fnsku_on_two_skus(catalog)
            + _asin_changes(catalog) + _uncosted_components(conn, subsidiary, catalog)
            + _units_without_cost(conn, subsidiary))
    _name_documents(conn, gaps)
    order = list(KINDS)
    return sorted(gaps, key=lambda g: (order.index(g["kind"]), g["sku"] or "", g["marketplace"] or "",
                                       g["fnsku"] or "", g["first_seen"]["date"] or ""))


def exception_items(conn: Connection, subsidiary: str) -> list[dict]:
    """The blocking gaps as exception-queue items: {event_id, kind, date, detail, source, gap}."""
    return [{"event_id": g["first_seen"]["event_id"], "kind": f"catalog:{g['kind']}", "date": g["first_seen"]["date"],
             "detail": g["detail"], "source": {"document": g["first_seen"]["document"],
                                               "line": g["first_seen"]["line"]}, "gap": g}
            for g in catalog_audit(conn, subsidiary) if g["severity"] == BLOCKING]


def has_cost(conn: Connection, subsidiary: str, sku: str) -> bool:
    """Whether units of `sku` were ever received into inventory at a cost above zero: a cost lot exists.

    Lots are a projection of the units postings (docs/inventory.md), so until the lots table lands this asks the
    postings: an inventory account, the SKU as commodity, units in, a cost per unit above zero. No receipt posts
    units yet, so this is False for every SKU today; the lots step replaces it with a query of its lots."""
    rows = conn.execute(
        select(postings.c.cost_per_unit).distinct()
        .join(accounts, accounts.c.id == postings.c.account_id)
        .where(postings.c.subsidiary == subsidiary, postings.c.commodity == sku, postings.c.quantity > 0,
               accounts.c.name.like(INVENTORY + "%")).limit(100))
    return any(r.cost_per_unit is not None and Decimal(r.cost_per_unit) > 0 for r in rows)


def _gap(kind: str, detail: str, *, sku=None, fnsku=None, asin=None, marketplace=None, event_id=None, line=None,
         day: date | None = None) -> dict:
    return {"kind": kind, "severity": KINDS[kind], "sku": sku, "fnsku": fnsku, "asin": asin,
            "marketplace": marketplace, "detail": detail,
            "first_seen": {"event_id": event_id, "document": None, "line": line,
                           "date": day.isoformat() if day else None}}


def _not_in_catalog(conn: Connection, sub: str, catalog: Catalog) -> list[dict]:
    p, e = postings.c, entries.c
    first = conn.execute(
        select(p.marketplace, p.sku, func.min(e.effective_date).label("day"), func.min(e.event_id).label("event_id"),
               func.count().label("n"))
        .select_from(postings.join(entries, entries.c.id == p.entry_id))
        .where(p.subsidiary == sub, p.sku.is_not(None)).group_by(p.marketplace, p.sku)).all()
    by_msku: dict[str, list[tuple[str, list]]] = defaultdict(list)
    for (m, msku), history in catalog.identities.items():
        by_msku[msku].append((m, history))
    gaps = []
    for r in first:
        day = r.day if isinstance(r.day, date) else date.fromisoformat(str(r.day)[:10])
        marketplace = (r.marketplace or "").strip().lower() or None
        histories = [h for m, h in by_msku.get(r.sku, ()) if marketplace is None or m == marketplace]
        if histories:
            start = min(h[0].valid_from for h in histories)
            if day >= start:
                continue
            detail = (f"seller SKU {r.sku} is on {r.n} posting(s) from {day}, but its identity starts on {start}; "
                      "give the identity an earlier valid_from")
        elif r.sku in catalog.items:
            continue  # sold under the brand's own SKU
        else:
            detail = (f"seller SKU {r.sku} is on {r.n} posting(s) from {day} and not in the catalog"
                      f"{' of ' + marketplace if marketplace else ''}; import it (`ledger-service catalog import`) "
                      "so that its units take their own lots")
        gaps.append(_gap("sku_not_in_catalog", detail, sku=r.sku, marketplace=marketplace, event_id=r.event_id,
                         day=day))
    _first_lines(conn, gaps)
    return gaps


def _unresolved_movements(conn: Connection, sub: str, known: list[dict]) -> list[dict]:
    """Inventory ledger rows whose MSKU (or FNSKU) the catalog did not resolve: stored as open `unknown-sku`
    inventory exceptions (inventory.exceptions), one gap per identifier and marketplace, first seen on its
    earliest row; a seller SKU already a gap from the postings is not listed twice."""
    from ledger_service.inventory.exceptions import inventory_exceptions  # inventory builds on the catalog
    from ledger_service.locations.service import load_locations

    markets = {code: loc.marketplace for code, loc in load_locations(conn, sub).items()}
    seen = {(g["sku"], g["marketplace"]) for g in known}
    rows: dict[tuple, list[dict]] = defaultdict(list)
    for x in inventory_exceptions(conn, sub):
        if x["kind"] == "unknown-sku" and x["status"] == "open":
            rows[(x["msku"] or x["fnsku"], markets.get(x["location"]))].append(x)
    gaps = []
    for (msku, marketplace), found in rows.items():
        if (msku, marketplace) in seen:
            continue
        x = found[0]  # listed by date
        detail = (f"MSKU {x['msku'] or '-'} / FNSKU {x['fnsku'] or '-'} is on {len(found)} inventory ledger row(s) "
                  f"of {x['location']} from {x['date']} and not in the catalog"
                  f"{' of ' + marketplace if marketplace else ''}: nothing of them posted; import it "
                  "(`ledger-service catalog import`) and run the rows again")
        gaps.append(_gap("sku_not_in_catalog", detail, sku=msku, fnsku=x["fnsku"] or None, marketplace=marketplace,
                         event_id=x["event_id"], line=x["source"]["line"], day=date.fromisoformat(x["date"])))
    return gaps


def _first_lines(conn: Connection, gaps: list[dict]) -> None:
    """The source line of each gap's first posting, in its first event."""
    ids = sorted({g["first_seen"]["event_id"] for g in gaps})
    lines: dict[tuple[int, str], int] = {}
    for start in range(0, len(ids), 500):
        p, e = postings.c, entries.c
        rows = conn.execute(select(e.event_id, p.sku, func.min(p.source_line).label("line"))
                            .select_from(postings.join(entries, entries.c.id == p.entry_id))
                            .where(e.event_id.in_(ids[start:start + 500]), p.sku.is_not(None))
                            .group_by(e.event_id, p.sku))
        lines.update({(r.event_id, r.sku): r.line for r in rows})
    for g in gaps:
        g["first_seen"]["line"] = lines.get((g["first_seen"]["event_id"], g["sku"]))


def _fnsku_on_two_skus(catalog: Catalog) -> list[dict]:
    by_fnsku = defaultdict(list)
    for history in catalog.identities.values():
        for i in history:
            if i.fnsku:
                by_fnsku[i.fnsku].append(i)
    gaps = []
    for fnsku, found in sorted(by_fnsku.items()):
        clash = [(a, b) for a in found for b in found if a.sku < b.sku and _overlap(a, b)]
        if not clash:
            continue
        a, b = clash[0]
        later = max(a, b, key=lambda i: (i.valid_from, i.event_id))
        on = ", ".join(f"SKU {i.sku} (MSKU {i.msku} on {i.marketplace} from {i.valid_from})"
                       for i in sorted({i for pair in clash for i in pair}, key=lambda i: (i.sku, i.valid_from)))
        gaps.append(_gap("fnsku_on_two_skus", f"FNSKU {fnsku} is on two SKUs at once: {on}; a unit with this label "
                                              "cannot be told apart: correct the catalog", sku=later.sku,
                         fnsku=fnsku, marketplace=later.marketplace, event_id=later.event_id, line=later.line,
                         day=max(a.valid_from, b.valid_from)))
    return gaps


def _overlap(a, b) -> bool:
    return a.valid_from <= (b.valid_to or limits.LATEST) and b.valid_from <= (a.valid_to or limits.LATEST)


def _asin_changes(catalog: Catalog) -> list[dict]:
    gaps = []
    for (marketplace, msku), history in sorted(catalog.identities.items()):
        for old, new in zip(history, history[1:]):
            if old.asin != new.asin:
                gaps.append(_gap("asin_changed", f"MSKU {msku} on {marketplace}: ASIN {old.asin or '-'} until "
                                                 f"{old.valid_to}, {new.asin or '-'} from {new.valid_from} (a merge or "
                                                 "split: check its reports follow)", sku=new.sku, asin=new.asin,
                                 marketplace=marketplace, event_id=new.event_id, line=new.line, day=new.valid_from))
    return gaps


def _uncosted_components(conn: Connection, sub: str, catalog: Catalog) -> list[dict]:
    gaps, costed = [], {}
    for bundle, history in sorted(catalog.components.items()):
        for part in history:
            if part.valid_to is not None:
                continue
            if part.component_sku not in costed:
                costed[part.component_sku] = has_cost(conn, sub, part.component_sku)
            if not costed[part.component_sku]:
                gaps.append(_gap("bundle_uncosted_component",
                                 f"bundle {bundle} consumes {part.quantity} x {part.component_sku}, which has no cost "
                                 "lot yet: receive it at cost before the bundle sells", sku=part.component_sku,
                                 event_id=part.event_id, line=part.line, day=part.valid_from))
    return gaps


def _units_without_cost(conn: Connection, sub: str) -> list[dict]:
    p, e, a = postings.c, entries.c, accounts.c
    rows = conn.execute(
        select(p.commodity, p.cost_per_unit, func.min(e.effective_date).label("day"),
               func.min(e.event_id).label("event_id"), func.sum(p.quantity).label("units"))
        .select_from(postings.join(entries, entries.c.id == p.entry_id).join(accounts, accounts.c.id == p.account_id)
                     .join(commodities, commodities.c.code == p.commodity))
        .where(p.subsidiary == sub, commodities.c.kind == "units", p.quantity > 0, a.name.like(INVENTORY + "%"))
        .group_by(p.commodity, p.cost_per_unit)).all()
    zero: dict[str, list] = defaultdict(list)
    for r in rows:
        if r.cost_per_unit is None or Decimal(r.cost_per_unit) == 0:
            zero[r.commodity].append(r)
    gaps = []
    for sku, found in sorted(zero.items()):
        first = min(found, key=lambda r: (str(r.day), r.event_id))
        day = first.day if isinstance(first.day, date) else date.fromisoformat(str(first.day)[:10])
        gaps.append(_gap("units_without_cost", f"{sum(r.units for r in found)} unit(s) of {sku} came into inventory at "
                                               "no cost: their COGS would be zero; post their cost", sku=sku,
                         event_id=first.event_id, day=day))
    return gaps


def _name_documents(conn: Connection, gaps: list[dict]) -> None:
    ids = sorted({g["first_seen"]["event_id"] for g in gaps if g["first_seen"]["event_id"] is not None})
    docs = {}
    for start in range(0, len(ids), 500):
        docs.update({r.id: r.source_document for r in conn.execute(
            select(events.c.id, events.c.source_document).where(events.c.id.in_(ids[start:start + 500])))})
    for g in gaps:
        g["first_seen"]["document"] = docs.get(g["first_seen"]["event_id"])
