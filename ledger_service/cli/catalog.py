"""`ledger-service catalog`, `locations` and `lanes`: the catalog, where units sit, and which lane draws where.

`catalog import FILE` reads the brand's catalog or bundles CSV, `catalog import --amazon-report FILE --marketplace
amazon.com` the identity columns of an Amazon report; each import is an event of the subsidiary's log (with who ran
it) and importing the same file again changes nothing. `catalog list` shows items with their dated identities,
`catalog audit` the mapping gaps. `locations add|import|list` and `lanes set|list` record and show locations and
lanes (docs/inventory.md, "Catalog, locations and lanes").
"""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated, Optional

import typer

from ledger_service.cli.common import FormatOpt, SubsidiaryOpt, engine, fail, one_line_errors, parse_date, subsidiary
from ledger_service.cli.output import Format, console, emit
from ledger_service.store.engine import write_transaction

catalog_app = typer.Typer(help="The catalog: items, their Amazon identities per marketplace, bundles, the audit.",
                          no_args_is_help=True)
locations_app = typer.Typer(help="Locations: own warehouses, 3PLs, FBA per marketplace, in transit.",
                            no_args_is_help=True)
lanes_app = typer.Typer(help="Lanes (FBA, FBM, MCF, WHOLESALE, RETAIL_3PL) and the locations each may draw from.",
                        no_args_is_help=True)

IMPORT_COLUMNS = ["document", "format", "event_id", "duplicate", "items_added", "items_changed", "identities_opened",
                  "identities_closed", "bundles_changed"]
LIST_COLUMNS = ["sku", "title", "bundle", "marketplace", "msku", "asin", "fnsku", "parent_asin", "valid_from",
                "valid_to"]
GAP_COLUMNS = ["kind", "severity", "sku", "fnsku", "asin", "marketplace", "where", "detail"]


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        fail(ValueError(f"{path}: cannot be read: {exc.strerror}"))


@catalog_app.command("import")
def catalog_import(
        file: Annotated[Optional[Path], typer.Argument(help="a catalog CSV (sku,title,marketplace,msku,asin,fnsku,"
                                                            "parent_asin,valid_from) or a bundles CSV (bundle_sku,"
                                                            "component_sku,quantity[,valid_from])",
                                                       dir_okay=False)] = None,
        amazon_report: Annotated[Optional[Path], typer.Option(
            "--amazon-report", help="an Amazon report with sku/MSKU, FNSKU, ASIN columns (Manage Inventory, "
                                    "inventory ledger)", dir_okay=False)] = None,
        marketplace: Annotated[Optional[str], typer.Option(help="the report's marketplace, e.g. amazon.com")] = None,
        valid_from: Annotated[Optional[str], typer.Option(
            "--valid-from", help="an undated report's identities stand from this day (default: from the start)")
        ] = None,
        code: SubsidiaryOpt = None, fmt: FormatOpt = Format.table) -> None:
    """Import a catalog or bundles CSV, or the identity columns of an Amazon report: whole or not at all."""
    if (file is None) == (amazon_report is None):
        raise typer.BadParameter("give a catalog CSV, or --amazon-report FILE --marketplace M (one of them)")
    if amazon_report is not None and not marketplace:
        raise typer.BadParameter("--amazon-report needs --marketplace (e.g. amazon.com)")
    if file is not None and (marketplace or valid_from):
        raise typer.BadParameter("--marketplace and --valid-from go with --amazon-report; a catalog CSV has them as "
                                 "columns")
    from ledger_service.catalog.service import import_catalog

    code = subsidiary(code)
    path = file or amazon_report
    data = _read(path)
    with one_line_errors():
        with write_transaction(engine()) as conn:
            result = import_catalog(conn, code, data, path.name, marketplace=marketplace,
                                    valid_from=parse_date(valid_from), actor=_actor())
    if fmt != Format.table:
        emit(result, fmt, rows=[result], columns=IMPORT_COLUMNS)
    elif result["duplicate"]:
        console.print(f"{path.name}: already imported (event {result['event_id']}): nothing changed")
    else:
        console.print(f"{path.name} ({result['format']}) imported into {code} (event {result['event_id']}): "
                      f"{result['items_added']} item(s) added, {result['items_changed']} changed; "
                      f"{result['identities_opened']} identit(ies) opened, {result['identities_closed']} closed; "
                      f"{result['bundles_changed']} bundle(s) set")


@catalog_app.command("list")
def catalog_list(code: SubsidiaryOpt = None,
                 as_of: Annotated[Optional[str], typer.Option("--as-of", help="only what is in force that day")
                                  ] = None, fmt: FormatOpt = Format.table) -> None:
    """Items with their Amazon identities (each row one identity, dated) and bundle components."""
    from ledger_service.catalog.service import list_catalog

    code = subsidiary(code)
    with one_line_errors():
        with engine().connect() as conn:
            rows = list_catalog(conn, code, as_of=parse_date(as_of))
    table = []
    for item in rows:
        bundle = " + ".join(f"{c['quantity']} x {c['component_sku']}" for c in item["components"]
                            if c["valid_to"] is None or as_of)
        base = {"sku": item["sku"], "title": item["title"], "bundle": bundle}
        table += [base | i for i in item["identities"]] or [base]
    emit(rows, fmt, rows=table, columns=LIST_COLUMNS,
         title=f"catalog of {code}" + (f" on {as_of}" if as_of else "") + f": {len(rows)} item(s)")


@catalog_app.command("audit")
def catalog_audit_cmd(code: SubsidiaryOpt = None, fmt: FormatOpt = Format.table) -> None:
    """Mapping gaps: SKUs seen but not in the catalog, an FNSKU on two SKUs, ASIN changes, bundle components and
    units without cost."""
    from ledger_service.catalog.audit import catalog_audit

    code = subsidiary(code)
    with one_line_errors():
        with engine().connect() as conn:
            gaps = catalog_audit(conn, code)
    table = [g | {"where": _where(g["first_seen"])} for g in gaps]
    blocking = sum(1 for g in gaps if g["severity"] == "blocking")
    emit(gaps, fmt, rows=table, columns=GAP_COLUMNS,
         title=f"catalog gaps of {code}: {blocking} blocking, {len(gaps) - blocking} informational")


def _where(seen: dict) -> str:
    place = f"{seen['document'] or ''}:{seen['line']}" if seen["line"] else seen["document"] or ""
    return f"event {seen['event_id']} {place}".strip() if seen["event_id"] else place


@locations_app.command("add")
def locations_add(location: Annotated[str, typer.Argument(help="its code, e.g. FBA-US or WH-NJ")],
                  kind: Annotated[str, typer.Option(help="warehouse, 3pl, fba or transit")],
                  marketplace: Annotated[Optional[str], typer.Option(help="an FBA location's marketplace")] = None,
                  currency: Annotated[Optional[str], typer.Option(help="default: the functional currency")] = None,
                  name: Annotated[Optional[str], typer.Option(help="default: the code")] = None,
                  code: SubsidiaryOpt = None, fmt: FormatOpt = Format.table) -> None:
    """Add a location (or rename one) and create its state accounts."""
    from ledger_service.locations.service import add_location

    code = subsidiary(code)
    with one_line_errors():
        with write_transaction(engine()) as conn:
            result = add_location(conn, code, location, kind, marketplace, currency, name, actor=_actor())
    _report_change(result, fmt)


@locations_app.command("import")
def locations_import(file: Annotated[Path, typer.Argument(help="TOML with [[location]] and [[lane]] tables",
                                                          dir_okay=False)],
                     code: SubsidiaryOpt = None, fmt: FormatOpt = Format.table) -> None:
    """Add the locations and set the lanes of a TOML file: all of them, or none."""
    from ledger_service.locations.service import import_locations

    code = subsidiary(code)
    data = _read(file)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        fail(ValueError(f"{file.name}: not UTF-8 text: {exc.reason}"))
    with one_line_errors():
        with write_transaction(engine()) as conn:
            result = import_locations(conn, code, text, file.name, actor=_actor())
    _report_change(result, fmt)


def _report_change(result: dict, fmt: Format) -> None:
    if fmt != Format.table:
        emit(result, fmt, rows=[{k: v for k, v in result.items() if k not in ("locations", "lanes")}])
    elif not result["changed"]:
        console.print(f"{result['subsidiary']}: nothing to change ({result['document']})")
    else:
        done = [f"location {loc['code']} ({loc['kind']})" for loc in result["locations"]]
        done += [f"lane {lane['lane']} draws from {', '.join(lane['locations'])}" for lane in result["lanes"]]
        console.print(f"{result['subsidiary']}: {'; '.join(done)} (event {result['event_id']}; "
                      f"{result['accounts_added']} account(s) added)")


@locations_app.command("list")
def locations_list(code: SubsidiaryOpt = None, fmt: FormatOpt = Format.table) -> None:
    """The subsidiary's locations, and the lanes that draw from each."""
    from ledger_service.locations.service import list_locations

    code = subsidiary(code)
    with one_line_errors():
        with engine().connect() as conn:
            rows = list_locations(conn, code)
    table = [r | {"lanes": ", ".join(r["lanes"])} for r in rows]
    emit(rows, fmt, rows=table, title=f"locations of {code}",
         columns=["code", "kind", "marketplace", "currency", "name", "lanes"])


@lanes_app.command("set")
def lanes_set(lane: Annotated[str, typer.Argument(help="FBA, FBM, MCF, WHOLESALE or RETAIL_3PL")],
              locations: Annotated[list[str], typer.Option("--locations", "-l",
                                                           help="a location it may draw from (repeat, or A,B)")],
              code: SubsidiaryOpt = None, fmt: FormatOpt = Format.table) -> None:
    """Set the locations a lane may draw from (replacing the ones it had)."""
    from ledger_service.locations.service import set_lane

    code = subsidiary(code)
    codes = [c.strip() for value in locations for c in value.split(",") if c.strip()]
    with one_line_errors():
        with write_transaction(engine()) as conn:
            result = set_lane(conn, code, lane, codes, actor=_actor())
    _report_change(result, fmt)


@lanes_app.command("list")
def lanes_list(code: SubsidiaryOpt = None, fmt: FormatOpt = Format.table) -> None:
    """Each lane and the locations it may draw from."""
    from ledger_service.locations.service import list_lanes

    code = subsidiary(code)
    with one_line_errors():
        with engine().connect() as conn:
            rows = list_lanes(conn, code)
    emit(rows, fmt, rows=[r | {"locations": ", ".join(r["locations"])} for r in rows], title=f"lanes of {code}",
         columns=["lane", "locations"])
