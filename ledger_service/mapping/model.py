"""Which account an Amazon amount posts to.

Amazon describes every amount with a triple (transaction type, amount type, amount description), publishes no list
of the values, and renames them without notice. A mapping therefore matches the full triple literally: only the
transaction type may be the wildcard "*". Anything no rule matches resolves to None, and the caller posts it to the
suspense account and opens an exception, so a new or renamed value surfaces instead of being absorbed by a pattern.

A subsidiary may override the shared default (the UK's sales tax is VAT, say). Resolution order:

    subsidiary rule, exact transaction type
    subsidiary rule, "*"
    default rule,    exact transaction type
    default rule,    "*"

This module is pure: the rules come from `loader.load_mapping`, lookups touch no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Mapping as AbstractMapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType

ANY = "*"

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
        "tax",  # collected, withheld or charged tax: a liability, never revenue
        "promotion",  # price concessions; contra-revenue or marketing by subsidiary setting
        "reimbursement",  # Amazon paying for lost or damaged units, and clawbacks of that
        "reserve",  # funds Amazon holds back
        "disbursement",  # money moving between the Amazon balance and the seller's bank or card
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


@dataclass(frozen=True)
class Mapping:
    """A subsidiary's resolved mapping: its own rules over the shared default."""

    subsidiary: str
    overrides: tuple[MappingRule, ...]
    defaults: tuple[MappingRule, ...]
    promotions: str = "contra_revenue"
    # Where marketplace prices include VAT and Amazon reports no tax row (amazon.co.uk without VCS), the VAT rate to
    # carve out of revenue, refunds and promotions; None where prices are net of tax.
    vat_included_rate: Decimal | None = None
    _layers: tuple[AbstractMapping[_Key, MappingRule], ...] = field(
        init=False, repr=False, compare=False, hash=False
    )

    _resolved: dict = field(init=False, repr=False, compare=False, hash=False, default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_layers", (_index(self.overrides), _index(self.defaults)))

    def resolve(self, system: str, triple: Triple) -> MappingRule | None:
        """The rule for one amount, or None when nothing matches (the caller posts it to suspense).

        `system` is a parser's source system ("amazon-settlement-v2", "sp-api-finances-v0", ...) or a rule-file
        system name. Surrounding whitespace is ignored (legacy files pad cells); case and inner spelling are not.
        Answers are kept: a mapping is immutable, and ingest asks the same few triples for every row.
        """
        key = (system, triple)
        try:
            return self._resolved[key]
        except KeyError:
            rule = self._resolved[key] = self._resolve(system, triple)
            return rule

    def _resolve(self, system: str, triple: Triple) -> MappingRule | None:
        name = canonical_system(system)
        transaction_type, amount_type, amount_description = (part.strip() for part in triple)
        for layer in self._layers:
            for candidate in (transaction_type, ANY):
                rule = layer.get((name, candidate, amount_type, amount_description))
                if rule is not None:
                    return rule
        return None

    def account_for(self, system: str, triple: Triple) -> str | None:
        rule = self.resolve(system, triple)
        return rule.account if rule is not None else None

    @property
    def rules(self) -> tuple[MappingRule, ...]:
        """Every rule, overrides first (resolution order), e.g. to list the accounts a report must show."""
        return self.overrides + self.defaults
