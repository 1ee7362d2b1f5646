"""Deterministic Amazon settlement files for the demo: realistic enough to exercise every posting path.

The problem: a demo (and its tests) needs a quarter of Amazon settlements for two subsidiaries that look like the
real thing (Settlement report Flat File V2, 24 tab-separated columns), reconcile to the cent, include the awkward
cases (refunds, promotions, reserves carried between settlements, a NEGATIVE UK settlement) and a few fee triples
the mapping deliberately does not know, so the exception queue has content. The same seed must give the same bytes.

`generate` writes out_dir/US/settlement_<id>.txt (USD, amazon.com, marketplace-facilitator tax collected and
withheld) and out_dir/UK/settlement_<id>.txt (GBP, amazon.co.uk, VAT-inclusive prices, no Tax rows), one file per
14-day settlement. Money is Decimal throughout; total-amount is the exact sum of the settlement's rows. `orders`
is the total across both subsidiaries (two thirds US). The UK has one "stock-out" settlement with no sales and a
StorageRenewalBilling charge, so its total is negative. Every triple resolves in accounts/ except UNKNOWN_TRIPLES.

A negative settlement is not charged at its own deposit date (DESIGN.md, "Amazon facts worth knowing"): the next
settlement of the same market opens with `other-transaction / other-transaction / Payable to Amazon` of that
negative total, followed by a `Successful charge` of the opposite amount a day or two after its start (the
seller's card was charged), so the carried pair nets to zero in the settlement that carries it. Any negative
settlement is carried, not only the UK stock-out one (a small run can have a US window without sales).

With finances=True (the default is False: `ledger-service demo` ingests out_dir/<SUB> recursively, and pages
ingested without their group id would stay pending forever) each settlement is also written as the OPEN-GROUP view
of the same money: SP-API Finances v0 listFinancialEventsByGroupId pages, group id = settlement id, under
out_dir/<SUB>/finances/<settlement-id>-page<N>.json (see ledger_service/demo/finances_pages.py for the mapping of
rows to events and what is left out). Ingest them with group_id=<settlement id>, group_final=False, before the file.

With legacy=True, `generate` also writes the quarter before in the legacy 36-column layout (US and CA, see
ledger_service/demo/legacy_generator.py) under out_dir/<CODE>/legacy/.

Note: the withheld facilitator tax is written as amount-type ItemWithheldTax (as real amazon.com files do), the
form accounts/mappings/amazon.toml maps; ItemFees / MarketplaceFacilitatorTax-Principal would be unmapped.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from ledger_service.demo.finances_pages import write_pages

__all__ = ["generate", "UNKNOWN_TRIPLES", "HEADER", "SETTLEMENT_DAYS"]

HEADER = ("settlement-id", "settlement-start-date", "settlement-end-date", "deposit-date", "total-amount",
          "currency", "transaction-type", "order-id", "merchant-order-id", "adjustment-id", "shipment-id",
          "marketplace-name", "amount-type", "amount-description", "amount", "fulfillment-id", "posted-date",
          "posted-date-time", "order-item-code", "merchant-order-item-id", "merchant-adjustment-item-id", "sku",
          "quantity-purchased", "promotion-id")
SETTLEMENT_DAYS = 14
CENT = Decimal("0.01")
# Deliberately unmapped: one every other settlement, alternating between these two.
UNKNOWN_TRIPLES = (("ServiceFee", "other-transaction", "DemoUnknownFeeXYZ"),
                   ("Adjustment", "other-transaction", "DemoUnknownAdjustmentXYZ"))
CATALOG = (("NX-HD-1200", 12999, 475), ("NX-CB-0450", 4450, 322), ("NX-AC-0071", 2275, 307),
           ("NX-LT-0300", 3499, 389), ("NX-KB-0880", 7900, 512))  # sku, price in cents, FBA fee per unit in cents


@dataclass(frozen=True)
class Market:
    code: str
    currency: str
    marketplace: str
    order_prefix: str
    share: Decimal  # share of the orders
    price_factor: Decimal  # GBP prices are VAT-inclusive and rounded differently
    tax_rates: tuple[Decimal, ...]  # sales tax collected and withheld; empty: VAT-inclusive principal
    subscription: Decimal
    id_offset: int


MARKETS = (
    Market("US", "USD", "amazon.com", "11", Decimal("0.6667"), Decimal("1"),
           (Decimal("0.0625"), Decimal("0.0725"), Decimal("0.08875")), Decimal("39.99"), 0),
    Market("UK", "GBP", "amazon.co.uk", "20", Decimal("0.3333"), Decimal("0.95"), (), Decimal("25.00"), 500),
)


@dataclass(frozen=True)
class Row:
    when: datetime
    transaction_type: str
    amount_type: str
    amount_description: str
    amount: Decimal
    order_id: str = ""
    adjustment_id: str = ""
    shipment_id: str = ""
    fulfillment_id: str = ""
    order_item_code: str = ""
    sku: str = ""
    quantity: str = ""
    promotion_id: str = ""
    # (start, end) of the earlier settlement whose negative balance this row carries; not a column of the file,
    # the Finances pages need it (finances_pages.py, DebtRecoveryItemList).
    carried: tuple[datetime, datetime] | None = None


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _cents(rng: random.Random, low: int, high: int) -> Decimal:
    return Decimal(rng.randint(low, high)) / 100


def _stamp(moment: datetime, clock: bool) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if clock else moment.strftime("%Y-%m-%d 00:00:00 UTC")


def _digits(rng: random.Random, n: int) -> str:
    return "".join(str(rng.randint(0, 9)) for _ in range(n))


def _order_rows(rng: random.Random, m: Market, when: datetime, refund_at: datetime | None) -> list[Row]:
    sku, price, fba = CATALOG[rng.randrange(len(CATALOG))]
    qty = rng.choice((1, 1, 1, 2, 3))
    principal = _money(Decimal(price) / 100 * m.price_factor * qty)
    item = dict(order_id=f"{m.order_prefix}{rng.randint(1, 9)}-{_digits(rng, 7)}-{_digits(rng, 7)}",
                shipment_id=f"D{_digits(rng, 8)}", fulfillment_id="AFN", order_item_code=_digits(rng, 11), sku=sku,
                quantity=str(qty))
    commission = _money(principal * Decimal("0.15"))
    rows = [Row(when, "Order", "ItemPrice", "Principal", principal, **item)]
    if m.tax_rates and rng.random() < 0.3:
        rows.append(Row(when, "Order", "ItemPrice", "Shipping", Decimal("5.99"), **item))
    if m.tax_rates:
        tax = _money(principal * rng.choice(m.tax_rates))
        rows.append(Row(when, "Order", "ItemPrice", "Tax", tax, **item))
        rows.append(Row(when, "Order", "ItemWithheldTax", "MarketplaceFacilitatorTax-Principal", -tax, **item))
    rows.append(Row(when, "Order", "ItemFees", "Commission", -commission, **item))
    rows.append(Row(when, "Order", "ItemFees", "FBAPerUnitFulfillmentFee", -_money(Decimal(fba * qty) / 100), **item))
    if m.tax_rates and rng.random() < 0.15:
        promo = dict(item, promotion_id=f"PLM-{_digits(rng, 10)}")
        rows.append(Row(when, "Order", "Promotion", "Principal", -_money(principal * Decimal("0.10")), **promo))
    if refund_at is not None:
        item["shipment_id"] = f"D{_digits(rng, 8)}"
        rows.append(Row(refund_at, "Refund", "ItemPrice", "Principal", -principal, **item))
        rows.append(Row(refund_at, "Refund", "ItemFees", "Commission", _money(commission * Decimal("0.8")), **item))
        admin = min(_money(commission * Decimal("0.2")), Decimal("5.00"))
        rows.append(Row(refund_at, "Refund", "ItemFees", "RefundCommission", -admin, **item))
    return rows


def _settlement_rows(rng: random.Random, m: Market, index: int, start: datetime, end: datetime,
                     prior_reserve: Decimal, sales: Decimal, quiet: bool) -> tuple[list[Row], Decimal]:
    """Settlement-level rows (fees, reimbursements, reserves, unknowns) and the reserve now held."""
    fee_at = end.replace(hour=4, minute=12, second=0)
    rows = [Row(fee_at, "ServiceFee", "other-transaction", "Storage Fee", -_cents(rng, 1500, 12000))]
    if index % 2 == 0:
        rows.append(Row(fee_at, "ServiceFee", "other-transaction", "Subscription Fee", -m.subscription))
    if quiet:
        rows.append(Row(fee_at, "ServiceFee", "other-transaction", "StorageRenewalBilling", -_cents(rng, 30000, 60000)))
    if m.tax_rates and rng.random() < 0.6:
        kind = rng.choice(("REVERSAL_REIMBURSEMENT", "Refund Reimbursal"))
        at = start + timedelta(seconds=rng.randint(0, int((end - start).total_seconds())))
        rows.append(Row(at, "Adjustment", "other-transaction", kind,
                        _cents(rng, 800, 6000), adjustment_id=f"ADJ-{_digits(rng, 8)}"))
    if index % 2 == 1:
        tt, at, ad = UNKNOWN_TRIPLES[(index // 2) % len(UNKNOWN_TRIPLES)]
        rows.append(Row(fee_at, tt, at, ad, -_cents(rng, 100, 2500)))
    reserve = prior_reserve if quiet else _money(sales * Decimal("0.12"))
    if prior_reserve:
        rows.append(Row(start, "Transfer", "other-transaction", "Previous Reserve Amount Balance", prior_reserve))
    if reserve:
        rows.append(Row(end, "Transfer", "other-transaction", "Current Reserve Amount", -reserve))
    return rows, reserve


def _carried_rows(owed: Decimal, window: tuple[datetime, datetime], opened: datetime, end: datetime,
                  index: int) -> list[Row]:
    """The rows that open a settlement after a negative one: what is owed (negative), then the card charge."""
    # A day or two after the start, as Amazon charges the card once the new settlement is open; never past its end.
    charged = min(opened + timedelta(days=1 + index % 2, hours=6, minutes=41), end)
    return [Row(opened, "other-transaction", "other-transaction", "Payable to Amazon", owed, carried=window),
            Row(charged, "other-transaction", "other-transaction", "Successful charge", -owed, carried=window)]


def _line(cells: list[str]) -> str:
    return "\t".join(cells) + "\n"


def _data_line(settlement_id: str, currency: str, marketplace: str, r: Row) -> str:
    return _line([settlement_id, "", "", "", "", currency, r.transaction_type, r.order_id, "", r.adjustment_id,
                  r.shipment_id, marketplace, r.amount_type, r.amount_description, f"{r.amount:.2f}",
                  r.fulfillment_id, _stamp(r.when, False), _stamp(r.when, True), r.order_item_code, "", "", r.sku,
                  r.quantity, r.promotion_id])


def _market_files(rng: random.Random, m: Market, out_dir: Path, orders: int, start: date, days: int,
                  base_id: int, finances: bool = False) -> list[Path]:
    windows = [(k * SETTLEMENT_DAYS, min((k + 1) * SETTLEMENT_DAYS, days))
               for k in range(-(-days // SETTLEMENT_DAYS))]
    quiet = 3 % len(windows) if m.tax_rates == () else None  # the UK stock-out settlement
    origin = datetime.combine(start, time())
    buckets: list[list[Row]] = [[] for _ in windows]
    allowed = [d for d in range(days) if quiet is None or d // SETTLEMENT_DAYS != quiet]
    if not allowed and orders:  # a single UK window cannot be the stock-out one and have sales
        quiet, allowed = None, list(range(days))
    for _ in range(orders):
        day = rng.choice(allowed)
        when = origin + timedelta(days=day, seconds=rng.randint(0, 86399))
        refund_at = when + timedelta(days=rng.randint(3, 20), seconds=rng.randint(0, 3600)) \
            if rng.random() < (0.07 if m.tax_rates else 0.04) else None
        if refund_at is not None and (refund_at - origin).days >= days:
            refund_at = None
        for row in _order_rows(rng, m, when, refund_at):
            buckets[(row.when - origin).days // SETTLEMENT_DAYS].append(row)
    folder = out_dir / m.code
    folder.mkdir(parents=True, exist_ok=True)
    paths, reserve = [], Decimal("0.00")
    owed: tuple[Decimal, tuple[datetime, datetime]] | None = None  # a negative total and its window, to carry
    for k, (first, stop) in enumerate(windows):
        end = origin + timedelta(days=stop - 1, hours=23, minutes=59, seconds=59)
        sales = sum((r.amount for r in buckets[k] if r.amount_type == "ItemPrice" and r.transaction_type == "Order"
                     and r.amount_description == "Principal"), Decimal("0.00"))
        opened = origin + timedelta(days=first)
        extra, reserve = _settlement_rows(rng, m, k, opened, end, reserve, sales, quiet == k)
        opening = _carried_rows(*owed, opened, end, k) if owed else []
        rows = opening + sorted(buckets[k], key=lambda r: r.when) + extra
        total = sum((r.amount for r in rows), Decimal("0.00"))
        owed = (total, (opened, end)) if total < 0 else None
        settlement_id = str(base_id + m.id_offset + k * 1009)
        summary = [settlement_id, _stamp(opened, False), _stamp(end, True),
                   _stamp(end + timedelta(days=2), False), f"{total:.2f}", m.currency] + [""] * 18
        text = _line(list(HEADER)) + _line(summary) + "".join(
            _data_line(settlement_id, m.currency, m.marketplace, r) for r in rows)
        path = folder / f"settlement_{settlement_id}.txt"
        path.write_bytes(text.encode("ascii"))
        paths.append(path)
        if finances:
            write_pages(folder / "finances", settlement_id, m.currency, m.marketplace.capitalize(), rows,
                        UNKNOWN_TRIPLES, start=opened.strftime("%Y-%m-%dT%H:%M:%SZ"))
    return paths


def generate(out_dir: Path, orders: int = 300, start: date = date(2026, 7, 1), days: int = 91,
             seed: int = 7, finances: bool = False, legacy: bool = False) -> list[Path]:
    """Write the US and UK settlement files under out_dir; return their paths (US first, then UK, by date).

    finances=True also writes each settlement's open-group Finances v0 pages under out_dir/<SUB>/finances/
    (list them in order with ledger_service.demo.finances_pages.page_files); the flat files are the same bytes.
    legacy=True also writes the `days` before `start` as legacy flat files (generate_legacy, same orders and seed)
    and appends their paths; the V2 files are the same bytes either way."""
    if days < 1 or orders < 0:
        raise ValueError("days must be >= 1 and orders >= 0")
    rng = random.Random(seed)
    base_id = rng.randrange(10_000_000_000, 89_000_000_000)
    out_dir = Path(out_dir)
    us_orders = int(_money(Decimal(orders) * MARKETS[0].share))
    counts = (us_orders, orders - us_orders)
    paths: list[Path] = []
    for market, count in zip(MARKETS, counts):
        paths += _market_files(random.Random(f"{seed}:{market.code}"), market, out_dir, count, start, days, base_id,
                              finances)
    if legacy:
        from ledger_service.demo.legacy_generator import generate_legacy  # it builds on this module's helpers

        paths += generate_legacy(out_dir, orders=orders, start=start - timedelta(days=days), days=days, seed=seed)
    return paths
