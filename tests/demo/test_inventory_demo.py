"""Issue 12's "done when", on the demo (`demo --orders 40`, run once per engine): the inventory posts as promised.

The demo's inventory (ledger_service/demo/inventory.py): US (USD, FIFO) and UK (GBP, moving average) receive two
POs at their warehouse, ship to FBA (2 NX-AC-0071 short), and the FBA inventory ledger report (Seller Central CSV
for the US, SP-API TSV for the UK) receives, ships every settlement order, a bundle, returns one unit in each of
SELLABLE, CUSTOMER_DAMAGED, DEFECTIVE and CARRIER_DAMAGED, loses (M) and finds (F) a keyboard, removes the
defective unit, and carries a row of an MSKU the catalog does not know (NX-SP-0099).

Figures worked by hand:
- US PO-US-1001, charges by value: goods 100 x 42.00 + 100 x 12.00 + 100 x 6.00 + 100 x 9.00 + 40 x 9.00 +
  100 x 24.00 = 9,660.00; freight 483.00 + duty 241.50 = 724.50 = 7.5 % of it, so every line gets 7.5 % of its
  value: NX-HD-1200 42.00 x 1.075 = 45.15 a unit (lot PO-US-1001:1, 4,515.00), the lamps 9.00 x 1.075 = 9.675;
  PO total 9,660.00 + 724.50 = 10,384.50. FIFO: the first headphones sold take lot PO-US-1001:1 at 45.15.
- UK PO-UK-2001, charges by weight: 96.00 + 46.40 = 142.40 over 60 x 0.35 + 60 x 0.08 + 60 x 0.12 + 60 x 1.10 +
  20 x 1.10 + 60 x 0.95 = 178 kg = 0.80 a kg; NX-HD-1200: 33.00 + 0.35 x 0.80 = 33.28 a unit (1,996.80).
  PO-UK-2002 by units: 80.00 over 5 x 80 units = 0.20 a unit: NX-HD-1200 34.20 + 0.20 = 34.40 (2,752.00).
  Moving average at WH-UK: (1,996.80 + 2,752.00) / 140 = 4,748.80 / 140 = 33.92: every UK headphone moved to FBA
  and sold costs 33.92, and the pseudo-lot is `average:<location>:NX-HD-1200`.
"""

from __future__ import annotations

import calendar
import json
from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import NamedTuple

import pytest
from sqlalchemy import and_, func, select, text
from sqlalchemy.engine import make_url

from ledger_service.catalog.audit import catalog_audit, exception_items
from ledger_service.demo.inventory import settlement_orders
from ledger_service.demo.inventory_story import MARKETS
from ledger_service.inventory.exceptions import inventory_exceptions
from ledger_service.inventory.views import cogs, positions, valuation
from ledger_service.money import currency_exponent, from_minor, round_money
from ledger_service.sources.amazon.inventory_ledger import parse_inventory_ledger
from ledger_service.store.engine import make_engine
from ledger_service.store.tables import accounts, commodities, entries, postings

CODES = ("US", "UK")
D = Decimal


class Demo(NamedTuple):
    engine: object
    out: object
    output: str


@pytest.fixture(scope="module")
def demo(template, engine_name, tmp_path_factory):
    """The demo, once per engine for the whole module (it takes seconds): a fresh database, the CLI against it."""
    from typer.testing import CliRunner

    from ledger_service.cli.main import app

    fresh, created = template
    folder = tmp_path_factory.mktemp("inventory-demo")
    url = fresh(folder)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LEDGER_DATABASE_URL", url)
        result = CliRunner().invoke(app, ["demo", "--orders", "40", "--out", str(folder / "demo")])
    assert result.exit_code == 0, result.output
    engine = make_engine(url)
    yield Demo(engine, folder / "demo", result.output)
    engine.dispose()
    if created is not None:
        from tests.conftest import _pg_admin

        name = make_url(url).database
        with _pg_admin().connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        created.remove(name)


def unit_postings(conn, code: str, *where):
    """Every posted units posting of the subsidiary: straight from the tables, not through the views."""
    q = (select(entries.c.id.label("entry_id"), entries.c.effective_date.label("day"), accounts.c.name.label("account"),
                postings.c.commodity, postings.c.quantity, postings.c.cost_per_unit, postings.c.amount,
                postings.c.functional_amount, postings.c.order_id, postings.c.dimensions)
         .join(entries, entries.c.id == postings.c.entry_id).join(accounts, accounts.c.id == postings.c.account_id)
         .join(commodities, commodities.c.code == postings.c.commodity)
         .where(postings.c.subsidiary == code, entries.c.state == "posted", commodities.c.kind == "units", *where)
         .order_by(entries.c.effective_date, entries.c.id, postings.c.id))
    return conn.execute(q).all()


def lot(p) -> str | None:
    return json.loads(p.dimensions).get("lot") if p.dimensions else None


def month_ends(code: str, out) -> list[date]:
    _, _, first, last = settlement_orders(out / code, MARKETS[code].marketplace)
    ends, day = [], first
    while day <= last:
        ends.append(day.replace(day=calendar.monthrange(day.year, day.month)[1]))
        day = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return ends


def the_report(code: str, out):
    folder = out / code / "inventory"
    path = next(folder.glob("inventory-ledger-*"))
    return parse_inventory_ledger(path.read_bytes(), path.name)


def test_the_demo_prints_its_inventory_and_still_closes(demo):
    for code, fba in (("US", "FBA-US"), ("UK", "FBA-UK")):
        assert f"inventory {code} (" in demo.output
        assert f"{code} 2026-0" in demo.output and "left open" not in demo.output
    assert (demo.out / "US" / "inventory" / "inventory-ledger-us.csv").read_text().startswith('"Date","FNSKU"')
    assert (demo.out / "UK" / "inventory" / "inventory-ledger-uk.txt").read_text().startswith("Date\tFNSKU\t")


def test_every_unit_movement_is_a_balanced_entry(demo):
    """Each entry with a units posting: its weights (units x cost for units) sum to zero, so do its functional
    amounts; every units posting is at cost (amount = units x cost per unit, rounded once); and an entry without
    money postings (a move between states or locations) balances in units of each SKU."""
    with demo.engine.connect() as conn:
        for code in CODES:
            exp = currency_exponent(MARKETS[code].currency)
            ids = {p.entry_id for p in unit_postings(conn, code)}
            assert len(ids) > 40, code
            rows = conn.execute(select(postings.c.entry_id, postings.c.commodity, postings.c.quantity,
                                       postings.c.cost_per_unit, postings.c.amount, postings.c.functional_amount)
                                .where(postings.c.entry_id.in_(ids))).all()
            by_entry = defaultdict(list)
            for r in rows:
                by_entry[r.entry_id].append(r)
            for entry_id, found in by_entry.items():
                assert sum(r.amount for r in found) == 0, (code, entry_id)
                assert sum(r.functional_amount for r in found) == 0, (code, entry_id)
                units = [r for r in found if r.cost_per_unit is not None]
                for r in units:
                    assert from_minor(r.amount, exp) == round_money(r.quantity * D(r.cost_per_unit),
                                                                    MARKETS[code].currency), (code, entry_id)
                if len(units) == len(found):
                    per_sku = defaultdict(int)
                    for r in units:
                        per_sku[r.commodity] += r.quantity
                    assert not any(per_sku.values()), (code, entry_id, dict(per_sku))


def test_positions_by_state_equal_a_fold_over_the_unit_postings(demo):
    with demo.engine.connect() as conn:
        for code in CODES:
            exp = currency_exponent(MARKETS[code].currency)
            for as_of in [*month_ends(code, demo.out), None]:
                fold = defaultdict(lambda: [0, 0])
                for p in unit_postings(conn, code, accounts.c.name.like("Assets:Inventory:%"),
                                       *([entries.c.effective_date <= as_of] if as_of else [])):
                    fold[(p.account, p.commodity)][0] += p.quantity
                    fold[(p.account, p.commodity)][1] += p.functional_amount
                folded = {k: (units, str(from_minor(minor, exp))) for k, (units, minor) in fold.items()
                          if units or minor}
                shown = {(r["account"], r["sku"]): (r["units"], r["value"]) for r in positions(conn, code, as_of)}
                assert shown == folded, (code, as_of)
            states = {(r["location"], r["state"]) for r in positions(conn, code)}
            fba = MARKETS[code].fba
            assert {(fba, "Available"), (fba, "Unfulfillable"), (MARKETS[code].warehouse, "Available")} <= states


def test_valuation_equals_the_inventory_accounts_at_every_month_end(demo):
    with demo.engine.connect() as conn:
        for code in CODES:
            exp = currency_exponent(MARKETS[code].currency)
            ends = month_ends(code, demo.out)
            assert len(ends) == {"US": 6, "UK": 3}[code]
            for end in ends:
                total = conn.execute(
                    select(func.coalesce(func.sum(postings.c.functional_amount), 0))
                    .join(entries, entries.c.id == postings.c.entry_id)
                    .join(accounts, accounts.c.id == postings.c.account_id)
                    .where(postings.c.subsidiary == code, entries.c.state == "posted",
                           accounts.c.name.like("Assets:Inventory:%"), entries.c.effective_date <= end)).scalar()
                value = valuation(conn, code, end)
                assert D(value["total"]) == from_minor(int(total), exp), (code, end)
                assert D(value["total"]) == sum((D(x["value"]) for x in value["lots"]), D(0))


def test_a_sellable_return_comes_back_at_the_cost_its_sale_took(demo):
    """The SELLABLE return's order: its sale took slices (lot, cost per unit) out of FBA Available into COGS; the
    returned unit comes back into FBA Available in the last slice's lot at that slice's cost per unit, and COGS is
    credited exactly that. The damaged dispositions come back into Unfulfillable, also at the sale's cost."""
    with demo.engine.connect() as conn:
        for code in CODES:
            fba = MARKETS[code].fba
            returns = {m.disposition: m for m in the_report(code, demo.out) if m.event_type == "CustomerReturns"
                       and m.msku != "NX-SP-0099"}
            assert set(returns) == {"SELLABLE", "CUSTOMER_DAMAGED", "DEFECTIVE", "CARRIER_DAMAGED"}
            for disposition, m in returns.items():
                moved = unit_postings(conn, code, postings.c.order_id == m.reference_id)
                sale = [p for p in moved if p.quantity < 0 and p.account == f"Assets:Inventory:{fba}:Available"]
                back = [p for p in moved if p.quantity > 0]
                assert sale and len(back) == 1, (code, disposition)
                state = "Available" if disposition == "SELLABLE" else "Unfulfillable"
                assert back[0].account == f"Assets:Inventory:{fba}:{state}"
                assert (lot(back[0]), back[0].cost_per_unit) == (lot(sale[-1]), sale[-1].cost_per_unit)
                if code == "US":
                    assert lot(back[0]).startswith("PO-US-100")  # FIFO: the PO's own lot is re-opened
                credit = conn.execute(
                    select(postings.c.amount).join(accounts, accounts.c.id == postings.c.account_id)
                    .where(postings.c.entry_id == back[0].entry_id, accounts.c.name == "Expenses:COGS")).scalar()
                assert credit == -back[0].amount


def test_us_takes_fifo_lots_at_landed_cost_and_uk_a_moving_average(demo):
    """US: lot PO-US-1001:1 received 100 headphones at 45.15 (4,515.00), the first headphones sold take it at
    45.15; PO-US-1001 is 10,384.50 in all. UK: every headphone sold costs the average 33.92 (docstring above)."""
    with demo.engine.connect() as conn:
        us = unit_postings(conn, "US", accounts.c.name == "Assets:Inventory:WH-NJ:Available",
                           postings.c.quantity > 0)
        received = {lot(p): (p.quantity, D(p.cost_per_unit), from_minor(p.amount, 2)) for p in us}
        assert received["PO-US-1001:1"] == (100, D("45.15"), D("4515.00"))
        assert received["PO-US-1001:4"][1] == D("9.675")
        assert sum(v for lot_id, (_, _, v) in received.items() if lot_id.startswith("PO-US-1001:")) == D("10384.50")
        sold = unit_postings(conn, "US", postings.c.commodity == "NX-HD-1200", postings.c.order_id.is_not(None),
                             postings.c.quantity < 0)
        assert (lot(sold[0]), sold[0].cost_per_unit) == ("PO-US-1001:1", "45.15")
        uk = unit_postings(conn, "UK", postings.c.commodity == "NX-HD-1200")
        assert {(lot(p), p.cost_per_unit) for p in uk if p.account == "Assets:Inventory:WH-UK:Available"
                and p.quantity > 0} == {("PO-UK-2001:1", "33.28"), ("PO-UK-2002:1", "34.4")}
        sales = [p for p in uk if p.order_id and p.quantity < 0]
        assert sales and all(D(p.cost_per_unit) == D("33.92") and lot(p).startswith("average:") for p in sales)


def test_cogs_is_non_zero_in_every_month_with_sales(demo):
    with demo.engine.connect() as conn:
        for code in CODES:
            orders, _, _, _ = settlement_orders(demo.out / code, MARKETS[code].marketplace)
            months = sorted({(o.day.year, o.day.month) for o in orders})
            assert len(months) >= 3
            for year, month in months:
                start, end = date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])
                assert D(cogs(conn, code, start, end)["total"]["cogs"]) > 0, (code, year, month)


def test_the_catalog_audit_and_the_queue_list_the_unknown_msku(demo):
    """The one gap planted: NX-SP-0099, an old listing's return (its row posted nothing); the SKUs the settlements
    sell, the variation family and the bundle are all known, and every bundle component has a cost."""
    with demo.engine.connect() as conn:
        for code in CODES:
            gaps = catalog_audit(conn, code)
            assert [(g["kind"], g["sku"], g["fnsku"]) for g in gaps] == [
                ("sku_not_in_catalog", "NX-SP-0099", f"X{MARKETS[code].fnsku}NXSP0099")], code
            row = next(m for m in the_report(code, demo.out) if m.msku == "NX-SP-0099")
            assert gaps[0]["first_seen"]["line"] == row.source.line
            assert [x["kind"] for x in exception_items(conn, code)] == ["catalog:sku_not_in_catalog"]
            queue = [(x["kind"], x["msku"], x["status"]) for x in inventory_exceptions(conn, code)]
            assert queue == [("unknown-sku", "NX-SP-0099", "open")], code
    assert demo.output.count("catalog audit: 1 gap(s); sku_not_in_catalog NX-SP-0099") == 2


def test_a_cross_lane_movement_is_refused_and_posts_nothing(demo):
    assert ("a WHOLESALE sale from FBA-US: refused, nothing posted: lane WHOLESALE may not draw from FBA-US"
            in demo.output)
    with demo.engine.connect() as conn:
        for code in CODES:
            assert not unit_postings(conn, code, postings.c.order_id == f"WHOLESALE-{code}-0001")
            assert not conn.execute(select(func.count()).select_from(postings).where(
                and_(postings.c.subsidiary == code, postings.c.order_id == f"WHOLESALE-{code}-0001"))).scalar()


def test_the_report_ships_every_settlement_order_on_or_before_its_posted_day(demo):
    """Every order item of the settlements (legacy and V2) in the FBA location's marketplace is one Shipments row
    of the same order id, seller SKU and quantity, dated on or before the settlement's posted date; the one other
    Shipments row is the desk kit (the bundle)."""
    from ledger_service.sources.amazon import parse_document

    for code in CODES:
        folder, marketplace = demo.out / code, MARKETS[code].marketplace
        wanted = {}
        for path in sorted((folder / "legacy").glob("settlement_*.txt")) + sorted(folder.glob("settlement_*.txt")):
            for a in parse_document(path.read_bytes(), path.name).amounts:
                if a.triple == ("Order", "ItemPrice", "Principal") and (a.marketplace or "").lower() == marketplace:
                    wanted[(a.order_id, a.sku)] = (a.quantity, a.posted_at.date())
        shipped = [m for m in the_report(code, demo.out) if m.event_type == "Shipments"]
        got = {(m.reference_id, m.msku): m for m in shipped}
        assert len(got) == len(shipped) == len(wanted) + 1, code
        for key, (units, posted) in wanted.items():
            assert got[key].quantity == -units and got[key].date <= posted, (code, key)
        assert [m.msku for m in shipped if (m.reference_id, m.msku) not in wanted] == ["NX-KIT-DESK"]


def test_every_path_of_the_story_posts(demo):
    """US figures (FIFO, every unit here still of PO-US-1001 at 40 orders):
    - inbound short 2 NX-AC-0071, CLOSED -> FBA-US Researching 2 x (6.00 x 1.075 = 6.45) = 12.90;
    - the desk kit takes 1 NX-KB-0880 (24.00 x 1.075 = 25.80) and 2 NX-CB-0450 (2 x 12.90): COGS 51.60;
    - the black lamp, MSKU 0301-LT-BLK (leading zero kept), received 20 at FBA-US: 20 x 9.675 = 193.50.
    Both: the keyboard lost (M) goes to Researching and comes back (F); the defective unit is removed (disposed:
    Shrinkage); the lamps are one variation family (parent ASIN B0NXLT0000)."""
    from ledger_service.catalog.service import identity_on

    with demo.engine.connect() as conn:
        for code in CODES:
            m = MARKETS[code]
            researching = [(r["sku"], r["units"], r["value"]) for r in positions(conn, code, state="Researching")]
            assert [r[:2] for r in researching] == [("NX-AC-0071", 2)], code
            kb = unit_postings(conn, code, accounts.c.name == f"Assets:Inventory:{m.fba}:Researching",
                               postings.c.commodity == "NX-KB-0880")
            assert [p.quantity for p in kb] == [1, -1], code
            kit = next(r for r in the_report(code, demo.out) if r.msku == "NX-KIT-DESK")
            parts = unit_postings(conn, code, postings.c.order_id == kit.reference_id)
            assert sorted((p.commodity, p.quantity) for p in parts) == [("NX-CB-0450", -2), ("NX-KB-0880", -1)]
            assert all(json.loads(p.dimensions)["bundle"] == "NX-KIT-DESK" for p in parts)
            lamp = positions(conn, code, location=m.fba, sku="NX-LT-0301")
            assert [(r["state"], r["units"]) for r in lamp] == [("Available", {"US": 20, "UK": 10}[code])]
            removed = conn.execute(
                select(postings.c.sku, postings.c.amount).join(accounts, accounts.c.id == postings.c.account_id)
                .where(postings.c.subsidiary == code, accounts.c.name == "Expenses:Inventory:Shrinkage")).all()
            defective = next(r for r in the_report(code, demo.out) if r.event_type == "VendorReturns")
            assert defective.disposition == "DEFECTIVE" and len(removed) == 1 and removed[0].amount > 0
            for msku in ("NX-LT-0300", "0301-LT-BLK"):
                assert identity_on(conn, code, m.marketplace, date(2026, 9, 1), msku=msku).parent_asin == "B0NXLT0000"
            if code == "US":
                assert researching[0][2] == "12.90" and lamp[0]["value"] == "193.50"
                assert sum(from_minor(p.amount, 2) for p in parts) == D("-51.60")
