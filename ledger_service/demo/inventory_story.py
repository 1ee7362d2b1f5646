"""The demo's inventory story, as data: what each subsidiary bought, shipped to FBA and what Amazon did with it.

The problem: the demo's settlements (amazon_generator, legacy_generator) sell units of five SKUs; issue 12 wants
those units to have come from somewhere and to have left at cost. The story must match the settlements (the same
order ids, SKUs and quantities, shipped on or before the day the settlement posted them), cover every path of the
inventory rules (landed cost, an inbound shipment short of units, FBA receipts, sales, a bundle, returns of each
disposition, a lost and a found unit, a removal, a variation family, a row the catalog does not know) and stay the
same for the same settlements, so that running the demo twice changes nothing. Pure: orders in, rows out;
inventory_files.py renders them as files, inventory.py ingests them.

Quantities: the first purchase order is fixed (hand-checkable: US PO-US-1001 by value, 7.5 % of charges on every
line, NX-HD-1200 42.00 + 3.15 = 45.15 a unit); the second tops every sold SKU up to what its sales need (at least
a fixed amount), so any `--orders` has the units it sells. The inbound shipment carries each sold SKU's sales plus a
cushion (rounded up to tens); Amazon receives 2 units of NX-AC-0071 fewer than shipped: the shortage.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import NamedTuple

D = Decimal


class Item(NamedTuple):
    sku: str
    title: str
    code: str  # 8 letters or digits: ASIN B0<code>, FNSKU X<n><code>
    weight: Decimal  # kg per unit
    msku: str | None = None  # the seller SKU when it is not the brand SKU
    parent: str | None = None  # parent ASIN of a variation family


ITEMS = (Item("NX-HD-1200", "Nexa HD-1200 over-ear headphones", "NXHD1200", D("0.35")),
         Item("NX-CB-0450", "Nexa USB-C cable 2 m", "NXCB0450", D("0.08")),
         Item("NX-AC-0071", "Nexa 20 W charging adapter", "NXAC0071", D("0.12")),
         Item("NX-LT-0300", "Nexa LT-300 desk lamp, white", "NXLT0300", D("1.10"), parent="B0NXLT0000"),
         Item("NX-LT-0301", "Nexa LT-300 desk lamp, black", "NXLT0301", D("1.10"), msku="0301-LT-BLK",
              parent="B0NXLT0000"),
         Item("NX-KB-0880", "Nexa KB-880 mechanical keyboard", "NXKB0880", D("0.95")))
BUNDLE = Item("NX-KIT-DESK", "Nexa desk kit: KB-880 keyboard and two USB-C cables", "NXKITDSK", D("1.11"))
BUNDLE_PARTS = (("NX-KB-0880", 1), ("NX-CB-0450", 2))
SOLD = ("NX-HD-1200", "NX-CB-0450", "NX-AC-0071", "NX-LT-0300", "NX-KB-0880")  # what the settlements sell
UNKNOWN = Item("NX-SP-0099", "Nexa SP-99 speaker (old listing)", "NXSP0099", D("0.50"))  # never in the catalog
SHORT_SKU, SHORT_UNITS = "NX-AC-0071", 2
LOST_SKU = "NX-KB-0880"
DISPOSITIONS = ("SELLABLE", "CUSTOMER_DAMAGED", "DEFECTIVE", "CARRIER_DAMAGED")
LANES = (("FBA", "fba"), ("MCF", "fba"), ("FBM", "warehouse"), ("WHOLESALE", "warehouse"))


class PO(NamedTuple):
    po: str
    supplier: str
    rule: str  # units | value | weight
    lines: tuple[tuple[str, int, Decimal], ...]  # sku, units, unit cost
    charges: tuple[tuple[str, Decimal], ...]  # freight | duty | prep, amount


class Market(NamedTuple):
    code: str
    currency: str
    marketplace: str
    country: str
    warehouse: str
    warehouse_name: str
    fba: str
    layout: str  # seller-central | sp-api: the inventory ledger report's layout
    fnsku: str  # the FNSKU's second character in this marketplace
    centers: tuple[str, ...]
    order_prefix: str
    shipment_id: str
    po1: PO
    po2: PO  # its units are a floor: topped up to what the sales need


def _po(po: str, supplier: str, rule: str, units: dict[str, int], costs: dict[str, str], charges) -> PO:
    return PO(po, supplier, rule, tuple((sku, units[sku], D(costs[sku])) for sku in costs),
              tuple((kind, D(amount)) for kind, amount in charges))


_ALL = {sku: 100 for sku in SOLD} | {"NX-LT-0301": 40}
MARKETS = {
    "US": Market("US", "USD", "amazon.com", "US", "WH-NJ", "Edison NJ warehouse", "FBA-US", "seller-central", "0",
                 ("PHX7", "ONT8", "BFI4"), "113", "FBA17NXUS001",
                 _po("PO-US-1001", "Shenzhen Nexa Manufacturing", "value", _ALL,
                     {"NX-HD-1200": "42.00", "NX-CB-0450": "12.00", "NX-AC-0071": "6.00", "NX-LT-0300": "9.00",
                      "NX-LT-0301": "9.00", "NX-KB-0880": "24.00"}, (("freight", "483.00"), ("duty", "241.50"))),
                 _po("PO-US-1002", "Dongguan Parts Co.", "units", {sku: 150 for sku in SOLD},
                     {"NX-HD-1200": "43.50", "NX-CB-0450": "12.40", "NX-AC-0071": "6.20", "NX-LT-0300": "9.30",
                      "NX-KB-0880": "24.80"}, (("freight", "150.00"),))),
    "UK": Market("UK", "GBP", "amazon.co.uk", "GB", "WH-UK", "Milton Keynes warehouse", "FBA-UK", "sp-api", "1",
                 ("LBA1", "BHX4", "MAN1"), "204", "FBA17NXUK001",
                 _po("PO-UK-2001", "Shenzhen Nexa Manufacturing", "weight", {sku: 60 for sku in SOLD}
                     | {"NX-LT-0301": 20},
                     {"NX-HD-1200": "33.00", "NX-CB-0450": "9.40", "NX-AC-0071": "4.70", "NX-LT-0300": "7.10",
                      "NX-LT-0301": "7.10", "NX-KB-0880": "19.00"}, (("freight", "96.00"), ("duty", "46.40"))),
                 _po("PO-UK-2002", "Dongguan Parts Co.", "units", {sku: 80 for sku in SOLD},
                     {"NX-HD-1200": "34.20", "NX-CB-0450": "9.80", "NX-AC-0071": "4.90", "NX-LT-0300": "7.40",
                      "NX-KB-0880": "19.60"}, (("freight", "80.00"),))),
}


class Order(NamedTuple):
    """A settlement's order item: its units left on (or before) the day the settlement posted it."""

    order_id: str
    sku: str
    units: int
    day: dt.date
    at: dt.datetime


class Refund(NamedTuple):
    order_id: str
    sku: str
    day: dt.date


class Movement(NamedTuple):
    """One row of the FBA inventory ledger report, in the story's terms (inventory_files renders the layouts)."""

    day: dt.date
    at: dt.datetime
    item: Item
    event_type: str
    reference: str
    quantity: int
    center: str
    disposition: str
    reason: str = ""


class Inbound(NamedTuple):
    shipment_id: str
    sku: str
    units: int
    day: dt.date
    status: str  # WORKING | SHIPPED | RECEIVING | CLOSED


class Story(NamedTuple):
    market: Market
    first: dt.date
    last: dt.date
    pos: tuple[PO, ...]
    shipped: dict[str, int]
    received: dict[str, int]
    inbound: tuple[Inbound, ...]  # WORKING, SHIPPED, RECEIVING on the first day
    closed: tuple[Inbound, ...]  # CLOSED, once Amazon's receipts are in
    movements: tuple[Movement, ...]
    returns: dict[str, str]  # disposition -> order id


def _tens(n: int) -> int:
    return -(-n // 10) * 10


def _moment(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour))


def _by_sku() -> dict[str, Item]:
    return {i.sku: i for i in (*ITEMS, BUNDLE, UNKNOWN)}


def tell(market: Market, orders: list[Order], refunds: list[Refund], first: dt.date, last: dt.date) -> Story:
    """The whole story of one subsidiary, from its settlements' order items and refunds (file order)."""
    items, m = _by_sku(), market
    need: dict[str, int] = defaultdict(int)
    for o in orders:
        need[o.sku] += o.units
    for sku, each in BUNDLE_PARTS:
        need[sku] += each  # the bundle sold once
    first_units = {sku: n for sku, n, _ in m.po1.lines}
    # the black lamp of the variation family goes to FBA too (half of it), though no settlement sells it
    shipped = {sku: _tens(need[sku] + 12) for sku in SOLD} | {"NX-LT-0301": first_units["NX-LT-0301"] // 2}
    received = dict(shipped, **{SHORT_SKU: shipped[SHORT_SKU] - SHORT_UNITS})
    top_up = tuple((sku, max(n, shipped[sku] + 20 - first_units[sku]), cost) for sku, n, cost in m.po2.lines)
    pos = (m.po1, m.po2._replace(lines=top_up))
    inbound = tuple(Inbound(m.shipment_id, sku, n, first, status)
                    for status in ("WORKING", "SHIPPED", "RECEIVING") for sku, n in shipped.items())
    closed = tuple(Inbound(m.shipment_id, sku, n, min(first + dt.timedelta(days=14), last), "CLOSED")
                   for sku, n in shipped.items())
    centers = m.centers
    rows = [Movement(first, _moment(first, 0), items[sku], "Receipts", m.shipment_id, n, centers[0], "SELLABLE")
            for sku, n in received.items()]
    rows += [Movement(o.day, o.at, items[o.sku], "Shipments", o.order_id, -o.units, centers[i % len(centers)],
                      "SELLABLE") for i, o in enumerate(orders)]

    def on(days: int) -> dt.date:
        return min(first + dt.timedelta(days=days), last)

    # Amazon moves 5 headphones between its fulfillment centers: rows, but no entry (one account per location)
    rows += [Movement(on(10), _moment(on(10), 9), items["NX-HD-1200"], "WhseTransfers", "", q, c, "SELLABLE")
             for q, c in ((-5, centers[0]), (5, centers[1]))]
    kit = f"{m.order_prefix}-7301955-{first:%m%d}001"  # the bundle's order: a kit sold once, on no settlement
    rows.append(Movement(on(20), _moment(on(20), 15), BUNDLE, "Shipments", kit, -1, centers[1], "SELLABLE"))
    rows.append(Movement(on(25), _moment(on(25), 6), items[LOST_SKU], "Adjustments", "870345112", -1, centers[2],
                         "SELLABLE", "M"))
    rows.append(Movement(on(33), _moment(on(33), 6), items[LOST_SKU], "Adjustments", "870391874", 1, centers[2],
                         "SELLABLE", "F"))
    rows.append(Movement(on(40), _moment(on(40), 11), UNKNOWN, "CustomerReturns",
                         f"{m.order_prefix}-0000000-0990099", 1, centers[0], "SELLABLE"))
    returns = _returns(orders, refunds, last)
    for disposition, (order, day) in returns.items():
        rows.append(Movement(day, _moment(day, 18), items[order.sku], "CustomerReturns", order.order_id, 1,
                             centers[0], disposition))
    order, day = returns["DEFECTIVE"]
    removal = min(day + dt.timedelta(days=6), last)
    rows.append(Movement(removal, _moment(removal, 20), items[order.sku], "VendorReturns", f"NXRMV{m.code}0001", -1,
                         centers[0], "DEFECTIVE"))
    rank = {"Receipts": 0, "Shipments": 1}
    rows.sort(key=lambda r: (r.day, rank.get(r.event_type, 2)))  # stable: file order within a day and kind
    return Story(m, first, last, pos, shipped, received, inbound, closed, tuple(rows),
                 {d: o.order_id for d, (o, _) in returns.items()})


def _returns(orders: list[Order], refunds: list[Refund], last: dt.date) -> dict[str, tuple[Order, dt.date]]:
    """One returned unit per disposition: of the refunded orders first (on the refund's day), then, when the
    settlements refunded fewer, of orders whose refund is still to come (a week after the sale)."""
    sold = {o.order_id: o for o in orders}
    picked: list[tuple[Order, dt.date]] = []
    for r in refunds:
        o = sold.get(r.order_id)
        if o is not None and o.sku == r.sku and o.order_id not in {p.order_id for p, _ in picked}:
            picked.append((o, max(r.day, o.day)))
    rest = [o for o in orders[len(orders) // 3:] + orders[:len(orders) // 3]
            if o.order_id not in {p.order_id for p, _ in picked}]
    for o in rest[:len(DISPOSITIONS) - len(picked)]:
        picked.append((o, min(o.day + dt.timedelta(days=7), last)))
    if len(picked) < len(DISPOSITIONS):
        raise ValueError(f"{len(orders)} order(s): too few to return a unit in each of {len(DISPOSITIONS)} "
                         "dispositions (run the demo with more orders)")
    return dict(zip(DISPOSITIONS, picked))
