"""Amazon amount types -> accounts, as data in accounts/mappings/ and the subsidiary files.

    mapping = load_mapping(Path("accounts"), "US")
    rule = mapping.resolve("amazon-settlement-v2", ("Order", "ItemPrice", "Principal"))
    rule.account  # "Income:Amazon:Sales:Principal"; None from resolve() means: post to suspense, open an exception
"""

from ledger_service.mapping.loader import MappingError, load_mapping
from ledger_service.mapping.model import (
    ANY,
    ROLES,
    SOURCE_SYSTEMS,
    SYSTEMS,
    Mapping,
    MappingRule,
    canonical_system,
)

__all__ = [
    "ANY",
    "ROLES",
    "SOURCE_SYSTEMS",
    "SYSTEMS",
    "Mapping",
    "MappingError",
    "MappingRule",
    "canonical_system",
    "load_mapping",
]
