"""`ledger-service close`, `reopen` and `periods`: month-end close per subsidiary.

`close` runs the checks a controller runs first (trial balance zero, no settlement in `difference`, the exception
queue's open items listed), revalues open foreign-currency balances, and locks the month; `--force --reason` closes
despite a failed check, and says so on the event. `reopen` needs a reason. Both are events of the subsidiary's log
(periods.service), with who ran them (`cli:<user>` here, the token through the API).
"""

from __future__ import annotations

import getpass
from typing import Annotated, Optional

import typer

from ledger_service.cli.common import FormatOpt, SubsidiaryOpt, engine, one_line_errors, subsidiary
from ledger_service.cli.output import Format, console, emit, errors
from ledger_service.periods import service
from ledger_service.store.engine import write_transaction

PeriodOpt = Annotated[str, typer.Option("--period", "-p", help="the month, YYYY-MM")]
ReasonOpt = Annotated[Optional[str], typer.Option("--reason", help="why (recorded on the event)")]


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


def close(period: PeriodOpt, code: SubsidiaryOpt = None,
          force: Annotated[bool, typer.Option("--force", help="close despite failed checks (needs --reason)")] = False,
          reason: ReasonOpt = None, fmt: FormatOpt = Format.table) -> None:
    """Close a month: check it, revalue foreign balances at its last day's rate, lock it."""
    code = subsidiary(code)
    with one_line_errors():
        with write_transaction(engine()) as conn:
            result = service.close_period(conn, code, period, actor=_actor(), reason=reason, force=force)
    if fmt != Format.table:
        emit(result, fmt, rows=[_summary(result)])
        return
    checks = result["checks"]
    for problem in checks["problems"]:
        errors.print(f"[yellow]forced past:[/yellow] {problem}", highlight=False)
    if checks["exceptions"]:
        emit(checks["exceptions"], fmt, title=f"open exceptions dated by {checks['trial_balance']['as_of']} "
             "(listed, they stay in suspense)", columns=["event_id", "amazon_type", "amount", "currency", "date"])
    for key, what in (("inventory_exceptions", "inventory ledger rows that posted nothing"),
                      ("settlement_unit_exceptions", "settlement sales not costed")):
        if checks.get(key):
            emit(checks[key], fmt, title=f"open {what}, dated by {checks['trial_balance']['as_of']} (listed)")
    lines = (result.get("revaluation") or {}).get("lines") or []
    if lines:
        emit(lines, fmt, title=f"revaluation at {checks['trial_balance']['as_of']} (reversed on the next day)")
    console.print(f"period {result['period']} of {code} closed (event {result['event_id']}); trial balance as of "
                  f"{checks['trial_balance']['as_of']}: {checks['trial_balance']['functional_total']}")


def reopen(period: PeriodOpt, code: SubsidiaryOpt = None, reason: ReasonOpt = None,
           fmt: FormatOpt = Format.table) -> None:
    """Reopen a closed month (a reason is required): entries may post into it again."""
    code = subsidiary(code)
    with one_line_errors():
        with write_transaction(engine()) as conn:
            result = service.reopen_period(conn, code, period, reason=reason, actor=_actor())
    if fmt != Format.table:
        emit(result, fmt)
        return
    console.print(f"period {result['period']} of {code} reopened (event {result['event_id']}): {result['reason']}")


def periods(code: SubsidiaryOpt = None, fmt: FormatOpt = Format.table) -> None:
    """Every month of the subsidiary with its status, and who closed or reopened it, when and why."""
    code = subsidiary(code)
    with one_line_errors():
        with engine().connect() as conn:
            rows = service.list_periods(conn, code)
    emit(rows, fmt, title=f"periods of subsidiary {code}",
         columns=["period", "status", "changed_at", "by", "reason", "forced", "event_id"])


def _summary(result: dict) -> dict:
    return {"subsidiary": result["subsidiary"], "period": result["period"], "status": result["status"],
            "event_id": result["event_id"], "forced": result["forced"], "reason": result["reason"],
            "problems": len(result["checks"]["problems"]), "exceptions": len(result["checks"]["exceptions"])}
