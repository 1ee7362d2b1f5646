"""`ledger-service balances` and `trial-balance`: what each account holds, as debit and credit columns."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from ledger_service.balances.queries import balances_view, trial_balance
from ledger_service.cli.common import FormatOpt, SubsidiaryOpt, engine, one_line_errors, parse_date, subsidiary
from ledger_service.cli.output import Format, debit_credit, emit, totals

AsOfOpt = Annotated[Optional[str], typer.Option(help="YYYY-MM-DD, inclusive")]
COLUMNS = ["account", "commodity", "debit", "credit", "pending", "functional_balance"]


def balances(code: SubsidiaryOpt = None, as_of: AsOfOpt = None,
             account: Annotated[Optional[str], typer.Option(help="account or parent prefix")] = None,
             commodity: Optional[str] = None, fmt: FormatOpt = Format.table) -> None:
    """Balances per account and commodity as of a date."""
    code = subsidiary(code)
    with one_line_errors():
        with engine().connect() as conn:
            rows = balances_view(conn, code, parse_date(as_of), account, commodity)
    table = debit_credit(rows)
    emit(rows, fmt, rows=table, title=_title("balances", code, as_of), columns=COLUMNS,
         totals=totals(table, COLUMNS, by="commodity"))


def trial_balance_cmd(code: SubsidiaryOpt = None, as_of: AsOfOpt = None, fmt: FormatOpt = Format.table) -> None:
    """The trial balance: every account, debits and credits, and totals per commodity that must be equal."""
    code = subsidiary(code)
    with one_line_errors():
        with engine().connect() as conn:
            tb = trial_balance(conn, code, parse_date(as_of))
    if fmt == Format.json:
        emit(tb, fmt)
        return
    table = debit_credit(tb["rows"])
    emit(tb, fmt, rows=table, title=_title("trial balance", code, as_of) +
         f" (functional {tb['functional_currency']}: total {tb['functional_total']})",
         columns=COLUMNS, totals=totals(table, COLUMNS, by="commodity"))


def _title(what: str, code: str, as_of: str | None) -> str:
    return f"{what} of subsidiary {code}" + (f" as of {as_of}" if as_of else "")
