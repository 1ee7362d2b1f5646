"""Books for two subsidiaries, so that every API list has rows of each and a scope has something to hide.

Per subsidiary (US in USD on amazon.com, UK in GBP on amazon.co.uk): three settlements, each with an order and an
Amazon fee no mapping knows (three exceptions), and two manual journals.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from sqlalchemy import select

from ledger_service.ingest.service import ingest_bytes
from ledger_service.journal.manual import parse_manual_journal
from ledger_service.journal.service import post
from ledger_service.store.tables import events
from tests.support.settlement_files import order, other, v2

MARKET = {"US": ("USD", "Amazon.com"), "UK": ("GBP", "Amazon.co.uk")}
SUBSIDIARIES = tuple(MARKET)
_keys = itertools.count(1)


@dataclass
class Books:
    entries: dict[str, list[int]] = field(default_factory=dict)  # subsidiary -> manual journal entry ids
    events: dict[str, list[int]] = field(default_factory=dict)
    settlements: dict[str, list[str]] = field(default_factory=dict)


def settlement_file(sub: str, i: int, fee: str | None = None) -> bytes:
    currency, marketplace = MARKET[sub]
    day = f"2026-05-{10 + 3 * i:02d}"
    rows = [r | {"marketplace-name": marketplace} for r in order(
        f"O-{sub}-{i}", day, "SKU-A", ("ItemPrice", "Principal", "100.00"), ("ItemFees", "Commission", "-15.00"))]
    rows.append(other("other-transaction", fee or f"MysteryFee{i}", "-1.00", day))
    return v2(f"9{sub}{i}", f"2026-05-{9 + 3 * i:02d}", f"2026-05-{11 + 3 * i:02d}", f"2026-05-{12 + 3 * i:02d}",
              "84.00", rows, currency=currency)


def journal(sub: str, key: str | None = None, amount: str = "12.50") -> dict:
    return {"subsidiary": sub, "date": "2026-05-31", "currency": MARKET[sub][0], "description": f"accrual {sub}",
            "idempotency_key": key or f"seed-{sub}-{next(_keys)}",
            "postings": [{"account": "Expenses:Amazon:Fees:Storage", "amount": amount},
                         {"account": "Liabilities:Accrued", "amount": f"-{amount}"}]}


def post_journal(engine, sub: str) -> int:
    """A manual journal posted directly (no actor), returning its entry id."""
    event, entry = parse_manual_journal(journal(sub), document="seed")
    return post(engine, event, [entry]).entry_ids[0]


def seed(engine) -> Books:
    books = Books()
    for sub in SUBSIDIARIES:
        for i in range(3):
            ingest_bytes(engine, settlement_file(sub, i), f"{sub}-{i}.txt", sub)
        books.settlements[sub] = [f"9{sub}{i}" for i in range(3)]
        books.entries[sub] = [post_journal(engine, sub) for _ in range(2)]
    with engine.connect() as conn:
        for sub in SUBSIDIARIES:
            books.events[sub] = list(conn.execute(
                select(events.c.id).where(events.c.subsidiary == sub).order_by(events.c.id)).scalars())
    return books
