"""Closing and reopening periods: the checks a controller runs first, and the events that record who did it.

Closing a month is a fact in the subsidiary's log (`period_closed`: the period, who, why, whether it was forced,
what the checks found, the revaluation it posted); reopening one is another (`period_reopened`, with its reason).
The `periods` table is their projection, written in the same transaction; journal.writer reads it under the
chain-head lock, which close takes first, so no entry slips into a month between its checks and its lock.

Before closing, the checks (`close_checks`): the trial balance as of the period's last day is zero in the
functional currency and per currency; no settlement that started by the period's end is in `difference`; and the
exception queue's open items dated by then are listed (amounts in suspense, and inventory ledger rows that
posted nothing: `inventory_exceptions`). The first two refuse the close unless it is forced with a reason; the
open items are listed on the close event, for the reviewer, and do not refuse it (they sit in suspense, visibly,
and `exceptions reclass` moves them later with entries in an open period; an inventory row posts, dated its own
day, when `exceptions retry-inventory` finds its cause fixed).

Closing also revalues the open foreign-currency balances at the period-end rate (fx.service), an entry dated the
last day reversed on the first day of the next period, before the period is locked.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Connection, func, select

from ledger_service.balances.queries import trial_balance
from ledger_service.chart.service import get_subsidiary, utcnow
from ledger_service.errors import Conflict, Invalid
from ledger_service.eventlog.model import EventDraft, Source, canonical_json
from ledger_service.exceptions.service import exceptions, inventory_exceptions
from ledger_service.inventory.settlement_units import unit_exceptions
from ledger_service.periods.model import bounds, parse_period, period_of
from ledger_service.store.tables import balances, events, periods

CLOSED, REOPENED = "period_closed", "period_reopened"
BLOCKING_STATUSES = ("difference",)  # a settlement whose cash does not tie refuses a close
MAX_REASON = 2000


def is_closed(conn: Connection, subsidiary: str, period: str) -> bool:
    row = conn.execute(select(periods.c.status).where(periods.c.subsidiary == subsidiary,
                                                      periods.c.period == period)).first()
    return row is not None and row.status == "closed"


def closed_periods(conn: Connection, subsidiary: str) -> frozenset[str]:
    return frozenset(r.period for r in conn.execute(
        select(periods.c.period).where(periods.c.subsidiary == subsidiary, periods.c.status == "closed")))


def list_periods(conn: Connection, subsidiary: str) -> list[dict]:
    """Every month from the subsidiary's first dated balance to its last (and any month ever closed), with its
    status and the event that set it: who, when, why."""
    get_subsidiary(conn, subsidiary)
    first, last = conn.execute(select(func.min(balances.c.day), func.max(balances.c.day))
                               .where(balances.c.subsidiary == subsidiary)).one()
    recorded = {r.period: r for r in conn.execute(select(periods).where(periods.c.subsidiary == subsidiary))}
    months = set(recorded)
    if first is not None:
        day = _as_date(first).replace(day=1)
        while day <= _as_date(last):
            months.add(period_of(day))
            day = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    event_ids = [r.event_id for r in recorded.values()]
    by_id = {r.id: r for r in conn.execute(select(events.c.id, events.c.kind, events.c.recorded_at, events.c.actor,
                                                  events.c.payload).where(events.c.id.in_(event_ids)))}
    rows = []
    for period in sorted(months):
        row = recorded.get(period)
        event = by_id.get(row.event_id) if row is not None else None
        payload = json.loads(event.payload) if event is not None and event.payload else {}
        start, end = bounds(period)
        rows.append({"subsidiary": subsidiary, "period": period, "start": start.isoformat(), "end": end.isoformat(),
                     "status": row.status if row is not None else "open",
                     "changed_at": _iso(row.changed_at) if row is not None else None,
                     "by": (event.actor or "cli") if event is not None else None,
                     "reason": payload.get("reason"), "forced": payload.get("forced"),
                     "event_id": row.event_id if row is not None else None})
    return rows


def close_checks(conn: Connection, subsidiary: str, period: str) -> dict:
    """What a controller checks before closing: {"problems": [...], "trial_balance": ..., "settlements": [...],
    "exceptions": [...], "inventory_exceptions": [...]}; a problem refuses the close unless forced."""
    from ledger_service.settlements.reconcile import settlements  # reconcile imports much of the ledger

    _, end = bounds(period)
    problems = []
    tb = trial_balance(conn, subsidiary, end)
    if Decimal(tb["functional_total"]) != 0:
        problems.append(f"the trial balance as of {end} is {tb['functional_total']} {tb['functional_currency']}, "
                        "not zero")
    for total in tb["totals"]:
        if Decimal(total["balance"]) != 0:
            problems.append(f"the trial balance as of {end} is {total['balance']} in {total['commodity']}, not zero")
    unsettled = [s for s in settlements(conn, subsidiary)
                 if s["status"] in BLOCKING_STATUSES and _starts_by(s, end)]
    for s in unsettled:
        problems.append(f"settlement {s['settlement_id']} is in `{s['status']}` (clearing {s['clearing']}, "
                        f"deposit difference {s['deposit_difference']} {s['currency']})")
    open_items = [e for e in exceptions(conn, subsidiary) if e["date"] <= end.isoformat()]
    open_units = [e for e in inventory_exceptions(conn, subsidiary)
                  if e["status"] == "open" and e["date"] <= end.isoformat()]
    open_sales = [e for e in unit_exceptions(conn, subsidiary) if e["date"] <= end.isoformat()]
    return {"problems": problems,
            "trial_balance": {"as_of": end.isoformat(), "functional_total": tb["functional_total"],
                              "totals": tb["totals"]},
            "settlements_in_difference": [s["settlement_id"] for s in unsettled],
            "exceptions": [{"event_id": e["event_id"], "posting_id": e["posting_id"], "amazon_type": e["amazon_type"],
                            "amount": e["amount"], "currency": e["currency"], "date": e["date"]} for e in open_items],
            "inventory_exceptions": [{k: e[k] for k in ("event_id", "kind", "date", "location", "sku", "msku", "fnsku",
                                                        "quantity", "message")} for e in open_units],
            "settlement_unit_exceptions": [{k: e[k] for k in ("event_id", "kind", "date", "order_id", "sku", "units",
                                                              "marketplace", "message")} for e in open_sales]}


def close_period(conn: Connection, subsidiary: str, period: str, *, actor: str | None = None,
                 reason: str | None = None, force: bool = False) -> dict:
    """Close a period inside the caller's write transaction: lock, check, revalue, record, lock the month."""
    from ledger_service.journal.writer import lock_chain_heads, post_batch

    period = parse_period(period)
    reason = _reason(reason, required=force)
    get_subsidiary(conn, subsidiary)
    lock_chain_heads(conn, [subsidiary])  # before the checks: no writer posts into the month until we commit
    if is_closed(conn, subsidiary, period):
        raise Conflict(f"period {period} of {subsidiary} is already closed; `reopen` it first to change it")
    start, end = bounds(period)
    if end >= utcnow().date():
        raise Invalid(f"period {period} has not ended (its last day is {end}); close it from {end.replace(day=1)} "
                      "of the next month on")  # entries of its remaining days would all be late
    earlier = [p["period"] for p in list_periods(conn, subsidiary) if p["period"] < period and p["status"] == "open"]
    if earlier:  # as NetSuite's period close: in order, so a closed month never follows an open one
        raise Invalid(f"period {period} of {subsidiary} cannot close before {', '.join(earlier)}: close periods in "
                      f"order, {earlier[0]} first")
    checks = close_checks(conn, subsidiary, period)
    if checks["problems"] and not force:
        raise Invalid(f"period {period} of {subsidiary} cannot close: " + "; ".join(checks["problems"])
                      + ". Fix them, or close anyway with --force --reason TEXT")
    count = _count(conn, subsidiary, CLOSED, period) + 1
    revaluation = _revalue(conn, subsidiary, period, str(count), actor)
    payload = {"period": period, "reason": reason, "forced": bool(force and checks["problems"]),
               "checks": checks, "revaluation": revaluation}
    event_id = _record(conn, subsidiary, CLOSED, f"period:{period}:close:{count}", payload, actor, post_batch)
    _project(conn, subsidiary, period, "closed", event_id)
    return {"subsidiary": subsidiary, "period": period, "status": "closed", "event_id": event_id, **payload}


def reopen_period(conn: Connection, subsidiary: str, period: str, *, reason: str | None,
                  actor: str | None = None) -> dict:
    """Reopen a closed period, with a reason (required): an event; entries may post into it again."""
    from ledger_service.journal.writer import lock_chain_heads, post_batch

    period = parse_period(period)
    reason = _reason(reason, required=True)
    get_subsidiary(conn, subsidiary)
    lock_chain_heads(conn, [subsidiary])
    if not is_closed(conn, subsidiary, period):
        raise Conflict(f"period {period} of {subsidiary} is not closed")
    count = _count(conn, subsidiary, REOPENED, period) + 1
    payload = {"period": period, "reason": reason}
    event_id = _record(conn, subsidiary, REOPENED, f"period:{period}:reopen:{count}", payload, actor, post_batch)
    _project(conn, subsidiary, period, "open", event_id)
    return {"subsidiary": subsidiary, "period": period, "status": "open", "event_id": event_id, **payload}


def _revalue(conn: Connection, subsidiary: str, period: str, suffix: str, actor: str | None) -> dict | None:
    try:
        from ledger_service.fx.service import revalue_period
    except ImportError:  # pragma: no cover - the fx package arrives with foreign-currency posting
        return None
    return revalue_period(conn, subsidiary, period, suffix, actor)


def _record(conn: Connection, subsidiary: str, kind: str, key: str, payload: dict, actor: str | None,
            post_batch) -> int:
    now = utcnow().replace(microsecond=0)
    raw = canonical_json(payload)
    event = EventDraft(subsidiary=subsidiary, kind=kind, occurred_at=now, idempotency_key=key, raw=raw,
                       source=Source(system="ledger", document=f"{kind} {payload['period']}"),
                       content={"raw": raw, "at": now.isoformat()}, payload=payload)
    return post_batch(conn, [(event, [])], actor=actor)[0].event_id


def _project(conn: Connection, subsidiary: str, period: str, status: str, event_id: int) -> None:
    values = {"status": status, "event_id": event_id, "changed_at": utcnow()}
    done = conn.execute(periods.update().where(periods.c.subsidiary == subsidiary, periods.c.period == period)
                        .values(**values)).rowcount
    if not done:
        conn.execute(periods.insert().values(subsidiary=subsidiary, period=period, **values))


def _count(conn: Connection, subsidiary: str, kind: str, period: str) -> int:
    prefix = f"period:{period}:{'close' if kind == CLOSED else 'reopen'}:"
    return conn.execute(select(func.count()).select_from(events).where(
        events.c.subsidiary == subsidiary, events.c.kind == kind,
        events.c.idempotency_key.like(prefix + "%"))).scalar()


def _reason(reason: str | None, required: bool) -> str | None:
    reason = (reason or "").strip() or None
    if required and reason is None:
        raise Invalid("a reason is required (--reason TEXT): it is recorded on the event with who gave it")
    if reason is not None and (len(reason) > MAX_REASON or not reason.isprintable()):
        raise Invalid(f"the reason must be printable text of at most {MAX_REASON} characters")
    return reason


def _starts_by(settlement: dict, end: date) -> bool:
    first = settlement.get("start") or settlement.get("end") or settlement.get("deposit_date")
    return first is None or str(first)[:10] <= end.isoformat()


def _as_date(value) -> date:
    return value if isinstance(value, date) and not isinstance(value, datetime) else date.fromisoformat(str(value)[:10])


def _iso(value) -> str | None:
    return value.isoformat(timespec="seconds") if isinstance(value, datetime) else value


def projection_problems(conn: Connection) -> list[str]:
    """`verify`: the periods table must be the fold of the close and reopen events (the latest one per period),
    so that a period opened behind the log's back (an UPDATE of the projection) is named."""
    folded: dict[tuple[str, str], tuple[str, int]] = {}
    for r in conn.execute(select(events.c.id, events.c.subsidiary, events.c.kind, events.c.payload)
                          .where(events.c.kind.in_((CLOSED, REOPENED))).order_by(events.c.id)):
        period = json.loads(r.payload)["period"]
        folded[(r.subsidiary, period)] = ("closed" if r.kind == CLOSED else "open", r.id)
    stored = {(r.subsidiary, r.period): (r.status, r.event_id) for r in conn.execute(select(periods))}
    problems = []
    for key in sorted(set(folded) | set(stored)):
        if folded.get(key) != stored.get(key):
            want = folded.get(key, ("open", None))
            problems.append(f"period {key[1]} of {key[0]}: the periods table says {stored.get(key, ('open', None))}, "
                            f"its events say {want} (status, event)")
    return problems


def rebuild_projection(conn: Connection) -> dict:
    """Replace the periods table with the fold of the close and reopen events (inside the caller's transaction)."""
    conn.execute(periods.delete())
    latest: dict[tuple[str, str], tuple[str, int, datetime]] = {}
    for r in conn.execute(select(events.c.id, events.c.subsidiary, events.c.kind, events.c.payload,
                                 events.c.recorded_at).where(events.c.kind.in_((CLOSED, REOPENED)))
                          .order_by(events.c.id)):
        latest[(r.subsidiary, json.loads(r.payload)["period"])] = (
            "closed" if r.kind == CLOSED else "open", r.id, r.recorded_at)
    for (sub, period), (status, event_id, at) in sorted(latest.items()):
        conn.execute(periods.insert().values(subsidiary=sub, period=period, status=status, event_id=event_id,
                                             changed_at=at))
    return {"periods": len(latest)}
