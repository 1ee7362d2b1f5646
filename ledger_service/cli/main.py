"""ledger-service: the command line.

Every command reads the database from LEDGER_DATABASE_URL (default sqlite:///ledger.db in the working
directory). Errors print one line naming what is wrong and exit 1 when the ledger refuses the input, 2 for
usage, configuration and database problems (cli/boundary.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from ledger_service.auth.cli import print_local_admin, tokens_app
from ledger_service.chart import service as chart
from ledger_service.chart.model import Subsidiary
from ledger_service.cli.boundary import LedgerGroup, check_schema
from ledger_service.cli.catalog import catalog_app, lanes_app, locations_app
from ledger_service.cli.common import FormatOpt, engine as _engine, fail as _fail
from ledger_service.cli.config import config_app
from ledger_service.cli.output import Format, console, emit
from ledger_service.cli.balances import balances, trial_balance_cmd
from ledger_service.cli.exceptions import exceptions_app
from ledger_service.cli.export import export_app
from ledger_service.cli.ingest import _ingest_files, ingest
from ledger_service.cli.integrity import checkpoint, rebuild, verify
from ledger_service.cli.inventory import inventory_app
from ledger_service.cli.periods import close, periods, reopen
from ledger_service.cli.reports import reconcile_app, reconcile_settlements, report_app, report_gross_to_net
from ledger_service.cli.rates import rates_app
from ledger_service.cli.subsidiaries import subsidiaries_app
from ledger_service.cli.trace import trace
from ledger_service.errors import LedgerError
from ledger_service.journal.manual import parse_manual_journal
from ledger_service.journal.service import entry_view, post as post_entry
from ledger_service.settings import Settings, set_cli_flags
from ledger_service.store.engine import make_engine, masked_url, write_transaction
from ledger_service.store.migrate import create_database_if_missing, init_lock, upgrade

app = typer.Typer(help="Amazon FBA to ERP double-entry ledger.", no_args_is_help=True, pretty_exceptions_enable=False,
                  cls=LedgerGroup)  # configuration and database problems: one line, exit 2 (cli/boundary.py)
app.add_typer(subsidiaries_app, name="subsidiaries")
app.add_typer(config_app, name="config")
app.add_typer(tokens_app, name="token")


@app.callback()
def _global_options(ctx: typer.Context, config_dir: Annotated[Optional[Path], typer.Option(
        "--config-dir", help="folder holding ledger.toml (default: LEDGER_CONFIG_DIR, else ./ledger-config if it "
                             "exists)", show_default=False)] = None) -> None:
    set_cli_flags({"config_dir": config_dir})  # for every Settings.from_env() of this command
    check_schema(ctx)  # a stale or missing schema: one line, exit 2, before the command reads anything


def main() -> None:
    """The `ledger-service` script ([project.scripts]); `app` stays importable for tests (CliRunner)."""
    app(prog_name="ledger-service")


@app.command()
def init(accounts_dir: Annotated[Optional[Path], typer.Option(
             help="chart of accounts folder (default: LEDGER_ACCOUNTS_DIR, else the package's)")] = None,
         create_database: Annotated[bool, typer.Option(
             "--create-database", help="create the PostgreSQL database (or the SQLite file's folder) if missing")
         ] = False) -> None:
    """Create or migrate the database and load the chart of accounts from accounts/."""
    settings = Settings.from_env(accounts_dir=accounts_dir)
    created = create_database_if_missing(settings.database_url) if create_database else False
    try:
        with init_lock(settings.database_url):  # a second init at the same time waits, then finds it done
            upgrade(settings.database_url)
            engine = make_engine(settings.database_url)
            with write_transaction(engine) as conn:
                result = chart.load_accounts_dir(conn, settings.accounts_dir)
            engine.dispose()
    except LedgerError as exc:
        _fail(exc)
    console.print(f"database {'created and ' if created else ''}ready at {masked_url(settings.database_url)}; "
                  f"subsidiaries created: {', '.join(result['subsidiaries_created']) or 'none'}; "
                  f"accounts added: {result['accounts_added']}")


@app.command()
def demo(out: Annotated[Path, typer.Option(help="where the generated Amazon files go")] = Path("demo-data"),
         orders: int = 300, seed: int = 7) -> None:
    """Initialise, generate Amazon files (a quarter of V2 settlements for US and UK, UK also on amazon.de in EUR,
    and the quarter before it in the legacy layout for US and a Canadian subsidiary), ingest them, print what they
    posted; write and ingest the US and UK inventory behind those sales (demo/inventory.py: catalog, locations,
    POs, an inbound shipment, the FBA inventory ledger); then close each subsidiary's first two months, export them
    for NetSuite and render their close packs.

    Every V2 settlement but the last arrives as its flat file; the last is still open, so only its open-group
    Finances pages are ingested: its amounts show as pending until its flat file comes. The legacy backfill has
    negative settlements carried into the next one, collected by card or absorbed by sales.
    """
    from ledger_service.chart.config import SubsidiaryConfig
    from ledger_service.demo.amazon_generator import generate
    from ledger_service.demo.finances_pages import page_files
    from ledger_service.demo.fx import ingest_eur_demo
    from ledger_service.demo.manual_journals import post_demo_journals

    init(None)
    _demo_subsidiary("CA", "Example Brand Canada Inc.", "CAD", SubsidiaryConfig("CA", tax_profile="ca"))
    result = post_demo_journals(_engine())
    console.print(f"demo journals: {result['posted']} posted, {result['already_there']} already there")
    generate(out, orders=orders, seed=seed, finances=True, legacy=True)
    console.print(ingest_eur_demo(_engine(), out, orders=orders, seed=seed))  # UK also sells on amazon.de, in EUR
    for code in ("US", "UK", "CA"):
        legacy = sorted((out / code / "legacy").glob("settlement_*.txt"))
        if legacy:
            _ingest_files(legacy, code, Format.table)
        flat = sorted((out / code).glob("settlement_*.txt"))
        if flat:
            open_id = flat[-1].stem.removeprefix("settlement_")
            _ingest_files(flat[:-1], code, Format.table)
            pages = [p for p in page_files(out / code / "finances") if p.name.startswith(f"{open_id}-")]
            _ingest_files(pages, code, Format.table, group_id=open_id, group_final=False)
        trial_balance_cmd(code, None, Format.table)
        reconcile_settlements(code, fmt=Format.table)
        report_gross_to_net(code, fmt=Format.table)
    from ledger_service.demo.inventory import ingest_inventory

    # before the close: the inventory's receipts and COGS are dated in the months it closes
    console.print("inventory: catalog, locations, POs at landed cost, inbound to FBA, the FBA inventory ledger")
    for line in ingest_inventory(_engine(), out, ("US", "UK")):
        console.print(line, soft_wrap=True)
    from ledger_service.demo.close import close_and_export

    console.print("month-end: each subsidiary's first two months closed, exported for NetSuite, close pack rendered")
    for line in close_and_export(_engine(), out, ("US", "UK", "CA")):
        console.print(line)
    console.print("now run `ledger-service serve` and open http://127.0.0.1:8000/docs")
    print_local_admin()


def _demo_subsidiary(code: str, name: str, currency: str, config) -> None:
    """A demo subsidiary created as an operator would (`subsidiaries add`), once."""
    settings = Settings.from_env()
    with write_transaction(_engine()) as conn:
        if code not in {s.code for s in chart.list_subsidiaries(conn)}:
            chart.create_subsidiary(conn, Subsidiary(code, name, currency), config, settings.accounts_dir, "demo")


@app.command()
def serve(host: Annotated[Optional[str], typer.Option(help="default: LEDGER_HOST, else 127.0.0.1")] = None,
          port: Annotated[Optional[int], typer.Option(help="default: LEDGER_PORT, else 8000")] = None) -> None:
    """Serve the REST API (OpenAPI at /docs; /health and /ready for probes)."""
    import logging

    import uvicorn

    from ledger_service.api.app import create_app
    from ledger_service.logs import configure_logging

    settings = Settings.from_env(host=host, port=port)
    configure_logging(settings)
    logging.getLogger("ledger_service").info("serving on http://%s:%s, database %s", settings.host, settings.port,
                                             masked_url(settings.database_url))
    # log_config=None: uvicorn keeps the handlers configure_logging set, so its lines share the format
    uvicorn.run(create_app(), host=settings.host, port=settings.port, log_config=None,
                log_level=settings.log_level.lower())


@app.command()
def post(file: Annotated[Path, typer.Argument(help="manual journal JSON", exists=True, dir_okay=False)],
         fmt: FormatOpt = Format.table) -> None:
    """Post a manual journal from a JSON file (the same JSON as POST /journal-entries)."""
    engine = _engine()
    try:
        body = json.loads(file.read_text(encoding="utf-8"))
        event, entry = parse_manual_journal(body, document=file.name)
        result = post_entry(engine, event, [entry])
        with engine.connect() as conn:
            view = entry_view(conn, result.entry_ids[0])
    except json.JSONDecodeError as exc:
        _fail(ValueError(f"{file}:{exc.lineno}: not valid JSON: {exc.msg}"))
    except LedgerError as exc:
        _fail(exc)
    if fmt == Format.json:
        emit(view | {"duplicate": result.duplicate}, fmt)
    else:
        note = " (already posted: nothing changed)" if result.duplicate else ""
        emit(view, fmt, rows=view["postings"], title=f"entry {view['id']}{note}: {view['description']}",
             columns=["account", "commodity", "amount", "functional_amount"])


app.command()(balances)
app.command()(verify)
app.command()(rebuild)
app.command()(checkpoint)
app.command("trial-balance")(trial_balance_cmd)
app.command()(ingest)
app.add_typer(reconcile_app, name="reconcile")
app.add_typer(report_app, name="report")
app.add_typer(exceptions_app, name="exceptions")
app.add_typer(export_app, name="export")
app.add_typer(rates_app, name="rates")
app.add_typer(catalog_app, name="catalog")
app.add_typer(locations_app, name="locations")
app.add_typer(lanes_app, name="lanes")
app.add_typer(inventory_app, name="inventory")
app.command()(close)
app.command()(reopen)
app.command()(periods)
app.command()(trace)

if __name__ == "__main__":
    main()
