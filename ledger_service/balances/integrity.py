"""Rebuild and verify: the projections must equal a fold over the log, and the log must be what was written.

`rebuild` recomputes the daily balances and the chain heads from events, entries and postings.
`verify` checks, and names the first broken event when one fails:
  - each subsidiary's hash chain recomputed from the stored rows (seq contiguous, prev_hash linked, hash equal);
  - every entry balanced per commodity weight and in functional currency, with at least two postings, and every
    units posting worth units x cost;
  - the daily balances and chain heads equal a rebuild.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import Connection, func, select

from ledger_service.chart.service import GENESIS_HASH
from ledger_service.eventlog.model import chain_hash, chain_record
from ledger_service.money import currency_exponent, round_money, from_minor
from ledger_service.store.tables import accounts, balances, chain_heads, entries, events, postings

BATCH = 2000  # events per read when walking the chain


@dataclass
class VerifyReport:
    events: int = 0
    entries: int = 0
    problems: list[str] = field(default_factory=list)
    first_broken_event: int | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def fail(self, event_id: int | None, message: str) -> None:
        if event_id is not None and (self.first_broken_event is None or event_id < self.first_broken_event):
            self.first_broken_event = event_id
        self.problems.append(message)


def computed_balances(conn: Connection) -> dict[tuple, tuple[int, int, int, int]]:
    q = (
        select(
            postings.c.subsidiary, postings.c.account_id, postings.c.commodity, entries.c.currency, entries.c.state,
            entries.c.effective_date, func.sum(postings.c.quantity), func.sum(postings.c.amount),
            func.sum(postings.c.functional_amount), func.count(),
        )
        .join(entries, entries.c.id == postings.c.entry_id)
        .group_by(postings.c.subsidiary, postings.c.account_id, postings.c.commodity, entries.c.currency,
                  entries.c.state, entries.c.effective_date)
    )
    return {tuple(r[:6]): tuple(int(x) for x in r[6:]) for r in conn.execute(q)}


def stored_balances(conn: Connection) -> dict[tuple, tuple[int, int, int, int]]:
    q = select(balances.c.subsidiary, balances.c.account_id, balances.c.commodity, balances.c.weight_currency,
               balances.c.state, balances.c.day, balances.c.quantity, balances.c.amount,
               balances.c.functional_amount, balances.c.postings)
    return {tuple(r[:6]): tuple(int(x) for x in r[6:]) for r in conn.execute(q)}


def computed_heads(conn: Connection) -> dict[str, tuple[int, str]]:
    heads = {r.subsidiary: (0, GENESIS_HASH) for r in conn.execute(select(chain_heads.c.subsidiary))}
    last = select(events.c.subsidiary, func.max(events.c.seq).label("seq")).group_by(events.c.subsidiary).subquery()
    q = select(events.c.subsidiary, events.c.seq, events.c.hash).join(
        last, (last.c.subsidiary == events.c.subsidiary) & (last.c.seq == events.c.seq))
    for r in conn.execute(q):
        heads[r.subsidiary] = (r.seq, r.hash)
    return heads


def rebuild(conn: Connection) -> dict:
    """Replace every projection with a fresh fold over the log (inside the caller's write transaction)."""
    from ledger_service.journal.writer import upsert_balances

    computed = computed_balances(conn)
    conn.execute(balances.delete())
    upsert_balances(conn, {k: list(v) for k, v in computed.items()})
    for code, (seq, head) in computed_heads(conn).items():
        conn.execute(chain_heads.update().where(chain_heads.c.subsidiary == code).values(seq=seq, hash=head))
    return {"balance_rows": len(computed)}


def verify(conn: Connection) -> VerifyReport:
    report = VerifyReport()
    _verify_chains(conn, report)
    _verify_entries(conn, report)
    if stored_balances(conn) != computed_balances(conn):
        report.fail(None, "the daily balances differ from a rebuild over the postings; run `ledger-service rebuild`")
    stored_heads = {r.subsidiary: (r.seq, r.hash) for r in conn.execute(select(chain_heads))}
    if stored_heads != computed_heads(conn):
        report.fail(None, "a chain head differs from the last event of its subsidiary")
    return report


def _verify_chains(conn: Connection, report: VerifyReport) -> None:
    subs = [r.subsidiary for r in conn.execute(select(chain_heads.c.subsidiary).order_by(chain_heads.c.subsidiary))]
    for sub in subs:
        prev, expected_seq, after = GENESIS_HASH, 1, 0
        while True:
            rows = [dict(r) for r in conn.execute(
                select(events).where(events.c.subsidiary == sub, events.c.seq > after)
                .order_by(events.c.seq).limit(BATCH)).mappings()]
            if not rows:
                break
            entry_rows, posting_rows = _entries_of(conn, [r["id"] for r in rows])
            for ev in rows:
                report.events += 1
                e_rows = entry_rows.get(ev["id"], [])
                p_rows = [posting_rows.get(e["id"], []) for e in e_rows]
                if ev["seq"] != expected_seq:
                    report.fail(ev["id"], f"event {ev['id']} ({sub}): seq {ev['seq']}, expected {expected_seq}")
                elif ev["prev_hash"] != prev:
                    report.fail(ev["id"], f"event {ev['id']} ({sub}): prev_hash does not link to event seq {expected_seq - 1}")
                elif chain_hash(prev, chain_record(ev, e_rows, p_rows)) != ev["hash"]:
                    report.fail(ev["id"], f"event {ev['id']} ({sub}, seq {ev['seq']}, {ev['kind']} "
                                          f"{ev['idempotency_key']!r}): content does not match its hash: "
                                          f"the event or its entries were changed after they were written")
                prev, expected_seq, after = ev["hash"], ev["seq"] + 1, ev["seq"]
            if report.first_broken_event is not None:
                break


def _entries_of(conn: Connection, event_ids: list[int]) -> tuple[dict, dict]:
    entry_rows: dict[int, list[dict]] = {}
    ids = []
    for r in conn.execute(select(entries).where(entries.c.event_id.in_(event_ids)).order_by(entries.c.id)).mappings():
        entry_rows.setdefault(r["event_id"], []).append(dict(r))
        ids.append(r["id"])
    posting_rows: dict[int, list[dict]] = {}
    if ids:
        q = (select(postings, accounts.c.name.label("account")).join(accounts, accounts.c.id == postings.c.account_id)
             .where(postings.c.entry_id.in_(ids)).order_by(postings.c.id))
        for r in conn.execute(q).mappings():
            posting_rows.setdefault(r["entry_id"], []).append(dict(r))
    return entry_rows, posting_rows


def _verify_entries(conn: Connection, report: VerifyReport) -> None:
    q = (
        select(entries.c.id, entries.c.event_id, func.count(postings.c.id), func.sum(postings.c.amount),
               func.sum(postings.c.functional_amount))
        .join(postings, postings.c.entry_id == entries.c.id, isouter=True)
        .group_by(entries.c.id, entries.c.event_id)
    )
    for entry_id, event_id, count, amount, functional in conn.execute(q):
        report.entries += 1
        if count < 2:
            report.fail(event_id, f"entry {entry_id} (event {event_id}) has {count} posting(s)")
        elif int(amount) != 0 or int(functional) != 0:
            report.fail(event_id, f"entry {entry_id} (event {event_id}) does not balance: sums {amount} / {functional} minor units")
    units = (select(postings.c.id, postings.c.quantity, postings.c.cost_per_unit, postings.c.amount, entries.c.currency,
                    entries.c.event_id).join(entries, entries.c.id == postings.c.entry_id)
             .where(postings.c.cost_per_unit.is_not(None)))
    for pid, qty, cost, amount, currency, event_id in conn.execute(units):
        exp = currency_exponent(currency)
        if round_money(Decimal(qty) * Decimal(cost), currency) != from_minor(amount, exp):
            report.fail(event_id, f"posting {pid} (event {event_id}): {qty} units at {cost} is not worth {from_minor(amount, exp)}")
