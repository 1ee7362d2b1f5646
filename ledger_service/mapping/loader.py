"""Reading the Amazon mapping from accounts/ and refusing a bad one before anything posts with it.

A mapping rule that names an account the chart does not have would post money nowhere, and a rule that points at
the suspense account would hide an unmapped type as if it were mapped. Both are refused at load time with the file
and the rule named, so the person editing the TOML sees what to fix.

Layout read (all TOML, via tomllib):

    accounts/chart.toml                    [[account]] name = ...
    accounts/mappings/amazon.toml          mapping = [ {system, transaction_type, amount_type, amount_description,
                                           account, role}, ... ] and [promotions] contra_revenue / marketing
    accounts/subsidiaries/<CODE>.toml      [subsidiary], optional [[account]], [settings] promotions = ...,
                                           and [[mapping]] overrides of the same shape
"""

from __future__ import annotations

import tomllib
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from ledger_service.errors import Invalid
from ledger_service.mapping.model import (
    ANY,
    PROMOTIONS_SETTINGS,
    ROLES,
    SYSTEMS,
    Mapping,
    MappingRule,
)

SUSPENSE_ACCOUNT = "Assets:Suspense:Amazon"
DEFAULT_MAPPING = Path("mappings") / "amazon.toml"
CHART = Path("chart.toml")

_REQUIRED = ("system", "transaction_type", "amount_type", "amount_description")
_ALLOWED = frozenset(_REQUIRED + ("account", "role"))


class MappingError(Invalid):
    """The mapping configuration cannot be used as it is; the message names the file and the rule."""

    kind = "invalid_mapping"


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise MappingError(f"{path}: file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(f"{path}: not valid TOML: {exc}") from None


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


def _parse_rules(
    raw_rules: Any,
    path: Path,
    shown: str,
    accounts: set[str],
    promotion_account: str,
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
        if account is None:
            if role != "promotion":
                raise MappingError(f"{where}: no account (only role = \"promotion\" rules may omit it)")
            account = promotion_account
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


def load_mapping(accounts_dir: Path, subsidiary: str) -> Mapping:
    """The mapping of one subsidiary: its [[mapping]] overrides over accounts/mappings/amazon.toml.

    Raises MappingError naming the file and the rule when a rule is malformed, duplicated, points at the suspense
    account, or names an account that neither chart.toml nor the subsidiary file defines.
    """
    accounts_dir = Path(accounts_dir)
    chart_path = accounts_dir / CHART
    default_path = accounts_dir / DEFAULT_MAPPING
    subsidiary_shown = f"subsidiaries/{subsidiary}.toml"
    subsidiary_path = accounts_dir / subsidiary_shown

    chart = _read(chart_path)
    own = _read(subsidiary_path)
    default = _read(default_path)
    accounts = _account_names(chart, chart_path) | _account_names(own, subsidiary_path)

    settings = own.get("settings", {})
    promotions = settings.get("promotions", "contra_revenue")
    if promotions not in PROMOTIONS_SETTINGS:
        raise MappingError(
            f"{subsidiary_path}: [settings] promotions = {promotions!r}; use one of {', '.join(PROMOTIONS_SETTINGS)}"
        )
    targets = default.get("promotions", {})
    promotion_account = targets.get(promotions)
    if not isinstance(promotion_account, str):
        raise MappingError(f"{default_path}: [promotions] has no account for {promotions!r}")
    if promotion_account not in accounts:
        raise MappingError(
            f"{default_path}: [promotions] {promotions} = {promotion_account!r} is not in chart.toml or "
            f"{subsidiary_shown}"
        )

    defaults = _parse_rules(default.get("mapping", []), default_path, "mappings/amazon.toml", accounts, promotion_account)
    overrides = _parse_rules(own.get("mapping", []), subsidiary_path, subsidiary_shown, accounts, promotion_account)
    return Mapping(subsidiary=subsidiary, overrides=overrides, defaults=defaults, promotions=promotions,
                   vat_included_rate=_vat_rate(settings, subsidiary_path))


def _vat_rate(settings: dict, path: Path) -> Decimal | None:
    text = settings.get("vat_included_rate")
    if text is None:
        return None
    try:
        rate = Decimal(str(text))
    except InvalidOperation:
        rate = Decimal(-1)
    if isinstance(text, float) or not (0 < rate < 1):
        raise MappingError(f'{path}: [settings] vat_included_rate = {text!r}; give a decimal string such as "0.20"')
    return rate
