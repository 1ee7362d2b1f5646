"""A starter set of manual journals for the demo: opening balances, an accrual, units at cost, a reversal.

Posted through the same path as any controller's journal (journal.manual), with fixed idempotency keys, so
running the demo twice changes nothing. The Amazon settlement demo builds on this once its parsers land.
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
    {"subsidiary": "US", "date": "2026-07-03", "currency": "USD", "description": "Purchase 500 NX-HD-1200 at 18.40",
     "idempotency_key": "demo-us-po-1001", "postings": [
         {"account": "Assets:Inventory:Warehouse", "units": "500", "sku": "NX-HD-1200", "cost": "18.40",
          "location": "WH-NJ"},
         {"account": "Liabilities:AccountsPayable", "amount": "-9200.00"}]},
    {"subsidiary": "US", "date": "2026-07-10", "currency": "USD", "description": "Ship 300 NX-HD-1200 to FBA",
     "idempotency_key": "demo-us-fba-shipment-1", "postings": [
         {"account": "Assets:Inventory:FBA:Inbound", "units": "300", "sku": "NX-HD-1200", "cost": "18.40",
          "marketplace": "amazon.com"},
         {"account": "Assets:Inventory:Warehouse", "units": "-300", "sku": "NX-HD-1200", "cost": "18.40",
          "location": "WH-NJ"}]},
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
