"""A US subsidiary's inventory, set up the way the inventory tests start: a warehouse (WH-NJ), an FBA location
(FBA-US, the FBA lane's), a catalog, a purchase receipt into WH-NJ, and an inbound shipment's units on their way
to FBA-US (its working and shipped stages posted), so that a report's Receipts rows have units to receive."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Connection

from ledger_service.catalog.service import import_catalog
from ledger_service.eventlog.model import EventDraft, Source
from ledger_service.inventory import facts as f
from ledger_service.inventory.moves import Books
from ledger_service.inventory.posting import post
from ledger_service.inventory.service import load_state, receive_file
from ledger_service.journal.writer import post_batch
from ledger_service.locations.service import add_location, set_lane

# The FBA inventory ledger report's header, in the SP-API's spelling (tab-separated)
LEDGER_HEAD = ("Date\tFNSKU\tASIN\tMSKU\tTitle\tEventType\tReferenceID\tQuantity\tFulfillmentCenter\tDisposition\t"
               "Reason\tCountry\n")


def warehouse_and_fba(conn: Connection, catalog_csv: str, po_csv: str) -> None:
    """WH-NJ and FBA-US (lane FBA) of US, the catalog imported and the purchase receipt received into WH-NJ."""
    add_location(conn, "US", "WH-NJ", "warehouse")
    add_location(conn, "US", "FBA-US", "fba", marketplace="amazon.com")
    set_lane(conn, "US", "FBA", ["FBA-US"])
    import_catalog(conn, "US", catalog_csv.encode(), "catalog.csv")
    receive_file(conn, "US", po_csv.encode(), "po.csv", "WH-NJ")


def ship_to_fba(conn: Connection, shipment_id: str, sku: str, units: int, day: date) -> None:
    """`units` of `sku` from WH-NJ Available to FBA-US Inbound:Shipped (the working and shipped stages)."""
    state = load_state(conn, "US", [sku])
    for stage in ("working", "shipped"):
        done = post(f.InboundShipment(shipment_id, sku, units, "WH-NJ", "FBA-US", day, stage), state,
                    Books("US", "USD"))
        state = done.state
        post_batch(conn, [(EventDraft("US", "test_inbound", datetime.combine(day, datetime.min.time()),
                                      f"inbound-{stage}", stage, Source(system="test")), list(done.entries))])
