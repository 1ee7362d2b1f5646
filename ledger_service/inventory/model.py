"""Cost lots and what a consumption takes from them, as small immutable values.

The problem: units of a SKU at a location are held at a cost, and every unit that leaves (a sale, a loss, a
removal) must leave at a cost the valuation method decides, to the cent, without ever leaving a lot negative or a
stray cent in an emptied holding. These types carry that state between the pure functions of `valuation` and the
posting rules; they hold no behaviour beyond what describes them.

- A `Lot` is units of one SKU at one location received together: its id (`PO-123:1`, deterministic from the
  source), receipt date, unit cost in the functional currency and remaining units. Its *value* is what it is
  carried at in the inventory accounts: by default units x unit cost rounded to the currency's minor unit (a lot
  no consumption has touched); once units have left at a rounded cost, the exact remaining value (`value`). Under
  moving average the holding of a (SKU, location) is one pseudo-lot whose value is the running total and whose
  unit cost is value / units (valuation.py states the rules).
- A `Slice` is what one consumption took from one lot: units, the cost per unit its posting carries and the cost
  (rounded to the minor unit once per slice), so that `round_money(units x unit_cost) == cost`, the check
  journal.model makes on every units posting.
- `Consumed` is the result of a consumption: the slices in the order taken, their units and cost, and the lots
  that remain.

NamedTuples, as beancount's Position and Posting are: immutable and cheap to build by the hundred thousand.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import NamedTuple

from ledger_service.errors import Invalid

FIFO = "fifo"  # oldest lot first (received date, then lot id)
AVERAGE = "average"  # moving average: one pseudo-lot per (SKU, location), re-averaged on each receipt
SPECIFIC = "specific"  # the lot the event names
METHODS = (FIFO, AVERAGE, SPECIFIC)
BY_UNITS, BY_VALUE, BY_WEIGHT = "units", "value", "weight"  # how landed-cost charges are spread over lines
RULES = (BY_UNITS, BY_VALUE, BY_WEIGHT)


class Lot(NamedTuple):
    lot_id: str
    sku: str
    location: str
    received: date
    unit_cost: Decimal  # functional currency; under average, value / units (valuation.AVERAGE_PLACES decimals)
    units: int  # remaining
    value: Decimal | None = None  # carrying value; None: round_money(units x unit_cost), a lot never consumed

    @property
    def key(self) -> tuple[date, str]:
        """The fixed order in which lots are taken: received date, then lot id."""
        return (self.received, self.lot_id)


class Slice(NamedTuple):
    lot_id: str
    units: int
    unit_cost: Decimal  # the cost per unit the COGS posting carries: round_money(units x unit_cost) == cost
    cost: Decimal  # rounded to the currency's minor unit, once for the slice


class Consumed(NamedTuple):
    slices: tuple[Slice, ...]
    units: int
    cost: Decimal
    remaining: tuple[Lot, ...]  # in lot order; emptied FIFO/specific lots are left out, the average holding stays


class ReceiptLine(NamedTuple):
    """One line of a purchase receipt, in the functional currency, before landed cost."""

    units: int
    unit_cost: Decimal
    unit_weight: Decimal | None = None  # any one unit of weight per unit (kg, lb); needed by the weight rule


class Landed(NamedTuple):
    """A receipt's lines at landed cost: per line the share of the charges, the value the lot is received at and
    the unit cost that carries it (round_money(units x unit_cost) == value); total == lines + charges."""

    charges: tuple[Decimal, ...]
    values: tuple[Decimal, ...]
    unit_costs: tuple[Decimal, ...]
    total: Decimal


class ShortOfUnits(Invalid):
    """More units asked for than the lots hold: refused, never a negative lot."""

    kind = "short_of_units"

    def __init__(self, sku: str, location: str, wanted: int, held: int, lot_id: str | None = None):
        where = f"lot {lot_id} of {sku} at {location}" if lot_id else f"{sku} at {location}"
        super().__init__(f"short of units: {wanted} of {where} wanted, {held} held (short {wanted - held})")
        self.sku, self.location, self.wanted, self.held, self.lot_id = sku, location, wanted, held, lot_id


class UnknownLot(Invalid):
    """A specific-lot consumption (or a return) names a lot the holding does not have."""

    kind = "unknown_lot"

    def __init__(self, lot_id: str, sku: str, location: str):
        super().__init__(f"lot {lot_id!r} of {sku} at {location} is not held")
        self.lot_id, self.sku, self.location = lot_id, sku, location
