"""The open-group view of a generated settlement, as SP-API Finances v0 listFinancialEventsByGroupId pages.

The problem: before a settlement closes, its money is only visible through the Finances API, event by event, in
the open financial event group. The demo must show that view too, and it must be the SAME money as the flat file
that later closes the group, so that ingesting the pages (group_final=False) and then the file leaves no pending
balance behind. `write_pages` turns a settlement's generated rows into response pages
    {"payload": {"FinancialEvents": {...}, "NextToken": "..."}}     (no NextToken on the last page)
written to <folder>/<settlement-id>-page<N>.json, about PAGE_SIZE events a page, in posting order.

Row -> event (the triple the parser makes is event list minus "List" / component list / Charge-/FeeType):
    Order  ItemPrice Principal/Shipping/Tax   ShipmentEventList  ItemChargeList Principal / ShippingCharge / Tax
           ItemWithheldTax <type>                                ItemTaxWithheldList (TaxesWithheld) <type>
           ItemFees Commission/FBAPerUnit...                     ItemFeeList <type>
           Promotion Principal                                   PromotionList PromotionMetaDataDefinitionValue
    Refund ItemPrice Principal                RefundEventList    ItemChargeAdjustmentList Principal
           ItemFees Commission/RefundCommission                  ItemFeeAdjustmentList <type>
    ServiceFee Storage Fee / Subscription Fee / StorageRenewalBilling
                                              ServiceFeeEventList FeeList FBAStorageFee / Subscription /
                                                                 StorageRenewalBilling
    Adjustment REVERSAL_REIMBURSEMENT / Refund Reimbursal
                                              AdjustmentEventList AdjustmentAmount FBAInventoryReimbursement
    other-transaction Payable to Amazon / Successful charge
                                              DebtRecoveryEventList RecoveryAmount DebtAdjustment / DebtPayment
Every triple above resolves in accounts/ for US and UK (tests/ingest/test_ingest_properties.py checks it).
The settlement-file names REVERSAL_REIMBURSEMENT and "Refund Reimbursal" have no finances-v0 rule; the model's
AdjustmentType for an FBA inventory reimbursement is FBAInventoryReimbursement, which has one.
A negative balance carried from the previous group, and the card charge that collects it, are the model's
DebtRecoveryEvent (DebtRecoveryType DebtAdjustment / DebtPayment; accounts/mappings/amazon.toml maps them as it maps
Payable to Amazon / Successful charge). Its DebtRecoveryItemList names the group the debt comes from; the parser
does not count that list as money, it is what makes two groups' events with the same amount two facts.

Left out, on purpose:
- Reserves (Transfer "Current Reserve Amount" / "Previous Reserve Amount Balance"): Amazon sets the reserve when
  it closes the group; an open group's event lists carry no reserve (the model's AdjustmentType ReserveEvent is
  generated at closing), so the open view does not show it.
- The deliberate unknown triples (UNKNOWN_TRIPLES of the generator): they exist to fill the exception queue from
  the flat files; here every triple must resolve, and the closed settlement brings them in anyway.
So a group's pages sum to the settlement total minus its reserve movements and unknown rows.

Faithful to the model: ServiceFeeEvent has no PostedDate (the ledger dates such provisional amounts by its own
fallback), and neither it nor AdjustmentEvent has an id field, so the parser identifies them by a hash of their
content. ServiceFeeEvent.FeeDescription names the fee's date: without it every group's Subscription event would
be byte-identical, share one natural key, and all but the first would be taken for duplicates.

Money is written as a JSON number literal with exactly two decimals, from the Decimal (never through float).
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterable

PAGE_SIZE = 100
LISTS = ("ShipmentEventList", "RefundEventList", "ServiceFeeEventList", "AdjustmentEventList", "DebtRecoveryEventList")
CHARGE_TYPES = {"Principal": "Principal", "Shipping": "ShippingCharge", "Tax": "Tax"}
SERVICE_FEES = {"Storage Fee": "FBAStorageFee", "Subscription Fee": "Subscription",
                "StorageRenewalBilling": "StorageRenewalBilling"}
REIMBURSEMENTS = {"REVERSAL_REIMBURSEMENT": "FBAInventoryReimbursement",
                  "Refund Reimbursal": "FBAInventoryReimbursement"}
DEBT_RECOVERIES = {"Payable to Amazon": "DebtAdjustment", "Successful charge": "DebtPayment"}
LEFT_OUT = {"Transfer"}  # reserves: see the module docstring (the generator's unknown triples are skipped too)


def _money(currency: str, amount: Decimal) -> dict:
    return {"CurrencyCode": currency, "CurrencyAmount": amount}


def _stamp(row) -> str:
    return row.when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _digits(*parts: str, n: int = 14) -> str:
    return str(int(hashlib.sha256(":".join(parts).encode()).hexdigest(), 16))[:n]


def _item_event(rows: list, currency: str, marketplace: str) -> tuple[str, dict]:
    """An order's rows (one sku, one moment) -> ShipmentEvent, or its refund rows -> RefundEvent."""
    first = rows[0]
    refund = first.transaction_type == "Refund"
    item: dict[str, Any] = {"OrderItemId": first.order_item_code}
    if refund:
        item["OrderAdjustmentItemId"] = _digits(first.order_item_code, first.shipment_id)
    item |= {"SellerSKU": first.sku, "QuantityShipped": int(first.quantity)}
    charges, fees, withheld, promotions = [], [], [], []
    for r in rows:
        if r.amount_type == "ItemPrice":
            charges.append({"ChargeType": CHARGE_TYPES[r.amount_description],
                            "ChargeAmount": _money(currency, r.amount)})
        elif r.amount_type == "ItemFees":
            fees.append({"FeeType": r.amount_description, "FeeAmount": _money(currency, r.amount)})
        elif r.amount_type == "ItemWithheldTax":
            withheld.append({"ChargeType": r.amount_description, "ChargeAmount": _money(currency, r.amount)})
        elif r.amount_type == "Promotion":
            promotions.append({"PromotionType": "PromotionMetaDataDefinitionValue", "PromotionId": r.promotion_id,
                               "PromotionAmount": _money(currency, r.amount)})
        else:
            raise ValueError(f"no Finances v0 form for {r.transaction_type} / {r.amount_type} / {r.amount_description}")
    suffix = "AdjustmentList" if refund else "List"
    for name, values in (("ItemCharge", charges), ("ItemFee", fees), ("Promotion", promotions)):
        if values:
            item[name + suffix] = values
    if withheld:
        item["ItemTaxWithheldList"] = [{"TaxCollectionModel": "MarketplaceFacilitator", "TaxesWithheld": withheld}]
    event = {"AmazonOrderId": first.order_id, "MarketplaceName": marketplace, "PostedDate": _stamp(first),
             ("ShipmentItemAdjustmentList" if refund else "ShipmentItemList"): [item]}
    return ("RefundEventList" if refund else "ShipmentEventList"), event


def _debt_recovery(r, currency: str) -> dict:
    """A carried negative balance or its card charge; the item names the group it was owed from (r.carried)."""
    begin, end = r.carried
    return {"DebtRecoveryType": DEBT_RECOVERIES[r.amount_description], "RecoveryAmount": _money(currency, r.amount),
            "DebtRecoveryItemList": [{"RecoveryAmount": _money(currency, r.amount),
                                      "OriginalAmount": _money(currency, -abs(r.amount)),
                                      "GroupBeginDate": begin.strftime("%Y-%m-%dT%H:%M:%SZ"),
                                      "GroupEndDate": end.strftime("%Y-%m-%dT%H:%M:%SZ")}]}


def _events(rows: Iterable, currency: str, marketplace: str, unknown: set) -> list[tuple[Any, str, dict]]:
    """(sort key, list name, event) for every row the open-group view shows."""
    out: list[tuple[Any, str, dict]] = []
    items: dict[tuple, list] = {}
    for r in rows:
        if r.transaction_type in LEFT_OUT or (r.transaction_type, r.amount_type, r.amount_description) in unknown:
            continue
        if r.transaction_type in ("Order", "Refund"):
            items.setdefault((r.transaction_type, r.order_id, r.shipment_id, r.when), []).append(r)
        elif r.transaction_type == "ServiceFee" and r.amount_description in SERVICE_FEES:
            fee = SERVICE_FEES[r.amount_description]
            out.append((r.when, "ServiceFeeEventList", {
                "FeeDescription": f"{r.amount_description} {marketplace} {r.when:%Y-%m-%d}",
                "FeeList": [{"FeeType": fee, "FeeAmount": _money(currency, r.amount)}]}))
        elif r.transaction_type == "Adjustment" and r.amount_description in REIMBURSEMENTS:
            out.append((r.when, "AdjustmentEventList", {
                "AdjustmentType": REIMBURSEMENTS[r.amount_description], "PostedDate": _stamp(r),
                "AdjustmentAmount": _money(currency, r.amount)}))
        elif r.transaction_type == "other-transaction" and r.amount_description in DEBT_RECOVERIES:
            out.append((r.when, "DebtRecoveryEventList", _debt_recovery(r, currency)))
        else:
            raise ValueError(f"no Finances v0 form for {r.transaction_type} / {r.amount_type} / {r.amount_description}")
    for rows_of_item in items.values():
        name, event = _item_event(rows_of_item, currency, marketplace)
        out.append((rows_of_item[0].when, name, event))
    out.sort(key=lambda e: (e[0], LISTS.index(e[1])))
    return out


def to_json(value: Any, indent: int = 0) -> str:
    """JSON text with Decimals as number literals of two decimals (json.dumps would need a float)."""
    pad, inner = "  " * indent, "  " * (indent + 1)
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, dict):
        if not value:
            return "{}"
        body = ",\n".join(f"{inner}{json.dumps(k)}: {to_json(v, indent + 1)}" for k, v in value.items())
        return "{\n" + body + "\n" + pad + "}"
    if isinstance(value, list):
        if not value:
            return "[]"
        return "[\n" + ",\n".join(inner + to_json(v, indent + 1) for v in value) + "\n" + pad + "]"
    if value is None or isinstance(value, (bool, int, str)):
        return json.dumps(value)
    raise TypeError(f"not JSON: {type(value).__name__}")


def write_pages(folder: Path, settlement_id: str, currency: str, marketplace: str, rows: Iterable,
                unknown: Iterable[tuple[str, str, str]] = (), start: str | None = None) -> list[Path]:
    """Write the settlement's open-group pages; return their paths in page order (at least one page).

    With `start` (the group's FinancialEventGroupStart, ISO 8601), the group itself is written first, as the
    listFinancialEventGroups response that lists it open (<settlement-id>-group.json): the ledger dates the
    events that carry no date of their own (ServiceFeeEvent, DebtRecoveryEvent) by their group, never by the clock,
    so the group is ingested before its pages."""
    events = _events(rows, currency, marketplace, set(unknown))
    chunks = [events[i : i + PAGE_SIZE] for i in range(0, len(events), PAGE_SIZE)] or [[]]
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    if start is not None:
        group = {"FinancialEventGroupId": settlement_id, "ProcessingStatus": "Open", "FundTransferStatus": "Unknown",
                 "BeginningBalance": _money(currency, Decimal("0.00")), "FinancialEventGroupStart": start}
        path = folder / f"{settlement_id}-group.json"
        path.write_bytes((to_json({"payload": {"FinancialEventGroupList": [group]}}) + "\n").encode("ascii"))
        paths.append(path)
    for number, chunk in enumerate(chunks, start=1):
        lists: dict[str, list] = {name: [] for name in LISTS}
        for _, name, event in chunk:
            lists[name].append(event)
        payload: dict[str, Any] = {"FinancialEvents": lists}
        if number < len(chunks):
            payload["NextToken"] = _digits(settlement_id, "page", str(number + 1), n=32)
        path = folder / f"{settlement_id}-page{number}.json"
        path.write_bytes((to_json({"payload": payload}) + "\n").encode("ascii"))
        paths.append(path)
    return paths


def page_files(folder: Path) -> list[Path]:
    """The group records and pages under `folder`, by settlement id: its group first, then its pages by number
    (page10 after page9)."""
    def key(p: Path) -> tuple[str, int]:
        if p.stem.endswith("-group"):
            return p.stem.removesuffix("-group"), 0
        sid, _, number = p.stem.rpartition("-page")
        return sid, int(number)
    return sorted([*folder.glob("*-page*.json"), *folder.glob("*-group.json")], key=key)
