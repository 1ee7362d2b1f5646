"""Reading the Amazon mapping from accounts/ and refusing a bad one before anything posts with it.

A mapping rule that names an account the chart does not have would post money nowhere, and a rule that points at
the suspense account would hide an unmapped type as if it were mapped. Both are refused at load time with the file
and the rule named, so the person editing the TOML sees what to fix.

Layout read (all TOML, via tomllib):

    accounts/chart.toml                    [[account]] name = ...
    accounts/mappings/amazon.toml          mapping = [ {system, transaction_type, amount_type, amount_description,
                                           account, role}, ... ] and [promotions] contra_revenue / marketing
    accounts/tax/triples.toml, <profile>.toml  tax amounts by kind, and where each profile posts each kind (tax.py)
    accounts/subsidiaries/<CODE>.toml      example subsidiaries: [subsidiary], optional [[account]], [settings]
                                           (chart.config), and [[mapping]] overrides of the same shape; a
                                           subsidiary's own configuration is recorded in the log instead
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ledger_service.chart.config import SubsidiaryConfig, check_choices, read_subsidiary_file, read_toml
from ledger_service.errors import Invalid
from ledger_service.mapping.model import ANY, ROLES, SYSTEMS, Mapping, MappingError, MappingRule
from ledger_service.mapping.tax import known_profiles, load_profile, load_triples, load_vat_rates

SUSPENSE_ACCOUNT = "Assets:Suspense:Amazon"
DEFAULT_MAPPING = Path("mappings") / "amazon.toml"
CHART = Path("chart.toml")

_REQUIRED = ("system", "transaction_type", "amount_type", "amount_description")
_ALLOWED = frozenset(_REQUIRED + ("account", "role"))


def _account_names(data: dict[str, Any], path: Path) -> set[str]:
    names = set()
    for number, account in enumerate(data.get("account", []), start=1):
        if not isinstance(account, dict) or not isinstance(account.get("name"), str):
            raise MappingError(f"{path}: account #{number} has no name")
        names.add(account["name"])
    return names


def _describe(raw: dict[str, Any]) -> str:
    parts = [str(raw.get(name, "?")) for name in _REQUIRED]
    return f"{parts[0]} {parts[1]!r} / {parts[2]!r} / {parts[3]!r}"


def _parse_rules(raw_rules: Any, path: Path, shown: str, accounts: set[str], targets: dict[str, str]
                 ) -> tuple[MappingRule, ...]:
    if not isinstance(raw_rules, list):
        raise MappingError(f"{path}: 'mapping' must be a list of rules")
    rules: list[MappingRule] = []
    seen: dict[tuple[str, str, str, str], int] = {}
    for number, raw in enumerate(raw_rules, start=1):
        where = f"{path}: mapping #{number}"
        if not isinstance(raw, dict):
            raise MappingError(f"{where}: a rule must be a table")
        where = f"{where} ({_describe(raw)})"

        unknown = sorted(set(raw) - _ALLOWED)
        if unknown:
            raise MappingError(f"{where}: unknown field(s) {', '.join(unknown)}")
        missing = [name for name in _REQUIRED if not isinstance(raw.get(name), str) or not raw[name].strip()]
        if missing:
            raise MappingError(f"{where}: missing or empty {', '.join(missing)}")
        if raw["system"] not in SYSTEMS:
            raise MappingError(f"{where}: system must be one of {', '.join(SYSTEMS)}")
        # Only the transaction type may be a wildcard: a wildcard amount type or description would swallow
        # renamed values that must surface in suspense.
        for name in ("amount_type", "amount_description"):
            if raw[name] == ANY:
                raise MappingError(f"{where}: {name} must be literal, not {ANY!r}")

        role = raw.get("role")
        if role is not None and role not in ROLES:
            raise MappingError(f"{where}: role {role!r} is not one of {', '.join(sorted(ROLES))}")
        account = raw.get("account")
        if account is None:  # promotions and card charges post where the subsidiary's settings say
            if role not in targets:
                raise MappingError(f"{where}: no account (only rules with role {' or '.join(map(repr, targets))} "
                                   "may omit it)")
            account = targets[role]
        if not isinstance(account, str):
            raise MappingError(f"{where}: account must be a string")
        if account == SUSPENSE_ACCOUNT:
            raise MappingError(f"{where}: maps to {SUSPENSE_ACCOUNT}; leave the triple unmapped instead")
        if account not in accounts:
            raise MappingError(f"{where}: account {account!r} is not in chart.toml or {shown}")

        key = (raw["system"], raw["transaction_type"], raw["amount_type"], raw["amount_description"])
        if key in seen:
            raise MappingError(f"{where}: same triple as mapping #{seen[key]} in the same file")
        seen[key] = number
        rules.append(
            MappingRule(
                system=raw["system"],
                transaction_type=raw["transaction_type"],
                amount_type=raw["amount_type"],
                amount_description=raw["amount_description"],
                account=account,
                role=role,
                origin=f"{shown} mapping #{number}",
            )
        )
    return tuple(rules)


def load_mapping(accounts_dir: Path, subsidiary: str | SubsidiaryConfig) -> Mapping:
    """The mapping of one subsidiary: its overrides, over its tax profiles, over accounts/mappings/amazon.toml.

    `subsidiary` is a configuration (chart.config: recorded in the log, or read from a file), or the code of an
    example subsidiary in accounts/subsidiaries/<CODE>.toml. Raises MappingError naming the file and the rule when
    a rule is malformed, duplicated, points at the suspense account, or names an account that neither chart.toml
    nor the subsidiary defines; and when a setting names an unknown profile or choice.
    """
    accounts_dir = Path(accounts_dir)
    try:
        config = subsidiary if isinstance(subsidiary, SubsidiaryConfig) else read_subsidiary_file(
            accounts_dir / "subsidiaries" / f"{subsidiary}.toml", subsidiary)
        check_choices(config, known_profiles(accounts_dir))
    except Invalid as exc:
        raise MappingError(exc.message) from None
    shown = config.origin or f"subsidiary {config.code}"
    chart_path, default_path = accounts_dir / CHART, accounts_dir / DEFAULT_MAPPING
    accounts = _account_names(read_toml(chart_path, MappingError), chart_path) | set(config.accounts)
    default = read_toml(default_path, MappingError)

    promotion_account = default.get("promotions", {}).get(config.promotions)
    if not isinstance(promotion_account, str):
        raise MappingError(f"{default_path}: [promotions] has no account for {config.promotions!r}")
    for what, account in (("[promotions] " + config.promotions, promotion_account),
                          ("charge_account", config.charge_account)):
        if account not in accounts:
            raise MappingError(f"{shown}: {what} = {account!r} is not in chart.toml or the subsidiary's accounts")
    targets = {"promotion": promotion_account, "card_charge": config.charge_account}

    defaults = _parse_rules(default.get("mapping", []), default_path, "mappings/amazon.toml", accounts, targets)
    overrides = _parse_rules(list(config.mapping), Path(shown), shown, accounts, targets)
    profiles = tuple((name, _profile_rules(accounts_dir, name, config.fee_tax, accounts))
                     for name in config.profiles)
    vat_inclusive = tuple((p.name, p.default_country) for p in
                          (load_profile(accounts_dir, name, config.fee_tax) for name in config.profiles)
                          if p.vat_inclusive)
    spellings = default.get("legacy_spellings", {})
    return Mapping(subsidiary=config.code, overrides=overrides, defaults=defaults, promotions=config.promotions,
                   profile_rules=profiles, default_profile=config.tax_profile,
                   marketplace_profiles=config.marketplace_profiles, vat_inclusive=vat_inclusive,
                   vat_rates=load_vat_rates(accounts_dir) if vat_inclusive else None,
                   legacy_spellings=tuple(sorted(spellings.items())))


def _profile_rules(accounts_dir: Path, name: str, fee_tax: str, accounts: set[str]) -> tuple[MappingRule, ...]:
    """A tax profile's rules: every tax triple of a kind the profile posts, to the profile's account for it."""
    profile = load_profile(accounts_dir, name, fee_tax)
    shown = f"tax/{name}.toml"
    rules = []
    for kind, fields in load_triples(accounts_dir):
        target = profile.target(kind)
        if target is None:
            continue  # the profile does not expect this kind: it surfaces in suspense
        account, role = target
        if account not in accounts:
            raise MappingError(f"{accounts_dir / shown}: [kind.{kind}] account {account!r} is not in chart.toml")
        rules.append(MappingRule(system=fields["system"], transaction_type=fields["transaction_type"],
                                 amount_type=fields["amount_type"], amount_description=fields["amount_description"],
                                 account=account, role=role,
                                 origin=f"{shown} [kind.{kind}], tax/triples.toml #{fields['number']}"))
    return tuple(rules)


def mapping_for(conn, subsidiary: str, accounts_dir: Path) -> Mapping:
    """The mapping of a subsidiary as configured in the ledger (chart.service.subsidiary_config)."""
    from ledger_service.chart.service import subsidiary_config

    return load_mapping(accounts_dir, subsidiary_config(conn, subsidiary, accounts_dir))
