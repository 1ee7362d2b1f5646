"""Revalue a period's open foreign-currency balances, and reverse the revaluation at the start of the next period.

`revalue_period` reads the posted balances as of the period's last day (the daily aggregates, through
balances.queries), keeps the monetary ones in a currency other than the functional one (fx.revaluation), reads the
period-end rate of each currency (rates.service.rate_on: that day's, else the latest within the fallback window,
the inverse or a cross rate), and posts, in the caller's transaction:

- event `fx_revaluation` (key `fx-revaluation:{period}:{key_suffix}`): one entry per currency dated the last day;
- event `fx_revaluation_reversal` (key `fx-revaluation-reversal:{period}:{key_suffix}`): each of those entries
  reversed exactly (journal.model.reversal_of), dated the first day of the next period.

Called again for the same period (reopened, then closed again) with another key_suffix, it revalues only what is
still off: the first revaluation is dated in the period, so the balances it reads already include it, while its
reversal is dated in the next. With nothing to revalue it posts nothing. A missing rate refuses the whole run
(Invalid, naming the pair and the day), before anything is posted.

Call it before the period is marked closed: the writer moves entries dated in a closed period to the next open one.
"""

from __future__ import annotations

from datetime import datetime, time

from sqlalchemy import Connection

from ledger_service.balances.queries import balance_rows
from ledger_service.chart.service import get_subsidiary
from ledger_service.errors import Invalid, NotFound
from ledger_service.eventlog.model import EventDraft, Source, canonical_json
from ledger_service.fx.revaluation import OpenBalance, is_monetary, revaluation_entries, revaluation_lines
from ledger_service.journal.model import reversal_of
from ledger_service.journal.writer import post_batch
from ledger_service.money import is_currency
from ledger_service.periods.model import bounds, next_start, parse_period
from ledger_service.rates.service import rate_on


def open_balances(conn: Connection, subsidiary: str, functional_currency: str, as_of) -> list[OpenBalance]:
    """Posted balances of monetary accounts in a foreign currency as of a day (pending ones are provisional)."""
    result = []
    for row in balance_rows(conn, subsidiary, as_of):
        commodity = row["commodity"]
        if commodity == functional_currency or not is_monetary(row["account"], row["type"], is_currency(commodity)):
            continue
        if row["balance"] or row["functional_balance"]:
            result.append(OpenBalance(row["account"], commodity, row["balance"], row["functional_balance"]))
    return result


def revalue_period(conn: Connection, subsidiary: str, period: str, key_suffix: str, actor: str | None = None) -> dict:
    """Post the period's revaluation and its reversal; {period, as_of, lines, entries, reversal_entries}."""
    period = parse_period(period)
    first, last = bounds(period)
    reversal_day = next_start(first)
    functional = get_subsidiary(conn, subsidiary).functional_currency
    balances = open_balances(conn, subsidiary, functional, last)
    rates = {}
    for currency in sorted({b.currency for b in balances}):
        try:
            rates[currency] = rate_on(conn, currency, functional, last).rate
        except NotFound as exc:
            raise Invalid(f"cannot revalue subsidiary {subsidiary}'s {currency} balances for {period}: no "
                          f"{currency}->{functional} rate for {last.isoformat()} ({exc.message}); nothing was "
                          "posted") from None
    lines = revaluation_lines(balances, rates, functional)
    summary = {"period": period, "as_of": last.isoformat(), "lines": [line.as_dict() for line in lines],
               "entries": [], "reversal_entries": []}
    if not lines:
        return summary
    drafts = revaluation_entries(subsidiary, last, functional, lines)
    payload = {"period": period, "as_of": last.isoformat(), "lines": summary["lines"]}
    event = EventDraft(subsidiary=subsidiary, kind="fx_revaluation", occurred_at=datetime.combine(last, time()),
                       idempotency_key=f"fx-revaluation:{period}:{key_suffix}", raw=canonical_json(payload),
                       source=Source(system="ledger", document=f"fx revaluation {period}"), payload=payload)
    [posted] = post_batch(conn, [(event, drafts)], actor)
    reason = f"FX revaluation of {period} reversed at the start of the next period"
    reversals = [reversal_of(draft, reversal_day, reason, entry_id)
                 for draft, entry_id in zip(drafts, posted.entry_ids)]
    undo = {"period": period, "date": reversal_day.isoformat(), "reverses": list(posted.entry_ids)}
    reversal_event = EventDraft(subsidiary=subsidiary, kind="fx_revaluation_reversal",
                                occurred_at=datetime.combine(reversal_day, time()),
                                idempotency_key=f"fx-revaluation-reversal:{period}:{key_suffix}",
                                raw=canonical_json(undo), payload=undo,
                                source=Source(system="ledger", document=f"fx revaluation {period}"))
    [reversed_] = post_batch(conn, [(reversal_event, reversals)], actor)
    return summary | {"entries": list(posted.entry_ids), "reversal_entries": list(reversed_.entry_ids)}
