"""Canonical unit facts, and the accounts that units move between, named in one place.

The problem: units come from several sources (a purchase receipt CSV, an inbound shipment plan, the FBA inventory
ledger report, later the returns and reimbursements reports and the settlement's order rows), each in its own
shape; the posting rules (posting.py) must see one small vocabulary of facts, each saying which units of which SKU
moved where, so that one rule per fact posts them at cost. This module holds those facts (immutable NamedTuples),
the account naming (`state_account`, the expense accounts) and `from_movement`, which turns one parsed inventory
ledger row (sources.model.InventoryMovement) into a fact, or into `Flagged` when it must not post silently.

States are accounts under a location: `Assets:Inventory:<LOCATION>:<State>`. Units are whole and positive on every
fact; the direction is in the fact's kind (Amazon's signed Quantity is checked against the event type here).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import lru_cache
from typing import NamedTuple

from ledger_service.inventory.model import BY_UNITS
from ledger_service.sources.model import InventoryMovement

AVAILABLE, RESERVED = "Available", "Reserved"
WORKING, SHIPPED, RECEIVING = "Inbound:Working", "Inbound:Shipped", "Inbound:Receiving"
UNFULFILLABLE, RESEARCHING, RETURNS_HOLD = "Unfulfillable", "Researching", "ReturnsHold"
STATES = (AVAILABLE, RESERVED, WORKING, SHIPPED, RECEIVING, UNFULFILLABLE, RESEARCHING, RETURNS_HOLD)
INBOUND = (RECEIVING, SHIPPED, WORKING)  # the order an FBA receipt takes inbound units in: furthest along first

COGS = "Expenses:COGS"
WRITE_OFF_LOST = "Expenses:Inventory:WriteOff:Lost"
WRITE_OFF_DAMAGED = "Expenses:Inventory:WriteOff:Damaged"
SHRINKAGE = "Expenses:Inventory:Shrinkage"  # disposals, corrections, count gains and losses
PAYABLE = "Liabilities:AccountsPayable"
AWAITING_INSPECTION = "AWAITING_INSPECTION"  # a return's disposition before inspection: ReturnsHold
STAGES = {"working": WORKING, "shipped": SHIPPED, "receiving": RECEIVING}  # inbound shipment stage -> state


def state_account(location: str, state: str) -> str:
    """The account holding units of `location` in `state`: Assets:Inventory:FBA-US:Inbound:Shipped."""
    if state not in STATES:
        raise ValueError(f"inventory state must be one of {', '.join(STATES)}, not {state!r}")
    return f"Assets:Inventory:{location}:{state}"


@lru_cache(maxsize=1)
def reasons() -> dict:
    """The reason-code table (defaults/accounts/amazon/inventory_reasons.toml), read once."""
    from ledger_service.sources.amazon.inventory_ledger import load_reasons
    return load_reasons()


def disposition_state(disposition: str | None) -> str | None:
    """SELLABLE -> Available, a damaged disposition -> Unfulfillable, awaiting inspection -> ReturnsHold; None
    for a disposition the table does not know."""
    if disposition == AWAITING_INSPECTION:
        return RETURNS_HOLD
    return reasons()["disposition"].get(disposition or "")


class PurchaseLine(NamedTuple):
    sku: str
    units: int
    unit_cost: Decimal  # in the receipt's currency, before landed cost
    unit_weight: Decimal | None = None  # needed when charges are spread by weight


class PurchaseReceipt(NamedTuple):
    """A purchase order received at a warehouse: each line becomes lot `<po>:<line number>` at landed cost."""

    po: str
    supplier: str
    date: dt.date
    location: str
    currency: str  # must be the subsidiary's functional currency (convert before)
    lines: tuple[PurchaseLine, ...]
    charges: tuple[Decimal, ...] = ()  # freight, duty, prep: spread over the lines by `rule`
    rule: str = BY_UNITS


class InboundShipment(NamedTuple):
    """An FBA inbound shipment reaching a stage: working takes units from the warehouse's Available into the FBA
    location's Inbound:Working; shipped moves Working -> Shipped; receiving moves Shipped -> Receiving."""

    shipment_id: str
    sku: str
    units: int
    from_location: str
    to_location: str
    date: dt.date
    stage: str  # working | shipped | receiving


class FbaReceipt(NamedTuple):
    """Amazon received units of an inbound shipment (inventory ledger Receipts): Inbound -> `state`."""

    shipment_id: str | None
    sku: str
    units: int
    location: str
    date: dt.date
    state: str = AVAILABLE  # Unfulfillable when received damaged
    key: str | None = None


class Sale(NamedTuple):
    """Units shipped to a customer (inventory ledger Shipments, or a settlement order row): COGS on `date`.
    A bundle SKU consumes its components (Books.bundles)."""

    order_ref: str
    sku: str
    units: int
    location: str
    date: dt.date
    lane: str = "FBA"
    lot_id: str | None = None  # specific-lot method: the lot the event names
    key: str | None = None


class CustomerReturn(NamedTuple):
    """Units a customer sent back, by disposition: SELLABLE -> Available, damaged -> Unfulfillable,
    AWAITING_INSPECTION -> ReturnsHold, each at the cost the units left with."""

    order_ref: str | None
    sku: str
    units: int
    location: str
    date: dt.date
    disposition: str
    lane: str = "FBA"
    key: str | None = None


class Adjustment(NamedTuple):
    """An inventory ledger Adjustments row: signed quantity, one disposition, a reason code (the TOML table)."""

    key: str
    sku: str
    quantity: int  # signed, as Amazon gives it
    location: str
    date: dt.date
    disposition: str
    reason: str
    reference: str | None = None


class Removal(NamedTuple):
    """Units removed from a location (inventory ledger VendorReturns): to Books.removal_location, else disposed."""

    removal_id: str | None
    sku: str
    units: int
    location: str
    date: dt.date
    state: str = AVAILABLE
    key: str | None = None


class StateMove(NamedTuple):
    """Units moving between two states of one location at cost (a shortage to Researching, a returns-hold unit
    inspected, a removal received at the warehouse)."""

    key: str
    sku: str
    units: int
    location: str
    from_state: str
    to_state: str
    date: dt.date


class WriteOff(NamedTuple):
    """Units written off at cost out of a state: lost (WriteOff:Lost; a found unit reverses it) or damaged."""

    key: str
    sku: str
    units: int
    location: str
    state: str
    date: dt.date
    kind: str = "lost"  # lost | damaged


class WhseTransfer(NamedTuple):
    """Units moving between fulfillment centers of one FBA location: no entry (one account holds both)."""

    key: str
    sku: str
    quantity: int
    location: str
    date: dt.date


class Flagged(NamedTuple):
    """A movement that must not post: an unknown event type, disposition or reason, or a sign Amazon does not
    document for its event type. It goes to the exception queue."""

    key: str
    flags: tuple[str, ...]
    detail: str


def from_movement(m: InventoryMovement, location: str, sku: str | None = None):
    """One inventory ledger row -> its fact. `location` is the FBA location of the row's country or marketplace,
    `sku` the catalog's item for its MSKU (the MSKU itself when not given): both are the caller's to resolve."""
    sku = sku or m.msku or ""
    units, key = abs(m.quantity), m.natural_key

    def flagged(*flags: str, detail: str = "") -> Flagged:
        return Flagged(key, flags, detail or f"{m.event_type} {m.quantity:+d} {sku} {m.disposition or ''}".strip())

    if m.flags:
        return flagged(*m.flags)
    if not sku:
        return flagged("no-sku")
    state = disposition_state(m.disposition)
    if m.quantity == 0:
        return flagged("zero-quantity")
    if m.event_type == "WhseTransfers":
        return WhseTransfer(key, sku, m.quantity, location, m.date)
    if m.event_type == "Adjustments":
        return Adjustment(key, sku, m.quantity, location, m.date, m.disposition or "", m.reason or "", m.reference_id)
    expected = {"Receipts": 1, "Shipments": -1, "CustomerReturns": 1, "VendorReturns": -1}.get(m.event_type)
    if expected is None:
        return flagged("unknown-event-type")
    if (m.quantity > 0) != (expected > 0):
        return flagged("unexpected-sign", detail=f"{m.event_type} of {m.quantity:+d} {sku}: Amazon documents "
                       f"{'+' if expected > 0 else '-'} for this event type")
    if state is None:
        return flagged("unknown-disposition")
    if m.event_type == "Receipts":
        return FbaReceipt(m.reference_id, sku, units, location, m.date, state, key)
    if m.event_type == "Shipments":
        if state != AVAILABLE:
            return flagged("unexpected-disposition", detail=f"a shipment to a customer of {m.disposition} units")
        return Sale(m.reference_id or key, sku, units, location, m.date, "FBA", None, key)
    if m.event_type == "CustomerReturns":
        return CustomerReturn(m.reference_id, sku, units, location, m.date, m.disposition or "", "FBA", key)
    return Removal(m.reference_id, sku, units, location, m.date, state, key)
