"""Small V2 settlement flat files for tests, written row by row (dicts of column -> cell).

The first data row is the summary (settlement id, start, end, deposit date, total, currency); every other row
repeats the settlement id and currency and carries one amount. A row's line in the file is its index in `rows`
plus 3 (line 1 is the header, line 2 the summary).
"""

from __future__ import annotations

HEADER = ["settlement-id", "settlement-start-date", "settlement-end-date", "deposit-date", "total-amount", "currency",
          "transaction-type", "order-id", "merchant-order-id", "adjustment-id", "shipment-id", "marketplace-name",
          "amount-type", "amount-description", "amount", "fulfillment-id", "posted-date", "posted-date-time",
          "order-item-code", "merchant-order-item-id", "merchant-adjustment-item-id", "sku", "quantity-purchased",
          "promotion-id"]


def v2(settlement_id: str, start: str, end: str, deposit: str, total: str, rows: list[dict],
       currency: str = "USD") -> bytes:
    """A V2 flat file: the summary row (dates as YYYY-MM-DD), then one row per amount."""
    summary = dict.fromkeys(HEADER, "") | {
        "settlement-id": settlement_id, "settlement-start-date": f"{start} 00:00:00 UTC",
        "settlement-end-date": f"{end} 23:59:59 UTC", "deposit-date": f"{deposit} 00:00:00 UTC",
        "total-amount": total, "currency": currency}
    lines = ["\t".join(HEADER), "\t".join(summary[h] for h in HEADER)]
    for row in rows:
        cells = dict.fromkeys(HEADER, "") | {"settlement-id": settlement_id, "currency": currency} | row
        lines.append("\t".join(cells[h] for h in HEADER))
    return ("\n".join(lines) + "\n").encode()


def order(order_id: str, on: str, sku: str, *amounts: tuple[str, str, str]) -> list[dict]:
    """The rows of one order on amazon.com: (amount-type, amount-description, amount) each, posted on `on`."""
    return [{"transaction-type": "Order", "order-id": order_id, "marketplace-name": "Amazon.com", "amount-type": t,
             "amount-description": d, "amount": a, "posted-date": f"{on} 08:00:00 UTC", "sku": sku,
             "quantity-purchased": "1" if d == "Principal" else ""} for t, d, a in amounts]


def other(transaction_type: str, description: str, amount: str, on: str | None) -> dict:
    """A row with no order and no marketplace (fees, carried balances, charges, reserves); `on=None` leaves both
    posted-date and posted-date-time blank."""
    stamp = f"{on} 00:00:00 UTC" if on is not None else ""
    return {"transaction-type": transaction_type, "amount-type": "other-transaction",
            "amount-description": description, "amount": amount, "posted-date": stamp, "posted-date-time": stamp}


def sale(order_id: str, on: str, sku: str = "SKU-A") -> list[dict]:
    """A standard order: Principal 100.00, Commission -15.00, FBA fee -5.00, netting 80.00."""
    return order(order_id, on, sku, ("ItemPrice", "Principal", "100.00"), ("ItemFees", "Commission", "-15.00"),
                 ("ItemFees", "FBAPerUnitFulfillmentFee", "-5.00"))
