"""Inventory views: positions by state, valuation by lot, COGS beside revenue, and the roll-forward per month.

The problem: a controller must see how many units of each SKU sit in each state of each location on any day, what
they are worth lot by lot, what the units sold cost beside what they sold for, and how the inventory value moved
through a month, and every one of those figures must agree with the journal to the cent. Each view reads the
journal (posted entries only: unit postings are never pending) and checks itself against the balances aggregates
(balances.queries.balance_rows); a disagreement is an internal inconsistency and raises `Inconsistent`, never a
silent mismatch.

- positions: the inventory accounts' balances of units commodities (a position by state is a balance); location
  and state are read from the account name (`parse_state_account`, the inverse of facts.state_account).
- valuation: the units postings of the inventory accounts up to a date, summed per (SKU, location, state, lot) in
  Python (the lot is in the `dimensions` JSON); total == the inventory accounts' functional balance, asserted.
- cogs: `Expenses:COGS` postings (a return's reversal included, netted) per sales SKU (a bundle's components count
  for the bundle) and marketplace (the location's, from the locations table: COGS postings carry none), beside
  `Income:Amazon:Sales:Principal` less principal refunds (`Income:Amazon:Refunds`) of the same SKU, marketplace
  and dates; the settlement's seller SKU is mapped to the brand SKU by the catalog in force that day.
- rollforward: per month, opening + receipts - COGS - write-offs + adjustments = closing, in value and units;
  opening and closing from the balances aggregates, the movements from the postings (inventory.rollforward).
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date
from decimal import Decimal

from sqlalchemy import Connection, select

from ledger_service.balances.queries import balance_rows
from ledger_service.chart.service import get_subsidiary
from ledger_service.errors import Invalid, LedgerError
from ledger_service.inventory import facts as f
from ledger_service.inventory.model import AVERAGE
from ledger_service.inventory.valuation import holding_id
from ledger_service.money import currency_exponent, fmt, from_minor
from ledger_service.store.tables import accounts, commodities, entries, item_identities, locations, postings

PREFIX = "Assets:Inventory:"
REVENUE, REFUNDS = "Income:Amazon:Sales:Principal", "Income:Amazon:Refunds"
UNIT_COST_PLACES = Decimal("0.000001")  # unit cost shown to 6 decimals (valuation.AVERAGE_PLACES)
_BY_LENGTH = sorted(f.STATES, key=len, reverse=True)


class Inconsistent(LedgerError):
    """Two ways of reading the journal disagree: a bug or a damaged projection (run `ledger-service verify`)."""

    status_code = 500
    kind = "inconsistent"

    def __init__(self, message: str):
        super().__init__(f"{message}; nothing was changed: run `ledger-service verify` and report it")


def parse_state_account(name: str) -> tuple[str, str] | None:
    """`Assets:Inventory:FBA-US:Inbound:Shipped` -> ("FBA-US", "Inbound:Shipped"); None for a name
    facts.state_account does not make (`Assets:Inventory:Warehouse`, a location with a colon)."""
    if not name.startswith(PREFIX):
        return None
    rest = name[len(PREFIX):]
    for state in _BY_LENGTH:
        location = rest[:-len(state) - 1] if rest.endswith(":" + state) else ""
        if location and ":" not in location:
            return location, state
    return None


def _where(account: str) -> tuple[str | None, str | None]:
    return parse_state_account(account) or (None, None)


MAX_MONTHS = 120  # a roll-forward or COGS range: ten years


def check_range(start: date, end: date) -> None:
    """Refuse a range whose end is before its start, or longer than MAX_MONTHS."""
    if end < start:
        raise Invalid(f"the range ends ({end.isoformat()}) before it starts ({start.isoformat()})")
    if (end.year - start.year) * 12 + end.month - start.month >= MAX_MONTHS:
        raise Invalid(f"a range covers at most {MAX_MONTHS} months; {start.isoformat()}..{end.isoformat()} is longer")


def _money(minor: int, exp: int) -> Decimal:
    return from_minor(minor, exp)


def inventory_balances(conn: Connection, subsidiary: str, as_of: date | None) -> dict[tuple[str, str], list]:
    """(account, sku) -> [units, functional value] of the inventory accounts' units commodities, posted, from the
    balances aggregates."""
    out: dict[tuple[str, str], list] = defaultdict(lambda: [0, Decimal(0)])
    for row in balance_rows(conn, subsidiary, as_of, account=PREFIX.rstrip(":")):
        if "value" in row:  # a units commodity
            held = out[(row["account"], row["commodity"])]
            held[0] += int(row["balance"])
            held[1] += row["functional_balance"]
    return {k: v for k, v in out.items() if v[0] or v[1]}


def positions(conn: Connection, subsidiary: str, as_of: date | None = None, location: str | None = None,
              sku: str | None = None, state: str | None = None) -> list[dict]:
    """Units (and their value) per (SKU, location, state) as of a date, posted."""
    rows = []
    for (account, commodity), (units, value) in sorted(inventory_balances(conn, subsidiary, as_of).items()):
        loc, st = _where(account)
        if (location and loc != location) or (sku and commodity != sku) or (state and st != state):
            continue
        rows.append({"sku": commodity, "location": loc, "state": st, "account": account, "units": units,
                     "value": fmt(value)})
    return sorted(rows, key=lambda r: (r["sku"], r["location"] or "", r["state"] or "", r["account"]))


def _unit_postings(conn: Connection, subsidiary: str, start: date | None, end: date | None):
    """(entry id, date, account, sku, units, functional minor, dimensions JSON) of the inventory accounts' units
    postings, posted, dated start..end (inclusive; None: unbounded)."""
    q = (select(postings.c.entry_id, entries.c.effective_date, accounts.c.name, postings.c.commodity,
                postings.c.quantity, postings.c.functional_amount, postings.c.dimensions)
         .join(entries, entries.c.id == postings.c.entry_id)
         .join(accounts, accounts.c.id == postings.c.account_id)
         .join(commodities, commodities.c.code == postings.c.commodity)
         .where(postings.c.subsidiary == subsidiary, entries.c.state == "posted", commodities.c.kind == "units",
                accounts.c.name.like(PREFIX + "%")))
    if start is not None:
        q = q.where(entries.c.effective_date >= start)
    if end is not None:
        q = q.where(entries.c.effective_date <= end)
    return conn.execute(q).all()


def valuation(conn: Connection, subsidiary: str, as_of: date | None = None) -> dict:
    """Lots with units, unit cost and value per (SKU, location, state, lot), and their total, which equals the
    inventory accounts' balance to the cent (checked, with the units per account and SKU)."""
    sub = get_subsidiary(conn, subsidiary)
    exp = currency_exponent(sub.functional_currency)
    rows = [(account, sku, units, _money(minor, exp), _lot(dims))
            for _e, _d, account, sku, units, minor, dims in _unit_postings(conn, subsidiary, None, as_of)]
    if sub.valuation_method == AVERAGE:  # one holding per SKU and account: postings name the lot they came from
        rows = [(account, sku, units, value, holding_id(sku, _where(account)[0]) if lot else lot)
                for account, sku, units, value, lot in rows]
    result = assemble_valuation(rows)
    check_valuation(result, inventory_balances(conn, subsidiary, as_of))
    return {"subsidiary": subsidiary, "as_of": as_of.isoformat() if as_of else None,
            "currency": sub.functional_currency, "total": fmt(result["total"] + _money(0, exp)),
            "units": result["units"], "lots": [_lot_out(lot) for lot in result["lots"]]}


def _lot(dims: str | None) -> str | None:
    return json.loads(dims).get("lot") if dims else None


def assemble_valuation(rows) -> dict:
    """Pure: (account, sku, units, functional value, lot) postings -> lots (units, value, unit cost) and totals.
    A lot with no units and no value left is left out; one with a value and no units would be shown."""
    sums: dict[tuple, list] = defaultdict(lambda: [0, Decimal(0)])
    for account, sku, units, value, lot in rows:
        held = sums[(sku, account, lot or "")]
        held[0] += int(units)
        held[1] += value
    lots = []
    for (sku, account, lot), (units, value) in sorted(sums.items()):
        if units or value:
            loc, st = _where(account)
            lots.append({"sku": sku, "location": loc, "state": st, "account": account, "lot": lot or None,
                         "units": units, "value": value,
                         "unit_cost": (value / units).quantize(UNIT_COST_PLACES) if units else None})
    return {"lots": lots, "total": sum((x["value"] for x in lots), Decimal(0)),
            "units": sum(x["units"] for x in lots)}


def check_valuation(result: dict, balances: dict[tuple[str, str], list]) -> None:
    """The lots, summed per (account, SKU), must be the balances exactly, in units and value."""
    by_key: dict[tuple[str, str], list] = defaultdict(lambda: [0, Decimal(0)])
    for lot in result["lots"]:
        by_key[(lot["account"], lot["sku"])][0] += lot["units"]
        by_key[(lot["account"], lot["sku"])][1] += lot["value"]
    folded = {k: v for k, v in by_key.items() if v[0] or v[1]}
    if folded != balances:
        diff = sorted(k for k in set(folded) | set(balances) if folded.get(k) != balances.get(k))
        raise Inconsistent(f"inventory valuation disagrees with the inventory accounts' balances at {diff[:3]}: "
                           f"lots {[folded.get(k) for k in diff[:3]]}, balances {[balances.get(k) for k in diff[:3]]}")
    total = sum((v[1] for v in balances.values()), Decimal(0))
    if result["total"] != total:
        raise Inconsistent(f"inventory valuation total {result['total']} is not the inventory accounts' {total}")


def _lot_out(lot: dict) -> dict:
    return {k: fmt(v) if isinstance(v, Decimal) else v for k, v in lot.items()}


def _money_postings(conn: Connection, subsidiary: str, start: date, end: date, *conditions):
    """(entry id, date, account, sku, marketplace, functional minor, dimensions JSON) of money postings, posted,
    dated start..end, further filtered by `conditions`."""
    q = (select(postings.c.entry_id, entries.c.effective_date, accounts.c.name, postings.c.sku,
                postings.c.marketplace, postings.c.functional_amount, postings.c.dimensions)
         .join(entries, entries.c.id == postings.c.entry_id)
         .join(accounts, accounts.c.id == postings.c.account_id)
         .join(commodities, commodities.c.code == postings.c.commodity)
         .where(postings.c.subsidiary == subsidiary, entries.c.state == "posted", commodities.c.kind != "units",
                entries.c.effective_date >= start, entries.c.effective_date <= end, *conditions))
    return conn.execute(q).all()


def _dims(text: str | None) -> dict:
    return json.loads(text) if text else {}


def cogs(conn: Connection, subsidiary: str, start: date, end: date) -> dict:
    """COGS per sales SKU and marketplace dated start..end, beside the revenue of the same SKU and marketplace in
    the same dates, and the gross margin."""
    sub = get_subsidiary(conn, subsidiary)
    exp = currency_exponent(sub.functional_currency)
    cost = _money_postings(conn, subsidiary, start, end, accounts.c.name == f.COGS)
    ids = {row[0] for row in cost}  # a sale's units leave in its COGS entry, on the same date
    units = [(e, account, sku, int(q))
             for e, _d, account, sku, q, _m, _x in _unit_postings(conn, subsidiary, start, end) if e in ids]
    market = dict(conn.execute(select(locations.c.code, locations.c.marketplace)
                               .where(locations.c.subsidiary == subsidiary)).all())
    sales = _money_postings(conn, subsidiary, start, end, accounts.c.name.in_((REVENUE, REFUNDS)))
    resolve = _catalog_resolver(conn, subsidiary)
    zero = _money(0, exp)
    rows = assemble_cogs([(e, sku, _money(m, exp), _dims(x)) for e, _d, _a, sku, _mk, m, x in cost], units, market,
                         [(d, a, sku, mk, _money(m, exp), _dims(x)) for _e, d, a, sku, mk, m, x in sales], resolve,
                         zero)
    total = {k: fmt(sum((Decimal(r[k]) for r in rows), zero))
             for k in ("cogs", "revenue", "refunds", "net_revenue", "gross_margin")}
    total["units"] = sum(r["units"] for r in rows)
    total["margin_pct"] = _pct(Decimal(total["gross_margin"]), Decimal(total["net_revenue"]))
    return {"subsidiary": subsidiary, "from": start.isoformat(), "to": end.isoformat(),
            "currency": sub.functional_currency, "rows": rows, "total": total}


def _catalog_resolver(conn: Connection, subsidiary: str):
    """(marketplace, seller SKU, day) -> the brand SKU of the catalog identity in force that day, else the seller
    SKU itself (as facts.from_movement takes it)."""
    t = item_identities.c
    known: dict[tuple, list] = defaultdict(list)
    for mk, msku, start, stop, sku in conn.execute(select(t.marketplace, t.msku, t.valid_from, t.valid_to, t.sku)
                                                   .where(t.subsidiary == subsidiary)).all():
        known[(mk, msku)].append((start, stop, sku))

    def resolve(marketplace: str | None, msku: str | None, day: date) -> str | None:
        for start, stop, sku in known.get(((marketplace or "").lower(), msku), ()):
            if start <= day and (stop is None or day <= stop):
                return sku
        return msku
    return resolve


def _pct(part: Decimal, whole: Decimal) -> str | None:
    return fmt((part * 100 / whole).quantize(Decimal("0.01"))) if whole else None


def assemble_cogs(cost, units, market: dict, sales, resolve, zero: Decimal = Decimal("0.00")) -> list[dict]:
    """Pure. cost: (entry, sku, amount, dims) COGS postings; units: (entry, account, sku, units) inventory units
    postings of those entries; market: location -> marketplace; sales: (date, account, seller sku, marketplace,
    amount, dims) revenue and refund postings. A row per (sales SKU, marketplace): units that left (net of
    returns; a bundle counts its component units), COGS, revenue, refunds of principal, net revenue, margin."""
    out: dict[tuple, dict] = defaultdict(lambda: {"units": 0, "cogs": zero, "revenue": zero, "refunds": zero})
    moved: dict[tuple, list] = defaultdict(lambda: [0, None])
    for entry_id, account, sku, n in units:
        held = moved[(entry_id, sku)]
        held[0] -= n
        held[1] = held[1] or _where(account)[0]
    seen = set()
    for entry_id, sku, amount, dims in cost:
        n, location = moved.get((entry_id, sku), (0, None))
        row = out[(dims.get("bundle") or sku, market.get(location))]
        row["cogs"] += amount
        if (entry_id, sku) not in seen:
            seen.add((entry_id, sku))
            row["units"] += n
    for day, account, msku, marketplace, amount, dims in sales:
        mk = marketplace.lower() if marketplace else None
        if account == REVENUE:
            out[(resolve(mk, msku, day), mk)]["revenue"] -= amount
        elif "Principal" in (dims.get("amazon_type") or ""):
            out[(resolve(mk, msku, day), mk)]["refunds"] += amount
    rows = []
    for (sku, mk), r in sorted(out.items(), key=lambda kv: (kv[0][0] or "", kv[0][1] or "")):
        net = r["revenue"] - r["refunds"]
        margin = net - r["cogs"]
        rows.append({"sku": sku, "marketplace": mk, "units": r["units"], "cogs": fmt(r["cogs"]),
                     "revenue": fmt(r["revenue"]), "refunds": fmt(r["refunds"]), "net_revenue": fmt(net),
                     "gross_margin": fmt(margin), "margin_pct": _pct(margin, net)})
    return rows
