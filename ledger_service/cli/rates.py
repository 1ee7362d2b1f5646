"""`ledger-service rates`: import exchange rates from a file, and show the rate in force on a day.

A file is a plain CSV (`date,from,to,rate`) or the ECB's euro reference rates as published (eurofxref-hist.csv or
eurofxref.csv); it is imported whole or not at all (rates.service).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ledger_service.cli.common import FormatOpt, engine, one_line_errors, parse_date
from ledger_service.cli.output import Format, console, emit, write_csv
from ledger_service.rates import service

rates_app = typer.Typer(help="Exchange rates: import them, show the rate in force on a day.", no_args_is_help=True)


@rates_app.command("import")
def import_(file: Annotated[Path, typer.Argument(help="a `date,from,to,rate` CSV or an ECB eurofxref CSV",
                                                 exists=True, dir_okay=False)],
            fmt: FormatOpt = Format.table) -> None:
    """Import the rates of a file: all of them, or none when a row is bad or contradicts a stored rate."""
    with one_line_errors():
        result = service.import_file(engine(), file)
    if fmt == Format.json:
        emit(result, fmt)
    elif fmt == Format.csv:
        write_csv([result], ["file", "imported", "duplicates"])
    else:
        console.print(f"{result['file']}: {result['imported']} rates imported, {result['duplicates']} duplicates "
                      "(already held)")


@rates_app.command("show")
def show(from_currency: Annotated[str, typer.Option("--from", help="e.g. USD")],
         to_currency: Annotated[str, typer.Option("--to", help="e.g. GBP")],
         day: Annotated[str, typer.Option("--date", help="YYYY-MM-DD")], fmt: FormatOpt = Format.table) -> None:
    """The rate for 1 FROM in TO on a date, and how it was found (that day's, an earlier one, inverse, cross)."""
    when = parse_date(day)
    with one_line_errors():
        with engine().connect() as conn:
            found = service.rate_on(conn, from_currency.upper(), to_currency.upper(), when)
    if fmt == Format.json:
        emit(found.as_dict(), fmt)
    elif fmt == Format.csv:  # the rate as a decimal string; the dates and sources it came from, `;`-separated
        row = found.as_dict()
        write_csv([row | {"rate_dates": ";".join(row["rate_dates"]), "sources": ";".join(row["sources"])}],
                  ["from", "to", "date", "rate", "method", "rate_dates", "sources", "explanation"])
    else:
        console.print(f"1 {found.from_currency} = {format(found.rate, 'f')} {found.to_currency} on {when}: "
                      f"{found.explanation}")
