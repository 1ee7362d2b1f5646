"""The demo's inventory: US on FIFO, UK on moving average, written as files and ingested as an operator would.

The problem: issue 12's inventory must show on the demo's own books, the units its settlements sell having been
bought, landed, shipped to FBA and sold at cost in the months the demo closes. So, for each subsidiary, from the
order items and refunds of the settlement files the demo generated (inventory_story.tell), this writes under
<out>/<CODE>/inventory/ the catalog and bundles CSVs, a locations TOML, two purchase receipt CSVs (US PO-US-1001 by
value, UK PO-UK-2001 by weight; the top-up POs by units), the inbound shipment CSV and the FBA inventory ledger
report, and ingests them through the services the CLI commands call (`locations import`, `catalog import`,
`inventory receive`, `inventory inbound`, `inventory ingest`). It must run before demo/close.py closes the first
months: their COGS is dated in them. Then it tries a wholesale-lane sale from the FBA location (refused, nothing
posted) and reports lots, positions by state, the valuation beside the inventory accounts, COGS and the catalog
audit. A second run finds everything recorded and changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine

from ledger_service.catalog.audit import catalog_audit
from ledger_service.catalog.service import import_catalog
from ledger_service.chart.service import get_subsidiary
from ledger_service.demo import inventory_files as files
from ledger_service.demo.inventory_story import DISPOSITIONS, MARKETS, Order, Refund, Story, tell
from ledger_service.errors import Invalid, LedgerError
from ledger_service.inventory import facts as f
from ledger_service.inventory.inbound import ingest_inbound
from ledger_service.inventory.loading import books_of
from ledger_service.inventory.posting import post
from ledger_service.inventory.service import ingest_ledger, load_state, receive_file
from ledger_service.inventory.views import cogs, inventory_balances, positions, valuation
from ledger_service.locations.service import import_locations
from ledger_service.money import fmt
from ledger_service.sources.amazon import parse_document
from ledger_service.store.engine import write_transaction

ACTOR = "demo"
ORDER, REFUND = ("Order", "ItemPrice", "Principal"), ("Refund", "ItemPrice", "Principal")


def settlement_orders(folder: Path, marketplace: str) -> tuple[list[Order], list[Refund], dt.date, dt.date]:
    """The order items and refunds of a subsidiary's settlement files (legacy, then V2) in one marketplace, and the
    first day of the first month and the last day they cover."""
    paths = sorted((folder / "legacy").glob("settlement_*.txt")) + sorted(folder.glob("settlement_*.txt"))
    units: dict[tuple[str, str], list] = {}
    refunds: list[Refund] = []
    days: list[dt.date] = []
    for path in paths:
        for a in parse_document(path.read_bytes(), path.name).amounts:
            if a.posted_at is not None:
                days.append(a.posted_at.date())
            if (a.marketplace or "").lower() != marketplace or not a.order_id or not a.sku:
                continue
            if a.triple == ORDER and a.quantity:
                held = units.setdefault((a.order_id, a.sku), [0, a.posted_at])
                held[0] += a.quantity
            elif a.triple == REFUND and a.posted_at is not None:
                refunds.append(Refund(a.order_id, a.sku, a.posted_at.date()))
    orders = sorted((Order(order, sku, n, at.date(), at) for (order, sku), (n, at) in units.items()),
                    key=lambda o: (o.at, o.order_id))
    if not days:
        return [], [], dt.date.min, dt.date.min
    return orders, sorted(refunds, key=lambda r: (r.day, r.order_id)), min(days).replace(day=1), max(days)


def write_files(folder: Path, story: Story) -> dict[str, Path]:
    m, code = story.market, story.market.code.lower()
    texts = {"locations": ("locations.toml", files.locations_toml(m)),
             "catalog": ("catalog.csv", files.catalog_csv(m)), "bundles": ("bundles.csv", files.bundles_csv()),
             "inbound": (f"inbound-{m.shipment_id}.csv", files.inbound_csv(m, story.inbound)),
             "closed": (f"inbound-{m.shipment_id}-closed.csv", files.inbound_csv(m, story.closed)),
             "ledger": (f"inventory-ledger-{code}.{'csv' if m.layout == 'seller-central' else 'txt'}",
                        files.ledger_report(story))}
    texts |= {po.po: (f"{po.po.lower()}.csv", files.receipts_csv(m, po, story.first)) for po in story.pos}
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for key, (name, text) in texts.items():
        (folder / name).write_bytes(text.encode("utf-8"))
        out[key] = folder / name
    return out


def ingest_inventory(engine: Engine, out: Path, codes: tuple[str, ...] = ("US", "UK")) -> list[str]:
    """Write and ingest each subsidiary's inventory files; the lines to print."""
    lines = []
    for code in codes:
        m = MARKETS[code]
        orders, refunds, first, last = settlement_orders(out / code, m.marketplace)
        if len(orders) < len(DISPOSITIONS):
            lines.append(f"inventory {code}: {len(orders)} order(s) on {m.marketplace}: too few for the story, "
                         "skipped")
            continue
        story = tell(m, orders, refunds, first, last)
        paths = write_files(out / code / "inventory", story)
        try:
            lines += _ingest(engine, story, paths)
        except LedgerError as exc:
            lines.append(f"inventory {code}: refused: {exc.message}")
            continue
        lines += summary(engine, story)
    return lines


def _ingest(engine: Engine, story: Story, paths: dict[str, Path]) -> list[str]:
    m, code = story.market, story.market.code
    with write_transaction(engine) as conn:
        import_locations(conn, code, paths["locations"].read_text(encoding="utf-8"), paths["locations"].name, ACTOR)
        for key in ("catalog", "bundles"):
            import_catalog(conn, code, paths[key].read_bytes(), paths[key].name, actor=ACTOR)
    received = []
    for po in story.pos:
        with write_transaction(engine) as conn:
            r = receive_file(conn, code, paths[po.po].read_bytes(), paths[po.po].name, m.warehouse, po.rule, ACTOR)
        received.append(f"{po.po} by {po.rule}: " + (f"{len(r['lots'])} lots, {r['total']} {m.currency}" if r["posted"]
                                                      else "already received"))
    with write_transaction(engine) as conn:  # WORKING, SHIPPED, RECEIVING: WH -> FBA inbound, at cost
        ingest_inbound(conn, code, paths["inbound"].read_bytes(), paths["inbound"].name, actor=ACTOR)
    with write_transaction(engine) as conn:
        report = ingest_ledger(conn, code, paths["ledger"].read_bytes(), paths["ledger"].name, m.fba, ACTOR)
    with write_transaction(engine) as conn:  # CLOSED once Amazon's receipts are in: the shortage to Researching
        closed = ingest_inbound(conn, code, paths["closed"].read_bytes(), paths["closed"].name, actor=ACTOR)
    researching = sum(r["shortage"] or 0 for r in closed["results"])
    short = {sku: n - story.received[sku] for sku, n in story.shipped.items() if n > story.received[sku]}
    flagged = ", ".join(f"line {x['line']} {x['kind']}" for x in report["exceptions"])
    return [f"inventory {code} ({m.currency}): files in {paths['catalog'].parent}",
            "  received at " + m.warehouse + ": " + "; ".join(received),
            f"  inbound {m.shipment_id} {m.warehouse} -> {m.fba}: {sum(story.shipped.values())} units shipped, "
            f"{sum(story.received.values())} received (short: "
            + ", ".join(f"{n} {sku}" for sku, n in short.items()) + f"); closed: {researching} to Researching",
            f"  {paths['ledger'].name}: {report['rows']} rows, {report['posted']} posted, {report['duplicates']} "
            f"already there, {len(report['exceptions'])} exception(s): {flagged or '-'}"]


def cross_lane(engine: Engine, story: Story) -> str:
    """A wholesale order drawn from the FBA location: the lane check refuses it; nothing is posted."""
    m, code = story.market, story.market.code
    with engine.connect() as conn:
        sub = get_subsidiary(conn, code)
        books = books_of(conn, sub)
        sale = f.Sale(f"WHOLESALE-{code}-0001", "NX-KB-0880", 5, m.fba, story.last, lane="WHOLESALE")
        try:
            post(sale, load_state(conn, code, [sale.sku]), books)
        except Invalid as exc:
            return f"refused, nothing posted: {exc.message}"
    return "NOT refused"


def summary(engine: Engine, story: Story) -> list[str]:
    m, code = story.market, story.market.code
    with engine.connect() as conn:
        sub = get_subsidiary(conn, code)
        value = valuation(conn, code)
        accounts = sum((v for _, v in inventory_balances(conn, code, None).values()), Decimal(0))
        by_state: dict[str, list] = defaultdict(lambda: [0, Decimal(0)])
        for p in positions(conn, code):
            held = by_state[f"{p['location']} {p['state']}" if p["location"] else p["account"]]
            held[0] += p["units"]
            held[1] += Decimal(p["value"])
        sold = cogs(conn, code, story.first, story.last)["total"]
        gaps = catalog_audit(conn, code)
    lots = {x["lot"] for x in value["lots"] if x["lot"]}
    held = "lots" if sub.valuation_method != "average" else "moving-average holdings"
    return [f"  {len(lots)} {held} held; positions by state: "
            + "; ".join(f"{k} {units} ({fmt(v)})" for k, (units, v) in sorted(by_state.items())),
            f"  valuation {value['total']} {m.currency} = inventory accounts {fmt(accounts)} {m.currency}; "
            f"COGS {story.first}..{story.last}: {sold['cogs']} {m.currency}",
            f"  a WHOLESALE sale from {m.fba}: {cross_lane(engine, story)}",
            f"  catalog audit: {len(gaps)} gap(s)" + "".join(f"; {g['kind']} {g['sku']}" for g in gaps)]
