"""ledger-service: the command line.

Every command reads the database from LEDGER_DATABASE_URL (default sqlite:///ledger.db in the working
directory). Errors print one line naming what is wrong and exit 1 (2 for usage errors).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from ledger_service.balances import integrity
from ledger_service.balances.queries import balances_view, trial_balance
from ledger_service.chart import service as chart
from ledger_service.chart.model import Subsidiary
from ledger_service.cli.common import FormatOpt, engine as _engine, fail as _fail, parse_date as _date
from ledger_service.cli.output import Format, console, emit, errors
from ledger_service.cli.subsidiaries import subsidiaries_app
from ledger_service.cli.reports import reconcile_app, reconcile_settlements, report_app, report_gross_to_net
from ledger_service.errors import LedgerError
from ledger_service.journal.manual import parse_manual_journal
from ledger_service.journal.service import entry_view, post as post_entry
from ledger_service.settings import Settings
from ledger_service.store.engine import make_engine, write_transaction
from ledger_service.store.migrate import upgrade

app = typer.Typer(help="Amazon FBA to ERP double-entry ledger.", no_args_is_help=True, pretty_exceptions_enable=False)
app.add_typer(subsidiaries_app, name="subsidiaries")


@app.command()
def init(accounts_dir: Annotated[Optional[Path], typer.Option(help="chart of accounts folder")] = None) -> None:
    """Create or migrate the database and load the chart of accounts from accounts/."""
    settings = Settings.from_env()
    try:
        upgrade(settings.database_url)
        engine = make_engine(settings.database_url)
        with write_transaction(engine) as conn:
            result = chart.load_accounts_dir(conn, accounts_dir or settings.accounts_dir)
    except LedgerError as exc:
        _fail(exc)
    console.print(f"database ready at {settings.database_url}; subsidiaries created: "
                  f"{', '.join(result['subsidiaries_created']) or 'none'}; accounts added: {result['accounts_added']}")


@app.command()
def demo(out: Annotated[Path, typer.Option(help="where the generated Amazon files go")] = Path("demo-data"),
         orders: int = 300, seed: int = 7) -> None:
    """Initialise, generate Amazon files (a quarter of V2 settlements for US and UK, and the quarter before it in
    the legacy layout for US and a Canadian subsidiary), ingest them, and print what they posted.

    Every V2 settlement but the last arrives as its flat file; the last is still open, so only its open-group
    Finances pages are ingested: its amounts show as pending until its flat file comes. The legacy backfill has
    negative settlements carried into the next one, collected by card or absorbed by sales.
    """
    from ledger_service.chart.config import SubsidiaryConfig
    from ledger_service.demo.amazon_generator import generate
    from ledger_service.demo.finances_pages import page_files
    from ledger_service.demo.manual_journals import post_demo_journals

    init(None)
    _demo_subsidiary("CA", "Example Brand Canada Inc.", "CAD", SubsidiaryConfig("CA", tax_profile="ca"))
    result = post_demo_journals(_engine())
    console.print(f"demo journals: {result['posted']} posted, {result['already_there']} already there")
    generate(out, orders=orders, seed=seed, finances=True, legacy=True)
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
    console.print("now run `ledger-service serve` and open http://127.0.0.1:8000/docs")


def _demo_subsidiary(code: str, name: str, currency: str, config) -> None:
    """A demo subsidiary created as an operator would (`subsidiaries add`), once."""
    settings = Settings.from_env()
    with write_transaction(_engine()) as conn:
        if code not in {s.code for s in chart.list_subsidiaries(conn)}:
            chart.create_subsidiary(conn, Subsidiary(code, name, currency), config, settings.accounts_dir, "demo")


@app.command()
def serve(host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve the REST API (OpenAPI at /docs)."""
    import uvicorn

    from ledger_service.api.app import create_app

    uvicorn.run(create_app(), host=host, port=port)


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


@app.command()
def balances(subsidiary: Annotated[str, typer.Option("--subsidiary", "-s")],
             as_of: Annotated[Optional[str], typer.Option(help="YYYY-MM-DD, inclusive")] = None,
             account: Annotated[Optional[str], typer.Option(help="account or parent prefix")] = None,
             commodity: Optional[str] = None, fmt: FormatOpt = Format.table) -> None:
    """Balances per account and commodity as of a date."""
    try:
        with _engine().connect() as conn:
            rows = balances_view(conn, subsidiary, _date(as_of), account, commodity)
    except LedgerError as exc:
        _fail(exc)
    emit(rows, fmt, title=f"balances {subsidiary}" + (f" as of {as_of}" if as_of else ""),
         columns=["account", "commodity", "balance", "pending", "functional_balance"])


@app.command("trial-balance")
def trial_balance_cmd(subsidiary: Annotated[str, typer.Option("--subsidiary", "-s")] = "US",
                      as_of: Annotated[Optional[str], typer.Option(help="YYYY-MM-DD, inclusive")] = None,
                      fmt: FormatOpt = Format.table) -> None:
    """The trial balance: every account, and totals per commodity that must be zero."""
    try:
        with _engine().connect() as conn:
            tb = trial_balance(conn, subsidiary, _date(as_of))
    except LedgerError as exc:
        _fail(exc)
    if fmt == Format.json:
        emit(tb, fmt)
        return
    emit(tb, fmt, rows=tb["rows"], title=f"trial balance {subsidiary}" + (f" as of {as_of}" if as_of else ""),
         columns=["account", "commodity", "balance", "pending", "functional_balance"])
    emit(tb, fmt, rows=tb["totals"], title=f"totals (functional {tb['functional_currency']}: {tb['functional_total']})")


@app.command()
def verify(fmt: FormatOpt = Format.table) -> None:
    """Check the hash chains, that every entry balances, and that projections equal a rebuild; exit 1 if not."""
    with _engine().connect() as conn:
        report = integrity.verify(conn)
    data = {"ok": report.ok, "events": report.events, "entries": report.entries,
            "first_broken_event": report.first_broken_event, "problems": report.problems}
    if fmt == Format.json:
        emit(data, fmt)
    elif report.ok:
        console.print(f"[green]ok[/green]: {report.events} events, {report.entries} entries; chains intact, "
                      "every entry balanced, projections equal a rebuild")
    else:
        errors.print(f"[red]broken[/red]: first broken event {report.first_broken_event}", highlight=False)
        for problem in report.problems[:20]:
            errors.print(f"  - {problem}", highlight=False)
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def rebuild() -> None:
    """Recompute every projection (daily balances, chain heads) from the log."""
    with write_transaction(_engine()) as conn:
        result = integrity.rebuild(conn)
    console.print(f"rebuilt {result['balance_rows']} daily balance rows from the log")


@app.command()
def ingest(paths: Annotated[list[Path], typer.Argument(help="files or folders of Amazon documents", exists=True)],
           subsidiary: Annotated[str, typer.Option("--subsidiary", "-s")],
           group_id: Annotated[Optional[str], typer.Option(
               help="financial event group of listFinancialEvents pages (they do not name it themselves)")] = None,
           group_final: Annotated[bool, typer.Option(
               "--group-final/--group-open", help="the group is closed (final) or open (provisional)")] = False,
           fmt: FormatOpt = Format.table) -> None:
    """Ingest Amazon settlement files and SP-API Finances pages: atomic per file, idempotent."""
    files = sorted(f for p in paths for f in ([p] if p.is_file() else p.rglob("*")) if f.is_file())
    kwargs = {"group_id": group_id, "group_final": group_final} if group_id else {}
    if not _ingest_files(files, subsidiary, fmt, **kwargs):
        raise typer.Exit(1)


def _ingest_files(files: list[Path], subsidiary: str, fmt: Format, **kwargs) -> bool:
    from rich.progress import track

    from ledger_service.ingest.service import ingest_file
    from ledger_service.sources.model import ParseError

    engine, reports, failed = _engine(), [], []
    for path in track(files, description="ingesting", console=errors, disable=fmt == Format.json):
        try:
            reports.append(ingest_file(engine, path, subsidiary, **kwargs).as_dict())
        except (ParseError, LedgerError) as exc:
            failed.append({"document": str(path), "error": exc.message if isinstance(exc, LedgerError) else str(exc)})
    emit({"files": reports, "failed": failed}, fmt, rows=reports, title=f"ingested into {subsidiary}",
         columns=["document", "format", "rows", "events", "entries", "duplicates", "suspense", "superseded", "voided"])
    if fmt == Format.table:
        for r in reports:
            for warning in r["warnings"]:
                errors.print(f"[yellow]warning[/yellow] {r['document']}: {warning}")
        for f in failed:
            errors.print(f"[red]rejected[/red] {f['error']} (nothing from this file was posted)")
    return not failed


app.add_typer(reconcile_app, name="reconcile")
app.add_typer(report_app, name="report")

exceptions_app = typer.Typer(help="The exception queue: unmapped Amazon amounts in suspense.", invoke_without_command=True)
app.add_typer(exceptions_app, name="exceptions")


@exceptions_app.callback()
def exceptions_list(ctx: typer.Context, subsidiary: Annotated[str, typer.Option("--subsidiary", "-s")] = "US",
                    all_: Annotated[bool, typer.Option("--all", help="include reclassed")] = False,
                    fmt: FormatOpt = Format.table) -> None:
    """List open exceptions (or `exceptions reclass` to move newly mapped ones out of suspense)."""
    if ctx.invoked_subcommand:
        return
    from ledger_service.exceptions.service import exceptions

    with _engine().connect() as conn:
        rows = exceptions(conn, subsidiary, include_closed=all_)
    table = [r | {"where": f"{r['source']['document']}:{r['source']['line'] or r['source']['page']}"} for r in rows]
    emit(rows, fmt, rows=table, title=f"exceptions {subsidiary}",
         columns=["event_id", "amazon_type", "amount", "currency", "settlement_id", "where", "status"])


@exceptions_app.command("reclass")
def exceptions_reclass(subsidiary: Annotated[str, typer.Option("--subsidiary", "-s")] = "US") -> None:
    """Post reclass entries for exceptions whose Amazon type now has a mapping."""
    from ledger_service.exceptions.service import reclass

    result = reclass(_engine(), subsidiary)
    console.print(f"reclassed {result['reclassed']} exception(s); {result['still_open']} still unmapped")


if __name__ == "__main__":
    app()
