"""Where the CLI meets a configuration or database problem: one line on stderr and exit 2, never a traceback.

Exit codes: 0 done; 1 the ledger refused the input (an unbalanced entry, a contradicting file); 2 the command
could not run as configured (a usage error, a bad setting, a database that is unreachable, missing or not
migrated). Every command runs inside LedgerGroup.invoke, so each of them, present and future, gets this once;
typer's CliRunner goes through the same path, so tests see exactly what an operator sees.

A command that reads or writes the ledger first checks that the schema is at the package's latest migration: an
upgraded package on a database nobody migrated could otherwise answer from data a migration would have changed.
"""

from __future__ import annotations

from functools import partial
from typing import NoReturn

import typer
from alembic.util import CommandError
from rich.markup import escape
from sqlalchemy import pool
from sqlalchemy.exc import ArgumentError, DBAPIError
from typer.core import TyperGroup

from ledger_service.cli.output import errors
from ledger_service.settings import ConfigError, Settings, reset_cli_flags, set_cli_flags
from ledger_service.store.engine import DatabaseUrlError, make_engine, masked_url
from ledger_service.store.problems import explain, schema_problem_at

CONFIG_EXIT = 2
# Commands that make the schema themselves, or need none (serve reports it on /ready instead of refusing to start).
NO_SCHEMA_CHECK = {"init", "demo", "serve", "config"}
_CHECK_KEY = "ledger_service.check_schema"


class LedgerGroup(TyperGroup):
    """The top-level command group: runs a command with a fresh set of CLI flags and explains database trouble."""

    def invoke(self, ctx):
        # TyperGroup.invoke reads the same (private) fields to find the command; --help needs no database.
        args = [*ctx._protected_args, *ctx.args]
        ctx.meta[_CHECK_KEY] = bool(args) and args[0] not in NO_SCHEMA_CHECK and not (
            set(args) & set(ctx.help_option_names))
        token = set_cli_flags({})  # flags of this invocation only (CliRunner runs many in one process)
        try:
            return super().invoke(ctx)
        except (ConfigError, DatabaseUrlError) as exc:
            stop(str(exc))
        except ArgumentError as exc:
            stop(f"the database URL cannot be used ({exc}): check {_url_for_message()}")
        except CommandError as exc:  # alembic: e.g. the database is at a revision this package does not know
            stop(_with_engine(schema_problem_at) or f"cannot migrate the database: {exc}")
        except DBAPIError as exc:
            message = _with_engine(partial(explain, exc))
            if message is None:
                raise  # not a configuration or availability problem: a bug, whose traceback is wanted
            stop(message)
        finally:
            reset_cli_flags(token)


def check_schema(ctx: typer.Context) -> None:
    """Called by the top-level callback once the global flags are in force: refuse to run on a stale schema."""
    if ctx.meta.get(_CHECK_KEY):
        problem = _with_engine(lambda engine: schema_problem_at(engine, quiet=False), strict=True)
        if problem:
            stop(problem)


def stop(message: str) -> NoReturn:
    # soft_wrap: one line even when it is longer than the (non-tty) console width
    errors.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(CONFIG_EXIT)


def _with_engine(fn, strict: bool = False):
    """fn(engine) on a throwaway engine for the configured database (None if the settings themselves are bad,
    unless strict, when that error is raised for the boundary to report)."""
    try:
        engine = make_engine(Settings.from_env().database_url, poolclass=pool.NullPool)
    except (ConfigError, DatabaseUrlError):
        if strict:
            raise
        return None
    try:
        return fn(engine)
    finally:
        engine.dispose()


def _url_for_message() -> str:
    try:
        settings = Settings.from_env()
    except ConfigError:
        return "the database URL"
    return f"{masked_url(settings.database_url)} (from {settings.sources['database_url']})"
