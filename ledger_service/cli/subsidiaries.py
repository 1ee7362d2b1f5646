"""`ledger-service subsidiaries`: add a subsidiary that can ingest at once, show and change its configuration.

A subsidiary's configuration (tax profile per marketplace, tax on fees, card charge account, promotions, mapping
overrides) is recorded in the ledger as an event of its own chain (chart.config), never in the package's
accounts/: every later command and the REST API read it from there.
"""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated, Optional

import typer

from ledger_service.chart import service as chart
from ledger_service.chart.config import SubsidiaryConfig, read_toml, with_settings
from ledger_service.chart.model import Subsidiary
from ledger_service.cli.common import FormatOpt, engine, fail, one_line_errors
from ledger_service.cli.output import Format, console, emit
from ledger_service.errors import Invalid
from ledger_service.mapping.loader import MappingError
from ledger_service.settings import Settings
from ledger_service.store.engine import write_transaction

subsidiaries_app = typer.Typer(help="Subsidiaries and their configuration.", no_args_is_help=True)

ProfileOpt = Annotated[Optional[str], typer.Option(
    "--tax-profile", help="us | ca | uk-vcs | eu-vcs | uk | eu | none (accounts/tax/)")]
MarketplaceOpt = Annotated[Optional[list[str]], typer.Option(
    "--marketplace-profile", help="MARKETPLACE=PROFILE, e.g. amazon.de=eu-vcs (repeatable)")]
FeeTaxOpt = Annotated[Optional[str], typer.Option("--fee-tax", help="tax Amazon charges on its fees: itc | expense")]
ChargeOpt = Annotated[Optional[str], typer.Option(
    "--charge-account", help="account a card charge for a negative settlement comes from")]
PromotionsOpt = Annotated[Optional[str], typer.Option("--promotions", help="contra_revenue | marketing")]
LateOpt = Annotated[Optional[str], typer.Option(
    "--late-entries", help="an entry dated in a closed period: next_open (moved, its date kept) | refuse")]
SummaryOpt = Annotated[Optional[str], typer.Option(
    "--netsuite-summary", help="NetSuite journals: one per settlement | day | period")]
UnitSourceOpt = Annotated[Optional[str], typer.Option(
    "--unit-source", help="what counts units sold (COGS): inventory_ledger (Shipments rows) | settlement (order "
                          "rows, for a seller who ingests no inventory ledger); never both")]


def _author() -> str:
    return f"cli:{getpass.getuser()}"


def _pairs(values: list[str] | None) -> tuple[tuple[str, str], ...] | None:
    if not values:
        return None
    out = []
    for value in values:
        marketplace, sep, profile = value.partition("=")
        if not sep or not marketplace.strip() or not profile.strip():
            raise typer.BadParameter(f"{value!r}: give MARKETPLACE=PROFILE, e.g. amazon.de=eu-vcs")
        out.append((marketplace.strip().lower(), profile.strip()))
    return tuple(out)


@subsidiaries_app.command("add")
def add(code: str, currency: Annotated[str, typer.Option("--currency")], tax_profile: ProfileOpt = None,
        name: Annotated[Optional[str], typer.Option("--name")] = None,
        valuation: Annotated[str, typer.Option("--valuation", help="fifo | average")] = "fifo",
        marketplace_profile: MarketplaceOpt = None, fee_tax: FeeTaxOpt = None, charge_account: ChargeOpt = None,
        promotions: PromotionsOpt = None, late_entries: LateOpt = None, netsuite_summary: SummaryOpt = None,
        unit_source: UnitSourceOpt = None) -> None:
    """Add a subsidiary with its functional currency and tax profile; it can ingest at once."""
    if tax_profile is None:
        fail(Invalid("--tax-profile is required: us, ca, uk-vcs, eu-vcs, uk, eu or none (see accounts/tax/)"))
    settings = Settings.from_env()
    config = with_settings(SubsidiaryConfig(code, tax_profile=tax_profile), marketplace_profiles=_pairs(
        marketplace_profile), fee_tax=fee_tax, charge_account=charge_account, promotions=promotions,
        late_entries=late_entries, netsuite_summary=netsuite_summary, unit_source=unit_source)
    with one_line_errors():
        with write_transaction(engine()) as conn:
            sub = chart.create_subsidiary(conn, Subsidiary(code, name or code, currency.upper(), valuation), config,
                                          settings.accounts_dir, _author())
    console.print(f"subsidiary {sub.code} added ({sub.functional_currency}, {sub.valuation_method}, tax profile "
                  f"{config.tax_profile}); `ledger-service subsidiaries show {sub.code}` prints its configuration")


@subsidiaries_app.command("set")
def set_(code: str, tax_profile: ProfileOpt = None, marketplace_profile: MarketplaceOpt = None,
         fee_tax: FeeTaxOpt = None, charge_account: ChargeOpt = None, promotions: PromotionsOpt = None,
         late_entries: LateOpt = None, netsuite_summary: SummaryOpt = None, unit_source: UnitSourceOpt = None,
         overrides: Annotated[Optional[Path], typer.Option(
             "--overrides", exists=True, dir_okay=False,
             help="a TOML file of [[mapping]] rules (as in accounts/mappings/amazon.toml) that replace the "
                  "subsidiary's overrides")] = None) -> None:
    """Change a subsidiary's configuration: a new configuration event; what was posted stays as it was."""
    settings = Settings.from_env()
    with one_line_errors():
        with write_transaction(engine()) as conn:
            current = chart.subsidiary_config(conn, code, settings.accounts_dir)
            config = with_settings(current, tax_profile=tax_profile, fee_tax=fee_tax, charge_account=charge_account,
                                   promotions=promotions, marketplace_profiles=_pairs(marketplace_profile),
                                   late_entries=late_entries, netsuite_summary=netsuite_summary,
                                   unit_source=unit_source,
                                   mapping=_read_overrides(overrides) if overrides else None,
                                   origin=str(overrides) if overrides else f"subsidiary {code} (new configuration)")
            event_id = chart.record_config(conn, config, settings.accounts_dir, _author())
    console.print(f"subsidiary {code}: " + (f"configuration recorded (event {event_id})" if event_id
                                             else "nothing changed"))


def _read_overrides(path: Path) -> tuple[dict, ...]:
    rules = read_toml(path, MappingError).get("mapping", [])
    if not isinstance(rules, list) or not rules:
        raise MappingError(f"{path}: no [[mapping]] rules")
    return tuple(rules)


@subsidiaries_app.command("show")
def show(code: str, fmt: FormatOpt = Format.table) -> None:
    """A subsidiary and the configuration in force, with where it was recorded."""
    settings = Settings.from_env()
    with one_line_errors():
        with engine().connect() as conn:
            sub = chart.get_subsidiary(conn, code)
            config = chart.subsidiary_config(conn, code, settings.accounts_dir)
    data = sub.__dict__ | config.as_dict() | {"origin": config.origin}
    if fmt == Format.json:
        emit(data, fmt)
        return
    rows = [{"setting": k, "in force": v} for k, v in data.items()
            if k not in ("mapping", "marketplace_profiles", "accounts")]
    rows += [{"setting": f"marketplace {m}", "in force": p} for m, p in config.marketplace_profiles]
    rows += [{"setting": "account added", "in force": a} for a in config.accounts]
    rows += [{"setting": "mapping override", "in force": " / ".join(r.get(k, "?") for k in (
        "system", "transaction_type", "amount_type", "amount_description")) + f" -> {r.get('account', '(setting)')}"}
        for r in config.mapping]
    emit(rows, fmt, title=f"subsidiary {code}", columns=["setting", "in force"])


@subsidiaries_app.command("list")
def list_(fmt: FormatOpt = Format.table) -> None:
    """List subsidiaries."""
    with engine().connect() as conn:
        rows = [s.__dict__ for s in chart.list_subsidiaries(conn)]
    emit(rows, fmt, title="subsidiaries")
