"""The FBA inventory ledger report into the ledger, and the retry of its rows that posted nothing.

The problem: each row of the report is a unit movement to post at cost against the holdings the database already
holds, under the subsidiary's chain-head lock, all of a file or none of it; a row that cannot post (the catalog
does not know its MSKU, Amazon or the reasons table flags it, nothing is inbound or held to cost it) must not be
lost either: it is an item of the exception queue, kept in the log until it posts. A report can have a million
rows: memory must stay flat in its size, and a row must cost no query.

- `ingest_ledger(conn, sub, path or bytes, document, location)`: the rows streamed (`iter_movements`: a path is
  read line by line) and run in chunks of CHUNK rows, all in the caller's one write transaction. Per chunk: the
  rows already in the log skipped, the Shipments the settlement counts set aside (settlement_units), each row's
  MSKU (else FNSKU) resolved to the brand SKU on its date by the catalog held in memory (catalog.service.Resolver),
  turned into a fact (facts.from_movement) and posted by post() in file order against the running state, and the
  chunk's events written (prepare_batch; on PostgreSQL the write runs on a second thread while the next chunk is
  parsed). One event per row (movement_events): `inventory_movement` when it posted (entries, or none: a leg that
  waits, a warehouse transfer), `inventory_exception` when it posted nothing, with the raw row and its source
  (document, sha256, line). A refused row (too few units, a lane) refuses the file naming file:line: the caller's
  transaction rolls back every chunk. A row still failing records nothing new: the same file again changes nothing.
  A row dated in a closed period that the writer would refuse (late_entries = refuse) is an exception item too
  (`period-closed`), and the state stays as it was: later rows take the lots the books still hold.
- What the run keeps between chunks (`_Run`): the holdings, lots, lost write-offs and waiting legs of the SKUs seen
  so far (loading.add_skus loads a SKU when a row first names it: postings of a SKU not loaded yet were not made by
  this run, so the log is right for it), the catalog, the counts and the exception items. Not what each sale took:
  before a chunk, `loading.sold_of` reads the slices of the orders its CustomerReturns rows name from the postings
  (the earlier chunks' sales included: same transaction; index ix_postings_order), dropped after the chunk.
- `retry_exceptions(conn, sub)`: the open `inventory_exception` items (no movement of their natural key yet),
  rebuilt from their stored rows and run through the same code path, in the order they were recorded, per
  location: what resolves now (after a catalog import, a receipt) posts its movement event, which resolves the
  item; what still fails stays open, and a refused row is reported, not raised. Idempotent.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path

from sqlalchemy import Connection, func, select

from ledger_service.catalog.service import Resolver
from ledger_service.chart.model import Subsidiary
from ledger_service.chart.service import get_subsidiary
from ledger_service.errors import Invalid
from ledger_service.eventlog.service import known_keys
from ledger_service.ingest.collector import fewer_collections
from ledger_service.inventory import facts as f
from ledger_service.inventory.adjustments import pending_legs
from ledger_service.inventory.exceptions import open_exceptions
from ledger_service.inventory.holdings import InventoryState, PMap
from ledger_service.inventory.loading import add_skus, books_of, sold_of, waiting_legs
from ledger_service.inventory.movement_events import (
    EXCEPTION_KIND, MOVEMENT_KIND, exception_event, movement_event, pair_group,
)
from ledger_service.inventory.posting import post
from ledger_service.journal.background import BatchWriter
from ledger_service.journal.writer import late_rules, lock_chain_heads, prepare_batch
from ledger_service.locations.model import Location
from ledger_service.locations.service import load_locations
from ledger_service.periods.model import refusal
from ledger_service.sources.model import InventoryMovement
from ledger_service.store.bulk import refresh_statistics, refresh_statistics_after
from ledger_service.store.tables import entries, events, postings

CHUNK = 2_000  # rows per chunk: per chunk a few queries and one batch write; memory is a chunk's rows and drafts
COLLECT_EVERY = 10  # chunks between young garbage collections (see run)
PERIOD_CLOSED = "period-closed"  # the exception kind of a row the writer would refuse as late
COLLECT_GENERATION = 1  # gc.collect's: generations 0 and 1 (see run)
ANALYZE_FROM = 4_000  # events written before the statistics are refreshed (PostgreSQL; then at each 4x growth)


def ingest_ledger(conn: Connection, subsidiary: str, data: bytes | Path | str, document: str | None,
                  location: str, actor: str | None = None, lost_to: str = f.RESEARCHING,
                  chunk: int = CHUNK) -> dict:
    """Post an FBA inventory ledger detail report (a path, streamed, or its bytes) at an FBA location, all of it
    or none. `lost_to`: where a lost (M, 5) unit goes (moves.Books.lost_to): Researching, or "write-off" at once."""
    from ledger_service.sources.amazon.inventory_ledger import iter_movements

    sub = get_subsidiary(conn, subsidiary)
    loc = _fba_location(conn, subsidiary, location)
    if document is None:  # the name iter_movements gives it
        document = "inventory-ledger" if isinstance(data, (bytes, bytearray, memoryview)) else Path(data).name
    movements = iter_movements(data, document)
    lock_chain_heads(conn, [subsidiary])
    run = _Run(conn, sub, loc, actor, lost_to, refuse=True).run(movements, chunk, skip_known=True)
    return {"subsidiary": subsidiary, "document": document, "location": location, "rows": run.rows,
            "posted": run.posted, "duplicates": run.duplicates, "entries": run.entries,
            "counted_by_settlement": run.counted,  # Shipments rows the settlement counts
            "exceptions": run.items, "exceptions_recorded": run.recorded, "pending_legs": _legs(run.state)}


def retry_exceptions(conn: Connection, subsidiary: str, actor: str | None = None,
                     lost_to: str = f.RESEARCHING) -> dict:
    """Run the open inventory exception items again, from their stored rows (see the module's docstring)."""
    sub = get_subsidiary(conn, subsidiary)
    lock_chain_heads(conn, [subsidiary])
    by_location: dict[str, list[InventoryMovement]] = {}
    for item in open_exceptions(conn, subsidiary):
        by_location.setdefault(item.location, []).append(item.movement)
    posted = entries_ = counted = 0
    still: list[dict] = []
    for location, movements in sorted(by_location.items()):
        loc = load_locations(conn, subsidiary).get(location)
        if loc is None or loc.kind != "fba":
            still += [_item(m, "location", f"location {location} is not an FBA location of {subsidiary}")
                      for m in movements]
            continue
        run = _Run(conn, sub, loc, actor, lost_to, refuse=False).run(movements, CHUNK, skip_known=False)
        posted, entries_, counted = posted + run.posted, entries_ + run.entries, counted + run.counted
        still += run.refused + [x for x in run.items if not x["posted"]]
    retried = sum(len(ms) for ms in by_location.values())
    return {"subsidiary": subsidiary, "retried": retried, "posted": posted, "entries": entries_,
            "still_open": retried - posted, "counted_by_settlement": counted, "items": still}


class _Run:
    """Rows resolved, posted and recorded chunk by chunk, in order: the one code path of an ingest and a retry.
    Holds what carries from chunk to chunk (the module's docstring) and the counts of the result."""

    def __init__(self, conn: Connection, sub: Subsidiary, loc: Location, actor: str | None, lost_to: str,
                 refuse: bool):
        self.conn, self.sub, self.loc, self.actor, self.refuse = conn, sub.code, loc, actor, refuse
        self.catalog = Resolver.load(conn, sub.code, loc.marketplace)
        self.books = books_of(conn, sub, lost_to=lost_to)
        self.closed, self.late_policy = late_rules(conn, sub.code)  # under the chain-head lock: they hold
        # the run's own entries come after this one: sold_of takes them in the order they posted
        self.after_entry = conn.execute(select(func.max(entries.c.id))).scalar() or 0
        legs = tuple(leg for leg in waiting_legs(conn, sub.code) if leg.location == loc.code)
        self.loaded = {leg.sku for leg in legs}
        self.state = add_skus(conn, sub.code, InventoryState(), sorted(self.loaded), legs)
        self.rows = self.duplicates = self.counted = self.posted = self.entries = self.recorded = 0
        self.items: list[dict] = []  # every exception item of the rows run: {key, line, kind, message, posted}
        self.refused: list[dict] = []  # a retry's rows refused (too few units, a lane): they stay open
        self.written = self.analyzed = 0

    def run(self, movements: Iterable[InventoryMovement], size: int, skip_known: bool) -> _Run:
        with fewer_collections(), BatchWriter(self.conn) as writer:
            for n, rows in enumerate(_chunks(movements, size), start=1):  # parsed while the previous is written
                writer.wait()  # every query below sees the chunks written before
                if n % COLLECT_EVERY == 0:
                    # The queries leave cyclic garbage (SQLAlchemy's statements and compilers, ~0.5 MB a chunk) that
                    # fewer_collections' rare passes would let pile up in proportion to the file. A young collection
                    # (generations 0 and 1) frees it; a full one would also walk every lot the run holds (0.2 s at
                    # 100,000 lots), and CPython still runs full ones as its old generation grows.
                    gc.collect(COLLECT_GENERATION)
                self.rows += len(rows)
                if skip_known:
                    known = known_keys(self.conn, self.sub, [m.natural_key for m in rows])
                    self.duplicates += len(known)
                    rows = [m for m in rows if m.natural_key not in known]
                batch = self._post(rows)
                if self.written >= ANALYZE_FROM and self.written >= 4 * self.analyzed:
                    refresh_statistics(self.conn, (events, entries, postings))  # see ingest.service._post
                    self.analyzed = self.written
                prepared = prepare_batch(self.conn, batch, self.actor)
                writer.submit(prepared)
                for (event, drafts), result in zip(batch, prepared.results):
                    if not result.duplicate:
                        self.written += 1
                        self.posted += event.kind == MOVEMENT_KIND
                        self.recorded += event.kind == EXCEPTION_KIND
                        self.entries += len(drafts)
        refresh_statistics_after(self.conn, (events, entries, postings), self.written)
        return self

    def _post(self, movements: list[InventoryMovement]) -> list:
        """One chunk's rows posted against the running state: the (event, entries) pairs to write."""
        from ledger_service.inventory.settlement_units import counted_by_settlement

        # One source of unit truth (inventory/settlement_units.py): Shipments rows the settlement counts
        # (unit_source = settlement, or an order item a settlement sale already took) are counted, never posted.
        counted = counted_by_settlement(self.conn, self.sub, movements)
        self.counted += len(counted)
        movements = [m for m in movements if m.natural_key not in counted]
        resolved = [_movement_sku(self.catalog, m) for m in movements]
        bundles: dict = {}
        for m, sku in zip(movements, resolved):
            if sku is not None and (sku, m.date) not in bundles:
                bundles[(sku, m.date)] = tuple(self.catalog.components(sku, m.date).items())
        new = ({s for s in resolved if s} | {c for parts in bundles.values() for c, _ in parts}) - self.loaded
        if new:
            self.state = add_skus(self.conn, self.sub, self.state, sorted(new))
            self.loaded |= new
        orders = {m.reference_id for m in movements if m.event_type == "CustomerReturns" and m.reference_id}
        state = self.state._replace(sold=sold_of(self.conn, self.sub, orders, self.after_entry) if orders else PMap())
        batch, location, whole = [], self.loc.code, self.books
        for m, sku in zip(movements, resolved):
            if sku is None and not m.flags:
                message = (f"MSKU {m.msku} / FNSKU {m.fnsku} is not in the catalog of {self.sub} on {m.date}: "
                           "nothing posted for it")
                self.items.append(_item(m, "unknown-sku", message, posted=False))
                batch.append((exception_event(self.sub, m, location, None, "unknown-sku", message), []))
                continue
            fact = f.from_movement(m, location, sku)
            parts = bundles.get((sku, m.date)) or ()
            try:
                done = post(fact, state, whole._replace(bundles={sku: parts}) if parts else whole)
            except Invalid as exc:
                if self.refuse:
                    raise Invalid(f"{m.source.document}:{m.source.line}: {exc.message}") from exc
                self.refused.append(_item(m, getattr(exc, "kind", "refused"), exc.message, posted=False))
                continue
            refused = refusal(done.entries, self.closed, self.late_policy)
            if refused is not None:  # the writer would keep the event without its entries: keep the row instead
                message = (f"{m.event_type} {m.quantity:+d} {sku} {refused}: {self.sub} refuses late entries "
                           "(late_entries = refuse); it posts, at the cost then, once the period reopens and the "
                           "item is retried (`ledger-service exceptions retry-inventory`)")
                self.items.append(_item(m, PERIOD_CLOSED, message, posted=False))
                batch.append((exception_event(self.sub, m, location, sku, PERIOD_CLOSED, message), []))
                continue  # the state stays as it was: later rows take the lots this one did not
            flags = tuple((x.kind, x.message) for x in done.exceptions)
            self.items += [_item(m, kind, message, posted=bool(done.entries)) for kind, message in flags]
            if flags and not done.entries:  # posts nothing: an open item until the row posts
                kind, message = ",".join(k for k, _ in flags), "; ".join(msg for _, msg in flags)
                batch.append((exception_event(self.sub, m, location, sku, kind, message), []))
                continue
            waiting, pairs_with = _leg(fact, state, done.state)
            state = done.state
            batch.append((movement_event(self.sub, m, location, sku, flags=flags, waiting=waiting,
                                         pairs_with=pairs_with), list(done.entries)))
        self.state = state._replace(sold=PMap())  # what the chunk's sales took is in its postings now
        return batch


def _chunks(movements: Iterable[InventoryMovement], size: int) -> Iterator[list[InventoryMovement]]:
    rows = iter(movements)
    while chunk := list(islice(rows, size)):
        yield chunk


def _leg(fact, before: InventoryState, after: InventoryState) -> tuple[bool, str | None]:
    """Whether an adjustment leg now waits for its pair, or the natural key of the waiting leg it paired."""
    group = pair_group(fact) if isinstance(fact, f.Adjustment) else None
    if group is None:
        return False, None
    was, now = before.pending.get(group, ()), after.pending.get(group, ())
    if fact in now:
        return True, None
    gone = [leg for leg in was if leg not in now]
    return False, gone[0].key if gone else None


def _fba_location(conn: Connection, subsidiary: str, location: str) -> Location:
    loc = load_locations(conn, subsidiary).get(location)
    if loc is None or loc.kind != "fba":
        raise Invalid(f"location {location} is not an FBA location of {subsidiary}: the inventory ledger's units "
                      "are at an FBA location (`ledger-service locations add CODE --kind fba --marketplace M`)")
    return loc


def _movement_sku(catalog: Resolver, m: InventoryMovement) -> str | None:
    """The brand SKU of a row on its day: its MSKU through the catalog, else its FNSKU's identity; else None."""
    sku = catalog.sku(m.msku, m.date) if m.msku else None
    if sku is None and m.fnsku:
        found = catalog.identity(m.date, fnsku=m.fnsku)
        sku = found.sku if found is not None else None
    return sku


def _legs(state: InventoryState) -> list[dict]:
    return [{"key": leg.key, "sku": leg.sku, "quantity": leg.quantity, "reason": leg.reason}
            for leg in pending_legs(state)]


def _item(m: InventoryMovement, kind: str, message: str, posted: bool = False) -> dict:
    return {"key": m.natural_key, "document": m.source.document, "line": m.source.line, "kind": kind,
            "message": message, "posted": posted}
