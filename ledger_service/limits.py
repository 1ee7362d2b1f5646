"""What the business allows, as data: the bounds every input is checked against at the edge.

The problem: a value far outside what a brand's books can hold is not a fact to record. An amount of 2^63-1 cents
fits no ERP (NetSuite takes at most 10 digits before the decimal point) and overflows every sum it joins; a row
dated 9999-12-31 or a deposit before its settlement starts is a broken file, not a date; a 10 MB SKU or a NUL
inside an order id is not an identifier; a 3.7 KB gzip that expands without bound is an attack on the machine.
Each is refused where it enters (parser, manual journal, upload), with file:line or the field named, and nothing
of the document is posted.

Pure: constants and checks that raise ValueError (the parsers wrap it with file:line) or return a reason.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

# Amounts: NetSuite's Debit/Credit hold at most 10 digits before the decimal point and 2 after.
MAX_AMOUNT = Decimal("9999999999.99")
# Units of a SKU in one posting, and a cost per unit: far above any brand's stock, far below any overflow.
MAX_UNITS = Decimal("1000000000")
MAX_UNIT_COST = Decimal("1000000")

# Dates: Amazon's marketplaces opened to third-party sellers in 1999; nothing the ledger records is later than 2100.
EARLIEST = date(1999, 1, 1)
LATEST = date(2100, 12, 31)
# A row's posted date lies within its settlement, give or take this much (late postings, carried rows).
POSTED_SLACK = timedelta(days=366)
# A deposit follows its settlement's end within this many days.
DEPOSIT_AFTER_END = timedelta(days=90)

# Exchange rates: units of one currency per unit of another. Far outside this is a typo (or a redenomination).
MIN_RATE = Decimal("0.000001")
MAX_RATE = Decimal("1000000")
# A rate stands for the days after it (weekends, holidays) for at most this long.
RATE_FALLBACK = timedelta(days=7)

# Identifiers and text, by the columns that hold them (store/tables.py).
MAX_LENGTH = {"settlement_id": 64, "order_id": 64, "marketplace": 64, "sku": 100, "location": 64,
              "merchant_order_id": 64, "adjustment_id": 64, "shipment_id": 64, "fulfillment_id": 64,
              "order_item_code": 64, "promotion_id": 200, "currency": 3, "document": 500, "description": 2000,
              "amazon_type": 500, "idempotency_key": 500, "account": 300, "subsidiary": 32}
MAX_CELL = 10_000  # any other cell of a flat file, in characters

# Compressed input: at most this many bytes once decompressed, and at most this ratio to the compressed size.
MAX_DECOMPRESSED_BYTES = 4 << 30
MAX_COMPRESSION_RATIO = 200
MIN_RATIO_CHECK_BYTES = 64 << 20  # below this decompressed size the ratio is not checked (tiny files compress well)


def check_amount(value: Decimal, what: str = "amount") -> Decimal:
    if not value.is_finite():
        raise ValueError(f"{what} {value} is not a finite number")
    if abs(value) > MAX_AMOUNT:
        raise ValueError(f"{what} {value} is outside the allowed range (at most {MAX_AMOUNT} either way: NetSuite "
                         "takes 10 digits before the decimal point)")
    return value


def check_date(value: datetime | date, what: str = "date") -> None:
    day = value.date() if isinstance(value, datetime) else value
    if not EARLIEST <= day <= LATEST:
        raise ValueError(f"{what} {day.isoformat()} is outside {EARLIEST.isoformat()}..{LATEST.isoformat()}")


def check_text(value: str | None, field: str, limit: int | None = None) -> None:
    """An identifier or text cell: within its column's length, and no NUL or other control character."""
    if value is None:
        return
    limit = limit or MAX_LENGTH.get(field, MAX_CELL)
    if len(value) > limit:
        raise ValueError(f"{field} is {len(value)} characters long; at most {limit}")
    if not value.isprintable() and any(ord(ch) < 32 and ch != "\t" or 127 <= ord(ch) < 160 for ch in value):
        raise ValueError(f"{field} contains a control character (such as NUL): {value[:40]!r}")


def check_cells(cells: dict[str, str | None], limit_of: dict[str, str] | None = None) -> None:
    """check_text of every cell of a parsed row, named by its column, within its column's limit; `limit_of` names
    the column whose limit a column shares (an inbound shipment id may be as long as an order id)."""
    for field, value in cells.items():
        check_text(value, field, MAX_LENGTH.get((limit_of or {}).get(field, field)))


def check_decompressed(decompressed: int, compressed: int) -> None:
    if decompressed > MAX_DECOMPRESSED_BYTES:
        raise ValueError(f"decompresses to more than {MAX_DECOMPRESSED_BYTES >> 30} GiB; refused")
    if decompressed > MIN_RATIO_CHECK_BYTES and decompressed > MAX_COMPRESSION_RATIO * max(compressed, 1):
        raise ValueError(f"decompresses more than {MAX_COMPRESSION_RATIO} times its size (a gzip bomb?); refused")
