"""Pure: a period's postings -> NetSuite journals, and what a re-export after a change must carry.

Journals are in the subsidiary's functional currency: each line is the sum of its postings' functional amounts.
Postings are grouped into journals per settlement (entries without one per day), per day or per period; within a
journal they are summed per NetSuite target (account, department, class, location, name, segments): the net is a
debit when positive, a credit when negative, and a zero line is dropped. A line has at most two decimals; when
the functional currency has more (KWD, BHD), each line is rounded (to_netsuite, the one rounding rule here, half
up as money.round_money) and the journal's residue is its own line on the mapping's rounding account.

The export is versioned per base external id (see `step`): the first export of a journal carries it under its base
id; a later export where it changed carries the reversal of what was sent (`-R<n>`) and a replacement (`-V<n+1>`),
a journal that vanished only its reversal, and unchanged journals nothing.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from dataclasses import dataclass, replace
import datetime as dt
from decimal import Decimal
from typing import NamedTuple

from ledger_service.errors import Invalid
from ledger_service.export.netsuite.mapping import Mapping, Target
from ledger_service.money import currency_exponent, fmt, from_minor, round_places
from ledger_service.periods.model import bounds, parse_period

SUMMARIES = ("settlement", "day", "period")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


class PostingRow(NamedTuple):
    """A posting as the export reads it: amounts in minor units (transaction currency and functional). A
    NamedTuple: a month of a large seller is a million of them."""

    posting_id: int
    entry_id: int
    event_id: int
    date: dt.date
    account: str
    currency: str  # the entry's transaction currency
    amount: int
    functional: int
    dims: tuple[tuple[str, str], ...] = ()  # marketplace, settlement_id, order_id, sku, location when set


@dataclass(frozen=True)
class Line:
    target: Target
    amount: Decimal  # signed, two places: positive is a debit
    memo: str
    postings: tuple[int, ...] = ()  # ids of the postings summed into it (none for the rounding line)
    rounding: bool = False

    @property
    def debit(self) -> Decimal | None:
        return self.amount if self.amount > 0 else None

    @property
    def credit(self) -> Decimal | None:
        return -self.amount if self.amount < 0 else None


@dataclass(frozen=True)
class Journal:
    external_id: str
    base_id: str
    date: dt.date
    memo: str
    lines: tuple[Line, ...]
    kind: str = "journal"  # journal | reversal | replacement
    version: int = 1
    sign: int = 1  # -1 for a reversal: its lines are the negated lines of the postings they trace to

    def signature(self) -> tuple:
        """What NetSuite holds of it (not the posting ids): equal signatures need no correction."""
        return (self.date, self.memo, tuple((l.target.key(), l.amount, l.memo, l.rounding) for l in self.lines))

    @property
    def debits(self) -> Decimal:
        return sum((l.amount for l in self.lines if l.amount > 0), Decimal("0.00"))

    @property
    def credits(self) -> Decimal:
        return sum((-l.amount for l in self.lines if l.amount < 0), Decimal("0.00"))


def to_netsuite(amount: Decimal) -> Decimal:
    """An amount as NetSuite takes it: two decimals, rounded half up (money.round_money's rule)."""
    return round_places(amount, 2)


def period_name(period: str) -> str:
    """NetSuite's name of a posting period: "Oct 2026" (English month abbreviations, whatever the locale)."""
    return f"{MONTHS[int(period[5:7]) - 1]} {period[:4]}"


def safe_id(text: str) -> str:
    """Only letters, digits, `_` and `-`; when anything had to be replaced, a short hash of the original keeps two
    different values apart."""
    cleaned = _UNSAFE.sub("_", text)[:80]
    if cleaned != text:
        cleaned += "-" + hashlib.sha256(text.encode()).hexdigest()[:8]
    return cleaned


def base_prefix(subsidiary: str, period: str) -> str:
    return f"LS-{safe_id(subsidiary)}-{period}"


def build(rows: list[PostingRow], *, subsidiary: str, period: str, functional_currency: str, summary: str,
          mapping: Mapping) -> list[Journal]:
    """The period's journals, sorted by external id. `rows` are the postings of posted entries of the period."""
    if summary not in SUMMARIES:
        raise Invalid(f"summary {summary!r}: use one of {', '.join(SUMMARIES)}")
    mapping.check_accounts({r.account for r in rows}, f"{subsidiary} {period}")
    exp = currency_exponent(functional_currency)
    by_entry: dict[int, list[PostingRow]] = defaultdict(list)
    for row in rows:
        by_entry[row.entry_id].append(row)
    groups: dict[tuple, list[PostingRow]] = defaultdict(list)
    for entry_rows in by_entry.values():
        groups[_group(summary, entry_rows)].extend(entry_rows)
    prefix = base_prefix(subsidiary, period)
    last_day = bounds(period)[1]
    targets: dict[tuple, Target] = {}
    journals = []
    for key, group_rows in groups.items():
        if key[0] == "S":
            suffix, day = f"S-{safe_id(key[1])}", max(r.date for r in group_rows)
            memo = f"Amazon settlement {key[1]}: {subsidiary} {period_name(period)}"
        elif key[0] == "D":
            suffix, day = f"D-{key[1]:%Y%m%d}", key[1]
            memo = f"Ledger {subsidiary} {key[1].isoformat()}"
        else:
            suffix, day = "P", last_day
            memo = f"Ledger {subsidiary} {period_name(period)}"
        lines = _lines(group_rows, mapping, functional_currency, exp, targets)
        if lines:
            external_id = f"{prefix}-{suffix}"
            journals.append(Journal(external_id, external_id, day, memo, lines))
    return sorted(journals, key=lambda j: j.external_id)


def _group(summary: str, entry_rows: list[PostingRow]) -> tuple:
    if summary == "period":
        return ("P",)
    if summary == "settlement":
        settlements = sorted({v for r in entry_rows for k, v in r.dims if k == "settlement_id"})
        if settlements:
            return ("S", settlements[0])
    return ("D", entry_rows[0].date)


def _lines(rows: list[PostingRow], mapping: Mapping, functional: str, exp: int,
           targets: dict[tuple, Target]) -> tuple[Line, ...]:
    sums: dict[tuple, list] = {}
    mapped = {dimension for dimension, _ in mapping.dimensions}  # the only dimensions a target depends on
    for row in rows:
        cache_key = (row.account, tuple(d for d in row.dims if d[0] in mapped))
        target = targets.get(cache_key)
        if target is None:
            target = targets[cache_key] = mapping.target(row.account, dict(cache_key[1]))
        acc = sums.setdefault(target.key(), [target, 0, defaultdict(int), set(), []])
        acc[1] += row.functional
        if row.currency != functional:
            acc[2][row.currency] += row.amount
        acc[3].add(row.account)
        acc[4].append(row.posting_id)
    if sum(acc[1] for acc in sums.values()) != 0:  # the writer balances every entry: a broken invariant
        raise Invalid(f"postings of entries {sorted({r.entry_id for r in rows})} do not balance in {functional}")
    lines = []
    for key in sorted(sums):
        target, total, foreign, ours, posting_ids = sums[key]
        amount = to_netsuite(from_minor(total, exp))
        if amount:
            lines.append(Line(target, amount, _memo(ours, foreign), tuple(sorted(posting_ids))))
    residue = -sum((l.amount for l in lines), Decimal("0.00"))
    if residue:
        target = mapping.target(mapping.rounding_account, {})
        lines.append(Line(target, residue, f"Rounding of {functional} lines to 2 decimals", (), rounding=True))
    return tuple(lines)


def _memo(ours: set[str], foreign: dict[str, int]) -> str:
    memo = ", ".join(sorted(ours))
    if any(foreign.values()):
        memo += "; " + ", ".join(f"{c} {fmt(from_minor(a, currency_exponent(c)))}"
                                 for c, a in sorted(foreign.items()) if a)
    return memo


def version_id(base_id: str, version: int) -> str:
    return base_id if version == 1 else f"{base_id}-V{version}"


def step(state: dict[str, tuple[int, Journal | None]], journals: list[Journal]) -> list[Journal]:
    """What one export carries, given what the earlier ones sent (`state`: base id -> (version, the base journal
    sent, None once reversed); updated in place)."""
    new = {j.base_id: j for j in journals}
    emitted: list[Journal] = []
    for base in sorted(set(state) | set(new)):
        current = new.get(base)
        version, sent = state.get(base, (0, None))
        if sent is None and current is None:
            continue
        if sent is not None and current is not None and sent.signature() == current.signature():
            continue
        if sent is not None:
            emitted.append(reversal(sent, version))
        if current is None:
            state[base] = (version, None)
            continue
        emitted.append(current if version == 0 else replacement(current, version + 1))
        state[base] = (version + 1, current)
    return emitted


def reversal(sent: Journal, version: int) -> Journal:
    """Undo version `version` of a journal: its lines with debit and credit swapped, on its own date."""
    lines = tuple(replace(l, amount=-l.amount) for l in sent.lines)
    return Journal(f"{sent.base_id}-R{version}", sent.base_id, sent.date,
                   f"Reversal of {version_id(sent.base_id, version)}: {sent.memo}", lines, "reversal", version, -1)


def replacement(journal: Journal, version: int) -> Journal:
    return replace(journal, external_id=version_id(journal.base_id, version),
                   memo=f"{journal.memo} (version {version})", kind="replacement", version=version)


def parse_external_id(external_id: str) -> tuple[str, str]:
    """(subsidiary, period) of one of our external ids; Invalid for anything else."""
    match = re.match(r"^LS-([A-Za-z0-9_]+)-(\d{4}-\d{2})-", external_id)
    if not match:
        raise Invalid(f"{external_id!r} is not an external id of this ledger's NetSuite export "
                      "(LS-<subsidiary>-<YYYY-MM>-...)")
    return match.group(1), parse_period(match.group(2))
