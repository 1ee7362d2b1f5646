"""The command line's reports: `reconcile settlements` and `report gross-to-net` (main.py registers both apps)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from ledger_service.cli.common import FormatOpt, SubsidiaryOpt, engine, fail, parse_date
from ledger_service.cli.common import subsidiary as resolve_subsidiary
from ledger_service.cli.output import Format, console, emit, totals
from ledger_service.errors import LedgerError

reconcile_app = typer.Typer(help="Reconciliations.", no_args_is_help=True)
report_app = typer.Typer(help="Reports.", no_args_is_help=True)

SETTLEMENT_COLUMNS = ["settlement_id", "currency", "total", "rows_sum", "deposit", "carried", "clearing", "suspense",
                      "status"]


@reconcile_app.command("settlements")
def reconcile_settlements(code: SubsidiaryOpt = None,
                          settlement_id: Annotated[Optional[str], typer.Option(
                              "--settlement", help="one settlement, with its suspense and explaining rows")] = None,
                          fmt: FormatOpt = Format.table) -> None:
    """Per settlement: total, rows sum, deposit, carried, clearing, suspense, and its status."""
    from ledger_service.settlements.reconcile import settlement, settlements

    subsidiary = resolve_subsidiary(code)

    try:
        with engine().connect() as conn:
            if settlement_id is None:
                data = settlements(conn, subsidiary)
            else:
                data = settlement(conn, subsidiary, settlement_id)
    except LedgerError as exc:
        fail(exc)
    if fmt == Format.json:
        emit(data, fmt)
    elif settlement_id is None:
        rows = [r | {"total": r["total_amount"]} for r in data]
        emit(data, fmt, rows=rows, title=f"settlements of subsidiary {subsidiary}", columns=SETTLEMENT_COLUMNS,
             totals=totals(rows, SETTLEMENT_COLUMNS, by="currency", label=f"{len(rows)} settlement(s)"))
    else:
        _settlement_tables(subsidiary, data)


def _settlement_tables(subsidiary: str, s: dict) -> None:
    emit([s | {"total": s["total_amount"]}], Format.table, title=f"settlement {s['settlement_id']} ({subsidiary})",
         columns=SETTLEMENT_COLUMNS)
    console.print(f"rows - total: {s['difference']}; deposit + carried - total: {s['deposit_difference']}; "
                  f"open in suspense: {s['suspense_count']} amount(s), {s['suspense']}")
    if s["suspense_rows"]:
        emit(s["suspense_rows"], Format.table, title="in suspense (open exceptions)",
             columns=["event_id", "document", "line", "amazon_type", "amount"])
    if s["explained_by"]:
        emit(s["explained_by"], Format.table, title="other entries moving its clearing",
             columns=["entry_id", "date", "kind", "description", "amount"])


@report_app.command("gross-to-net")
def report_gross_to_net(code: SubsidiaryOpt = None,
                        start: Annotated[Optional[str], typer.Option("--from", help="YYYY-MM-DD")] = None,
                        end: Annotated[Optional[str], typer.Option("--to", help="YYYY-MM-DD")] = None,
                        settlement_id: Annotated[Optional[str], typer.Option("--settlement")] = None,
                        marketplace: Annotated[Optional[str], typer.Option(
                            "--marketplace", help="e.g. amazon.com")] = None,
                        fmt: FormatOpt = Format.table) -> None:
    """Gross sales to net proceeds, a bridge that closes to the cent; disbursed, carried, in transit."""
    from ledger_service.reports.gross_to_net import gross_to_net

    subsidiary = resolve_subsidiary(code)

    try:
        with engine().connect() as conn:
            data = gross_to_net(conn, subsidiary, parse_date(start), parse_date(end), settlement_id, marketplace)
    except LedgerError as exc:
        fail(exc)
    if fmt == Format.json:
        emit(data, fmt)
        return
    for cur in data["currencies"]:  # the title on its own line: a table's title wraps at the table's width
        console.print(_title(data, cur["currency"]))
        emit(cur, fmt, rows=_bridge_rows(cur), columns=["line", "amount"])
    if not data["currencies"]:
        emit([], fmt, title=_title(data, ""))
    for note in data["notes"]:
        console.print(f"note: {note}")


def _bridge_rows(cur: dict) -> list[dict]:
    rows = [{"line": b["line"], "amount": b["amount"]} for b in cur["bridge"]]
    rows += [{"line": "= net proceeds", "amount": cur["net_proceeds"]},
             {"line": "check: lines - clearing moved (must be 0.00)", "amount": cur["check"]}]
    if "disbursed" in cur:
        rows += [{"line": "disbursed in the period", "amount": cur["disbursed"]},
                 {"line": "carried to payable to Amazon", "amount": cur["carried"]},
                 {"line": "in transit / not yet settled", "amount": cur["in_transit"]}]
    return rows


def _title(data: dict, currency: str) -> str:
    name, code = data["subsidiary_name"], data["subsidiary"]
    parts = [f"gross to net: {name if code in name else f'{name} ({code})'}", currency]
    if data["from"] or data["to"]:
        parts.append(f"{data['from'] or '...'} to {data['to'] or '...'}")
    if data["settlement"]:
        parts.append(f"settlement {data['settlement']}")
    if data["marketplace"]:
        parts.append(f"marketplace {data['marketplace']}")
    return " ".join(p for p in parts if p)
