"""`ledger-service exceptions`: the exception queue (unmapped Amazon amounts in suspense), and reclass."""

from __future__ import annotations

from typing import Annotated

import typer

from ledger_service.cli.common import FormatOpt, SubsidiaryOpt, engine, fail, subsidiary
from ledger_service.cli.output import Format, console, emit, totals
from ledger_service.errors import LedgerError

exceptions_app = typer.Typer(help="The exception queue: unmapped Amazon amounts in suspense.",
                             invoke_without_command=True)
COLUMNS = ["event_id", "amazon_type", "amount", "currency", "settlement_id", "where", "status"]


@exceptions_app.callback()
def exceptions_list(ctx: typer.Context, code: SubsidiaryOpt = None,
                    all_: Annotated[bool, typer.Option("--all", help="include reclassed")] = False,
                    fmt: FormatOpt = Format.table) -> None:
    """List open exceptions (or `exceptions reclass` to move newly mapped ones out of suspense)."""
    if ctx.invoked_subcommand:
        return
    from ledger_service.exceptions.service import exceptions

    code = subsidiary(code)
    try:
        with engine().connect() as conn:
            rows = exceptions(conn, code, include_closed=all_)
    except LedgerError as exc:
        fail(exc)
    table = [r | {"where": f"{r['source']['document']}:{r['source']['line'] or r['source']['page']}"} for r in rows]
    emit(rows, fmt, rows=table, title=f"exceptions of subsidiary {code}" + (" (with reclassed)" if all_ else ""),
         columns=COLUMNS, totals=totals(table, COLUMNS, by="currency", label=f"{len(rows)} amount(s)"))


@exceptions_app.command("reclass")
def exceptions_reclass(code: SubsidiaryOpt = None) -> None:
    """Post reclass entries for exceptions whose Amazon type now has a mapping."""
    from ledger_service.exceptions.service import reclass

    code = subsidiary(code)
    try:
        result = reclass(engine(), code)
    except LedgerError as exc:
        fail(exc)
    console.print(f"subsidiary {code}: reclassed {result['reclassed']} exception(s); "
                  f"{result['still_open']} still unmapped")
