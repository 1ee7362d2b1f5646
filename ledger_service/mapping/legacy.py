"""One vocabulary for both flat-file layouts: legacy triples brought to their V2 form before lookup.

The problem: the legacy settlement flat file (33/36 columns) says the same facts as Flat File V2 in other words.
Its account-level rows put their money in `other-amount` with the meaning in the transaction type (`Storage Fee`,
`WAREHOUSE_DAMAGE`, `Payable to Amazon`, which the parser reads as `<type> / other-transaction / Other`), its fee
names are spelled otherwise (`FBA transportation fee` for FBATransportationFee, `Shipping holdback` for
ShippingHB), and fees that V2 gives an amount type of their own arrive as an item fee (`ServiceFee / ItemFees /
Cost of Advertising` for `ServiceFee / Cost of Advertising / TransactionTotalAmount`). A mapping written in V2's
words would send all of that to suspense; a second mapping in legacy words would drift from the first.

So a legacy triple is normalised, then looked up like a V2 one:
1. an other-amount row `<type> / other-transaction / Other` becomes `other-transaction / other-transaction /
   <type>` (the issue's rule: the type is the meaning);
2. each part is respelled to the V2 spelling: first the [legacy_spellings] table of the mapping, then any V2 word
   of the mapping that is equal ignoring case, spaces, hyphens, underscores and colons;
3. the first of these that the mapping knows is the answer: the respelled triple; the same description in the
   other columns V2 uses for it (an item fee V2 files under ItemWithheldTax or Shipment-Fees); the V2 rule whose
   own amount type or transaction type the description names (`Cost of Advertising`, `FBA Inventory Storage
   Fee`, `CouponRedemptionFee`), or whose reimbursement reason it is.
The raw triple stays on the event (the parser's record), so the trace shows both. Normalising a V2-form triple
changes nothing, so a triple read back from a posting resolves the same way again.
Pure: `Vocabulary` is built from the mapping's rules; `normalise` asks a resolver function.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

Triple = tuple[str, str, str]

# The amount types the legacy parser gives each money column (sources/amazon/settlement_legacy.MONEY_COLUMNS) and
# the other V2 amount types the same description is filed under.
COLUMN_TYPES = frozenset({"ItemPrice", "ItemFees", "Shipment-Fees", "Promotion", "other-transaction"})
# (other-transaction: an other-fee-amount whose reason names an item fee, such as ShippingChargeback.)
OTHER_COLUMNS = {"ItemFees": ("ItemWithheldTax", "Shipment-Fees"), "Shipment-Fees": ("ItemFees",),
                 "other-transaction": ("ItemFees",)}
# V2 descriptions that say "the amount of the fee named by the amount type", not what the fee is
GENERIC = frozenset({"TransactionTotalAmount", "Base fee"})
_SQUASH = re.compile(r"[\s\-_:]+")


def squash(text: str) -> str:
    return _SQUASH.sub("", text.lower())


@dataclass(frozen=True)
class Vocabulary:
    spellings: dict[str, str]  # squashed legacy or V2 spelling -> V2 spelling
    named: dict[str, Triple]  # squashed fee / reason name -> the V2 triple that names it

    def respell(self, word: str) -> str:
        return self.spellings.get(squash(word), word)


def vocabulary(v2_triples: Iterable[Triple], legacy_spellings: dict[str, str]) -> Vocabulary:
    """The V2 words of the settlement rules (and the legacy spellings table) as lookup tables."""
    spellings: dict[str, str] = {}
    named: dict[str, Triple] = {}
    for triple in v2_triples:
        tt, at, ad = triple
        for word in triple:
            if word != "*":
                spellings.setdefault(squash(word), word)
        if at not in COLUMN_TYPES and at != "ItemWithheldTax":
            # `FBAFees / FBA Inventory Storage Fee / Base fee` is named by its amount type; `FBA Inventory
            # Reimbursement / WAREHOUSE_LOST` by its reason
            named.setdefault(squash(at if ad in GENERIC else ad), triple)
        elif at == "other-transaction" and ad in GENERIC and tt != "*":
            named.setdefault(squash(tt), triple)  # `CouponRedemptionFee / other-transaction / TransactionTotalAmount`
    for legacy, v2 in legacy_spellings.items():
        spellings[squash(legacy)] = v2
    return Vocabulary(spellings, named)


def normalise(triple: Triple, words: Vocabulary, known: Callable[[Triple], bool]) -> Triple:
    """The V2 triple a legacy one means: the first candidate the mapping knows, else the respelled triple."""
    tt, at, ad = (part.strip() for part in triple)
    if at == "other-transaction" and ad == "Other" and tt:
        tt, ad = "other-transaction", tt
    tt, ad = words.respell(tt), words.respell(ad)
    first = (tt, at, ad)
    if known(first):
        return first
    for column in OTHER_COLUMNS.get(at, ()):
        if known(candidate := (tt, column, ad)):
            return candidate
    named = words.named.get(squash(ad))
    if named is not None:
        ntt, nat, nad = named
        candidate = (tt if ntt == "*" else ntt, nat, nad)
        if known(candidate):
            return candidate
    return first
