"""A small EUR settlement on amazon.de for the UK subsidiary (GBP), and its rates, worked out by hand.

Settlement 7001, 2026-07-01 to 2026-07-14, deposit 2026-07-16 (lines: 1 header, 2 summary, then the rows):
  order A, 2026-07-02 (lines 3-5): principal 100.00, commission -15.00, FBA fee -5.00 -> clearing  80.00 EUR
  order B, 2026-07-09 (lines 6-8): principal  50.00, commission  -7.50, FBA fee -2.50 -> clearing  40.00 EUR
  storage fee, 2026-07-14 (line 9):                                      -10.00        -> clearing -10.00 EUR
  total 110.00 EUR.
Rates EUR->GBP: 07-02 0.85123, 07-09 0.86, 07-12 0.87 (07-14 has none: the latest within 7 days, 07-12's, stands),
deposit 07-16 0.88 (gain) or 0.84 (loss).
  order A at 0.85123: clearing 80 x 0.85123 = 68.0984 -> 68.10; principal -85.123 -> -85.12; commission 12.76845 ->
    12.77; fee 4.25615 -> 4.26; they sum to 0.01, which goes to the largest posting: principal -85.13.
  order B at 0.86: clearing 34.40, principal -43.00, commission 6.45, fee 2.15.
  storage at 0.87: clearing -8.70, expense 8.70.
  Clearing carries the settlement at 68.10 + 34.40 - 8.70 = 93.80 GBP.
  Deposit at 0.88: 110 x 0.88 = 96.80 GBP to the bank, realized gain 96.80 - 93.80 = 3.00 (a credit).
  Deposit at 0.84: 92.40 GBP, realized loss 92.40 - 93.80 = -1.40 (a debit).
"""

from __future__ import annotations

from decimal import Decimal

from ledger_service.rates.parse import parse_rates
from ledger_service.rates.service import import_rates
from ledger_service.store.engine import write_transaction
from tests.support.settlement_files import v2

SETTLEMENT = "7001"
RATES = {"2026-07-02": "0.85123", "2026-07-09": "0.86", "2026-07-12": "0.87"}
CARRIED = Decimal("93.80")


def de_order(order_id: str, on: str, principal: str, commission: str, fee: str) -> list[dict]:
    return [{"transaction-type": "Order", "order-id": order_id, "marketplace-name": "Amazon.de", "amount-type": t,
             "amount-description": d, "amount": a, "posted-date": f"{on} 08:00:00 UTC", "sku": "SKU-A",
             "quantity-purchased": "1" if d == "Principal" else ""}
            for t, d, a in (("ItemPrice", "Principal", principal), ("ItemFees", "Commission", commission),
                            ("ItemFees", "FBAPerUnitFulfillmentFee", fee))]


def storage(amount: str, on: str) -> dict:
    return {"transaction-type": "ServiceFee", "amount-type": "other-transaction", "amount-description": "Storage Fee",
            "amount": amount, "posted-date": f"{on} 00:00:00 UTC", "posted-date-time": f"{on} 00:00:00 UTC"}


def eur_settlement(total: str = "110.00", settlement_id: str = SETTLEMENT, deposit: str = "2026-07-16",
                   rows: list[dict] | None = None) -> bytes:
    if rows is None:
        rows = [*de_order("302-1", "2026-07-02", "100.00", "-15.00", "-5.00"),
                *de_order("302-2", "2026-07-09", "50.00", "-7.50", "-2.50"),
                storage("-10.00", "2026-07-14")]
    return v2(settlement_id, "2026-07-01", "2026-07-14", deposit, total, rows, currency="EUR")


def import_eur_gbp(engine, rates: dict[str, str]) -> None:
    text = "date,from,to,rate\n" + "".join(f"{day},EUR,GBP,{rate}\n" for day, rate in sorted(rates.items()))
    with write_transaction(engine) as conn:
        import_rates(conn, parse_rates(text, "test-rates.csv"), "test-rates.csv")
