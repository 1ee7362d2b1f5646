"""A starter set of manual journals for the demo: opening balances, an accrual, a foreign invoice, a reversal.

Posted through the same path as any controller's journal (journal.manual), with fixed idempotency keys, so
running the demo twice changes nothing. Units at cost are not posted here: the demo's inventory (demo/inventory.py)
receives them as lots through the purchase receipt and inventory ledger ingest, where every unit has a lot, a
location and a state; a manual journal of units would sit beside the lots in accounts no movement draws from.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Engine

from ledger_service.journal.manual import parse_manual_journal
from ledger_service.journal.service import post, reverse

JOURNALS = [
    {"subsidiary": "US", "date": "2026-07-01", "currency": "USD", "description": "Opening bank balance",
     "idempotency_key": "demo-us-opening", "postings": [
         {"account": "Assets:Bank:Operating", "amount": "25000.00"},
         {"account": "Equity:OpeningBalances", "amount": "-25000.00"}]},
    {"subsidiary": "US", "date": "2026-09-30", "currency": "USD", "description": "Accrue September storage fees",
     "idempotency_key": "demo-us-accrual-2026-09", "postings": [
         {"account": "Expenses:Amazon:Fees:Storage", "amount": "125.40", "marketplace": "amazon.com"},
         {"account": "Liabilities:Accrued", "amount": "-125.40"}]},
    {"subsidiary": "UK", "date": "2026-07-01", "currency": "GBP", "description": "Opening bank balance",
     "idempotency_key": "demo-uk-opening", "postings": [
         {"account": "Assets:Bank:Operating", "amount": "12000.00"},
         {"account": "Equity:OpeningBalances", "amount": "-12000.00"}]},
    {"subsidiary": "UK", "date": "2026-08-15", "currency": "USD", "rate": "0.7855",
     "description": "US supplier invoice paid in USD", "idempotency_key": "demo-uk-usd-invoice", "postings": [
         {"account": "Expenses:Amazon:Fees:Other", "amount": "310.00"},
         {"account": "Liabilities:AccountsPayable", "amount": "-310.00"}]},
]


def post_demo_journals(engine: Engine) -> dict:
    posted = duplicates = 0
    ids = {}
    for body in JOURNALS:
        event, entry = parse_manual_journal(body, document="demo")
        result = post(engine, event, [entry])
        ids[body["idempotency_key"]] = result.entry_ids[0]
        duplicates += result.duplicate
        posted += not result.duplicate
    # The September accrual was booked twice by mistake in the story: reverse it, with a reason.
    rev = reverse(engine, ids["demo-us-accrual-2026-09"], "invoice received; accrual no longer needed",
                  date(2026, 10, 1))
    posted += not rev.duplicate
    return {"posted": posted, "already_there": duplicates + rev.duplicate}
