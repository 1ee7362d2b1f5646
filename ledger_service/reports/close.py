"""The month-end close pack: for one subsidiary and one period, every figure a controller signs off, from the log.

DESIGN.md puts report definitions in `reports/`: that is this folder of the package, ledger_service/reports/
(with its templates in reports/templates/), because the installed wheel must carry them, as it carries the default
chart and the migrations.

`close_pack` only assembles: it calls the ledger's own queries and lays their answers out as plain frozen
dataclasses (a pack of sections, each of notes, tables and charts); the renderers (render_html, render_xlsx,
render_csv) lay those out and compute nothing, so the three formats show the same figures. The sections:

- the header: subsidiary, period (first and last day), functional currency, and the period's status from the
  `periods` table: "closed on ... by ..." (the close event's recorded_at and actor), or "open - figures may still
  change"; and how far the log was read (its last event's seq and recorded_at: every section is read from one
  snapshot). Nothing in the pack depends on when it is rendered, so the same ledger renders to the same bytes;
- trial balance as of the period's last day (balances.queries.trial_balance), each account's balance as debit and
  credit columns as the CLI prints them (a positive balance is a debit), with totals per commodity, the functional
  total and the per-currency totals of the query (units at cost), which must be zero;
- gross to net for the period's dates (reports.gross_to_net), per transaction currency: one row per line and
  account of the bridge, in Amazon's sign (positive is owed to the seller), then net proceeds, its check, and
  disbursed, carried and in transit; and its chart: one bar per row (fees by kind: one bar per fee account) and
  net proceeds, from the same rows, so the chart's numbers are the table's. The bridge is per transaction
  currency (a settlement's amounts are never converted): its title says whether that is the functional currency;
- settlement reconciliation (settlements.reconcile) of the settlements whose dates touch the period: from its
  first date (start, else end, else deposit date) to its last (deposit date, else end, else start), an interval
  that overlaps the period's days; with their statuses (reconciled, reconciled_with_suspense, difference,
  inconsistent) counted;
- inventory valuation at the period's last day and the period's inventory roll-forward (reports.close_inventory:
  per SKU, location and state, the total beside the inventory accounts' balance; opening + receipts - COGS -
  write-offs + adjustments = closing), or "no inventory";
- the exception queue (exceptions.service): the open ones now, of every period (a close wants to see what is still
  unmapped), saying how many are dated by the period's end; the late events refused into a closed period
  (late_entries = refuse) not yet posted; the catalog gaps; and the inventory ledger rows that posted nothing
  (inventory.exceptions: open until `exceptions retry-inventory` posts them);
- FX revaluation: the events of kind `fx_revaluation` whose payload's period is this one, each line with its
  foreign balance, rate, carried and revalued functional amounts and the adjustment; or "no revaluation";
- export summary: the events of kind `netsuite_export` whose payload's period is this one (format, when, who,
  sha256, journals, lines, debits, credits), each export listed, never summed; or "not exported yet".

Figures are decimal strings as the ledger prints them (never floats); counts are ints. `Table.numeric` names the
columns that hold figures, for the renderers to right-align (HTML) or write as numbers (XLSX).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Connection, select

from ledger_service.balances.queries import trial_balance
from ledger_service.chart.service import get_subsidiary
from ledger_service.catalog.audit import exception_items as catalog_exception_items
from ledger_service.exceptions.service import exceptions, inventory_exceptions, late_refused
from ledger_service.inventory.settlement_units import unit_exceptions
from ledger_service.money import currency_exponent, is_currency
from ledger_service.periods.model import bounds, parse_period
from ledger_service.reports.gross_to_net import gross_to_net
from ledger_service.settlements.reconcile import settlements
from ledger_service.store.tables import events, periods

FX_KIND = "fx_revaluation"
EXPORT_KIND = "netsuite_export"
STATUS_MEANING = {
    "reconciled": "ties to the cent, nothing in suspense",
    "reconciled_with_suspense": "ties to the cent, some amounts still unclassified (in the exception queue)",
    "difference": "the rows sum to the total, but cash does not tie (see deposit_difference and clearing)",
    "inconsistent": "Amazon's own rows do not sum to its total",
}

TB_COLUMNS = ("account", "commodity", "debit", "credit", "pending", "functional_balance")
BRIDGE_COLUMNS = ("line", "account", "amount")
SETTLEMENT_COLUMNS = ("settlement_id", "currency", "start", "end", "deposit_date", "total", "rows_sum", "deposit",
                      "carried", "clearing", "suspense", "difference", "deposit_difference", "status")
EXCEPTION_COLUMNS = ("event_id", "date", "amazon_type", "amount", "currency", "settlement_id", "where")
DATES = ("start", "end", "deposit_date")  # of a settlement, UTC
LATE_COLUMNS = ("event_id", "kind", "date", "period", "entries", "status", "where")
GAP_COLUMNS = ("kind", "date", "detail", "where")
FX_COLUMNS = ("account", "currency", "foreign_balance", "rate", "carried", "revalued", "adjustment")
EXPORT_COLUMNS = ("event_id", "format", "recorded_at", "actor", "sha256", "journals", "lines", "debits", "credits")
# Columns of figures (amounts as decimal strings, counts as ints); `rate` is a figure too, though not money
FIGURES = frozenset({"debit", "credit", "pending", "functional_balance", "amount", "total", "rows_sum", "deposit",
                     "carried", "clearing", "suspense", "difference", "deposit_difference", "foreign_balance",
                     "rate", "revalued", "adjustment", "journals", "lines", "debits", "credits",
                     "lots", "units", "unit_cost"})


@dataclass(frozen=True)
class Table:
    name: str  # unique in the pack: the CSV's `table` column, a heading in the sheet of its section
    title: str  # what the figures are: the period or the as-of date, the currency, the sign convention
    columns: tuple[str, ...]
    rows: tuple[dict, ...]
    totals: tuple[dict, ...] = ()  # the rows after the line: sums, checks, closing figures (bold)
    empty: str = "no rows"  # said instead of an empty table

    @property
    def numeric(self) -> frozenset[str]:
        return FIGURES & set(self.columns)


@dataclass(frozen=True)
class Bar:
    label: str
    amount: str  # a decimal string: the table's own figure


@dataclass(frozen=True)
class Chart:
    name: str  # unique in the pack (the SVG's id)
    title: str
    currency: str
    bars: tuple[Bar, ...]


@dataclass(frozen=True)
class Section:
    key: str  # trial_balance, gross_to_net, settlements, inventory_valuation, inventory_rollforward, exceptions,
    # fx_revaluation, exports
    title: str
    notes: tuple[str, ...] = ()
    tables: tuple[Table, ...] = ()
    charts: tuple[Chart, ...] = ()


@dataclass(frozen=True)
class ClosePack:
    subsidiary: str
    subsidiary_name: str
    functional_currency: str
    period: str
    start: str  # the period's first day, ISO
    end: str  # its last day, ISO
    status: str  # closed | open
    status_note: str  # "closed on ... by ..." or "open - figures may still change"
    ledger_through: str  # the last event of the subsidiary's log read, with its recorded_at
    sections: tuple[Section, ...] = field(default=())

    def section(self, key: str) -> Section:
        return next(s for s in self.sections if s.key == key)

    @property
    def title(self) -> str:
        return f"Close pack {self.period}: {_name(self.subsidiary_name, self.subsidiary)}"

    def about(self) -> Table:
        """The header as a table of (item, value): the first sheet of the XLSX, the first rows of the CSV."""
        items = [("subsidiary", _name(self.subsidiary_name, self.subsidiary)), ("period", self.period),
                 ("from", self.start), ("to", self.end), ("functional currency", self.functional_currency),
                 ("status", self.status_note), ("figures from", self.ledger_through)]
        return Table("about", self.title, ("item", "value"), tuple({"item": k, "value": v} for k, v in items))


def close_pack(conn: Connection, subsidiary: str, period: str) -> ClosePack:
    """The close pack of `subsidiary` for `period` (YYYY-MM); NotFound for an unknown subsidiary, Invalid for a
    period that is not a month."""
    from ledger_service.reports.close_inventory import inventory_sections  # it builds on this module's Table

    period = parse_period(period)
    _one_snapshot(conn)
    sub = get_subsidiary(conn, subsidiary)
    start, end = bounds(period)
    status, status_note = _status(conn, subsidiary, period)
    return ClosePack(
        subsidiary=subsidiary, subsidiary_name=sub.name, functional_currency=sub.functional_currency,
        period=period, start=start.isoformat(), end=end.isoformat(), status=status, status_note=status_note,
        ledger_through=_ledger_through(conn, subsidiary),
        sections=(_trial_balance(conn, subsidiary, end), _gross_to_net(conn, subsidiary, sub.functional_currency,
                                                                       period, start, end),
                  _settlements(conn, subsidiary, period, start, end),
                  *inventory_sections(conn, subsidiary, sub.functional_currency, period, start, end),
                  _exceptions(conn, subsidiary, end),
                  _fx(conn, subsidiary, sub.functional_currency, period), _exports(conn, subsidiary, period)))


def _one_snapshot(conn: Connection) -> None:
    """Every section read from one snapshot, so that they agree (an ingest committing meanwhile shows in none or in
    all). On SQLite the connection's transaction is one (store.engine emits BEGIN; WAL); PostgreSQL's READ
    COMMITTED gives each statement its own, so the pack reads in REPEATABLE READ (reset when the connection goes
    back to the pool). A connection already in a transaction is the caller's: left as it is."""
    if conn.dialect.name == "postgresql" and not conn.in_transaction():
        conn.execution_options(isolation_level="REPEATABLE READ")


# -- header

def _status(conn: Connection, subsidiary: str, period: str) -> tuple[str, str]:
    row = conn.execute(select(periods.c.status, periods.c.event_id).where(
        periods.c.subsidiary == subsidiary, periods.c.period == period)).first()
    if row is None:
        return "open", "open - figures may still change"
    event = conn.execute(select(events.c.recorded_at, events.c.actor, events.c.payload)
                         .where(events.c.id == row.event_id)).first()
    when = f"{_stamp(event.recorded_at)} by {_actor(event.actor)}" if event else f"(event {row.event_id} not found)"
    reason = (_payload(event.payload).get("reason") if event else None) or None
    why = f" ({reason})" if reason else ""
    if row.status == "closed":
        return "closed", f"closed on {when}{why}"
    return "open", f"open - reopened on {when}{why}; figures may still change"


def _ledger_through(conn: Connection, subsidiary: str) -> str:
    last = conn.execute(select(events.c.seq, events.c.recorded_at).where(events.c.subsidiary == subsidiary)
                        .order_by(events.c.seq.desc()).limit(1)).first()
    if last is None:
        return f"the log of {subsidiary} holds no event yet"
    return f"the log of {subsidiary} through event seq {last.seq}, recorded {_stamp(last.recorded_at)}"


# -- trial balance

def _trial_balance(conn: Connection, subsidiary: str, end: date) -> Section:
    tb = trial_balance(conn, subsidiary, end)
    rows = tuple(_debit_credit(r) for r in tb["rows"])
    fc = tb["functional_currency"]
    notes = [f"functional total ({fc}, must be 0.00): {tb['functional_total']}"]
    notes += [f"in {t['commodity']} (money, and units at their cost in it): debits {t['debit']}, credits "
              f"{t['credit']}, balance (must be 0): {t['balance']}; pending {t['pending']}" for t in tb["totals"]]
    title = (f"Trial balance as of {end.isoformat()}: posted balances, debit and credit in each commodity, pending "
             f"(provisional) apart, functional_balance in {fc}")
    table = Table("trial_balance", title, TB_COLUMNS, rows,
                  _totals(rows, TB_COLUMNS, by="commodity", label="total"), empty="no balances")
    return Section("trial_balance", f"Trial balance as of {end.isoformat()}", tuple(notes), (table,))


def _debit_credit(row: dict) -> dict:
    """As the CLI prints it (cli.output.debit_credit): a positive balance is a debit, a negative one a credit."""
    value = Decimal(row["balance"])
    return {"account": row["account"], "commodity": row["commodity"],
            "debit": row["balance"] if value > 0 else "", "credit": str(-value) if value < 0 else "",
            "pending": row["pending"], "functional_balance": row["functional_balance"]}


# -- gross to net

def _gross_to_net(conn: Connection, subsidiary: str, functional: str, period: str, start: date,
                  end: date) -> Section:
    data = gross_to_net(conn, subsidiary, start, end)
    tables, charts = [], []
    for cur in data["currencies"]:
        currency = cur["currency"]
        which = "the functional currency" if currency == functional else \
            f"a transaction currency, not converted (functional: {functional})"
        rows = tuple({"line": b["line"], "account": a["account"], "amount": a["amount"]}
                     for b in cur["bridge"] for a in b["accounts"])
        closing = [{"line": "= net proceeds", "amount": cur["net_proceeds"]},
                   {"line": "check: lines - clearing moved (must be 0.00)", "amount": cur["check"]}]
        if "disbursed" in cur:
            closing += [{"line": "disbursed in the period", "amount": cur["disbursed"]},
                        {"line": "carried to payable to Amazon", "amount": cur["carried"]},
                        {"line": "in transit / not yet settled", "amount": cur["in_transit"]}]
        title = (f"Gross to net {period} ({start.isoformat()} to {end.isoformat()}), {currency} ({which}); "
                 "Amazon's sign: positive is owed to the seller")
        tables.append(Table(f"gross_to_net_{currency}", title, BRIDGE_COLUMNS, rows, tuple(closing)))
        charts.append(Chart(f"gross_to_net_{currency}", f"Gross to net {period}, {currency}", currency,
                            _bars(cur["bridge"], cur["net_proceeds"])))
    notes = list(data["notes"])
    if not tables:
        notes.append(f"no Amazon amounts dated {start.isoformat()} to {end.isoformat()}")
    return Section("gross_to_net", f"Gross to net {period}", tuple(notes), tuple(tables), tuple(charts))


def _bars(bridge: list[dict], net: str) -> tuple[Bar, ...]:
    """One bar per row of the bridge's table (a line with several accounts, fees by kind, gets one per account),
    then net proceeds."""
    bars = []
    for line in bridge:
        for a in line["accounts"]:
            label = line["line"] if len(line["accounts"]) == 1 else f"{line['line']}: {a['account'].rsplit(':', 1)[-1]}"
            bars.append(Bar(label, a["amount"]))
    return (*bars, Bar("net proceeds", net))


# -- settlements

def _settlements(conn: Connection, subsidiary: str, period: str, start: date, end: date) -> Section:
    chosen = [s for s in settlements(conn, subsidiary) if _touches(s, start, end)]
    rows = tuple({k: (s["total_amount"] if k == "total" else _day(s.get(k)) if k in DATES else s.get(k))
                  for k in SETTLEMENT_COLUMNS} for s in chosen)
    counts = Counter(s["status"] for s in chosen)
    notes = [f"{len(chosen)} settlement(s) with dates in {start.isoformat()} to {end.isoformat()}: " +
             (", ".join(f"{counts[k]} {k}" for k in STATUS_MEANING if counts[k]) or "none")]
    notes += [f"{k}: {v}" for k, v in STATUS_MEANING.items() if counts[k]]
    title = (f"Settlement reconciliation, settlements touching {period}; each in its own currency, Amazon's sign "
             "(positive is owed to the seller); dates UTC")
    table = Table("settlements", title, SETTLEMENT_COLUMNS, rows,
                  _totals(rows, SETTLEMENT_COLUMNS, by="currency", label="{n} settlement(s)"),
                  empty=f"no settlement with dates in {period}")
    return Section("settlements", f"Settlement reconciliation {period}", tuple(notes), (table,))


def _day(value: str | None) -> str | None:
    """A settlement's UTC date and time as its date (the time of day of Amazon's summary row says nothing)."""
    return None if value is None else str(value)[:10]


def _touches(s: dict, start: date, end: date) -> bool:
    first = s.get("start") or s.get("end") or s.get("deposit_date")
    last = s.get("deposit_date") or s.get("end") or s.get("start")
    if first is None:
        return False
    return str(first)[:10] <= end.isoformat() and str(last)[:10] >= start.isoformat()


# -- exception queue

INVENTORY_EXCEPTION_COLUMNS = ("kind", "date", "sku", "msku", "fnsku", "quantity", "where", "message")
SALE_EXCEPTION_COLUMNS = ("kind", "date", "order_id", "sku", "units", "where", "message")

def _exceptions(conn: Connection, subsidiary: str, end: date) -> Section:
    items = exceptions(conn, subsidiary)
    rows = tuple({"event_id": e["event_id"], "date": e["date"], "amazon_type": e["amazon_type"], "amount": e["amount"],
                  "currency": e["currency"], "settlement_id": e["settlement_id"],
                  "where": f"{e['source']['document']}:{e['source']['line'] or e['source']['page']}"} for e in items)
    by_end = sum(1 for e in items if e["date"] <= end.isoformat())
    notes = (f"{len(items)} open exception(s) in the queue now, {by_end} dated on or before {end.isoformat()}; "
             "each sits in Assets:Suspense:Amazon until `exceptions reclass` moves it",)
    title = "Exception queue: open unmapped Amazon amounts of every period, Amazon's sign, each in its own currency"
    table = Table("exceptions", title, EXCEPTION_COLUMNS, rows,
                  _totals(rows, EXCEPTION_COLUMNS, by="currency", label="{n} amount(s)"),
                  empty="no open exception")
    late = tuple({k: r.get(k) for k in LATE_COLUMNS[:-1]}
                 | {"where": f"{r['source']['document']}:{r['source']['line'] or r['source']['page'] or ''}"}
                 for r in late_refused(conn, subsidiary))
    late_table = Table("late_refused", "Late events refused because their period was closed (late_entries = "
                       "refuse): kept in the log without entries until `exceptions post-late`", LATE_COLUMNS, late,
                       empty="no refused late event")
    gaps = tuple({"kind": g["kind"], "date": g["date"], "detail": g["detail"],
                  "where": f"{g['source']['document'] or 'event ' + str(g['event_id'])}:{g['source']['line'] or ''}"}
                 for g in catalog_exception_items(conn, subsidiary))
    gap_table = Table("catalog_gaps", "Catalog gaps: SKUs or FNSKUs the catalog does not resolve, uncosted units "
                      "(`ledger-service catalog audit`); an unresolved SKU never consumes another's lots",
                      GAP_COLUMNS, gaps, empty="no catalog gap")
    units = tuple({"kind": e["kind"], "date": e["date"], "sku": e["sku"], "msku": e["msku"], "fnsku": e["fnsku"],
                   "quantity": e["quantity"], "where": f"{e['source']['document']}:{e['source']['line'] or ''}",
                   "message": e["message"]}
                  for e in inventory_exceptions(conn, subsidiary) if e["status"] == "open")
    units_table = Table("inventory_exceptions", "Inventory ledger rows that posted nothing (an unknown MSKU/FNSKU, a "
                        "flagged row, no units to cost them): their units are not in the books until "
                        "`exceptions retry-inventory` posts them", INVENTORY_EXCEPTION_COLUMNS, units,
                        empty="no open inventory exception")
    sales = tuple({"kind": e["kind"], "date": e["date"], "order_id": e["order_id"], "sku": e["sku"],
                   "units": e["units"], "message": e["message"],
                   "where": f"{e['source']['document']}:{e['source']['line'] or e['source']['page'] or ''}"}
                  for e in unit_exceptions(conn, subsidiary))
    sales_table = Table("settlement_unit_exceptions", "Settlement sales whose units could not be costed "
                        "(unit_source = settlement): their money is posted, their COGS is not until `exceptions "
                        "units --retry` posts it", SALE_EXCEPTION_COLUMNS, sales,
                        empty="no open settlement sale without cost")
    return Section("exceptions", "Exception queue", notes, (table, late_table, gap_table, units_table, sales_table))


# -- FX revaluation

def _fx(conn: Connection, subsidiary: str, functional: str, period: str) -> Section:
    tables = []
    for event in _period_events(conn, subsidiary, FX_KIND, period):
        p = event["payload"]
        rows = tuple({k: line.get(k) for k in FX_COLUMNS} for line in p.get("lines") or ())
        title = (f"FX revaluation as of {p.get('as_of')} (event {event['id']}, recorded {event['recorded_at']} by "
                 f"{event['actor']}): foreign_balance in its currency, rate to {functional}, carried, revalued and "
                 f"adjustment in {functional}")
        totals = _totals(rows, ("account", "carried", "revalued", "adjustment"), label=f"total ({functional})")
        tables.append(Table(f"fx_revaluation_{event['id']}", title, FX_COLUMNS, rows, totals,
                            empty="no open foreign-currency balance to revalue"))
    notes = () if tables else (f"no revaluation for {period}",)
    return Section("fx_revaluation", f"FX revaluation {period}", notes, tuple(tables))


# -- exports

def _exports(conn: Connection, subsidiary: str, period: str) -> Section:
    rows = []
    for event in _period_events(conn, subsidiary, EXPORT_KIND, period):
        p = event["payload"]
        rows.append({"event_id": event["id"], "format": p.get("format"), "recorded_at": event["recorded_at"],
                     "actor": event["actor"], "sha256": p.get("sha256"), "journals": p.get("journals"),
                     "lines": p.get("lines"), "debits": p.get("debits"), "credits": p.get("credits")})
    notes = (f"{len(rows)} export(s) of {period}, each listed (never summed: an export of the same period again "
             "holds the same journals)",) if rows else (f"{period} not exported yet",)
    table = Table("exports", f"NetSuite exports of {period}: journals, lines, debits and credits as exported",
                  EXPORT_COLUMNS, tuple(rows), empty="not exported yet")
    return Section("exports", f"Export summary {period}", notes, (table,))


def _period_events(conn: Connection, subsidiary: str, kind: str, period: str) -> list[dict]:
    out = []
    for r in conn.execute(select(events.c.id, events.c.recorded_at, events.c.actor, events.c.payload)
                          .where(events.c.subsidiary == subsidiary, events.c.kind == kind).order_by(events.c.id)):
        payload = _payload(r.payload)
        if payload.get("period") == period:
            out.append({"id": r.id, "recorded_at": _stamp(r.recorded_at), "actor": _actor(r.actor),
                        "payload": payload})
    return out


# -- helpers

def _totals(rows: tuple[dict, ...], columns: tuple[str, ...], by: str | None = None,
            label: str = "total") -> tuple[dict, ...]:
    """A row of sums of the figure columns (per value of `by`), as cli.output.totals; the first column says
    `label`, where "{n}" is the number of rows summed. Sums keep the places of their figures (0.00, not 0)."""
    sums: dict = defaultdict(lambda: defaultdict(Decimal))
    places: dict = defaultdict(int)
    counts: Counter = Counter()
    for row in rows:
        key = row.get(by) if by else None
        counts[key] += 1
        group = sums[key]
        for column in columns:
            cell = row.get(column)
            if column in FIGURES and column != "rate" and cell not in (None, "") and not isinstance(cell, int):
                value = Decimal(str(cell))
                group[column] += value
                places[key] = max(places[key], -value.as_tuple().exponent)
    out = []
    for key, group in sums.items():
        exp = places[key]
        if not exp and by in ("commodity", "currency") and key and is_currency(key):
            exp = currency_exponent(key)  # only whole figures seen: still a currency's places
        quantum = Decimal(1).scaleb(-exp)
        row = {c: str(v.quantize(quantum)) for c, v in group.items()}
        if by:
            row[by] = key
        out.append(row | {columns[0]: label.replace("{n}", str(counts[key]))})
    return tuple(out)


def _payload(text: str | None) -> dict:
    try:
        value = json.loads(text) if text else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _stamp(value) -> str:
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds") + " UTC"
    return f"{value} UTC"


def _actor(actor: str | None) -> str:
    return actor or "the command line (no token)"


def _name(name: str, code: str) -> str:
    return name if code in name else f"{name} ({code})"
