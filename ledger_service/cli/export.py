"""`ledger-service export beancount`: the subsidiary's journal as a beancount file (bean-check verifies it)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ledger_service.cli.common import SubsidiaryOpt, engine, fail, parse_date, subsidiary
from ledger_service.cli.output import console
from ledger_service.errors import LedgerError
from ledger_service.export.service import beancount_text

export_app = typer.Typer(help="Export the journal to other tools.", no_args_is_help=True)


@export_app.command("beancount")
def beancount(code: SubsidiaryOpt = None,
              to: Annotated[Optional[str], typer.Option(help="last entry date, YYYY-MM-DD inclusive")] = None,
              out: Annotated[Path, typer.Option(help="the .beancount file to write", dir_okay=False)] = ...) -> None:
    """Write the subsidiary's journal as beancount: open and commodity directives, one transaction per entry
    (* posted, ! pending), and a balance assertion per account and commodity at every month end (posted +
    pending, as beancount counts both). `bean-check FILE` verifies it."""
    code = subsidiary(code)
    try:
        with engine().connect() as conn:
            text = beancount_text(conn, code, parse_date(to))
    except LedgerError as exc:
        fail(exc)
    out.write_text(text, encoding="utf-8")
    lines = text.splitlines()
    transactions = sum(1 for line in lines if line[:1].isdigit() and line[10:13] in (" * ", " ! "))
    assertions = sum(1 for line in lines if line[:1].isdigit() and line[10:19] == " balance ")
    console.print(f"wrote {out}: {transactions} transactions, {assertions} balance assertions", highlight=False)
