"""Deterministic legacy-layout Amazon settlement files (GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE), for backfill.

The problem: sellers hold years of settlements in the legacy 36-column flat file (settlement_legacy.py gives the
header), which spreads money over type/amount column pairs, puts account-level money in `other-amount` with its
meaning in transaction-type, and spells facts differently from V2 (`FBA transportation fee` for
FBATransportationFee, `Cost of Advertising` as an item-related fee). A backfill demo needs such files for the
quarter before the V2 demo, reconciling to the cent and carrying the awkward cases: negative settlements carried
forward (the card charged in the US, the debt absorbed by later sales in CA), a reserve held over a negative
settlement, Amazon's 13% HST on its own advertising fee in CA, a micro deposit, marketplace-facilitator tax.

`generate_legacy` writes out_dir/US/legacy/settlement_<id>.txt (USD, Amazon.com, ISO posted dates with offsets,
facilitator tax collected as price-type Tax and withheld as item-related-fee MarketplaceFacilitatorTax-Principal)
and out_dir/CA/legacy/settlement_<id>.txt (CAD, Amazon.ca, DD.MM.YYYY dates, 13% HST on principal and shipping),
one file per 14-day settlement. Boundaries are midnights: each settlement starts where the previous ended and the
last ends at start + days, where the V2 demo (amazon_generator.generate) begins. Ids come from a range the V2
generator never draws from. total-amount is the exact Decimal sum of every money cell; amounts have two decimals,
some with the trailing space real legacy files have. The same seed gives the same bytes.

Negative settlements: each market has one "stock-out" settlement without sales (QUIET). A negative total is
carried into the next settlement as a `Payable to Amazon` row of that total, followed in the US by a
`Successful charge` of the opposite amount; in CA no charge follows and the next settlement's sales absorb it (if
they do not, that settlement is negative in turn and carried again). The US holds a reserve every settlement
(`Current Reserve Amount`, released next time as `Previous Reserve Amount Balance`), so its negative settlement
is followed by a reserve release too.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

from ledger_service.demo.amazon_generator import CATALOG, _cents, _digits, _money  # the V2 demo's catalog and helpers
from ledger_service.sources.amazon.settlement_legacy import HEADER_36

__all__ = ["generate_legacy", "HEADER", "MONEY_COLUMNS", "SETTLEMENT_DAYS", "ID_RANGE"]

HEADER = HEADER_36
MONEY_COLUMNS = tuple(c for c in HEADER if c.endswith("-amount") and c != "total-amount")
SETTLEMENT_DAYS = 14
# The V2 demo draws its base id from [10e9, 89e9) and adds a few thousand: this range never meets it.
ID_RANGE = (90_000_000_000, 98_000_000_000)


@dataclass(frozen=True)
class Market:
    code: str
    currency: str
    marketplace: str
    order_prefix: str
    share: Decimal  # of the orders
    price_factor: Decimal
    tax_rates: tuple[Decimal, ...]
    withheld: bool  # US marketplace-facilitator tax: collected and withheld; CA HST is the seller's to remit
    iso_dates: bool  # 2026-04-03T10:00:00+00:00, else 03.04.2026
    subscription: Decimal
    quiet: int  # the stock-out settlement's index
    card_charged: bool  # a carried negative balance is charged to the card (else later sales absorb it)
    reserve_rate: Decimal  # of the settlement's principal sales, held until the next settlement
    ad_tax_rate: Decimal  # tax Amazon charges on its advertising fee (CA GST/HST), an other-fee TaxAmount
    micro_deposit: Decimal | None  # a bank-account check in the first settlement
    id_offset: int


MARKETS = (
    Market("US", "USD", "Amazon.com", "11", Decimal("0.6"), Decimal("1"),
           (Decimal("0.0625"), Decimal("0.0725"), Decimal("0.08875")), True, True, Decimal("39.99"), 2, True,
           Decimal("0.10"), Decimal("0"), None, 0),
    Market("CA", "CAD", "Amazon.ca", "70", Decimal("0.4"), Decimal("1.35"), (Decimal("0.13"),), False, False,
           Decimal("29.99"), 4, False, Decimal("0"), Decimal("0.13"), Decimal("-0.12"), 700),
)


@dataclass
class Line:
    """One data row: its moment, transaction-type, identifying/type cells and money cells (column -> Decimal)."""
    when: datetime
    transaction_type: str
    cells: dict[str, str]
    money: dict[str, Decimal] = field(default_factory=dict)


def _order_lines(rng: random.Random, m: Market, when: datetime, refund_at: datetime | None) -> list[Line]:
    """An order item's rows (a price and a fee may share a row, as in real files), and its refund's."""
    sku, price, fba = CATALOG[rng.randrange(len(CATALOG))]
    qty = rng.choice((1, 1, 1, 2, 3))
    principal = _money(Decimal(price) / 100 * m.price_factor * qty)
    rate = rng.choice(m.tax_rates)
    tax = _money(principal * rate)
    commission = _money(principal * Decimal("0.15"))
    fba_fee = _money(Decimal(fba * qty) / 100 * m.price_factor)
    item = {"order-id": f"{m.order_prefix}{rng.randint(1, 9)}-{_digits(rng, 7)}-{_digits(rng, 7)}",
            "shipment-id": f"D{_digits(rng, 8)}", "marketplace-name": m.marketplace, "fulfillment-id": "AFN",
            "order-item-code": _digits(rng, 11), "sku": sku, "quantity-purchased": str(qty)}
    lines = [Line(when, "Order", item | {"price-type": "Principal", "item-related-fee-type": "Commission"},
                  {"price-amount": principal, "item-related-fee-amount": -commission}),
             Line(when, "Order", item | {"price-type": "Tax", "item-related-fee-type": "FBAPerUnitFulfillmentFee"},
                  {"price-amount": tax, "item-related-fee-amount": -fba_fee})]
    if m.withheld:
        lines.append(Line(when, "Order", item | {"item-related-fee-type": "MarketplaceFacilitatorTax-Principal"},
                          {"item-related-fee-amount": -tax}))
    if rng.random() < 0.25:  # shipping charged to the buyer; Amazon charges it back to the FBA seller
        shipping = _money(Decimal("5.99") * m.price_factor)
        lines.append(Line(when, "Order",
                          item | {"price-type": "Shipping", "item-related-fee-type": "ShippingChargeback"},
                          {"price-amount": shipping, "item-related-fee-amount": -shipping}))
        if m.withheld:  # US: a free-shipping promotion (no facilitator tax on shipping in this demo)
            promotion = {"promotion-type": "Shipping", "promotion-id": f"FS-{_digits(rng, 8)}"}
            lines.append(Line(when, "Order", item | promotion, {"promotion-amount": -shipping}))
        else:  # CA: HST on shipping too
            lines.append(Line(when, "Order", item | {"price-type": "ShippingTax"},
                              {"price-amount": _money(shipping * rate)}))
    if rng.random() < 0.15:
        promotion = {"promotion-type": "Principal", "promotion-id": f"PLM-{_digits(rng, 10)}"}
        lines.append(Line(when, "Order", item | promotion, {"promotion-amount": -_money(principal * Decimal("0.10"))}))
    if rng.random() < 0.2:  # the legacy spelling; V2 says FBATransportationFee
        lines.append(Line(when, "Order", item | {"shipment-fee-type": "FBA transportation fee"},
                          {"shipment-fee-amount": -_money(_cents(rng, 30, 150) * qty)}))
    if refund_at is not None:
        refund = {k: v for k, v in item.items() if k != "quantity-purchased"} | {"adjustment-id": _digits(rng, 14)}
        admin = min(_money(commission * Decimal("0.2")), Decimal("5.00"))
        # Amazon keeps part of the commission it refunds (RefundCommission, the refund administration fee).
        lines.append(Line(refund_at, "Refund",
                          refund | {"price-type": "Principal", "item-related-fee-type": "Commission"},
                          {"price-amount": -principal, "item-related-fee-amount": _money(commission * Decimal("0.8"))}))
        lines.append(Line(refund_at, "Refund",
                          refund | {"price-type": "Tax", "item-related-fee-type": "RefundCommission"},
                          {"price-amount": -tax, "item-related-fee-amount": -admin}))
        if m.withheld:
            lines.append(Line(refund_at, "Refund",
                              refund | {"item-related-fee-type": "MarketplaceFacilitatorTax-Principal"},
                              {"item-related-fee-amount": tax}))
    return lines


def _other(when: datetime, transaction_type: str, amount: Decimal, **cells: str) -> Line:
    """An account-level row: money in other-amount, meaning in transaction-type, no marketplace (as real files)."""
    return Line(when, transaction_type, dict(cells), {"other-amount": amount})


def _account_lines(rng: random.Random, m: Market, index: int, start: datetime, end: datetime, quiet: bool,
                   sales: Decimal, prior_reserve: Decimal) -> tuple[list[Line], Decimal]:
    """Fees, reimbursements, advertising and reserves of one settlement; and the reserve it now holds."""
    fee_at = end - timedelta(hours=19, minutes=48)  # 04:12 on the settlement's last day
    lines = [_other(fee_at, "Storage Fee", -_cents(rng, 1500, 12000))]
    if index % 2 == 0:
        lines.append(_other(fee_at, "Subscription Fee", -m.subscription))
    if index == 0 and m.micro_deposit is not None:
        lines.append(_other(start + timedelta(hours=9), "Micro Deposit", m.micro_deposit))
    if quiet or rng.random() < 0.3:  # restocking: inbound shipments to FBA
        inbound_at = start + timedelta(days=3, hours=15)
        lines.append(_other(inbound_at, "Inbound Transportation Fee", -_cents(rng, 2000, 9000)))
    # A reimbursement for units damaged in Amazon's warehouse, and the reversal of an earlier one (units found).
    for kind, low, high, chance in (("WAREHOUSE_DAMAGE", 800, 6000, 0.5),
                                    ("REVERSAL_REIMBURSEMENT", -3000, -500, 0.25)):
        if rng.random() < chance:
            at = start + timedelta(seconds=rng.randint(0, int((end - start).total_seconds()) - 1))
            cells = {"adjustment-id": _digits(rng, 14), "sku": CATALOG[rng.randrange(len(CATALOG))][0]}
            lines.append(_other(at, kind, _cents(rng, low, high), **cells))
    ad = -_cents(rng, 2000, 15000)
    ads = Line(fee_at, "ServiceFee",
               {"marketplace-name": m.marketplace, "item-related-fee-type": "Cost of Advertising"},
               {"item-related-fee-amount": ad})
    if m.ad_tax_rate:  # Amazon's own tax on the ad fee, on the same row
        ads.cells["other-fee-reason-description"] = "TaxAmount"
        ads.money["other-fee-amount"] = _money(ad * m.ad_tax_rate)
    lines.append(ads)
    reserve = prior_reserve if quiet else _money(sales * m.reserve_rate)
    if prior_reserve:
        lines.append(_other(start, "Previous Reserve Amount Balance", prior_reserve))
    if reserve:
        lines.append(_other(end - timedelta(minutes=1), "Current Reserve Amount", -reserve))
    return lines, reserve


def _carried_lines(m: Market, owed: Decimal, start: datetime, end: datetime, index: int) -> list[Line]:
    """A settlement after a negative one opens with what is owed; in the US the card is charged for it."""
    lines = [_other(start, "Payable to Amazon", owed)]
    if m.card_charged:
        # A day or two after the start, once the new settlement is open; never past its end.
        charged = min(start + timedelta(days=1 + index % 2, hours=6, minutes=41), end)
        lines.append(_other(charged, "Successful charge", -owed))
    return lines


def _stamp(m: Market, moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S+00:00") if m.iso_dates else moment.strftime("%d.%m.%Y")


def _row(cells: dict[str, str]) -> str:
    return "\t".join(cells.get(name, "") for name in HEADER) + "\n"


def _data_row(rng: random.Random, m: Market, settlement_id: str, line: Line) -> str:
    pad = " " if rng.random() < 0.2 else ""  # real legacy files pad some amounts with a trailing space
    money = {column: f"{amount:.2f}{pad}" for column, amount in line.money.items()}
    return _row(line.cells | money | {"settlement-id": settlement_id, "currency": m.currency,
                                      "transaction-type": line.transaction_type, "posted-date": _stamp(m, line.when)})


def _market_files(rng: random.Random, m: Market, out_dir: Path, orders: int, start: date, days: int,
                  base_id: int) -> list[Path]:
    windows = [(k * SETTLEMENT_DAYS, min((k + 1) * SETTLEMENT_DAYS, days))
               for k in range(-(-days // SETTLEMENT_DAYS))]
    # The stock-out settlement needs a successor to carry its debt into, and sales elsewhere.
    quiet = min(m.quiet, len(windows) - 2) if len(windows) >= 2 else None
    origin = datetime.combine(start, time())
    buckets: list[list[Line]] = [[] for _ in windows]
    allowed = [d for d in range(days) if quiet is None or d // SETTLEMENT_DAYS != quiet]
    for _ in range(orders):
        when = origin + timedelta(days=rng.choice(allowed), seconds=rng.randint(0, 86399))
        refund_at = when + timedelta(days=rng.randint(3, 20), seconds=rng.randint(0, 3600)) \
            if rng.random() < 0.06 else None
        if refund_at is not None and (refund_at - origin).days >= days:
            refund_at = None
        for line in _order_lines(rng, m, when, refund_at):
            buckets[(line.when - origin).days // SETTLEMENT_DAYS].append(line)
    folder = out_dir / m.code / "legacy"
    folder.mkdir(parents=True, exist_ok=True)
    paths, reserve, owed = [], Decimal("0.00"), None
    for k, (first, stop) in enumerate(windows):
        opened, end = origin + timedelta(days=first), origin + timedelta(days=stop)
        sales = sum((ln.money["price-amount"] for ln in buckets[k]
                     if ln.transaction_type == "Order" and ln.cells.get("price-type") == "Principal"), Decimal("0.00"))
        extra, reserve = _account_lines(rng, m, k, opened, end, quiet == k, sales, reserve)
        opening = _carried_lines(m, owed, opened, end, k) if owed else []
        lines = opening + sorted(buckets[k], key=lambda ln: ln.when) + extra
        total = sum((a for ln in lines for a in ln.money.values()), Decimal("0.00"))
        owed = total if total < 0 else None
        settlement_id = str(base_id + m.id_offset + k * 1013)
        summary = {"settlement-id": settlement_id, "settlement-start-date": _stamp(m, opened),
                   "settlement-end-date": _stamp(m, end), "deposit-date": _stamp(m, end + timedelta(days=2)),
                   "total-amount": f"{total:.2f}", "currency": m.currency}
        text = _row(dict(zip(HEADER, HEADER))) + _row(summary) + "".join(
            _data_row(rng, m, settlement_id, ln) for ln in lines)
        path = folder / f"settlement_{settlement_id}.txt"
        path.write_bytes(text.encode("ascii"))
        paths.append(path)
    return paths


def generate_legacy(out_dir: Path, orders: int = 300, start: date = date(2026, 4, 1), days: int = 91,
                    seed: int = 7) -> list[Path]:
    """Write the US and CA legacy settlement files under out_dir/<CODE>/legacy/; return their paths (US first, then
    CA, by date). `orders` is the total across both markets (60% US)."""
    if days < 1 or orders < 0:
        raise ValueError("days must be >= 1 and orders >= 0")
    base_id = random.Random(f"{seed}:legacy").randrange(*ID_RANGE)
    us_orders = int(_money(Decimal(orders) * MARKETS[0].share))
    paths: list[Path] = []
    for market, count in zip(MARKETS, (us_orders, orders - us_orders)):
        paths += _market_files(random.Random(f"{seed}:legacy:{market.code}"), market, Path(out_dir), count, start,
                               days, base_id)
    return paths
