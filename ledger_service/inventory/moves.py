"""What every unit posting rule shares: the subsidiary's books, the outcome of a rule, and moving units at cost.

The problem: each posting rule (posting.py, adjustments.py) moves slices of lots from one account to another at
cost and must produce an entry that balances per commodity and in money, while the holdings change by exactly the
same slices, so that the inventory accounts always equal the valuation of the holdings. Doing that in one place
(`move`, `out_to`, `back_from`) keeps the rules short and the invariant in one spot:

- a units posting per slice, naming its lot (`lot` dimension), at the slice's unit cost; its amount is the slice's
  cost (valuation guarantees round_money(units x unit_cost) == cost, journal.model's check);
- the holdings lose (take) or gain (put) the same slices.

`Books` is the subsidiary's configuration the rules read: functional currency, valuation method, lane check,
bundle definitions, where a lost unit goes first and where removals go. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from ledger_service.errors import Invalid
from ledger_service.inventory.facts import RESEARCHING, state_account
from ledger_service.inventory.holdings import InventoryState, put, take
from ledger_service.inventory.model import FIFO, Slice
from ledger_service.journal.model import EntryDraft, Posting, dims, money_posting


class Books(NamedTuple):
    subsidiary: str
    currency: str  # functional: lots and costs are in it
    method: str = FIFO  # fifo | average | specific (inventory.model)
    # allowed(lane, location): False refuses; it may raise instead (locations.model.check_lane); None: no check.
    allowed: Callable[[str, str], bool] | None = None
    bundles: Mapping[str, tuple[tuple[str, int], ...]] = {}  # bundle sku -> ((component sku, units each), ...)
    lost_to: str = RESEARCHING  # a lost (M, 5) unit goes to Researching; "write-off" writes it off at once
    removal_location: str | None = None  # removals go to <it>:Inbound:Shipped; None: disposed (Shrinkage)


class ExceptionItem(NamedTuple):
    key: str
    kind: str  # the flag: unknown-reason, return-without-sale, found-without-loss, ...
    message: str


class Outcome(NamedTuple):
    entries: tuple[EntryDraft, ...]
    state: InventoryState
    exceptions: tuple[ExceptionItem, ...] = ()


class LaneRefused(Invalid):
    """A movement of a lane from a location the lane may not draw from."""

    kind = "lane_refused"

    def __init__(self, lane: str, location: str):
        super().__init__(f"lane {lane} may not draw units from location {location}: {location} is not one of "
                         f"lane {lane}'s locations")
        self.lane, self.location = lane, location


def check_lane(books: Books, lane: str, location: str) -> None:
    """Refuse a movement of `lane` at `location`: `books.allowed` returning False (LaneRefused), or raising itself
    (the catalog's locations.model.check_lane raises CrossLane and returns None, which is taken as allowed)."""
    if books.allowed is not None and books.allowed(lane, location) is False:
        raise LaneRefused(lane, location)


def components(books: Books, sku: str) -> tuple[tuple[str, int], ...]:
    """What one unit of `sku` consumes: its bundle's components, or itself."""
    return tuple(books.bundles.get(sku, ((sku, 1),)))


def entry(books: Books, day: date, description: str, postings: list[Posting]) -> EntryDraft:
    return EntryDraft(books.subsidiary, day, books.currency, description, tuple(postings))


def slice_postings(books: Books, account: str, sku: str, slices: tuple[Slice, ...], sign: int,
                   **dimensions: str | None) -> list[Posting]:
    """One units posting per slice: +units into `account` (sign 1) or -units out of it (sign -1), at cost.

    Its amount is the slice's cost: valuation makes round_money(units x unit_cost) == cost for every slice (and
    the journal checks it again on every units posting), so it is not computed twice. The dimensions are
    journal.model.dims with the slice's lot put in its sorted place: sorted once per call, not per slice."""
    other = dims(**dimensions)
    if any(k == "lot" for k, _ in other):
        raise ValueError("a slice posting names its own lot")
    at = sum(k < "lot" for k, _ in other)
    before, after = other[:at], other[at:]
    return [Posting(account, s.cost if sign > 0 else -s.cost, Decimal(sign * s.units), sku, s.unit_cost,
                    None, (*before, ("lot", s.lot_id), *after)) for s in slices]


def cost(slices: tuple[Slice, ...]) -> Decimal:
    return sum((s.cost for s in slices), Decimal(0))


def move(state: InventoryState, books: Books, sku: str, units: int, src: tuple[str, str], dst: tuple[str, str],
         dst_sku: str | None = None, lot_id: str | None = None, **dims: str | None
         ) -> tuple[list[Posting], tuple[Slice, ...], InventoryState]:
    """`units` of `sku` from (location, state) `src` to `dst` (as `dst_sku`, for a catalog transfer), at cost."""
    slices, state = take(state, books.method, sku, src[0], src[1], units, books.currency, lot_id)
    state = put(state, books.method, dst_sku or sku, dst[0], dst[1], slices, books.currency)
    postings = (slice_postings(books, state_account(*dst), dst_sku or sku, slices, 1, **dims)
                + slice_postings(books, state_account(*src), sku, slices, -1, **dims))
    return postings, slices, state


def out_to(state: InventoryState, books: Books, sku: str, units: int, src: tuple[str, str], expense: str,
           lot_id: str | None = None, **dims: str | None) -> tuple[list[Posting], tuple[Slice, ...], InventoryState]:
    """`units` of `sku` out of `src` at cost into an expense account (COGS, a write-off, shrinkage)."""
    slices, state = take(state, books.method, sku, src[0], src[1], units, books.currency, lot_id)
    postings = slice_postings(books, state_account(*src), sku, slices, -1, **dims)
    return [*postings, money_posting(expense, cost(slices), sku=sku, **dims)], slices, state


def back_from(state: InventoryState, books: Books, sku: str, slices: tuple[Slice, ...], dst: tuple[str, str],
              expense: str, **dims: str | None) -> tuple[list[Posting], InventoryState]:
    """Slices back into `dst` at their cost, out of an expense account (COGS reversed, a loss reversed)."""
    state = put(state, books.method, sku, dst[0], dst[1], slices, books.currency)
    postings = slice_postings(books, state_account(*dst), sku, slices, 1, **dims)
    return [*postings, money_posting(expense, -cost(slices), sku=sku, **dims)], state
