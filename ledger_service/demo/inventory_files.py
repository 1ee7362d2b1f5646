"""The demo's inventory story written as the files an operator would have: catalog, locations, POs, the report.

The problem: the demo must exercise the paths an operator uses, so its inventory arrives as files in the formats
those paths read (docs/inventory.md): the catalog CSV and the bundles CSV (`catalog import`), a locations TOML
(`locations import`), purchase receipt CSVs (`inventory receive --allocate`), an inbound shipment CSV (`inventory
inbound`) and the FBA inventory ledger detail report (`inventory ingest`), the US one as Seller Central's quoted CSV
download (MM/DD/YYYY, "Date and Time", "Store"), the UK one as the SP-API's tab-separated file. Pure: a Story in,
text out; the same story gives the same bytes.
"""

from __future__ import annotations

import csv
import io

from ledger_service.demo.inventory_story import (BUNDLE, BUNDLE_PARTS, ITEMS, LANES, PO, Inbound, Item, Market,
                                                 Movement, Story)

SELLER_CENTRAL = ("Date", "FNSKU", "ASIN", "MSKU", "Title", "Event Type", "Reference ID", "Quantity",
                  "Fulfillment Center", "Disposition", "Reason", "Country", "Reconciled Quantity",
                  "Unreconciled Quantity", "Date and Time", "Store")
SP_API = ("Date", "FNSKU", "ASIN", "MSKU", "Title", "EventType", "ReferenceID", "Quantity", "FulfillmentCenter",
          "Disposition", "Reason", "Country", "ReconciledQuantity", "UnreconciledQuantity")
INBOUND = ("shipment_id", "sku", "units", "from_location", "to_location", "date", "status")


def _csv(rows, quote_all: bool = False) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL)
    writer.writerows(rows)
    return out.getvalue()


def asin(item: Item) -> str:
    return f"B0{item.code}"


def fnsku(item: Item, market: Market) -> str:
    return f"X{market.fnsku}{item.code}"


def msku(item: Item) -> str:
    return item.msku or item.sku


def catalog_csv(market: Market) -> str:
    """Every item with its identity in the market's marketplace; the lamps share a parent ASIN (a variation
    family), the black one sells as the leading-zero MSKU 0301-LT-BLK; the desk kit is the bundle's listing."""
    rows = [("sku", "title", "marketplace", "msku", "asin", "fnsku", "parent_asin", "valid_from")]
    rows += [(i.sku, i.title, market.marketplace, msku(i), asin(i), fnsku(i, market), i.parent or "", "")
             for i in (*ITEMS, BUNDLE)]
    return _csv(rows)


def bundles_csv() -> str:
    return _csv([("bundle_sku", "component_sku", "quantity")] + [(BUNDLE.sku, sku, n) for sku, n in BUNDLE_PARTS])


def locations_toml(market: Market) -> str:
    """The warehouse and the FBA location, and the lanes: FBA and MCF draw from FBA, FBM and wholesale from the
    warehouse."""
    out = [f'[[location]]\ncode = "{market.warehouse}"\nkind = "warehouse"\nname = "{market.warehouse_name}"\n',
           f'[[location]]\ncode = "{market.fba}"\nkind = "fba"\nmarketplace = "{market.marketplace}"\n'
           f'name = "FBA {market.marketplace}"\n']
    out += [f'[[lane]]\nlane = "{lane}"\nlocations = ["{market.fba if kind == "fba" else market.warehouse}"]\n'
            for lane, kind in LANES]
    return "\n".join(out)


def receipts_csv(market: Market, po: PO, day) -> str:
    weights = {i.sku: i.weight for i in ITEMS}
    rows = [("po", "supplier", "sku", "units", "unit_cost", "currency", "date", "weight", "charge", "amount")]
    rows += [(po.po, po.supplier, sku, units, cost, market.currency, day.isoformat(), weights[sku], "", "")
             for sku, units, cost in po.lines]
    rows += [(po.po, "", "", "", "", "", "", "", kind, amount) for kind, amount in po.charges]
    return _csv(rows)


def inbound_csv(market: Market, rows: tuple[Inbound, ...]) -> str:
    return _csv([INBOUND] + [(r.shipment_id, r.sku, r.units, market.warehouse, market.fba, r.day.isoformat(),
                              r.status) for r in rows])


def ledger_report(story: Story) -> str:
    m = story.market
    if m.layout == "seller-central":
        return _csv([SELLER_CENTRAL] + [_seller_central(r, m) for r in story.movements], quote_all=True)
    return "".join("\t".join(cells) + "\n" for cells in [SP_API] + [_sp_api(r, m) for r in story.movements])


def _cells(r: Movement, m: Market) -> list[str]:
    return [fnsku(r.item, m), asin(r.item), msku(r.item), r.item.title, r.event_type, r.reference, str(r.quantity),
            r.center, r.disposition, r.reason, m.country, "", ""]


def _seller_central(r: Movement, m: Market) -> list[str]:
    return [r.day.strftime("%m/%d/%Y"), *_cells(r, m), r.at.strftime("%Y-%m-%dT%H:%M:%S+0000"), ""]


def _sp_api(r: Movement, m: Market) -> list[str]:
    return [r.day.isoformat(), *_cells(r, m)]
