"""What every command module of the CLI shares: the engine, one-line errors, dates, and the common options."""

from __future__ import annotations

import os
from contextlib import contextmanager
from datetime import date
from typing import Annotated, Iterator, NoReturn, Optional

import typer

from ledger_service.cli.output import Format, errors
from ledger_service.errors import LedgerError
from ledger_service.settings import Settings
from ledger_service.store.engine import make_engine

FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="table, json or csv")]
# No built-in default: a UK controller must never read the US books by leaving -s out.
SubsidiaryOpt = Annotated[Optional[str], typer.Option(
    "--subsidiary", "-s", help="subsidiary code; default: LEDGER_DEFAULT_SUBSIDIARY, else required")]


def subsidiary(code: str | None) -> str:
    """The subsidiary a per-subsidiary command works on: -s, else the configured default, else an error."""
    if code:
        return code
    settings = Settings.from_env()
    default = getattr(settings, "default_subsidiary", None) or os.environ.get("LEDGER_DEFAULT_SUBSIDIARY")
    if default:
        return default
    errors.print("[red]error:[/red] which subsidiary? give -s CODE (or set LEDGER_DEFAULT_SUBSIDIARY); "
                 "`ledger-service subsidiaries list` shows them", highlight=False)
    raise typer.Exit(2)  # a usage error, as typer's own


def engine():
    return make_engine(Settings.from_env().database_url)


def fail(exc: Exception) -> NoReturn:
    errors.print(f"[red]error:[/red] {exc.message if isinstance(exc, LedgerError) else exc}", highlight=False)
    raise typer.Exit(1)


@contextmanager
def one_line_errors() -> Iterator[None]:
    """A LedgerError raised in the block ends the command with its message on one line (exit 1), not a traceback."""
    try:
        yield
    except LedgerError as exc:
        fail(exc)


def parse_date(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date (YYYY-MM-DD)") from None
