"""Accounting periods: months that close, and where an entry dated in a closed month goes.

The problem: once a controller has closed October and sent it to the ERP, October must not change under them. But
Amazon keeps sending October facts in November (a late settlement, a provisional event made final). Dropping them
would lose money; posting them into October would change a closed, exported month. So a closed period takes no
entries: a late entry is either moved into the first open period with its own date kept on the entry
(`original_date`), or refused, its event kept in the log without entries and listed in the exception queue; which
one is the subsidiary's `late_entries` setting. A reversal (a correction, or the void of a provisional entry) is
always moved, never refused: refusing a correction would leave the ledger counting something twice.

Pure: no I/O. The writer (journal.writer) applies `place` to every entry under the chain-head lock.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, timedelta

from ledger_service import limits
from ledger_service.errors import Invalid

LATE_POLICIES = ("next_open", "refuse")
DEFAULT_LATE_POLICY = "next_open"
_PERIOD = re.compile(r"^(\d{4})-(\d{2})$")


def parse_period(text: str) -> str:
    """A period as written by a person ("2026-10"), checked: a month between limits.EARLIEST and LATEST."""
    match = _PERIOD.match(str(text).strip())
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise Invalid(f"period {text!r} is not a month written YYYY-MM (for example 2026-10)")
    first = date(int(match.group(1)), int(match.group(2)), 1)
    if not limits.EARLIEST <= first <= limits.LATEST:
        raise Invalid(f"period {text} is outside {limits.EARLIEST:%Y-%m}..{limits.LATEST:%Y-%m}")
    return f"{first:%Y-%m}"


def period_of(day: date) -> str:
    return f"{day:%Y-%m}"


def bounds(period: str) -> tuple[date, date]:
    """First and last day of a period."""
    first = date(int(period[:4]), int(period[5:7]), 1)
    return first, next_start(first) - timedelta(days=1)


def next_start(day: date) -> date:
    """The first day of the month after `day`'s."""
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def next_period(period: str) -> str:
    return period_of(next_start(bounds(period)[0]))


def first_open_day(day: date, closed: frozenset[str] | set[str]) -> date:
    """`day` itself when its period is open, else the first day of the first open period after it."""
    while period_of(day) in closed:
        day = next_start(day)
    return day


class Refused(Exception):
    """An entry dated in a closed period, under the `refuse` policy."""

    def __init__(self, period: str, day: date):
        super().__init__(f"dated {day.isoformat()}, in closed period {period}")
        self.period, self.day = period, day


def refusal(entries, closed: frozenset[str] | set[str], policy: str) -> Refused | None:
    """What `place` would refuse of `entries` (the first one's Refused), or None when they all post. A posting run
    that folds a state over its facts asks before it keeps the state a refused entry would leave behind."""
    for entry in entries:
        try:
            place(entry, closed, policy)
        except Refused as refused:
            return refused
    return None


def place(entry, closed: frozenset[str] | set[str], policy: str):
    """The entry as it posts: unchanged in an open period; moved to the first open day with `original_date` kept;
    or Refused (policy `refuse`, not a reversal)."""
    period = period_of(entry.date)
    if period not in closed:
        return entry
    if policy == "refuse" and entry.reverses_entry_id is None:
        raise Refused(period, entry.date)
    return replace(entry, date=first_open_day(entry.date, closed), original_date=entry.original_date or entry.date)
