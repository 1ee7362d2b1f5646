"""Manual journals: a controller's adjustment, as JSON, becomes an event of kind `manual_journal` and its entry.

The same JSON goes to `POST /journal-entries` and `ledger-service post FILE.json`. Amounts are decimal strings;
positive debits, negative credits (beancount's convention). A posting may carry units of a SKU at a cost:
`{"account": "Assets:Inventory:FBA:Available", "units": "10", "sku": "NX-HD-1200", "cost": "5.00"}`.
"""

from __future__ import annotations

from datetime import date, datetime

from ledger_service import limits
from ledger_service.errors import Invalid
from ledger_service.eventlog.model import EventDraft, Source, canonical_json
from ledger_service.journal.model import DIMENSIONS, EntryDraft, Posting, dims
from ledger_service.money import parse_decimal, round_money

REQUIRED = ("subsidiary", "date", "currency", "description", "idempotency_key", "postings")


def parse_manual_journal(body: dict, document: str | None = None) -> tuple[EventDraft, EntryDraft]:
    if not isinstance(body, dict):
        raise Invalid("a manual journal is a JSON object")
    missing = [k for k in REQUIRED if k not in body or body[k] in (None, "")]
    if missing:
        raise Invalid(f"manual journal is missing {', '.join(missing)}")
    try:
        on = date.fromisoformat(str(body["date"]))
    except ValueError:
        raise Invalid(f"date {body['date']!r} must be YYYY-MM-DD") from None
    currency = str(body["currency"]).upper()
    rate = parse_decimal(body.get("rate", "1"), "rate")
    for field in ("subsidiary", "description", "idempotency_key"):
        _check_text(body[field], field)
    if not isinstance(body["postings"], list):
        raise Invalid("postings must be a list")
    postings = tuple(_posting(i, p, currency) for i, p in enumerate(body["postings"], start=1))
    entry = EntryDraft(
        subsidiary=str(body["subsidiary"]),
        date=on,
        currency=currency,
        description=str(body["description"]),
        postings=postings,
        rate=rate,
    )
    event = EventDraft(
        subsidiary=entry.subsidiary,
        kind="manual_journal",
        occurred_at=datetime.combine(on, datetime.min.time()),
        idempotency_key=str(body["idempotency_key"]),
        raw=canonical_json(body),
        source=Source(system="manual", document=document),
        content=body,
    )
    return event, entry


def _check_text(value: object, field: str, column: str | None = None) -> None:
    """Within its column's length (limits.MAX_LENGTH) and free of control characters."""
    try:
        limits.check_text(str(value), field, limits.MAX_LENGTH.get(column or field))
    except ValueError as exc:
        raise Invalid(str(exc)) from None


def _posting(i: int, p: object, currency: str) -> Posting:
    if not isinstance(p, dict) or "account" not in p:
        raise Invalid(f"posting {i} needs an account")
    for field in ("account", *DIMENSIONS):
        if p.get(field) is not None:
            _check_text(p[field], f"posting {i} {field}", field)
    known = {"account", "amount", "units", "sku", "cost", "dimensions", *DIMENSIONS}
    unknown = set(p) - known
    if unknown:
        raise Invalid(f"posting {i}: unknown field(s) {', '.join(sorted(unknown))}")
    extra = p.get("dimensions") or {}
    if not isinstance(extra, dict):
        raise Invalid(f"posting {i}: dimensions must be an object")
    dimensions = dims(**{k: p.get(k) for k in DIMENSIONS if k != "sku"}, **{k: str(v) for k, v in extra.items()})
    if "units" in p:
        if "sku" not in p or "cost" not in p:
            raise Invalid(f"posting {i}: units need a sku and a cost per unit")
        units = parse_decimal(p["units"], f"posting {i} units")
        cost = parse_decimal(p["cost"], f"posting {i} cost")
        amount = round_money(units * cost, currency)
        if "amount" in p and parse_decimal(p["amount"], f"posting {i} amount") != amount:
            raise Invalid(f"posting {i}: amount {p['amount']} is not units x cost = {amount}")
        return Posting(
            account=str(p["account"]), amount=amount, units=units, commodity=str(p["sku"]),
            cost_per_unit=cost, dimensions=tuple(sorted(dimensions + (("sku", str(p["sku"])),))),
        )
    if "amount" not in p:
        raise Invalid(f"posting {i} needs an amount")
    amount = parse_decimal(p["amount"], f"posting {i} amount")
    sku = p.get("sku")
    return Posting(account=str(p["account"]), amount=amount,
                   dimensions=tuple(sorted(dimensions + ((("sku", str(sku)),) if sku else ()))))
