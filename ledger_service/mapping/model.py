"""Which account an Amazon amount posts to.

Amazon describes every amount with a triple (transaction type, amount type, amount description), publishes no list
of the values, and renames them without notice. A mapping therefore matches the full triple literally: only the
transaction type may be the wildcard "*". Anything no rule matches resolves to None, and the caller posts it to the
suspense account and opens an exception, so a new or renamed value surfaces instead of being absorbed by a pattern.

Tax depends on the marketplace: the amount's marketplace picks the subsidiary's tax profile (tax.py), whose rules
sit between the subsidiary's own overrides and the shared default. Resolution order:

    subsidiary rule,   exact transaction type, then "*"
    tax profile rule,  exact transaction type, then "*"
    default rule,      exact transaction type, then "*"

Legacy flat-file triples are brought to their V2 form first (legacy.py), so one vocabulary serves both layouts.

This module is pure: the rules come from `loader.load_mapping`, lookups touch no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Mapping as AbstractMapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import NamedTuple

from ledger_service.errors import Invalid
from ledger_service.mapping.legacy import normalise, vocabulary

ANY = "*"


class MappingError(Invalid):
    """The mapping configuration cannot be used as it is; the message names the file and the rule."""

    kind = "invalid_mapping"

# The rule files name three systems; the parsers name four sources. Both flat-file formats share one vocabulary.
SYSTEMS = ("settlement", "finances-v0", "finances-2024")
SOURCE_SYSTEMS = MappingProxyType(
    {
        "amazon-settlement-v2": "settlement",
        "amazon-settlement-legacy": "settlement",
        "sp-api-finances-v0": "finances-v0",
        "sp-api-finances-2024-06-19": "finances-2024",
    }
)

# What an amount is, for gross-to-net reports. The account says where it posts; the role says how to read it.
ROLES = frozenset(
    {
        "revenue",  # gross sales: principal, shipping, gift wrap, restocking fees kept
        "contra_revenue",  # refunds of those charges, goodwill paid to buyers
        "fee",  # anything Amazon charges the seller, and its reversals
        "sales_tax",  # tax the buyer paid on a sale or refund (sales tax, GST/HST/PST/QST): a liability
        "tax_withheld",  # tax Amazon withholds and remits itself (marketplace facilitator, deemed supplier)
        "vat",  # output VAT on sales
        "input_tax",  # tax Amazon charges on its own fees: an input tax credit, or a cost
        "tax",  # any other tax: a liability or asset, never revenue
        "promotion",  # price concessions; contra-revenue or marketing by subsidiary setting
        "reimbursement",  # Amazon paying for lost or damaged units, and clawbacks of that
        "reserve",  # funds Amazon holds back
        "disbursement",  # money moving between the Amazon balance and the seller's bank (deposits, micro deposits)
        "card_charge",  # the seller's card or bank paying Amazon a negative balance (Successful charge)
        "carried_balance",  # a negative settlement owed to Amazon, carried into the next one (Payable to Amazon)
        "other_income",
        "adjustment",  # adjustments whose direction Amazon does not name
        "financing",  # Amazon Lending advances and repayments
    }
)

PROMOTIONS_SETTINGS = ("contra_revenue", "marketing")

Triple = tuple[str, str, str]
_Key = tuple[str, str, str, str]


def canonical_system(system: str) -> str:
    """The rule-file system name for a parser's source system (or a rule-file name itself)."""
    if system in SYSTEMS:
        return system
    try:
        return SOURCE_SYSTEMS[system]
    except KeyError:
        known = ", ".join(list(SYSTEMS) + list(SOURCE_SYSTEMS))
        raise ValueError(f"unknown Amazon source system {system!r}; known: {known}") from None


@dataclass(frozen=True)
class MappingRule:
    system: str  # one of SYSTEMS
    transaction_type: str  # literal, or ANY
    amount_type: str  # literal
    amount_description: str  # literal
    account: str
    role: str | None = None
    origin: str = ""  # where the rule was read, e.g. "accounts/mappings/amazon.toml mapping #3", for audit

    @property
    def key(self) -> _Key:
        return (self.system, self.transaction_type, self.amount_type, self.amount_description)


def _index(rules: Iterable[MappingRule]) -> AbstractMapping[_Key, MappingRule]:
    index: dict[_Key, MappingRule] = {}
    for rule in rules:
        if rule.key in index:
            # The loader reports duplicates with file names; this guards hand-built mappings.
            raise ValueError(f"duplicate mapping rule {rule.key}: {index[rule.key].origin} and {rule.origin}")
        index[rule.key] = rule
    return MappingProxyType(index)


class Resolved(NamedTuple):
    rule: MappingRule | None  # None: unmapped, post to suspense
    triple: Triple  # the triple looked up: a legacy one in its V2 form, else the triple as given


@dataclass(frozen=True)
class Mapping:
    """A subsidiary's resolved mapping: its own rules over its tax profiles' rules over the shared default.

    `profile_rules` holds each tax profile's rules (accounts/tax), `marketplace_profiles` which profile a
    marketplace is under (others: `default_profile`). `vat_inclusive` names the profiles whose prices include VAT,
    with `vat_rates` to carve it out.
    """

    subsidiary: str
    overrides: tuple[MappingRule, ...]
    defaults: tuple[MappingRule, ...]
    promotions: str = "contra_revenue"
    profile_rules: tuple[tuple[str, tuple[MappingRule, ...]], ...] = ()
    default_profile: str = "none"
    marketplace_profiles: tuple[tuple[str, str], ...] = ()
    vat_inclusive: tuple[tuple[str, str | None], ...] = ()  # (profile, default country) of VAT-inclusive profiles
    vat_rates: object = None  # tax.VatRates when a profile is VAT-inclusive
    legacy_spellings: tuple[tuple[str, str], ...] = ()
    _layers: dict = field(init=False, repr=False, compare=False, hash=False)
    _words: object = field(init=False, repr=False, compare=False, hash=False)
    _resolved: dict = field(init=False, repr=False, compare=False, hash=False, default_factory=dict)

    def __post_init__(self) -> None:
        own, default = _index(self.overrides), _index(self.defaults)
        profiles = dict(self.profile_rules) or {self.default_profile: ()}
        layers = {name: (own, _index(rules), default) for name, rules in profiles.items()}
        object.__setattr__(self, "_layers", layers)
        v2 = [r.key[1:] for rules in ((self.overrides, self.defaults) + tuple(profiles.values())) for r in rules
              if r.system == "settlement"]
        object.__setattr__(self, "_words", vocabulary(v2, dict(self.legacy_spellings)))

    def profile_for(self, marketplace: str | None) -> str:
        """The tax profile a marketplace is under."""
        if marketplace:
            key = marketplace.strip().lower()
            for name, profile in self.marketplace_profiles:
                if name == key:
                    return profile
        return self.default_profile

    def vat_country(self, marketplace: str | None) -> tuple[bool, str | None]:
        """(is the marketplace's price VAT-inclusive, the country whose rate applies) for a carve-out. Kept per
        marketplace: posting asks it for every revenue row."""
        try:
            return self._resolved[("vat", marketplace)]
        except KeyError:
            profile, found = self.profile_for(marketplace), (False, None)
            for name, default in self.vat_inclusive:
                if name == profile:
                    found = (True, self.vat_rates.country(marketplace, default))
            self._resolved[("vat", marketplace)] = found
            return found

    def resolve(self, system: str, triple: Triple, marketplace: str | None = None) -> MappingRule | None:
        """The rule for one amount, or None when nothing matches (the caller posts it to suspense)."""
        return self.lookup(system, triple, marketplace).rule

    def lookup(self, system: str, triple: Triple, marketplace: str | None = None) -> Resolved:
        """The rule for one amount and the triple it was found under (a legacy triple in its V2 form).

        `system` is a parser's source system ("amazon-settlement-v2", "amazon-settlement-legacy", ...) or a rule-file
        system name; `marketplace` chooses the tax profile. Surrounding whitespace is ignored (legacy files pad
        cells). Answers are kept: a mapping is immutable, and ingest asks the same few triples for every row.
        """
        key = (system, triple, marketplace)
        try:
            return self._resolved[key]
        except KeyError:
            found = self._resolved[key] = self._lookup(system, triple, self.profile_for(marketplace))
            return found

    def _lookup(self, system: str, triple: Triple, profile: str) -> Resolved:
        name = canonical_system(system)
        layers = self._layers.get(profile) or next(iter(self._layers.values()))
        stripped = tuple(part.strip() for part in triple)
        if system == "amazon-settlement-legacy":
            stripped = normalise(stripped, self._words, lambda t: _find(layers, name, t) is not None)
        return Resolved(_find(layers, name, stripped), stripped)

    def account_for(self, system: str, triple: Triple, marketplace: str | None = None) -> str | None:
        rule = self.resolve(system, triple, marketplace)
        return rule.account if rule is not None else None

    @property
    def rules(self) -> tuple[MappingRule, ...]:
        """Every rule, overrides first, then each profile's, then the defaults (resolution order)."""
        return self.overrides + tuple(r for _, rules in self.profile_rules for r in rules) + self.defaults


def _find(layers, system: str, triple: Triple) -> MappingRule | None:
    transaction_type, amount_type, amount_description = triple
    for layer in layers:
        for candidate in (transaction_type, ANY):
            rule = layer.get((system, candidate, amount_type, amount_description))
            if rule is not None:
                return rule
    return None
