"""Journals -> the bytes NetSuite takes: Journal Entry CSV import rows, or SuiteTalk REST upserts as JSON.

Both are deterministic (the same journals give the same bytes): UTF-8 without BOM, fixed column and key order,
amounts as plain decimals with two places (JSON numbers written from the Decimal, never through a float).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from decimal import Decimal

from ledger_service.export.netsuite.journals import Journal, Line, period_name
from ledger_service.export.netsuite.mapping import DATE_FORMATS

FORMATS = ("csv", "json")
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json"}
CSV_COLUMNS = ("External ID", "Date", "Subsidiary", "Currency", "Exchange Rate", "Posting Period", "Memo",
               "Account", "Debit", "Credit", "Line Memo", "Department", "Class", "Location", "Name")
EXCHANGE_RATE = Decimal("1.0")  # journals are in the subsidiary's functional currency
REST_PATH = "/record/v1/journalEntry/eid:{}"


@dataclass(frozen=True)
class Header:
    """What every journal of one export shares."""

    subsidiary_id: str
    currency: str  # ISO code of the functional currency
    currency_id: str | None  # its NetSuite internal id, when the mapping gives one
    period: str  # YYYY-MM
    date_format: str = "MM/DD/YYYY"
    segments: tuple[str, ...] = ()  # custom segment script ids: extra CSV columns, in this order


def render(fmt: str, journals: list[Journal], header: Header) -> bytes:
    return render_csv(journals, header) if fmt == "csv" else render_json(journals, header)


def render_csv(journals: list[Journal], header: Header) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([*CSV_COLUMNS, *header.segments])
    date_format = DATE_FORMATS[header.date_format]
    for journal in journals:
        head = [journal.external_id, journal.date.strftime(date_format), header.subsidiary_id,
                header.currency_id or header.currency, str(EXCHANGE_RATE), period_name(header.period), journal.memo]
        for line in journal.lines:
            t = line.target
            segments = dict(t.segments)
            writer.writerow([*head, t.account, _money(line.debit), _money(line.credit), line.memo, t.department,
                             t.klass, t.location, t.name, *(segments.get(s, "") for s in header.segments)])
    return out.getvalue().encode("utf-8")


def render_json(journals: list[Journal], header: Header) -> bytes:
    currency = {"id": header.currency_id} if header.currency_id else {"refName": header.currency}
    requests = [{"externalId": j.external_id, "method": "PUT", "path": REST_PATH.format(j.external_id),
                 "body": {"externalId": j.external_id, "subsidiary": {"id": header.subsidiary_id},
                          "currency": currency, "exchangeRate": EXCHANGE_RATE, "tranDate": j.date.isoformat(),
                          "postingPeriod": {"refName": period_name(header.period)}, "memo": j.memo,
                          "line": {"items": [_item(line) for line in j.lines]}}}
                for j in journals]
    return (dumps(requests) + "\n").encode("utf-8")


def _item(line: Line) -> dict:
    t = line.target
    item: dict = {"account": {"id": t.account_id}}
    item["debit" if line.amount > 0 else "credit"] = abs(line.amount)
    item["memo"] = line.memo
    for name, value in (("department", t.department), ("class", t.klass), ("location", t.location),
                        ("entity", t.name)):
        if value:
            item[name] = {"id": value}
    for name, value in t.segments:
        item[name] = {"id": value}
    return item


def _money(amount: Decimal | None) -> str:
    return "" if amount is None else format(amount, "f")


def dumps(value: object, indent: int = 0) -> str:
    """JSON with two-space indentation, keys in the order given, Decimals as exact numbers."""
    pad, inner = "  " * indent, "  " * (indent + 1)
    if isinstance(value, dict):
        if not value:
            return "{}"
        if not any(isinstance(v, (dict, list)) for v in value.values()):  # a reference such as {"id": "1"}
            return "{" + ", ".join(f"{json.dumps(k, ensure_ascii=False)}: {dumps(v)}" for k, v in value.items()) + "}"
        body = ",\n".join(f"{inner}{json.dumps(k, ensure_ascii=False)}: {dumps(v, indent + 1)}"
                          for k, v in value.items())
        return "{\n" + body + "\n" + pad + "}"
    if isinstance(value, list):
        if not value:
            return "[]"
        return "[\n" + ",\n".join(inner + dumps(v, indent + 1) for v in value) + "\n" + pad + "]"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, float):
        raise TypeError("money is never a float")
    return json.dumps(value, ensure_ascii=False)
