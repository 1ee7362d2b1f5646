"""Books for the NetSuite export and the audit trace tests, and closing periods through the periods service.

US in October 2026: a settlement that starts in September and ends in October (split at the month end), a second
one inside October, manual journals without a settlement, an entry in EUR (a foreign transaction currency), units
bought and sold at cost (inventory and COGS), and a pending entry that the export must leave out.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select

from ledger_service.ingest.service import ingest_bytes
from ledger_service.journal.model import EntryDraft, money_posting, units_posting
from ledger_service.journal.service import post
from ledger_service.periods.model import bounds
from ledger_service.periods.service import close_period, reopen_period
from ledger_service.rates.parse import parse_rates
from ledger_service.rates.service import import_rates
from ledger_service.store.engine import write_transaction
from ledger_service.store.tables import accounts, entries, postings
from tests.support.builders import event, transfer
from tests.support.settlement_files import order, other, sale, v2

RATES = "date,from,to,rate\n2026-09-30,EUR,USD,1.0800\n2026-10-30,EUR,USD,1.0850\n2026-10-31,EUR,USD,1.0850\n"


def close(engine, sub: str, period: str) -> None:
    """Close a period (forced: the tests' books need not pass every close check)."""
    with write_transaction(engine) as conn:
        close_period(conn, sub, period, reason="tests", force=True)


def reopen(engine, sub: str, period: str) -> None:
    with write_transaction(engine) as conn:
        reopen_period(conn, sub, period, reason="tests: a late correction")


def settlement_across_month_end() -> bytes:
    rows = [*sale("111-0000001-0000001", "2026-09-29", "SKU-A"), *sale("111-0000002-0000002", "2026-10-02", "SKU-A"),
            other("ServiceFee", "Storage Fee", "-12.34", "2026-10-03")]
    return v2("7001", "2026-09-28", "2026-10-03", "2026-10-05", "147.66", rows)


def settlement_in_october() -> bytes:
    rows = [*order("111-0000003-0000003", "2026-10-12", "SKU-B", ("ItemPrice", "Principal", "45.50"),
                   ("ItemPrice", "Shipping", "4.99"), ("ItemFees", "Commission", "-6.83")),
            *sale("111-0000004-0000004", "2026-10-18", "SKU-A")]
    return v2("7002", "2026-10-10", "2026-10-20", "2026-10-22", "123.66", rows)


def october(engine) -> dict:
    """The US books; returns the ids of entries the tests look up (the pending one, the October 31 accrual)."""
    with write_transaction(engine) as conn:
        import_rates(conn, parse_rates(RATES, "rates.csv"), "rates.csv")
    ingest_bytes(engine, settlement_across_month_end(), "settlement-7001.txt", "US")
    ingest_bytes(engine, settlement_in_october(), "settlement-7002.txt", "US")
    post(engine, event("accrual-1015"), [transfer("Expenses:Amazon:Fees:Storage", "Liabilities:Accrued", "125.40",
                                                  on=date(2026, 10, 15), marketplace="amazon.com")])
    ads = post(engine, event("ads-1031"), [transfer("Expenses:Amazon:Fees:Advertising", "Liabilities:Accrued",
                                                    "80.01", on=date(2026, 10, 31))]).entry_ids[0]
    # both sides in the P&L: no open foreign balance for a close to revalue
    post(engine, event("eur-1020"), [transfer("Expenses:Amazon:Fees:Advertising", "Income:Amazon:Other", "99.99",
                                              currency="EUR", rate="1.0850", on=date(2026, 10, 20))])
    buy = EntryDraft("US", date(2026, 10, 5), "USD", "Buy 10 SKU-A at 18.40", (
        units_posting("Assets:Inventory:FBA:Available", "SKU-A", Decimal(10), Decimal("18.40"), "USD"),
        money_posting("Liabilities:AccountsPayable", Decimal("-184.00"))))
    post(engine, event("buy-1005"), [buy])
    cogs = EntryDraft("US", date(2026, 10, 18), "USD", "COGS 2 SKU-A", (
        money_posting("Expenses:COGS", Decimal("36.80")),
        units_posting("Assets:Inventory:FBA:Available", "SKU-A", Decimal(-2), Decimal("18.40"), "USD")))
    post(engine, event("cogs-1018"), [cogs])
    pending = replace(transfer("Assets:Amazon:Reserve", "Income:Amazon:Sales:Principal", "42.00",
                               on=date(2026, 10, 25), settlement_id="7003"), state="pending")
    pending_id = post(engine, event("pending-1025"), [pending]).entry_ids[0]
    return {"pending": pending_id, "ads": ads}


def ledger_activity(engine, sub: str, period: str, exponent: int = 2) -> dict[str, Decimal]:
    """Per account, the sum of functional amounts of the period's posted entries: computed by SQL, apart from
    the export's own code."""
    first, last = bounds(period)
    query = (select(accounts.c.name, func.sum(postings.c.functional_amount))
             .join(postings, postings.c.account_id == accounts.c.id)
             .join(entries, entries.c.id == postings.c.entry_id)
             .where(entries.c.subsidiary == sub, entries.c.state == "posted",
                    entries.c.effective_date >= first, entries.c.effective_date <= last)
             .group_by(accounts.c.name))
    with engine.connect() as conn:
        return {name: Decimal(total).scaleb(-exponent) for name, total in conn.execute(query) if total}


def write_mapping(folder: Path, text: str, name: str = "netsuite.toml") -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
