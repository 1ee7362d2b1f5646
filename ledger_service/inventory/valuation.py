"""Which units leave, at what cost: FIFO, moving average and specific lot, as pure functions.

The problem: a sale takes units out of a (SKU, location) and COGS must be what those units cost, to the cent,
while the inventory accounts keep holding exactly the value of what is left. Rounding is where that breaks: a lot
received at a landed cost of 1.2345 a unit, or an average of 100.00 over 3 units, has no exact cent value per unit,
and rounding each slice independently leaves a cent behind in an emptied lot, or takes one too many. So every
holding carries its *value* (what its postings put into the accounts), not only a unit cost, and every rule below
moves value, so that value in == value out + value remaining, exactly, under every method.

- **Order.** Lots are taken in (received date, lot id) order; inputs are sorted here, whatever order they come in.
- **One cost rule for every holding.** Taking n of the N units of a holding worth V costs
  `round_money(V x n / N)` (money.round_money: the ledger's one rounding, to the minor unit, half up), once per
  slice; the holding keeps N - n units worth V - cost. Consequences: taking all N costs V exactly (the **residue
  rule**: an emptied lot or holding is worth 0.00, never a stray cent); a cost never exceeds what is held; and for a
  lot whose units x unit cost is exact in the currency (unit costs of at most 2 decimals in USD), a slice costs
  exactly units x unit cost, as beancount books it. A lot with a landed unit cost of more decimals is received at
  round_money(units x unit_cost) and its slices share that value out; a slice may then differ from
  round_money(units x unit_cost) by a minor unit, and the cent stays in the lot until its last unit leaves.
- **FIFO** takes the oldest lot first, slice by slice. **Specific** takes only the lot the event names, refusing a
  lot it does not hold or one with too few units. **Moving average** pools the (SKU, location) into one pseudo-lot
  (`holding_id`); a receipt adds round_money(units x unit_cost) to its value; its unit cost is value / units to
  AVERAGE_PLACES decimals (half up), shown and posted, never used to compute a cost.
- **Posted unit cost.** A slice's unit_cost is the lot's own when round_money(units x unit_cost) gives the slice's
  cost (journal.model's check on a units posting); otherwise cost / units to enough decimals that it does.
- **Returns.** A sellable return puts units back at the cost they left with: the slices of the sale are given
  back newest first (`returned_slices`), each at its share of the slice's cost; under FIFO and specific lot the lot
  is re-opened (same id, date and unit cost; units and value added back), under average the holding is re-averaged.
- **Landed cost.** Freight, duty and prep are spread over a receipt's lines by units, value or weight, each share
  rounded to the minor unit; the residue goes to the line with the largest basis (the first of equals), as
  journal.model gives the functional residue to the largest posting. Lines are in the functional currency.
Too few units is ShortOfUnits, naming SKU, location, units wanted and held: never a negative lot. No I/O.

Speed: a sale must cost what it takes, not what is held. Every result that is a holding of lots (what remains of
a consumption, a receipt, a return) is a `Held`: the lots checked, in lot order, none empty, their units summed.
`consume` trusts a Held of the same SKU, location and currency instead of checking and sorting every lot again,
and FIFO then touches only the lots it takes (with 100 lots a SKU, posting a sale got 2.5x faster:
docs/performance.md). Any other input is checked and sorted as before; the results are the same.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Context, Decimal

from ledger_service.errors import Invalid
from ledger_service.inventory.model import (
    AVERAGE, BY_UNITS, BY_VALUE, METHODS, RULES, SPECIFIC, Consumed, Landed, Lot, ReceiptLine, ShortOfUnits,
    Slice, UnknownLot,
)
from ledger_service.money import currency_exponent, round_money, round_places

AVERAGE_PLACES = 6  # decimals of an average unit cost, and the least a computed posted unit cost carries
_ZERO = Decimal(0)


_HOLDING = "average:"
# The 60 digits _share divides at: a context of its own (the default's other settings), not a localcontext()
# switched in and out on every slice.
_WIDE = Context(prec=60)


def holding_id(sku: str, location: str) -> str:
    """The id of the moving-average pseudo-lot of a (SKU, location)."""
    return f"{_HOLDING}{location}:{sku}"


def average_holding(sku: str, location: str, on: date) -> Lot:
    """An empty moving-average holding, before its first receipt."""
    return Lot(holding_id(sku, location), sku, location, on, _ZERO, 0, _ZERO)


def value_of(lot: Lot, currency: str) -> Decimal:
    return round_money(lot.units * lot.unit_cost, currency) if lot.value is None else lot.value


class Held(tuple):
    """Lots of one (SKU, location), checked (_check_lots) for `currency`, in lot order, none with 0 units; `units`
    is their sum. Built only here, from lots just checked or derived from a Held by the rules below."""

    def __new__(cls, lots: Iterable[Lot], sku: str, location: str, currency: str, units: int):
        self = super().__new__(cls, lots)
        self.sku, self.location, self.currency, self.units = sku, location, currency, units
        return self

    def __reduce__(self):
        return (Held, (tuple(self), self.sku, self.location, self.currency, self.units))


def _held(ordered: Sequence[Lot], sku: str, location: str, currency: str) -> tuple[Lot, ...]:
    """Checked lots in lot order as a Held; a plain tuple when empty or when a lot is empty (an emptied average
    holding stays, and callers may pass lots of 0 units)."""
    if not ordered or not all(lot.units for lot in ordered):
        return tuple(ordered)
    return Held(ordered, sku, location, currency, sum(lot.units for lot in ordered))


def consume(method: str, lots: Iterable[Lot], units: int, currency: str, lot_id: str | None = None, *,
            sku: str | None = None, location: str | None = None) -> Consumed:
    """Take `units` out of the lots of one (SKU, location) by `method`. `sku` and `location` name the holding
    when there may be no lots (the error then says which SKU was short)."""
    method = _method(method)
    wanted = _units(units, "units to consume")
    if method != AVERAGE and type(lots) is Held and fifo_ready(lots, sku or lots.sku, location or lots.location,
                                                                currency):
        if lot_id is None and method != SPECIFIC:
            return fifo(lots, wanted, currency)
        held, sku, location = list(lots), lots.sku, lots.location  # checked and in order already
    else:
        held, sku, location = _check_lots(lots, currency, sku, location)
    if (lot_id is not None) != (method == SPECIFIC):
        raise Invalid(f"a lot id is named for specific-lot consumption, and only then (method {method}, "
                      f"lot {lot_id!r})")
    if method == AVERAGE:
        holding = _pool(held, sku, location, currency)
        if holding.units < wanted:
            raise ShortOfUnits(sku, location, wanted, holding.units)
        taken, left = _take(holding, wanted, currency)
        return Consumed((taken,), wanted, taken.cost, (left,))
    if method == SPECIFIC:
        named = [lot for lot in held if lot.lot_id == lot_id]
        if not named:
            raise UnknownLot(str(lot_id), sku, location)
        if named[0].units < wanted:
            raise ShortOfUnits(sku, location, wanted, named[0].units, lot_id)
        held = named + [lot for lot in held if lot.lot_id != lot_id]  # only the named lot is reached
    elif sum(lot.units for lot in held) < wanted:
        raise ShortOfUnits(sku, location, wanted, sum(lot.units for lot in held))
    slices, remaining, need = [], [], wanted
    for lot in held:
        if need == 0 or lot.units == 0:
            if lot.units:
                remaining.append(lot)
            continue
        taken, left = _take(lot, min(need, lot.units), currency)
        slices.append(taken)
        need -= taken.units
        if left.units:
            remaining.append(left)
    remaining.sort(key=_order)
    return Consumed(tuple(slices), wanted, sum((s.cost for s in slices), _ZERO),
                    _held(remaining, sku, location, currency))


def fifo_ready(lots: Iterable[Lot], sku: str, location: str, currency: str) -> bool:
    """Whether `lots` is a Held of (sku, location) in `currency`: what `fifo` may take from without checks."""
    return type(lots) is Held and lots.currency == currency and lots.sku == sku and lots.location == location


def fifo(held: Held, wanted: int, currency: str) -> Consumed:
    """FIFO out of a Held (`fifo_ready`) of `wanted` units (a whole number > 0): the same slices and remaining lots
    as consume()'s general loop, touching only the lots taken (the first ones); the rest stay in order, shared
    with the holding before."""
    if held.units < wanted:
        raise ShortOfUnits(held.sku, held.location, wanted, held.units)
    slices, need, i = [], wanted, 0
    while need:
        lot = held[i]
        taken, left = _take(lot, lot.units if lot.units < need else need, currency)
        slices.append(taken)
        need -= taken.units
        i += 1
    rest = held[i:] if not left.units else (left, *held[i:])
    remaining = Held(rest, held.sku, held.location, currency, held.units - wanted) if rest else ()
    return Consumed(tuple(slices), wanted, sum((s.cost for s in slices), _ZERO), remaining)


def receive_average(holding: Lot, units: int, unit_cost: Decimal, currency: str, on: date | None = None) -> Lot:
    """The moving-average holding after a receipt of `units` at `unit_cost`: value + round_money(units x cost),
    re-averaged. `on` (the receipt date) becomes the holding's date."""
    units = _units(units, "units received")
    _check_cost(unit_cost, "unit cost received")
    (holding,), _, _ = _check_lots([holding], currency, None, None)
    return _averaged(holding, holding.units + units, value_of(holding, currency) + round_money(units * unit_cost,
                     currency), on or holding.received)


def receive(method: str, lots: Iterable[Lot], lot: Lot, currency: str) -> tuple[Lot, ...]:
    """The lots of a (SKU, location) after a receipt: a new lot (FIFO, specific), or the re-averaged holding."""
    method = _method(method)
    _units(lot.units, f"units received into lot {lot.lot_id}")
    held, sku, location = _check_lots(list(lots) + [lot], currency, None, None)
    held = [h for h in held if h is not lot]
    if method == AVERAGE:
        holding = _pool(held, sku, location, currency) if held else average_holding(sku, location, lot.received)
        return (receive_average(holding, lot.units, lot.unit_cost, currency, max(holding.received, lot.received)),)
    return _held(sorted(held + [lot], key=_order), sku, location, currency)


def returned_slices(slices: Sequence[Slice], units: int, currency: str) -> tuple[Slice, ...]:
    """The part of a consumption that `units` returned units stand for: the slices taken last come back first,
    each unit at its share of its slice's cost (the whole slice: its cost exactly)."""
    need = _units(units, "units returned")
    if need > sum(s.units for s in slices):
        raise Invalid(f"{need} units returned, but the consumption took {sum(s.units for s in slices)}")
    back = []
    for s in reversed(slices):
        if need == 0:
            break
        n = min(need, s.units)
        cost = _share(s.cost, n, s.units, currency)
        back.append(Slice(s.lot_id, n, _posted_cost(cost, n, s.unit_cost, currency), cost))
        need -= n
    return tuple(back)


def return_units(method: str, lots: Iterable[Lot], back: Slice, currency: str, *, lot: Lot | None = None,
                 sku: str | None = None, location: str | None = None) -> tuple[Lot, ...]:
    """The lots after a sellable return of `back` (a slice, or part of one: `returned_slices`). FIFO and specific:
    the slice's lot gets its units and cost back, re-opened from `lot` (the lot as received) when it was emptied.
    Average: the holding takes the units at the cost they left with and is re-averaged."""
    method = _method(method)
    n = _units(back.units, "units returned")
    _check_cost(back.cost, "cost returned")
    if round_money(back.cost, currency) != back.cost:
        raise Invalid(f"cost returned {back.cost} has more decimals than {currency} allows")
    templates = [lot] if lot is not None else []
    held, sku, location = _check_lots(list(lots), currency, sku or (lot.sku if lot else None),
                                      location or (lot.location if lot else None))
    if method == AVERAGE:
        holding = _pool(held, sku, location, currency) if held else (
            lot or average_holding(sku, location, date.min))._replace(units=0, value=_ZERO)
        return (_averaged(holding, holding.units + n, value_of(holding, currency) + back.cost, holding.received),)
    found = [h for h in held if h.lot_id == back.lot_id] or [t._replace(units=0, value=_ZERO) for t in templates
                                                                 if t.lot_id == back.lot_id]
    if not found:
        raise UnknownLot(back.lot_id, sku, location)
    reopened = found[0]._replace(units=found[0].units + n, value=value_of(found[0], currency) + back.cost)
    after = sorted([h for h in held if h.lot_id != back.lot_id] + [reopened], key=_order)
    try:  # the re-opened lot comes from the caller's template: a Held only if it passes the checks
        _check_lots(after, currency, sku, location)
    except Invalid:
        return tuple(after)
    return _held(after, sku, location, currency)


def landed_cost(lines: Sequence[ReceiptLine], charges: Decimal | Iterable[Decimal], rule: str,
                currency: str) -> Landed:
    """Spread `charges` (freight, duty, prep: one amount or several, summed) over the receipt's lines by `rule`.
    Each line is worth round_money(units x unit_cost) plus its share; total == lines + charges to the cent."""
    if rule not in RULES:
        raise Invalid(f"landed-cost rule must be one of {', '.join(RULES)}, not {rule!r}")
    if not lines:
        raise Invalid("a receipt needs at least one line")
    amounts = [charges] if isinstance(charges, Decimal) else list(charges)
    for c in amounts:
        _check_cost(c, "charge")
        if round_money(c, currency) != c:
            raise Invalid(f"charge {c} has more decimals than {currency} allows")
    total_charges = sum(amounts, _ZERO)
    units = [_units(line.units, f"units of receipt line {i + 1}") for i, line in enumerate(lines)]
    for i, line in enumerate(lines):
        _check_cost(line.unit_cost, f"unit cost of receipt line {i + 1}")
    base = [round_money(u * line.unit_cost, currency) for u, line in zip(units, lines)]
    if rule == BY_UNITS:
        basis = [Decimal(u) for u in units]
    elif rule == BY_VALUE:
        basis = base
    else:
        for i, line in enumerate(lines):
            if line.unit_weight is None or not line.unit_weight.is_finite() or line.unit_weight < 0:
                raise Invalid(f"receipt line {i + 1} needs a unit weight >= 0 to spread charges by weight")
        basis = [u * line.unit_weight for u, line in zip(units, lines)]
    whole = sum(basis, _ZERO)
    if whole <= 0:
        raise Invalid(f"charges cannot be spread by {rule}: the lines' total {rule} is zero")
    shares = [_share(total_charges, b, whole, currency) for b in basis]
    largest = max(range(len(basis)), key=lambda i: (basis[i], -i))
    shares[largest] += total_charges - sum(shares, _ZERO)
    values = [b + s for b, s in zip(base, shares)]
    if values[largest] < 0:
        raise Invalid(f"charges of {total_charges} {currency} are too small to spread over {len(lines)} lines")
    costs = tuple(_posted_cost(v, u, line.unit_cost if s == 0 else None, currency)
                  for v, u, s, line in zip(values, units, shares, lines))
    return Landed(tuple(shares), tuple(values), costs, sum(values, _ZERO))


# -- the rules' arithmetic ---------------------------------------------------------------------------------------

def _share(value: Decimal, part: Decimal | int, whole: Decimal | int, currency: str) -> Decimal:
    """round_money(value x part / whole): exact when part == whole; the quotient at 60 digits before rounding."""
    if part == whole:
        return value
    return round_money(_WIDE.divide(_WIDE.multiply(value, part), whole), currency)


def _take(lot: Lot, n: int, currency: str) -> tuple[Slice, Lot]:
    value = value_of(lot, currency)
    cost = _share(value, n, lot.units, currency)
    taken = Slice(lot.lot_id, n, _posted_cost(cost, n, lot.unit_cost, currency), cost)
    if lot.lot_id.startswith(_HOLDING) and lot.lot_id == holding_id(lot.sku, lot.location):
        return taken, _averaged(lot, lot.units - n, value - cost, lot.received)
    # Lot(...) rather than lot._replace(...): the same lot, built in a third less time (once per slice)
    return taken, Lot(lot.lot_id, lot.sku, lot.location, lot.received, lot.unit_cost, lot.units - n, value - cost)


def _posted_cost(cost: Decimal, units: int, nominal: Decimal | None, currency: str) -> Decimal:
    """A unit cost with round_money(units x it) == cost: `nominal` when it does, else cost / units to
    max(AVERAGE_PLACES, minor-unit decimals + digits of units) places, which always does (the error of the
    quotient times units stays under half a minor unit)."""
    if nominal is not None and round_money(units * nominal, currency) == cost:
        return nominal
    places = max(AVERAGE_PLACES, currency_exponent(currency) + len(str(units)))
    return _plain(round_places(cost / units, places))


def _averaged(holding: Lot, units: int, value: Decimal, on: date) -> Lot:
    cost = holding.unit_cost if units == 0 else _plain(
        round_places(value / units, AVERAGE_PLACES))
    return Lot(holding_id(holding.sku, holding.location), holding.sku, holding.location, on, cost, units, value)


def _pool(lots: list[Lot], sku: str, location: str, currency: str) -> Lot:
    """The moving-average pseudo-lot of a (SKU, location): all its lots' units and value, re-averaged."""
    if len(lots) == 1 and lots[0].lot_id == holding_id(sku, location):
        return lots[0]._replace(value=value_of(lots[0], currency))
    on = max((lot.received for lot in lots), default=date.min)
    return _averaged(average_holding(sku, location, on), sum(lot.units for lot in lots),
                     sum((value_of(lot, currency) for lot in lots), _ZERO), on)


def _plain(d: Decimal) -> Decimal:
    """Trailing zeros dropped, never an exponent: 4.990000 -> 4.99, 12.000000 -> 12."""
    return d.quantize(Decimal(1)) if d == d.to_integral_value() else d.normalize()


def _order(lot: Lot) -> tuple[date, str]:
    return (lot.received, lot.lot_id)


def _method(method: str) -> str:
    if method not in METHODS:
        raise Invalid(f"valuation method must be one of {', '.join(METHODS)}, not {method!r}")
    return method


def _units(units: object, what: str) -> int:
    if (isinstance(units, bool) or not isinstance(units, (int, Decimal))
            or (isinstance(units, Decimal) and not units.is_finite()) or units != int(units)):
        raise Invalid(f"{what} must be a whole number, not {units!r}")
    if units <= 0:
        raise Invalid(f"{what} must be positive, not {units}")
    return int(units)


def _check_cost(amount: object, what: str) -> None:
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount < 0:
        raise Invalid(f"{what} must be a finite Decimal >= 0, not {amount!r}")


def _check_lots(lots: Iterable[Lot], currency: str, sku: str | None,
                location: str | None) -> tuple[list[Lot], str, str]:
    """The lots in lot order, checked: one SKU and location, ids unique, units whole and >= 0, values exact."""
    ordered = sorted(lots, key=_order)
    sku = sku or (ordered[0].sku if ordered else "(no lots)")
    location = location or (ordered[0].location if ordered else "(no lots)")
    seen: set[str] = set()
    for lot in ordered:
        if (lot.sku, lot.location) != (sku, location):
            raise Invalid(f"lot {lot.lot_id} is {lot.sku} at {lot.location}: a consumption takes one SKU at one "
                          f"location ({sku} at {location})")
        if lot.lot_id in seen:
            raise Invalid(f"lot {lot.lot_id} of {sku} at {location} is given twice")
        seen.add(lot.lot_id)
        if isinstance(lot.units, bool) or not isinstance(lot.units, int) or lot.units < 0:
            raise Invalid(f"lot {lot.lot_id} holds {lot.units!r} units: a lot holds a whole number >= 0")
        _check_cost(lot.unit_cost, f"unit cost of lot {lot.lot_id}")
        if lot.value is not None:
            _check_cost(lot.value, f"value of lot {lot.lot_id}")
            if round_money(lot.value, currency) != lot.value or (lot.units == 0 and lot.value != 0):
                raise Invalid(f"lot {lot.lot_id} is worth {lot.value} {currency} with {lot.units} units")
    return ordered, sku, location
