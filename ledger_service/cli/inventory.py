"""`ledger-service inventory positions|valuation|cogs|rollforward`: the inventory views of a subsidiary.

The same views as GET /inventory/... (inventory.views, inventory.rollforward): units by state as of a date, the
valuation by lot (whose total is checked against the inventory accounts), COGS beside revenue with the gross margin,
and the monthly roll-forward (opening + receipts - COGS - write-offs + adjustments = closing, checked). Amounts
are in the subsidiary's functional currency; --format json prints the view's object, csv its rows and a total row.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Annotated, Optional

import typer

from ledger_service.cli.common import FormatOpt, SubsidiaryOpt, engine, fail, one_line_errors, parse_date, subsidiary
from ledger_service.cli.output import Format, emit
from ledger_service.errors import LedgerError
from ledger_service.inventory import views
from ledger_service.inventory.rollforward import rollforward as rollforward_view

inventory_app = typer.Typer(help="Inventory: positions by state, valuation by lot, COGS and margin, roll-forward.",
                            no_args_is_help=True)

AsOfOpt = Annotated[Optional[str], typer.Option("--as-of", help="YYYY-MM-DD, inclusive (default: everything)")]
FromOpt = Annotated[str, typer.Option("--from", help="first day, YYYY-MM-DD")]
ToOpt = Annotated[str, typer.Option("--to", help="last day, YYYY-MM-DD")]

POSITION_COLUMNS = ["sku", "location", "state", "units", "value"]
LOT_COLUMNS = ["sku", "location", "state", "lot", "units", "unit_cost", "value"]
COGS_COLUMNS = ["sku", "marketplace", "units", "cogs", "revenue", "refunds", "net_revenue", "gross_margin",
                "margin_pct"]
ROLL_COLUMNS = ["period", "opening_units", "opening_value", "receipts_units", "receipts_value", "cogs_units",
                "cogs_value", "write_offs_units", "write_offs_value", "adjustments_units", "adjustments_value",
                "closing_units", "closing_value"]


def _read(view, *args):
    with one_line_errors():
        with engine().connect() as conn:
            return view(conn, *args)


def _range(start: str, end: str):
    first, last = parse_date(start), parse_date(end)
    with one_line_errors():
        views.check_range(first, last)
    return first, last


@inventory_app.command()
def positions(code: SubsidiaryOpt = None, as_of: AsOfOpt = None,
              location: Annotated[Optional[str], typer.Option(help="a location code, e.g. FBA-US")] = None,
              sku: Annotated[Optional[str], typer.Option(help="one SKU")] = None,
              state: Annotated[Optional[str], typer.Option(help="a state, e.g. Available, Inbound:Shipped")] = None,
              fmt: FormatOpt = Format.table) -> None:
    """Units (and their cost) per SKU, location and state as of a date."""
    code = subsidiary(code)
    rows = _read(views.positions, code, parse_date(as_of), location, sku, state)
    total = {"sku": "total", "units": sum(r["units"] for r in rows),
             "value": str(sum((Decimal(r["value"]) for r in rows), Decimal(0)))}
    emit(rows, fmt, title=f"inventory positions of {code}" + (f" as of {as_of}" if as_of else ""),
         columns=POSITION_COLUMNS, totals=[total] if rows else None)


@inventory_app.command()
def valuation(code: SubsidiaryOpt = None, as_of: AsOfOpt = None, fmt: FormatOpt = Format.table) -> None:
    """Lots per SKU, location and state: units, unit cost (value / units, 6 decimals) and value; the total equals
    the inventory accounts' balance (checked)."""
    code = subsidiary(code)
    data = _read(views.valuation, code, parse_date(as_of))
    emit(data, fmt, rows=data["lots"], columns=LOT_COLUMNS,
         title=f"inventory valuation of {code} in {data['currency']}" + (f" as of {as_of}" if as_of else "")
         + " (unit_cost: value / units, 6 decimals)",
         totals=[{"sku": "total", "units": data["units"], "value": data["total"]}])


@inventory_app.command()
def cogs(start: FromOpt, end: ToOpt, code: SubsidiaryOpt = None, fmt: FormatOpt = Format.table) -> None:
    """COGS per SKU and marketplace, beside the revenue of the same SKU and marketplace, and the gross margin
    (margin_pct: gross_margin / net_revenue x 100)."""
    code = subsidiary(code)
    first, last = _range(start, end)
    data = _read(views.cogs, code, first, last)
    emit(data, fmt, rows=data["rows"], columns=COGS_COLUMNS,
         title=f"COGS and gross margin of {code} in {data['currency']}, {start}..{end}",
         totals=[data["total"] | {"sku": "total"}])


@inventory_app.command()
def rollforward(start: FromOpt, end: ToOpt, code: SubsidiaryOpt = None, fmt: FormatOpt = Format.table) -> None:
    """Per month: opening + receipts - COGS - write-offs + adjustments = closing, in value and units (checked)."""
    code = subsidiary(code)
    first, last = _range(start, end)
    data = _read(rollforward_view, code, first, last)
    emit(data, fmt, rows=data["rows"], columns=ROLL_COLUMNS,
         title=f"inventory roll-forward of {code} in {data['currency']}, {start}..{end}")



RECEIPT_COLUMNS = ["lot", "po", "sku", "units", "unit_cost", "value"]


@inventory_app.command()
def receive(file: Annotated[Path, typer.Argument(help="a purchase receipt CSV: po,supplier,sku,units,unit_cost,"
                                                      "currency,date[,weight][,charge,amount] (docs/inventory.md)",
                                                 dir_okay=False)],
            location: Annotated[str, typer.Option(help="the warehouse or 3PL receiving, e.g. WH-NJ")],
            allocate: Annotated[str, typer.Option(help="spread freight, duty and prep by units, value or weight")
                                ] = "units",
            code: SubsidiaryOpt = None, fmt: FormatOpt = Format.table) -> None:
    """Receive purchase orders into lots at landed cost: one event per PO, the whole file or nothing; the same
    file again changes nothing."""
    import getpass

    from ledger_service.inventory.service import receive_file
    from ledger_service.store.engine import write_transaction

    code = subsidiary(code)
    try:
        data = file.read_bytes()
    except OSError as exc:
        fail(ValueError(f"{file}: cannot be read: {exc.strerror}"))
    with one_line_errors():
        with write_transaction(engine()) as conn:
            result = receive_file(conn, code, data, file.name, location, allocate, actor=f"cli:{getpass.getuser()}")
    emit(result, fmt, rows=result["lots"], columns=RECEIPT_COLUMNS,
         title=f"{file.name} into {location} of {code}: {result['posted']} PO(s) received, "
               f"{result['duplicates']} already received",
         totals=[{"lot": "total", "units": sum(x["units"] for x in result["lots"]), "value": result["total"]}])


EXCEPTION_COLUMNS = ["line", "kind", "message"]


@inventory_app.command()
def ingest(file: Annotated[Path, typer.Argument(help="an FBA inventory ledger detail report (.txt, .tsv, .csv)",
                                                dir_okay=False)],
           location: Annotated[str, typer.Option(help="the FBA location the report's units are at, e.g. FBA-US")],
           code: SubsidiaryOpt = None, fmt: FormatOpt = Format.table) -> None:
    """Post an inventory ledger report's unit movements at cost: one event per row, the whole file or nothing;
    rows the catalog cannot resolve (or Amazon flags) are listed as exceptions and post nothing. The file is read
    as a stream (memory flat in its size)."""
    import getpass

    from ledger_service.inventory.service import ingest_ledger
    from ledger_service.sources.model import ParseError
    from ledger_service.store.engine import write_transaction

    code = subsidiary(code)
    try:
        with write_transaction(engine()) as conn:
            result = ingest_ledger(conn, code, file, file.name, location, actor=f"cli:{getpass.getuser()}")
    except OSError as exc:
        fail(ValueError(f"{file}: cannot be read: {exc.strerror}"))
    except (ParseError, LedgerError) as exc:  # a bad row anywhere: nothing of the file is posted
        fail(exc)
    emit(result, fmt, rows=result["exceptions"], columns=EXCEPTION_COLUMNS,
         title=f"{file.name} into {location} of {code}: {result['rows']} row(s), {result['posted']} posted "
               f"({result['entries']} entries), {result['duplicates']} already posted, "
               f"{len(result['exceptions'])} exception(s), {len(result['pending_legs'])} adjustment leg(s) waiting")


INBOUND_COLUMNS = ["line", "shipment_id", "sku", "status", "units", "outcome", "steps", "value", "shortage"]


@inventory_app.command()
def inbound(file: Annotated[Path, typer.Argument(help="an inbound shipment CSV: shipment_id,sku,units,from,to,date,"
                                                     "status (docs/inventory.md, Inbound shipments)", dir_okay=False)],
            from_location: Annotated[Optional[str], typer.Option("--from", help="the warehouse or 3PL, when the "
                                                                 "file has no from column")] = None,
            to_location: Annotated[Optional[str], typer.Option("--to", help="the FBA location, when the file has "
                                                               "no to column")] = None,
            code: SubsidiaryOpt = None, fmt: FormatOpt = Format.table) -> None:
    """Move an inbound shipment's units at cost to FBA, status by status (WORKING, SHIPPED, RECEIVING), and what
    was not received at CLOSED to Researching: one event per shipment, SKU and status; the whole file or nothing."""
    from ledger_service.inventory.inbound import ingest_inbound

    code = subsidiary(code)
    data = _bytes(file)
    result = _write(ingest_inbound, code, data, file.name, from_location, to_location)
    emit(result, fmt, rows=result["results"], columns=INBOUND_COLUMNS,
         title=f"{file.name} into {code}: {result['rows']} row(s), {result['posted']} posted ({result['entries']} "
               f"entries), {result['duplicates']} already recorded, {result['skipped']} skipped")


WRITE_OFF_COLUMNS = ["key", "sku", "location", "state", "units", "kind", "account", "value", "duplicate"]


@inventory_app.command("write-off")
def write_off(sku: Annotated[str, typer.Option(help="the SKU (or an MSKU the catalog maps)")],
              location: Annotated[str, typer.Option(help="the location holding the units, e.g. FBA-US")],
              units: Annotated[int, typer.Option(help="whole units to write off")],
              date: Annotated[str, typer.Option(help="the day of the write-off, YYYY-MM-DD")],
              reason: Annotated[str, typer.Option(help="why the units are gone (kept on the event and entry)")],
              state: Annotated[str, typer.Option(help="the state they leave, e.g. Researching, Unfulfillable")
                               ] = "Researching",
              kind: Annotated[str, typer.Option(help="lost (a found unit reverses it) or damaged")] = "lost",
              reference: Annotated[Optional[str], typer.Option(help="your reference (a case id): the same "
                                                               "reference again is a no-op")] = None,
              code: SubsidiaryOpt = None, fmt: FormatOpt = Format.table) -> None:
    """Write units off at cost to Expenses:Inventory:WriteOff:Lost or :Damaged; repeating it changes nothing."""
    from ledger_service.inventory.write_offs import write_off as post_write_off

    code = subsidiary(code)
    result = _write(post_write_off, code, sku, location, units, state, parse_date(date), reason, kind, reference)
    emit(result, fmt, columns=WRITE_OFF_COLUMNS,
         title=f"write-off {result['key']} of {code}" + (" (already recorded)" if result["duplicate"] else ""))


def _bytes(file: Path) -> bytes:
    try:
        return file.read_bytes()
    except OSError as exc:
        fail(ValueError(f"{file}: cannot be read: {exc.strerror}"))


def _write(service, code: str, *args):
    import getpass

    from ledger_service.store.engine import write_transaction

    with one_line_errors():
        with write_transaction(engine()) as conn:
            return service(conn, code, *args, actor=f"cli:{getpass.getuser()}")
