"""`ledger-service config show`: every setting in force, its value and where it came from.

Settings come from four places (a flag, an environment variable, the config folder's ledger.toml, the built-in
default); when a value surprises, the first question is which of them won. The database password is masked.
"""

from __future__ import annotations

import typer

from ledger_service.cli.common import FormatOpt
from ledger_service.cli.output import Format, console, emit
from ledger_service.settings import CONFIG_FILE, Settings

config_app = typer.Typer(help="The settings in force and where each came from.", no_args_is_help=True)


@config_app.command("show")
def show(fmt: FormatOpt = Format.table) -> None:
    """Print every setting, its value, and its source (default, file, env or flag)."""
    settings = Settings.from_env()
    rows = settings.as_rows()
    if fmt == Format.json:
        emit(rows, fmt)
        return
    # "current", not "value": the table right-aligns columns named like figures
    table = [{"setting": r["setting"], "current": "(none)" if r["value"] is None else r["value"],
              "source": f"{r['source']} {r['where']}".strip()} for r in rows]
    emit(rows, fmt, rows=table, title="settings in force (flag > env > ledger.toml > default)",
         columns=["setting", "current", "source"])
    if fmt == Format.csv:  # rows only: the notes below are for a person at a terminal
        return
    file = settings.config_dir / CONFIG_FILE if settings.config_dir else None
    if file is None:
        console.print("[dim]no config folder (--config-dir, LEDGER_CONFIG_DIR or ./ledger-config)[/dim]")
    elif not file.is_file():
        console.print(f"[dim]config folder {settings.config_dir} has no {CONFIG_FILE}[/dim]")
