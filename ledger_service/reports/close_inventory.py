"""The close pack's inventory sections: the valuation at the period's end and the period's roll-forward.

The problem: a controller signing off a month must see what the inventory is worth on its last day, SKU by SKU
and state by state, and that this figure is the balance the books carry for it; and how the inventory got from
the month's opening to that closing (receipts in, COGS and write-offs out, adjustments), tied to the cent. Both
figures come from the inventory views (inventory.views.valuation, inventory.rollforward), which check themselves
against the balances aggregates and raise `Inconsistent` rather than answer a mismatch; this module only lays them
out as the pack's tables (reports.close.Section), so the three renderings show the same figures.

- valuation as of the period's last day: the view's lots summed per (SKU, location, state): lots, units, value at
  cost (`amount`) and `unit_cost` = amount / units to 6 decimals (a label, as the view's). Beside the total: the
  inventory accounts' balance at that date (every commodity of `Assets:Inventory` and below, functional, posted,
  as the trial balance shows them) and the difference, which must be 0.00. An account not named
  `Assets:Inventory:<LOCATION>:<State>` (an older chart's `Assets:Inventory:Warehouse`) shows its name as the
  location and no state.
- roll-forward of the period (one month: the view's one row): opening, then each movement signed as it changes
  the inventory (receipts +, COGS -, write-offs -, adjustments +/-), so the lines sum to the closing; the check
  row is opening + receipts - COGS - write-offs + adjustments - closing, which must be 0 (units) and 0.00 (value).
  The view gives the subsidiary's totals (not per SKU or location), so the pack does.
- a subsidiary with no inventory (nothing held at either end of the month and nothing moved) gets both sections
  with a "no inventory" line, never a missing section.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import Connection

from ledger_service.balances.queries import balance_rows
from ledger_service.inventory.rollforward import rollforward
from ledger_service.inventory.views import PREFIX, UNIT_COST_PLACES, valuation
from ledger_service.money import currency_exponent, fmt, from_minor
from ledger_service.reports.close import Section, Table

VALUATION_COLUMNS = ("sku", "location", "state", "lots", "units", "unit_cost", "amount")
ROLLFORWARD_COLUMNS = ("line", "units", "amount")
# (line, view column, sign of its effect on the inventory): the view gives COGS and write-offs as positive outflows
MOVEMENTS = (("receipts", "receipts", 1), ("COGS (units sold, net of returns)", "cogs", -1),
             ("write-offs", "write_offs", -1), ("adjustments", "adjustments", 1))


def inventory_sections(conn: Connection, subsidiary: str, functional: str, period: str, start: date,
                       end: date) -> tuple[Section, Section]:
    """The valuation section (as of `end`) and the roll-forward section (`start`..`end`)."""
    zero = from_minor(0, currency_exponent(functional))
    month = rollforward(conn, subsidiary, start, end)["rows"][0]
    moved = any(month[f"{kind}_units"] or Decimal(month[f"{kind}_value"]) for _, kind, _ in MOVEMENTS)
    held = month["opening_units"] or month["closing_units"] or Decimal(month["opening_value"]) or \
        Decimal(month["closing_value"])
    return (_valuation(conn, subsidiary, functional, end, zero),
            _rollforward(month, functional, period, start, end, zero, bool(held or moved)))


def _valuation(conn: Connection, subsidiary: str, functional: str, end: date, zero: Decimal) -> Section:
    lots = valuation(conn, subsidiary, end)["lots"]
    rows = assemble_valuation(lots)
    total = sum((Decimal(x["value"]) for x in lots), zero)
    units = sum(x["units"] for x in lots)
    balance = sum((r["functional_balance"] for r in balance_rows(conn, subsidiary, end, account=PREFIX.rstrip(":"))),
                  zero)
    difference = total - balance
    tie = "ties to the cent" if not difference else f"DOES NOT TIE: difference {fmt(difference)}"
    notes = [f"valuation at cost on {end.isoformat()}: {len(lots)} lot(s) of {len({x['sku'] for x in lots})} "
             f"SKU(s), {units} units, total {fmt(total)} {functional}; the inventory accounts' balance "
             f"(Assets:Inventory and below) on {end.isoformat()}: {fmt(balance)} {functional}: {tie}"]
    totals: tuple[dict, ...] = (
        {"sku": "total", "lots": len(lots), "units": units, "amount": fmt(total)},
        {"sku": "inventory accounts' balance (Assets:Inventory and below)", "amount": fmt(balance)},
        {"sku": "difference (must be 0.00)", "amount": fmt(difference)})
    if not lots:
        notes = [f"no inventory: no units held on {end.isoformat()}"] + \
            ([] if not balance else notes)  # money in an inventory account without units still shows, untied
        totals = totals if balance else ()
    title = (f"Inventory valuation as of {end.isoformat()}: lots at cost per SKU, location and state; amount in "
             f"{functional}, unit_cost = amount / units to 6 decimals")
    table = Table("inventory_valuation", title, VALUATION_COLUMNS, rows, totals,
                  empty=f"no inventory: no units held on {end.isoformat()}")
    return Section("inventory_valuation", f"Inventory valuation as of {end.isoformat()}", tuple(notes), (table,))


def assemble_valuation(lots: list[dict]) -> tuple[dict, ...]:
    """Pure: the valuation view's lots (value a decimal string) -> one row per (SKU, account), in SKU, location,
    state order."""
    sums: dict[tuple, list] = defaultdict(lambda: [0, 0, Decimal(0)])
    for lot in lots:
        held = sums[(lot["sku"], lot["location"] or lot["account"], lot["state"] or "")]
        held[0] += 1
        held[1] += lot["units"]
        held[2] += Decimal(lot["value"])
    return tuple({"sku": sku, "location": location, "state": state, "lots": n, "units": units,
                  "unit_cost": fmt((value / units).quantize(UNIT_COST_PLACES)) if units else None,
                  "amount": fmt(value)}
                 for (sku, location, state), (n, units, value) in sorted(sums.items()))


def _rollforward(month: dict, functional: str, period: str, start: date, end: date, zero: Decimal,
                 any_inventory: bool) -> Section:
    before = (start - timedelta(days=1)).isoformat()
    if not any_inventory:
        line = f"no inventory: nothing held on {before} or {end.isoformat()} and nothing moved in {period}"
        table = Table("inventory_rollforward", f"Inventory roll-forward {period}", ROLLFORWARD_COLUMNS, (),
                      empty=line)
        return Section("inventory_rollforward", f"Inventory roll-forward {period}", (line,), (table,))
    rows = [{"line": f"opening (as of {before})", "units": month["opening_units"], "amount": month["opening_value"]}]
    units, value = month["opening_units"], Decimal(month["opening_value"])
    for label, kind, sign in MOVEMENTS:
        n, v = sign * month[f"{kind}_units"], sign * Decimal(month[f"{kind}_value"])
        rows.append({"line": label, "units": n, "amount": fmt(v + zero)})  # + zero: -0.00 reads 0.00
        units, value = units + n, value + v
    closing_units, closing = month["closing_units"], Decimal(month["closing_value"])
    totals = ({"line": f"= closing (as of {end.isoformat()})", "units": closing_units, "amount": month["closing_value"]},
              {"line": "check: opening + receipts - COGS - write-offs + adjustments - closing (must be 0)",
               "units": units - closing_units, "amount": fmt(value - closing + zero)})
    notes = (f"opening {month['opening_value']} + receipts {month['receipts_value']} - COGS {month['cogs_value']} - "
             f"write-offs {month['write_offs_value']} + adjustments {month['adjustments_value']} = closing "
             f"{month['closing_value']} {functional}; opening and closing are the inventory accounts' balances, the "
             "movements are read from the postings (checked to tie by the view); the closing is the valuation's "
             "total",)
    title = (f"Inventory roll-forward {period} ({start.isoformat()} to {end.isoformat()}), all SKUs and locations: "
             f"each movement signed as it changes the inventory, amount in {functional} at cost")
    table = Table("inventory_rollforward", title, ROLLFORWARD_COLUMNS, tuple(rows), totals)
    return Section("inventory_rollforward", f"Inventory roll-forward {period}", notes, (table,))
