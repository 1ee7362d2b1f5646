"""A subsidiary's configuration: its tax profile (per marketplace), settings and Amazon mapping overrides.

The problem: the mapping of a subsidiary depends on choices only its controller can make (which tax regime each
marketplace is under, whether Amazon's tax on fees is recoverable, which account a card charge comes from, how
promotions are read) and on its own mapping overrides. Those must be where every command and the REST API find
them, must never be edited in the package's own accounts/, and must leave a trail of who changed what.

So a configuration is a small immutable value, recorded as an event of kind `subsidiary_config` in the
subsidiary's own hash chain (append-only, hashed, with its author): the latest one is in force. The example
subsidiaries of accounts/subsidiaries/<CODE>.toml are read from there until a configuration is recorded for them.
`validate` refuses a configuration that would not load, before it is recorded.
"""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from ledger_service.errors import Invalid

PROMOTIONS = ("contra_revenue", "marketing")
FEE_TAX = ("itc", "expense")
DEFAULT_CHARGE_ACCOUNT = "Assets:Bank:Operating"
LATE_ENTRIES = ("next_open", "refuse")  # periods.model: where an entry dated in a closed period goes
NETSUITE_SUMMARY = ("settlement", "day", "period")  # export.netsuite: one journal per settlement, day or period
# inventory.settlement_units: which source counts the units sold (never both): the FBA inventory ledger's Shipments
# rows, or, for a seller who ingests no inventory ledger, the settlement's order rows
UNIT_SOURCES = ("inventory_ledger", "settlement")
SETTING_NAMES = ("tax_profile", "marketplace_profiles", "promotions", "fee_tax", "charge_account", "late_entries",
                 "netsuite_summary", "unit_source")


@dataclass(frozen=True)
class SubsidiaryConfig:
    code: str
    tax_profile: str = "none"
    # marketplace (lower case, e.g. "amazon.de") -> tax profile, where it differs from tax_profile
    marketplace_profiles: tuple[tuple[str, str], ...] = ()
    promotions: str = "contra_revenue"
    fee_tax: str = "itc"  # tax Amazon charges on its fees: recoverable ("itc") or a cost ("expense")
    charge_account: str = DEFAULT_CHARGE_ACCOUNT  # where a card charge (Successful charge) is paid from
    late_entries: str = "next_open"  # an entry dated in a closed period: moved to the first open one, or refused
    netsuite_summary: str = "settlement"  # how the NetSuite export summarises: per settlement, per day, per period
    unit_source: str = "inventory_ledger"  # what counts units sold: the inventory ledger, or the settlement
    mapping: tuple[dict, ...] = ()  # [[mapping]] override rules, as in accounts/mappings/amazon.toml
    accounts: tuple[str, ...] = ()  # accounts the subsidiary adds to the shared chart (names)
    origin: str = field(default="", compare=False)  # where it was read: a file, or the event that recorded it

    @property
    def profiles(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((self.tax_profile, *(p for _, p in self.marketplace_profiles))))

    def as_dict(self) -> dict:
        """The recorded form (the event's payload): plain JSON values, no origin."""
        data = asdict(self)
        data.pop("origin")
        data["marketplace_profiles"] = dict(self.marketplace_profiles)
        data["mapping"] = list(self.mapping)
        data["accounts"] = list(self.accounts)
        return data


def from_dict(data: dict, origin: str = "") -> SubsidiaryConfig:
    """The value back from its recorded form (or a hand-written one); unknown keys are refused."""
    unknown = sorted(set(data) - set(SETTING_NAMES) - {"code", "mapping", "accounts"})
    if unknown:
        raise Invalid(f"{origin or 'configuration'}: unknown setting(s) {', '.join(unknown)}")
    profiles = data.get("marketplace_profiles") or {}
    if not isinstance(profiles, dict):
        raise Invalid(f"{origin}: marketplace_profiles must be a table of marketplace = profile")
    return SubsidiaryConfig(
        code=data["code"],
        tax_profile=data.get("tax_profile", "none"),
        marketplace_profiles=tuple(sorted((str(k).strip().lower(), str(v)) for k, v in profiles.items())),
        promotions=data.get("promotions", "contra_revenue"),
        fee_tax=data.get("fee_tax", "itc"),
        charge_account=data.get("charge_account", DEFAULT_CHARGE_ACCOUNT),
        late_entries=data.get("late_entries", "next_open"),
        netsuite_summary=data.get("netsuite_summary", "settlement"),
        unit_source=data.get("unit_source", "inventory_ledger"),
        mapping=tuple(data.get("mapping") or ()),
        accounts=tuple(data.get("accounts") or ()),
        origin=origin,
    )


def read_toml(path: Path, error: type[Invalid] = Invalid) -> dict[str, Any]:
    """A TOML file of accounts/ or of the operator's configuration; `error` (naming the file) if it is missing
    or not TOML."""
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise error(f"{path}: file not found") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise error(f"{path}: not valid TOML (UTF-8): {exc}") from None
    except OSError as exc:
        raise error(f"{path}: cannot be read: {exc.strerror}") from None


def read_subsidiary_file(path: Path, code: str) -> SubsidiaryConfig:
    """An example subsidiary's configuration from accounts/subsidiaries/<CODE>.toml ([settings], [[mapping]],
    [[account]])."""
    data = read_toml(path)
    settings = dict(data.get("settings", {}))
    names = [a.get("name") for a in data.get("account", []) if isinstance(a, dict)]
    return from_dict({"code": code, **settings, "mapping": data.get("mapping", []),
                      "accounts": [n for n in names if isinstance(n, str)]}, origin=str(path))


def with_settings(config: SubsidiaryConfig, **changes) -> SubsidiaryConfig:
    """A new configuration with some settings changed (None leaves a setting as it is)."""
    changes = {k: v for k, v in changes.items() if v is not None}
    if "marketplace_profiles" in changes:
        merged = dict(config.marketplace_profiles) | {k.strip().lower(): v for k, v in changes["marketplace_profiles"]}
        changes["marketplace_profiles"] = tuple(sorted(merged.items()))
    return replace(config, **changes)


def check_choices(config: SubsidiaryConfig, known_profiles: set[str]) -> None:
    """The settings that are choices among names; the loader checks the rest (accounts, rules)."""
    where = config.origin or f"subsidiary {config.code}"
    for profile in config.profiles:
        if profile not in known_profiles:
            raise Invalid(f"{where}: unknown tax profile {profile!r}; known: {', '.join(sorted(known_profiles))}")
    if config.promotions not in PROMOTIONS:
        raise Invalid(f"{where}: promotions = {config.promotions!r}; use one of {', '.join(PROMOTIONS)}")
    if config.fee_tax not in FEE_TAX:
        raise Invalid(f"{where}: fee_tax = {config.fee_tax!r}; use one of {', '.join(FEE_TAX)}")
    if config.late_entries not in LATE_ENTRIES:
        raise Invalid(f"{where}: late_entries = {config.late_entries!r}; use one of {', '.join(LATE_ENTRIES)}")
    if config.netsuite_summary not in NETSUITE_SUMMARY:
        raise Invalid(f"{where}: netsuite_summary = {config.netsuite_summary!r}; use one of "
                      f"{', '.join(NETSUITE_SUMMARY)}")
    if config.unit_source not in UNIT_SOURCES:
        raise Invalid(f"{where}: unit_source = {config.unit_source!r}; use one of {', '.join(UNIT_SOURCES)}")
