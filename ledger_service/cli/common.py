"""What every command module of the CLI shares: the engine, one-line errors, dates, and the common options."""

from __future__ import annotations

from datetime import date
from typing import Annotated, NoReturn

import typer

from ledger_service.cli.output import Format, errors
from ledger_service.errors import LedgerError
from ledger_service.settings import Settings
from ledger_service.store.engine import make_engine

FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="table or json")]
SubsidiaryOpt = Annotated[str, typer.Option("--subsidiary", "-s")]


def engine():
    return make_engine(Settings.from_env().database_url)


def fail(exc: Exception) -> NoReturn:
    errors.print(f"[red]error:[/red] {exc.message if isinstance(exc, LedgerError) else exc}", highlight=False)
    raise typer.Exit(1)


def parse_date(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date (YYYY-MM-DD)") from None
