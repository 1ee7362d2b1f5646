"""`ledger-service export beancount`: the subsidiary's journal as a beancount file (bean-check verifies it)."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from ledger_service.cli.common import SubsidiaryOpt, engine, one_line_errors, parse_date, subsidiary
from ledger_service.cli.output import console
from ledger_service.export.service import beancount_text
from ledger_service.store.engine import write_transaction

export_app = typer.Typer(help="Export the journal to other tools.", no_args_is_help=True)


class Booking(str, Enum):
    none = "none"
    fifo = "fifo"


@export_app.command("beancount")
def beancount(code: SubsidiaryOpt = None,
              to: Annotated[Optional[str], typer.Option(help="last entry date, YYYY-MM-DD inclusive")] = None,
              out: Annotated[Path, typer.Option(help="the .beancount file to write", dir_okay=False)] = ...,
              booking: Annotated[Booking, typer.Option(
                  help="none: units at the cost each posting states; fifo (a FIFO subsidiary): units reductions "
                       "as `-N SKU {}` for beancount's own FIFO to book, lots with their date")] = Booking.none
              ) -> None:
    """Write the subsidiary's journal as beancount: open and commodity directives, one transaction per entry
    (* posted, ! pending), and a balance assertion per account and commodity at every month end (posted +
    pending, as beancount counts both). `bean-check FILE` verifies it; with `--booking fifo` it also checks that
    beancount's FIFO relieves the same lots as the ledger (a transaction it books otherwise does not balance)."""
    code = subsidiary(code)
    with one_line_errors():
        with engine().connect() as conn:
            text = beancount_text(conn, code, parse_date(to), booking.value)
    out.write_text(text, encoding="utf-8")
    lines = text.splitlines()
    transactions = sum(1 for line in lines if line[:1].isdigit() and line[10:13] in (" * ", " ! "))
    assertions = sum(1 for line in lines if line[:1].isdigit() and line[10:19] == " balance ")
    console.print(f"wrote {out}: {transactions} transactions, {assertions} balance assertions", highlight=False)


class NetSuiteFormat(str, Enum):
    csv = "csv"
    json = "json"


class Summary(str, Enum):
    settlement = "settlement"
    day = "day"
    period = "period"


@export_app.command("netsuite")
def netsuite(code: SubsidiaryOpt = None,
             period: Annotated[str, typer.Option(help="the closed month to export, YYYY-MM")] = ...,
             fmt: Annotated[NetSuiteFormat, typer.Option(
                 "--format", "-f", help="csv (Journal Entry import) or json (SuiteTalk REST upserts)")
             ] = NetSuiteFormat.csv,
             out: Annotated[Path, typer.Option(help="folder to write the file into (created if missing)",
                                               file_okay=False)] = ...,
             summary: Annotated[Optional[Summary], typer.Option(
                 help="one journal per settlement, day or period (default: the subsidiary's netsuite_summary)")
             ] = None,
             mapping: Annotated[Optional[Path], typer.Option(
                 help="NetSuite mapping TOML (default: <config_dir>/netsuite/<SUB>.toml, <config_dir>/netsuite.toml, "
                      "else the package's example)", exists=True, dir_okay=False)] = None) -> None:
    """Export a closed period's posted journals for NetSuite, record the export (an event with the file's sha256)
    and print the file's path. Exporting again with nothing changed writes the same bytes; after the period
    changed, the file carries only the corrections (reversal + replacement of each journal that changed)."""
    from ledger_service.export.netsuite.service import export

    code = subsidiary(code)
    with one_line_errors():
        with write_transaction(engine()) as conn:
            result = export(conn, code, period, fmt.value, summary.value if summary else None, mapping)
    out.mkdir(parents=True, exist_ok=True)
    path = out / result.name
    path.write_bytes(result.data)
    print(path)
