"""Rebuild and verify: the projections must equal a fold over the log, and the log must be what was written.

The triggers refuse changes to the log, but a database superuser can drop or disable them, change rows, and put
them back. `verify` is what finds that afterwards. It checks, and names the first broken event when one fails:
  - each subsidiary's hash chain recomputed from the stored rows (seq contiguous, prev_hash linked, hash equal),
    each event with the version of the record it was hashed with (eventlog.model: version 2 covers every column
    and the identity of the account, commodity and subsidiary each posting refers to);
  - that an event's entries, their postings and the postings' accounts all belong to the event's subsidiary, and
    that no entry or posting hangs off a parent that does not exist (checked apart from the hash, so that it holds
    for events hashed before version 2 too);
  - every entry balanced per commodity weight and in functional currency, with at least two postings, and every
    units posting worth units x cost;
  - every guard trigger present and enabled (store.tables.GUARD_TRIGGERS);
  - the daily balances, the month-end balances and the chain heads equal a rebuild (a month-end row that differs
    is named, with its subsidiary, account, commodity, state and month, and whether the month is a closed period).
What the chain cannot show alone (its last events deleted and the head moved back, or the whole chain rewritten
with the public hash function) needs an anchor kept outside the database: see balances.checkpoint.

`rebuild` recomputes the daily and month-end balances and the chain heads from events, entries and postings (the
month-end rows from the daily ones by `month_ends`, independently of the writer's incremental upkeep); it first checks
the log and refuses over a broken one, because a rebuild would make the projections agree with the tampered rows
and move the chain heads to a truncated tail, erasing two of the signs verify reports.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import Connection, func, select, text

from ledger_service.balances.checkpoint import Checkpoint, compare, take
from ledger_service.chart.service import GENESIS_HASH
from ledger_service.errors import LedgerError
from ledger_service.eventlog.model import HASH_VERSIONS, chain_hash, chain_record
from ledger_service.money import currency_exponent, round_money, from_minor
from ledger_service.store.bulk import upsert_add
from ledger_service.store.tables import (GUARD_TRIGGERS, accounts, balances, chain_heads, commodities, entries, events,
                                         month_balances, periods, postings, subsidiaries)

BATCH = 2000  # events per read when walking the chain
SHOWN = 5  # month-end rows that differ, named one by one


@dataclass
class VerifyReport:
    events: int = 0
    entries: int = 0
    legacy_events: int = 0  # hashed with record version 1 (written before migration 0006)
    problems: list[str] = field(default_factory=list)
    first_broken_event: int | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def fail(self, event_id: int | None, message: str) -> None:
        if event_id is not None and (self.first_broken_event is None or event_id < self.first_broken_event):
            self.first_broken_event = event_id
        self.problems.append(message)


class BrokenLog(LedgerError):
    """The log fails verify's checks: an operation that would hide it (rebuild, a checkpoint) is refused."""

    status_code = 409
    kind = "broken_log"

    @classmethod
    def of(cls, report: VerifyReport, refused: str) -> "BrokenLog":
        where = f"first broken event {report.first_broken_event}: " if report.first_broken_event is not None else ""
        more = f" (and {len(report.problems) - 1} more problem(s); run `ledger-service verify`)" \
            if len(report.problems) > 1 else ""
        return cls(f"refusing to {refused} over a broken log: {where}{report.problems[0]}{more}")


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


def month_ends(daily: dict[tuple, tuple[int, int, int, int]]) -> dict[tuple, tuple[int, int, int, int]]:
    """The month-end balances of daily ones (keyed as computed_balances): per (subsidiary, account_id, commodity,
    weight_currency, state), the cumulative balance at the end of every month from the key's first month with a
    posting to the last month with a posting of its subsidiary, keyed by the month's first day."""
    movements: dict[tuple, dict[date, list[int]]] = defaultdict(dict)
    last: dict[str, date] = {}
    for key, values in daily.items():
        first = key[5].replace(day=1)
        moved = movements[key[:5]].setdefault(first, [0, 0, 0, 0])
        for i, v in enumerate(values):
            moved[i] += v
        last[key[0]] = max(last.get(key[0], first), first)
    out = {}
    for key, months in movements.items():
        month, total = min(months), (0, 0, 0, 0)
        while month <= last[key[0]]:
            if month in months:
                total = tuple(t + m for t, m in zip(total, months[month]))
            out[(*key, month)] = total
            month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return out


def stored_month_balances(conn: Connection) -> dict[tuple, tuple[int, int, int, int]]:
    mb = month_balances
    q = select(mb.c.subsidiary, mb.c.account_id, mb.c.commodity, mb.c.weight_currency, mb.c.state, mb.c.month,
               mb.c.quantity, mb.c.amount, mb.c.functional_amount, mb.c.postings)
    return {tuple(r[:6]): tuple(int(x) for x in r[6:]) for r in conn.execute(q)}


def computed_month_balances(conn: Connection) -> dict[tuple, tuple[int, int, int, int]]:
    return month_ends(computed_balances(conn))


def month_problems(conn: Connection, stored: dict[tuple, tuple], computed: dict[tuple, tuple]) -> list[str]:
    """The month-end rows that differ from the recomputation: a count, then the first SHOWN named."""
    differ = sorted((k for k in set(stored) | set(computed) if stored.get(k) != computed.get(k)),
                    key=lambda k: tuple(str(x) for x in k))
    if not differ:
        return []
    names = {r.id: r.name for r in conn.execute(select(accounts.c.id, accounts.c.name))}
    closed = {(r.subsidiary, r.period) for r in conn.execute(
        select(periods.c.subsidiary, periods.c.period).where(periods.c.status == "closed"))}
    problems = [f"{len(differ)} month-end balance row(s) differ from a rebuild over the postings; run "
                f"`ledger-service rebuild`"]
    for sub, account_id, commodity, weight, state, month in differ[:SHOWN]:
        key = (sub, account_id, commodity, weight, state, month)
        cost = f" at cost in {weight}" if commodity != weight else ""
        period = f"{month:%Y-%m}"
        note = " (a closed period)" if (sub, period) in closed else ""
        problems.append(f"month-end balance of {sub} {names.get(account_id, f'account {account_id}')} {commodity}"
                        f"{cost} ({state}) at the end of {period}{note}: stored {_values(stored.get(key))}, from the "
                        f"postings {_values(computed.get(key))}")
    if len(differ) > SHOWN:
        problems.append(f"... and {len(differ) - SHOWN} more month-end balance row(s)")
    return problems


def _values(values: tuple | None) -> str:
    if values is None:
        return "no row"
    quantity, amount, functional, count = values
    return f"quantity {quantity}, amount {amount}, functional {functional} (minor units), {count} posting(s)"


def computed_heads(conn: Connection) -> dict[str, tuple[int, str]]:
    """Each subsidiary's (seq, hash) of its last event, from the events themselves; (0, genesis) for none."""
    heads = {r.subsidiary: (0, GENESIS_HASH) for r in conn.execute(select(chain_heads.c.subsidiary))}
    last = select(events.c.subsidiary, func.max(events.c.seq).label("seq")).group_by(events.c.subsidiary).subquery()
    q = select(events.c.subsidiary, events.c.seq, events.c.hash).join(
        last, (last.c.subsidiary == events.c.subsidiary) & (last.c.seq == events.c.seq))
    for r in conn.execute(q):
        heads[r.subsidiary] = (r.seq, r.hash)
    return heads


def rebuild(conn: Connection) -> dict:
    """Replace every projection with a fresh fold over the log (inside the caller's write transaction), after
    checking the log: raises BrokenLog, naming the first broken event, rather than rebuild over a tampered one."""
    from ledger_service.journal.writer import BALANCE_KEYS, BALANCE_VALUES, MONTH_KEYS, balance_delta_rows

    report = verify_log(conn)
    if not report.ok:
        raise BrokenLog.of(report, "rebuild")
    computed = computed_balances(conn)
    months = month_ends(computed)
    conn.execute(balances.delete())
    conn.execute(month_balances.delete())
    upsert_add(conn, balances, BALANCE_KEYS, BALANCE_VALUES,
               balance_delta_rows({k: list(v) for k, v in computed.items()}))
    upsert_add(conn, month_balances, MONTH_KEYS, BALANCE_VALUES,
               [(*k, *v) for k, v in sorted(months.items(), key=lambda kv: tuple(str(x) for x in kv[0]))])
    for code, (seq, head) in computed_heads(conn).items():
        conn.execute(chain_heads.update().where(chain_heads.c.subsidiary == code).values(seq=seq, hash=head))
    result = {"balance_rows": len(computed), "month_balance_rows": len(months)}
    for _name, _problems, rebuild_one in _event_projections():
        result |= rebuild_one(conn)
    return result


def _event_projections():
    """The tables that are folds of configuration events (periods, catalog, locations and lanes), as
    (name, problems, rebuild) each: verify compares them with their fold, rebuild replaces them by it."""
    from ledger_service.catalog import service as catalog
    from ledger_service.locations import service as locations
    from ledger_service.periods import service as periods

    return (("periods", periods.projection_problems, periods.rebuild_projection),
            ("catalog", catalog.projection_problems, catalog.rebuild),
            ("locations", locations.projection_problems, locations.rebuild))


def verify(conn: Connection, checkpoint: Checkpoint | None = None) -> VerifyReport:
    """Everything: the log (verify_log), the guard triggers, the projections against a rebuild, and, given a
    checkpoint whose signature was checked (balances.checkpoint.read), that every chain still holds its heads."""
    report = verify_log(conn)
    if checkpoint is not None:
        for problem in compare(conn, checkpoint):
            report.fail(None, problem)
    for problem in guard_problems(conn):
        report.fail(None, problem)
    computed = computed_balances(conn)
    if stored_balances(conn) != computed:
        report.fail(None, "the daily balances differ from a rebuild over the postings; run `ledger-service rebuild`")
    for problem in month_problems(conn, stored_month_balances(conn), month_ends(computed)):
        report.fail(None, problem)
    stored_heads = {r.subsidiary: (r.seq, r.hash) for r in conn.execute(select(chain_heads))}
    if stored_heads != computed_heads(conn):
        report.fail(None, "a chain head differs from the last event of its subsidiary")
    for _name, problems, _rebuild in _event_projections():
        for problem in problems(conn):
            report.fail(None, f"{problem}; run `ledger-service rebuild`")
    return report


def anchor(conn: Connection) -> Checkpoint:
    """Where every chain stands now, to be signed and kept outside the database, after checking the log: raises
    BrokenLog rather than anchor tampered rows (a checkpoint vouches for everything up to its heads)."""
    report = verify_log(conn)
    if not report.ok:
        raise BrokenLog.of(report, "write a checkpoint")
    return take(conn)


def verify_log(conn: Connection) -> VerifyReport:
    """The log alone: hash chains, subsidiaries and parents of entries and postings, balanced entries."""
    report = VerifyReport()
    _verify_chains(conn, report)
    _verify_parents(conn, report)
    _verify_entries(conn, report)
    return report


def guard_problems(conn: Connection) -> list[str]:
    """Each guard trigger (store.tables.GUARD_TRIGGERS) that is missing, on the wrong table, disabled, or whose
    body no longer refuses anything. A catalogue check: a trigger rebuilt to look like the original is beyond it,
    which is why the chain hash covers what the triggers protect."""
    expected = GUARD_TRIGGERS[conn.dialect.name]
    if conn.dialect.name == "postgresql":
        rows = conn.execute(text(
            "SELECT t.tgname, c.relname, t.tgenabled, p.prosrc FROM pg_trigger t "
            "JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
            "JOIN pg_proc p ON p.oid = t.tgfoid WHERE NOT t.tgisinternal AND n.nspname = current_schema()"))
        # tgenabled: O fires normally, A always; D is disabled, R fires only under session_replication_role replica
        found = {r.tgname: (r.relname, r.tgenabled in ("O", "A"), "RAISE EXCEPTION" in r.prosrc.upper())
                 for r in rows}
    else:
        rows = conn.execute(text("SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger'"))
        found = {r.name: (r.tbl_name, True, "RAISE(ABORT" in (r.sql or "").upper().replace(" ", "")) for r in rows}
    problems = []
    for name, table in expected:
        if name not in found:
            problems.append(f"guard trigger {name} on {table} is missing: it was dropped behind the ledger's back "
                            f"(the migrations create it; changes made while it was gone show as broken events)")
            continue
        on, enabled, refuses = found[name]
        if on != table:
            problems.append(f"guard trigger {name} is on table {on}, not {table}")
        elif not enabled:
            problems.append(f"guard trigger {name} on {table} is disabled (ALTER TABLE {table} ENABLE TRIGGER {name})")
        elif not refuses:
            problems.append(f"guard trigger {name} on {table} no longer raises an error: it was replaced")
    return problems


def _verify_chains(conn: Connection, report: VerifyReport) -> None:
    functional = {r.code: r.functional_currency for r in conn.execute(
        select(subsidiaries.c.code, subsidiaries.c.functional_currency))}
    # chain_heads is a projection an attacker can edit: walk the subsidiaries too, and count what was walked
    subs = sorted({r.subsidiary for r in conn.execute(select(chain_heads.c.subsidiary))} | set(functional))
    for sub in subs:
        prev, expected_seq, after, version = GENESIS_HASH, 1, 0, HASH_VERSIONS[0]
        while True:
            rows = [dict(r) | {"functional_currency": functional.get(sub)} for r in conn.execute(
                select(events).where(events.c.subsidiary == sub, events.c.seq > after)
                .order_by(events.c.seq).limit(BATCH)).mappings()]
            if not rows:
                break
            entry_rows, posting_rows = _entries_of(conn, [r["id"] for r in rows])
            for ev in rows:
                report.events += 1
                e_rows = entry_rows.get(ev["id"], [])
                p_rows = [posting_rows.get(e["id"], []) for e in e_rows]
                where = f"event {ev['id']} ({sub}, seq {ev['seq']}"
                if ev["seq"] != expected_seq:
                    report.fail(ev["id"], f"event {ev['id']} ({sub}): seq {ev['seq']}, expected {expected_seq}")
                elif ev["prev_hash"] != prev:
                    report.fail(ev["id"], f"event {ev['id']} ({sub}): prev_hash does not link to event seq {expected_seq - 1}")
                else:
                    misplaced = _misplaced(sub, e_rows, p_rows)
                    if misplaced:
                        report.fail(ev["id"], f"{where}): {misplaced}")
                    matched = _hash_version(prev, ev, e_rows, p_rows, version)
                    if matched is None:
                        report.fail(ev["id"], f"{where}, {ev['kind']} {ev['idempotency_key']!r}): content does not "
                                              f"match its hash: the event, its entries or postings, or the accounts "
                                              f"or commodities they refer to were changed after they were written")
                    else:
                        version = matched
                        report.legacy_events += matched == 1
                prev, expected_seq, after = ev["hash"], ev["seq"] + 1, ev["seq"]
            if report.first_broken_event is not None:
                break
    if report.first_broken_event is None:
        total = conn.execute(select(func.count()).select_from(events)).scalar()
        if total != report.events:
            report.fail(None, f"{total - report.events} event(s) belong to no known subsidiary's chain")


def _hash_version(prev: str, ev: dict, e_rows: list[dict], p_rows: list[list[dict]], first: int) -> int | None:
    """The version of the record whose hash is the event's stored hash, trying `first` (the previous event's)
    first; None if none is. Trying each version is safe: records of different versions never serialise alike, so
    a stored hash matches at most one, and tampering with what only version 2 covers breaks version 2's hash
    while version 1's was never the stored one."""
    for version in (first, *(v for v in HASH_VERSIONS if v != first)):
        if chain_hash(prev, chain_record(ev, e_rows, p_rows, version)) == ev["hash"]:
            return version
    return None


def _misplaced(sub: str, e_rows: list[dict], p_rows: list[list[dict]]) -> str | None:
    """The first entry, posting or account of the event that is not of its subsidiary, or refers to nothing."""
    for e, ps in zip(e_rows, p_rows):
        if e["subsidiary"] != sub:
            return f"entry {e['id']} is on subsidiary {e['subsidiary']}, its event on {sub}"
        for p in ps:
            if p["subsidiary"] != sub:
                return f"posting {p['id']} of entry {e['id']} is on subsidiary {p['subsidiary']}, its event on {sub}"
            if p["account"] is None:
                return f"posting {p['id']} of entry {e['id']} refers to account {p['account_id']}, which does not exist"
            if p["account_subsidiary"] != sub:
                return (f"posting {p['id']} of entry {e['id']} is on account {p['account']} of subsidiary "
                        f"{p['account_subsidiary']}, its event on {sub}")
            if p["commodity_kind"] is None:
                return f"posting {p['id']} of entry {e['id']} is in commodity {p['commodity']!r}, which does not exist"
    return None


def _entries_of(conn: Connection, event_ids: list[int]) -> tuple[dict, dict]:
    entry_rows: dict[int, list[dict]] = {}
    ids = []
    for r in conn.execute(select(entries).where(entries.c.event_id.in_(event_ids)).order_by(entries.c.id)).mappings():
        entry_rows.setdefault(r["event_id"], []).append(dict(r))
        ids.append(r["id"])
    posting_rows: dict[int, list[dict]] = {}
    if ids:
        # outer joins: a posting whose account or commodity is gone is reported (_misplaced), not silently skipped
        q = (select(postings, accounts.c.name.label("account"), accounts.c.type.label("account_type"),
                    accounts.c.subsidiary.label("account_subsidiary"), commodities.c.kind.label("commodity_kind"),
                    commodities.c.exponent.label("commodity_exponent"))
             .join(accounts, accounts.c.id == postings.c.account_id, isouter=True)
             .join(commodities, commodities.c.code == postings.c.commodity, isouter=True)
             .where(postings.c.entry_id.in_(ids)).order_by(postings.c.id))
        for r in conn.execute(q).mappings():
            posting_rows.setdefault(r["entry_id"], []).append(dict(r))
    return entry_rows, posting_rows


def _verify_parents(conn: Connection, report: VerifyReport) -> None:
    """Entries and postings whose parent is missing are outside every chain walk: name the first of each."""
    orphan = conn.execute(select(entries.c.id, entries.c.event_id)
                          .join(events, events.c.id == entries.c.event_id, isouter=True)
                          .where(events.c.id.is_(None)).order_by(entries.c.id).limit(1)).first()
    if orphan is not None:
        report.fail(None, f"entry {orphan.id} belongs to event {orphan.event_id}, which does not exist")
    orphan = conn.execute(select(postings.c.id, postings.c.entry_id)
                          .join(entries, entries.c.id == postings.c.entry_id, isouter=True)
                          .where(entries.c.id.is_(None)).order_by(postings.c.id).limit(1)).first()
    if orphan is not None:
        report.fail(None, f"posting {orphan.id} belongs to entry {orphan.entry_id}, which does not exist")


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
