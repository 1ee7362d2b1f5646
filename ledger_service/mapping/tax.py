"""Tax by marketplace, as data: which Amazon amounts are tax, and where a profile posts each kind.

The problem: the same Amazon row means different things by marketplace and registration. A `Tax` row on
amazon.com is sales tax Amazon collects and withholds as marketplace facilitator; on amazon.ca it is GST/HST the
seller remits; on amazon.de with Amazon's VAT Calculation Service it is output VAT; without VCS there is no tax
row at all and VAT hides inside the price. One rate per subsidiary, or one treatment per triple, cannot serve a
seller on several marketplaces, and two treatments of one amount would double the tax.

So accounts/tax/triples.toml names the tax amounts by kind (sales_tax, withheld, fee_tax), each profile
(accounts/tax/<name>.toml) says where each kind posts and with which role, and a subsidiary picks a profile, per
marketplace where needed. A VAT-inclusive profile (uk, eu) carves VAT out of the price at the standard rate of the
marketplace's country on the amount's date (accounts/tax/vat_rates.toml). Pure apart from reading the files.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

from ledger_service.chart.config import read_toml
from ledger_service.mapping.model import MappingError

TAX_DIR = Path("tax")
KINDS = ("sales_tax", "withheld", "fee_tax")
TAX_ROLES = ("sales_tax", "tax_withheld", "vat", "input_tax", "tax")


class TaxError(MappingError):
    """A tax profile, the tax triples or the VAT rates cannot be used as they are; names the file."""


@dataclass(frozen=True)
class TaxProfile:
    name: str
    description: str
    targets: tuple[tuple[str, str, str], ...]  # (kind, account, role) for the kinds it posts
    vat_inclusive: bool = False
    default_country: str | None = None

    def target(self, kind: str) -> tuple[str, str] | None:
        for k, account, role in self.targets:
            if k == kind:
                return account, role
        return None


@dataclass(frozen=True)
class VatRates:
    """Standard VAT rates by country, effective-dated, and the country of each marketplace."""

    marketplaces: dict[str, str]
    rates: dict[str, tuple[tuple[date, Decimal], ...]]  # country -> (from, rate) sorted by date

    def country(self, marketplace: str | None, default: str | None) -> str | None:
        if marketplace:
            return self.marketplaces.get(marketplace.strip().lower(), default)
        return default

    def rate(self, country: str, on: date) -> Decimal | None:
        dated = self.rates.get(country, ())
        i = bisect_right([d for d, _ in dated], on)
        return dated[i - 1][1] if i else None


def known_profiles(accounts_dir: Path) -> set[str]:
    folder = Path(accounts_dir) / TAX_DIR
    return {p.stem for p in folder.glob("*.toml") if p.stem not in ("triples", "vat_rates")}


def load_profile(accounts_dir: Path, name: str, fee_tax: str) -> TaxProfile:
    """A profile with its kinds resolved: fee_tax picks the itc or expense account of [kind.fee_tax]."""
    path = Path(accounts_dir) / TAX_DIR / f"{name}.toml"
    if name not in known_profiles(accounts_dir):
        raise TaxError(f"unknown tax profile {name!r}; known: {', '.join(sorted(known_profiles(accounts_dir)))}")
    data = read_toml(path, TaxError)
    head = data.get("profile", {})
    targets = []
    for kind, table in sorted(data.get("kind", {}).items()):
        if kind not in KINDS:
            raise TaxError(f"{path}: [kind.{kind}] is not one of {', '.join(KINDS)}")
        account = table.get(fee_tax) if kind == "fee_tax" else table.get("account")
        role = table.get("role")
        if not isinstance(account, str) or role not in TAX_ROLES:
            raise TaxError(f"{path}: [kind.{kind}] needs an account{' per fee_tax setting' if kind == 'fee_tax' else ''}"
                           f" and a role among {', '.join(TAX_ROLES)}")
        targets.append((kind, account, role))
    return TaxProfile(name, head.get("description", ""), tuple(targets), bool(head.get("vat_inclusive", False)),
                      head.get("default_country"))


def load_triples(accounts_dir: Path) -> list[tuple[str, dict]]:
    """(kind, rule fields) for every tax triple, in file order."""
    path = Path(accounts_dir) / TAX_DIR / "triples.toml"
    out = []
    for number, raw in enumerate(read_toml(path, TaxError).get("triple", []), start=1):
        if not isinstance(raw, dict) or raw.get("kind") not in KINDS:
            raise TaxError(f"{path}: triple #{number} needs a kind among {', '.join(KINDS)}")
        out.append((raw["kind"], {k: v for k, v in raw.items() if k != "kind"} | {"number": number}))
    return out


def load_vat_rates(accounts_dir: Path) -> VatRates:
    path = Path(accounts_dir) / TAX_DIR / "vat_rates.toml"
    data = read_toml(path, TaxError)
    rates: dict[str, list[tuple[date, Decimal]]] = {}
    for number, raw in enumerate(data.get("rate", []), start=1):
        try:
            rate = Decimal(str(raw["rate"]))
            since = date.fromisoformat(str(raw["from"]))
            country = str(raw["country"])
        except (KeyError, ValueError, InvalidOperation):
            raise TaxError(f"{path}: rate #{number} needs country, from (YYYY-MM-DD) and rate (\"0.20\")") from None
        if isinstance(raw["rate"], float) or not 0 < rate < 1:
            raise TaxError(f'{path}: rate #{number}: rate must be a decimal string between 0 and 1, such as "0.20"')
        rates.setdefault(country, []).append((since, rate))
    marketplaces = {str(k).lower(): str(v) for k, v in data.get("marketplaces", {}).items()}
    return VatRates(marketplaces, {c: tuple(sorted(r)) for c, r in rates.items()})
