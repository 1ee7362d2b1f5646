"""The command line's reports: `reconcile settlements`, `report gross-to-net` and `report close` (main.py registers
both apps). With --format csv, each prints CSV rows only (no titles, no notes), so its output parses whole."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from ledger_service.cli.common import FormatOpt, SubsidiaryOpt, engine, fail, one_line_errors, parse_date
from ledger_service.cli.common import subsidiary as resolve_subsidiary
from ledger_service.cli.output import Format, console, emit, errors, totals, write_csv
from ledger_service.reports.render import PackFormat

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

    with one_line_errors():
        with engine().connect() as conn:
            if settlement_id is None:
                data = settlements(conn, subsidiary)
            else:
                data = settlement(conn, subsidiary, settlement_id)
    if fmt == Format.json:
        emit(data, fmt)
    elif fmt == Format.csv and settlement_id is not None:
        _settlement_csv(data)
    elif settlement_id is None:
        rows = [r | {"total": r["total_amount"]} for r in data]
        emit(data, fmt, rows=rows, title=f"settlements of subsidiary {subsidiary}", columns=SETTLEMENT_COLUMNS,
             totals=totals(rows, SETTLEMENT_COLUMNS, by="currency", label=f"{len(rows)} settlement(s)"))
    else:
        _settlement_tables(subsidiary, data)


ONE_SETTLEMENT_CSV = ["part", *SETTLEMENT_COLUMNS, "difference", "deposit_difference", "suspense_count",
                      "event_id", "document", "line", "amazon_type", "entry_id", "date", "kind", "description",
                      "amount"]


def _settlement_csv(s: dict) -> None:
    """One settlement as CSV: its row (`part` settlement), then its open suspense amounts (`in suspense`) and the
    other entries moving its clearing (`explained by`), in one header."""
    rows = [{k: v for k, v in s.items() if k in ONE_SETTLEMENT_CSV}
            | {"part": "settlement", "total": s["total_amount"]}]
    rows += [r | {"part": "in suspense", "settlement_id": s["settlement_id"], "currency": s["currency"]}
             for r in s["suspense_rows"]]
    rows += [r | {"part": "explained by", "settlement_id": s["settlement_id"], "currency": s["currency"]}
             for r in s["explained_by"]]
    write_csv(rows, ONE_SETTLEMENT_CSV)


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

    with one_line_errors():
        with engine().connect() as conn:
            data = gross_to_net(conn, subsidiary, parse_date(start), parse_date(end), settlement_id, marketplace)
    if fmt == Format.json:
        emit(data, fmt)
        return
    if fmt == Format.csv:  # one header for every currency; the notes on stderr, so stdout parses whole
        write_csv([r | {"currency": cur["currency"]} for cur in data["currencies"] for r in _bridge_rows(cur)],
                  ["currency", "line", "amount"])
        for note in data["notes"]:
            errors.print(f"note: {note}", highlight=False)
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


@report_app.command("close")
def report_close(code: SubsidiaryOpt = None,
                 period: Annotated[str, typer.Option("--period", help="the month, YYYY-MM")] = ...,
                 fmt: Annotated[PackFormat, typer.Option("--format", "-f", help="html, xlsx or csv")] = PackFormat.html,
                 out: Annotated[Optional[Path], typer.Option(
                     "--out", "-o", dir_okay=False, help="file to write (required for xlsx; default: stdout)")] = None
                 ) -> None:
    """The month-end close pack: trial balance, gross to net with its chart, settlements, exceptions, FX
    revaluation and exports of one period (reports/close.py)."""
    from ledger_service.reports.close import close_pack
    from ledger_service.reports.render import render

    subsidiary = resolve_subsidiary(code)
    if fmt == PackFormat.xlsx and out is None:
        errors.print("[red]error:[/red] --out FILE is required for --format xlsx (a workbook is not text)",
                     highlight=False)
        raise typer.Exit(2)
    with one_line_errors():
        with engine().connect() as conn:
            pack = close_pack(conn, subsidiary, period)
        data = render(pack, fmt)
    if out is None:
        sys.stdout.write(data.decode("utf-8"))
        sys.stdout.flush()
        return
    try:
        out.write_bytes(data)
    except OSError as exc:
        fail(ValueError(f"cannot write {out}: {exc.strerror or exc}"))
    console.print(f"close pack {pack.subsidiary} {pack.period} ({fmt.value}, {pack.status}) written to {out}",
                  soft_wrap=True)
