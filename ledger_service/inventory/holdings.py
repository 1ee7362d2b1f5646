"""Holdings by SKU, location and state, as an immutable value the posting rules fold over.

The problem: posting a unit movement at cost needs the lots each (SKU, location, state) holds, what each sale took
(so a return comes back at the cost it left with), what was written off (so a found unit reverses the loss at its
cost) and the first legs of Amazon's two-row adjustments waiting for their second. The posting rules are pure, so
each movement returns a new state and leaves the old one as it was; a year of tens of thousands of movements must
still fold in seconds, so a state is a few persistent maps (`PMap`: a dict split into buckets, of which an update
copies one) rather than dicts copied whole.

- `holdings[(sku, location, state)]`: the lots there, in lot order (inventory.model.Lot; the lot keeps its id,
  receipt date and unit cost wherever it goes; under moving average one pseudo-lot per key).
- `lots[lot_id]`: each lot as received, to re-open a lot a movement emptied somewhere.
- `sold[(order_ref, sku)]`: the slices a sale took, in the order taken, less what has come back.
- `written_off[(sku, location)]`: the slices written off as lost, oldest first, less what was found.
- `pending[group key]`: adjustment legs waiting for their pair (posting.py).

Moving slices is `take` (valuation.consume) and `put` (valuation.return_units: the lot re-opened at its own cost,
or the average holding re-averaged). Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import NamedTuple

from ledger_service.inventory.model import AVERAGE, FIFO, SPECIFIC, Lot, ShortOfUnits, Slice
from ledger_service.inventory.valuation import consume, fifo, fifo_ready, receive, return_units, value_of

class PMap:
    """A persistent mapping: `set` returns a new map sharing all buckets but one. Values of None or () are absent.

    A tree of 16 x 16 x 16 x 16 tuples over 65,536 dicts, by the low 16 bits of the key's hash: an update copies
    four 16-tuples and one dict. The dicts must stay small, because copying one costs its size: `sold` holds a key
    per order, and at a million orders the 64 x 64 layout this replaced copied a dict of ~244 keys per sale (19 µs,
    a third of a sale's cost), this one ~15 (4 µs). Iteration order follows the hashes, as a dict's would not:
    nothing may depend on it (string hashes differ between processes anyway)."""

    __slots__ = ("_root", "_size")

    def __init__(self, root: tuple | None = None, size: int = 0):
        self._root = root if root is not None else _EMPTY
        self._size = size

    def get(self, key, default=None):
        h = hash(key)
        return self._root[h & 15][(h >> 4) & 15][(h >> 8) & 15][(h >> 12) & 15].get(key, default)

    def set(self, key, value) -> PMap:
        h = hash(key)
        i, j, k, m = h & 15, (h >> 4) & 15, (h >> 8) & 15, (h >> 12) & 15
        a = self._root[i]
        b = a[j]
        c = b[k]
        bucket = c[m].copy()  # dict.copy clones the table; dict(bucket) re-inserts every key once it has grown
        size = self._size - (key in bucket)
        if value is None or value == ():
            bucket.pop(key, None)
        else:
            bucket[key] = value
            size += 1
        c, b, a, root = list(c), list(b), list(a), list(self._root)  # assigned and made tuples: fewer copies
        c[m] = bucket
        b[k] = tuple(c)
        a[j] = tuple(b)
        root[i] = tuple(a)
        return PMap(tuple(root), size)

    def items(self) -> Iterator[tuple]:
        for a in self._root:
            for b in a:
                for c in b:
                    for bucket in c:
                        yield from bucket.items()

    def __len__(self) -> int:
        return self._size

    def __contains__(self, key) -> bool:
        h = hash(key)
        return key in self._root[h & 15][(h >> 4) & 15][(h >> 8) & 15][(h >> 12) & 15]


# The empty tree: one level of 16 empty dicts shared by every branch (set copies a bucket before changing it).
_EMPTY = (((tuple({} for _ in range(16)),) * 16,) * 16,) * 16


class InventoryState(NamedTuple):
    holdings: PMap = PMap()
    lots: PMap = PMap()
    sold: PMap = PMap()
    written_off: PMap = PMap()
    pending: PMap = PMap()

    def lots_at(self, sku: str, location: str, state: str) -> tuple[Lot, ...]:
        return self.holdings.get((sku, location, state), ())

    def units(self, sku: str, location: str, state: str) -> int:
        return sum(lot.units for lot in self.lots_at(sku, location, state))

    def value(self, sku: str, location: str, state: str, currency: str) -> Decimal:
        return sum((value_of(lot, currency) for lot in self.lots_at(sku, location, state)), Decimal(0))

    def positions(self) -> Iterator[tuple[tuple[str, str, str], tuple[Lot, ...]]]:
        """(sku, location, state) -> lots, for every key holding units."""
        return ((k, v) for k, v in self.holdings.items() if any(lot.units for lot in v))


def receive_lot(state: InventoryState, method: str, lot: Lot, stock: str, currency: str) -> InventoryState:
    """A new lot received into (lot.sku, lot.location, stock), and remembered as received."""
    key = (lot.sku, lot.location, stock)
    held = receive(method, state.holdings.get(key, ()), lot, currency)
    return state._replace(holdings=state.holdings.set(key, held), lots=state.lots.set(lot.lot_id, lot))


def take(state: InventoryState, method: str, sku: str, location: str, stock: str, units: int, currency: str,
         lot_id: str | None = None) -> tuple[tuple[Slice, ...], InventoryState]:
    """Take `units` out of (sku, location, stock): by `method` (a specific lot only when `lot_id` is named, FIFO
    otherwise). Too few units is ShortOfUnits naming the location and state."""
    key = (sku, location, stock)
    how = SPECIFIC if lot_id is not None else (AVERAGE if method == AVERAGE else FIFO)
    try:
        held = state.holdings.get(key, ())
        if how == FIFO and type(units) is int and units > 0 and fifo_ready(held, sku, location, currency):
            done = fifo(held, units, currency)  # what consume() would do, without its checks of what it trusts
        else:
            done = consume(how, held, units, currency, lot_id, sku=sku, location=location)
    except ShortOfUnits as short:
        raise ShortOfUnits(sku, f"{location} {stock}", short.wanted, short.held, short.lot_id) from None
    return done.slices, _with_holdings(state, state.holdings.set(key, done.remaining))


def peek(state: InventoryState, method: str, sku: str, location: str, stock: str, units: int,
         currency: str) -> tuple[Slice, ...] | None:
    """The slices the next `units` would leave (sku, location, stock) with, or None when it holds too few."""
    if state.units(sku, location, stock) < units:
        return None
    return take(state, method, sku, location, stock, units, currency)[0]


def put(state: InventoryState, method: str, sku: str, location: str, stock: str, slices: tuple[Slice, ...],
        currency: str) -> InventoryState:
    """Slices added to (sku, location, stock) at their cost: each lot re-opened (its id, receipt date and unit
    cost, from the lot as received), or, under moving average, the holding re-averaged."""
    key = (sku, location, stock)
    held = state.holdings.get(key, ())
    for s in slices:
        if method == AVERAGE:
            held = return_units(AVERAGE, held, s, currency, sku=sku, location=location)
        else:
            template = state.lots.get(s.lot_id)
            if template is None:
                raise ValueError(f"lot {s.lot_id} was never received")
            template = template._replace(sku=sku, location=location, units=0, value=Decimal(0))
            held = return_units(method, held, s, currency, lot=template)
    return _with_holdings(state, state.holdings.set(key, held))


def _with_holdings(state: InventoryState, holdings: PMap) -> InventoryState:
    """state._replace(holdings=holdings), built directly: NamedTuple._replace costs as much again, every movement."""
    return InventoryState(holdings, state.lots, state.sold, state.written_off, state.pending)


def remember(book: PMap, key, slices: tuple[Slice, ...]) -> PMap:
    """Slices added to a memory (a sale's, or the write-offs of a SKU at a location)."""
    return book.set(key, book.get(key, ()) + tuple(slices)) if slices else book


def forget(book: PMap, key, back: tuple[Slice, ...]) -> PMap:
    """The memory less `back` (valuation.returned_slices of it: the last slices first, each a part of one)."""
    kept = list(book.get(key, ()))
    for b in back:
        last = kept.pop()
        if b.units < last.units:
            kept.append(Slice(last.lot_id, last.units - b.units, last.unit_cost, last.cost - b.cost))
    return book.set(key, tuple(kept))
