"""`ledger-service exceptions`: the exception queue (unmapped Amazon amounts in suspense), and reclass."""

from __future__ import annotations

from typing import Annotated

import typer

from ledger_service.cli.common import FormatOpt, SubsidiaryOpt, engine, one_line_errors, subsidiary
from ledger_service.cli.output import Format, console, emit, totals

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
    with one_line_errors():
        with engine().connect() as conn:
            rows = exceptions(conn, code, include_closed=all_)
    table = [r | {"where": f"{r['source']['document']}:{r['source']['line'] or r['source']['page']}"} for r in rows]
    emit(rows, fmt, rows=table, title=f"exceptions of subsidiary {code}" + (" (with reclassed)" if all_ else ""),
         columns=COLUMNS, totals=totals(table, COLUMNS, by="currency", label=f"{len(rows)} amount(s)"))


@exceptions_app.command("reclass")
def exceptions_reclass(code: SubsidiaryOpt = None) -> None:
    """Post reclass entries for exceptions whose Amazon type now has a mapping."""
    from ledger_service.exceptions.service import reclass

    code = subsidiary(code)
    with one_line_errors():
        result = reclass(engine(), code)
    console.print(f"subsidiary {code}: reclassed {result['reclassed']} exception(s); "
                  f"{result['still_open']} still unmapped")


@exceptions_app.command("late")
def exceptions_late(code: SubsidiaryOpt = None,
                    all_: Annotated[bool, typer.Option("--all", help="include those posted since")] = False,
                    fmt: FormatOpt = Format.table) -> None:
    """Late events refused because their period was closed (subsidiary setting late_entries = refuse)."""
    from ledger_service.exceptions.service import late_refused

    code = subsidiary(code)
    with one_line_errors():
        with engine().connect() as conn:
            rows = late_refused(conn, code, include_posted=all_)
    table = [{k: v for k, v in r.items() if k != "drafts"}
             | {"where": f"{r['source']['document']}:{r['source']['line'] or r['source']['page'] or ''}"}
             for r in rows]
    emit([{k: v for k, v in r.items() if k != "drafts"} for r in rows], fmt, rows=table,
         title=f"late events refused into closed periods, subsidiary {code}",
         columns=["event_id", "kind", "date", "period", "entries", "where", "status"])


@exceptions_app.command("post-late")
def exceptions_post_late(code: SubsidiaryOpt = None) -> None:
    """Post the entries of refused late events, as drafted (after reopening their period)."""
    from ledger_service.exceptions.service import post_late

    code = subsidiary(code)
    with one_line_errors():
        result = post_late(engine(), code)
    console.print(f"subsidiary {code}: {result['posted']} late event(s) posted, {result['entries']} entries")


@exceptions_app.command("catalog")
def exceptions_catalog(code: SubsidiaryOpt = None, fmt: FormatOpt = Format.table) -> None:
    """Catalog gaps in the exception queue: SKUs or FNSKUs the catalog does not resolve, uncosted units (the
    blocking kinds of `ledger-service catalog audit`)."""
    from ledger_service.catalog.audit import exception_items

    code = subsidiary(code)
    with one_line_errors():
        with engine().connect() as conn:
            rows = exception_items(conn, code)
    table = [{"kind": r["kind"], "date": r["date"], "detail": r["detail"],
              "where": f"{r['source']['document'] or 'event ' + str(r['event_id'])}:{r['source']['line'] or ''}"}
             for r in rows]
    emit([{k: v for k, v in r.items() if k != "gap"} for r in rows], fmt, rows=table,
         title=f"catalog gaps of subsidiary {code}", columns=["kind", "date", "detail", "where"])


@exceptions_app.command("units")
def exceptions_units(code: SubsidiaryOpt = None,
                     retry: Annotated[bool, typer.Option("--retry", help="post those that now cost (lots "
                                                                         "received, catalog fixed)")] = False,
                     all_: Annotated[bool, typer.Option("--all", help="include those posted since")] = False,
                     fmt: FormatOpt = Format.table) -> None:
    """Settlement sales that could not be costed (unit_source = settlement: unknown SKU, no FBA location, too few
    units); their money is posted. `--retry` posts what now costs."""
    from ledger_service.inventory.settlement_units import retry_unit_exceptions, unit_exceptions
    from ledger_service.store.engine import write_transaction

    code = subsidiary(code)
    with one_line_errors():
        done = None
        if retry:
            with write_transaction(engine()) as conn:
                done = retry_unit_exceptions(conn, code)
        with engine().connect() as conn:
            rows = [{k: v for k, v in r.items() if k != "item"} for r in unit_exceptions(conn, code, all_)]
    if fmt == Format.json:
        emit({"retry": done, "exceptions": rows} if retry else rows, fmt)
        return
    if done is not None:
        console.print(f"subsidiary {code}: {done['posted']} of {done['retried']} sale(s) posted ({done['units']} "
                      f"units, COGS {done['cogs']}); {len(done['still_open'])} still open")
    table = [r | {"where": f"{r['source']['document']}:{r['source']['line'] or r['source']['page'] or ''}"}
             for r in rows]
    emit(rows, fmt, rows=table, title=f"settlement sales not costed, subsidiary {code}",
         columns=["order_id", "sku", "units", "marketplace", "date", "kind", "message", "where", "status"])


INVENTORY_COLUMNS = ["kind", "date", "sku", "msku", "fnsku", "quantity", "where", "status", "message"]


@exceptions_app.command("inventory")
def exceptions_inventory(code: SubsidiaryOpt = None,
                         all_: Annotated[bool, typer.Option("--all", help="include those posted since")] = False,
                         fmt: FormatOpt = Format.table) -> None:
    """Inventory ledger rows that posted nothing (an unknown MSKU/FNSKU, a flagged row, no units to cost them:
    open until `exceptions retry-inventory` posts them), and rows posted at the current cost (flagged)."""
    from ledger_service.exceptions.service import inventory_exceptions

    code = subsidiary(code)
    with one_line_errors():
        with engine().connect() as conn:
            rows = inventory_exceptions(conn, code, include_resolved=all_)
    table = [r | {"where": f"{r['source']['document']}:{r['source']['line'] or ''}"} for r in rows]
    emit(rows, fmt, rows=table, columns=INVENTORY_COLUMNS,
         title=f"inventory exceptions of subsidiary {code}" + (" (with resolved)" if all_ else ""))


@exceptions_app.command("retry-inventory")
def exceptions_retry_inventory(code: SubsidiaryOpt = None, fmt: FormatOpt = Format.table) -> None:
    """Run the open inventory exceptions again from their stored rows (after importing the catalog identity or
    receiving the units): what resolves now posts, the rest stays open. Running it again changes nothing."""
    import getpass

    from ledger_service.exceptions.service import retry_inventory

    code = subsidiary(code)
    with one_line_errors():
        result = retry_inventory(engine(), code, actor=f"cli:{getpass.getuser()}")
    if fmt == Format.json:
        emit(result, fmt)
        return
    title = (f"subsidiary {code}: {result['posted']} of {result['retried']} open inventory exception(s) posted "
             f"({result['entries']} entries); {result['still_open']} still open")
    if fmt == Format.table:
        console.print(title)
    if result["items"] or fmt == Format.csv:
        emit(result["items"], fmt, rows=result["items"], columns=["document", "line", "kind", "message"],
             title="still open")
