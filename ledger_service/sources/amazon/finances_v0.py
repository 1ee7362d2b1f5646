"""SP-API Finances v0 pages (listFinancialEvents*, listFinancialEventGroups) -> canonical records.

The problem: a Finances v0 page holds up to 34 kinds of event list, each with its own shape. Money sits in typed
component lists (ItemChargeList of {ChargeType, ChargeAmount}, FeeList of {FeeType, FeeAmount}, PromotionList,
DirectPaymentList, tax-withheld lists nesting ChargeComponents), in single components (PayWithAmazon's Charge,
CouponPayment's FeeComponent), in item lists (ShipmentItemList, RemovalShipmentItemList) and in flat fields
({CurrencyCode, CurrencyAmount} directly on the event: AdjustmentAmount, BaseTax, transactionValue, ...).
We walk every list generically so that no money is missed, including lists Amazon adds later.

Triple convention (shared with the account mapping):
    transaction_type   = the list name minus "List" (ShipmentEventList -> ShipmentEvent)
    amount_type        = the list or field the money sits in (ItemChargeList, ItemTaxWithheldList, BaseTax, ...)
    amount_description = the ChargeType / FeeType / PromotionType / DirectPaymentType next to the money; for a flat
                         field the event's own type field (AdjustmentType, transactionType, ...) or, when the
                         model gives none, the field name itself.

Choices worth knowing:
- Emitted once. Where the model defines a total as the sum of parts, we emit the parts if they are typed
  components and the total otherwise, and keep the other side in `extra`: ProductAdsPayment emits
  transactionValue (baseValue/taxValue in extra), AffordabilityExpense emits TotalExpense, SellerDealPayment emits
  totalAmount, Coupon/SellerReviewEnrollment emit their Fee/ChargeComponent (TotalAmount in extra). Breakdowns and
  bases that are not money moved (AdjustmentItemList, DebtRecoveryItemList, ChargeInstrumentList,
  SAFETReimbursementItemList, TaxWithholding BaseAmount, RentalInitialValue) are not emitted; `raw` keeps them.
- Zero amounts: a zero that carries its own type (a ChargeComponent of 0.00) is a fact and is kept; an untyped
  flat field of zero (TaxWithheld=0 under the Standard collection model, CostOfPointsGranted=0) is dropped.
- final = group_final (the caller knows whether the group is closed); settlement_id = the group id passed in, the
  request's eventGroupId, or the event's own FinancialEventGroupId.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from decimal import Decimal, InvalidOperation
from typing import Any

from ledger_service import limits
from ledger_service.sources.amazon import text as tx
from ledger_service.sources.model import AmazonAmount, ParsedDocument, ParseError, SettlementSummary, SourceRef

SYSTEM = "sp-api-finances-v0"

COMPONENT_KEYS = (("ChargeType", "ChargeAmount"), ("FeeType", "FeeAmount"), ("PromotionType", "PromotionAmount"),
                  ("DirectPaymentType", "DirectPaymentAmount"))

# The field holding an event's own kind, used to describe its flat money fields.
TYPE_FIELDS = {
    "AdjustmentEvent": "AdjustmentType", "ProductAdsPaymentEvent": "transactionType",
    "RetrochargeEvent": "RetrochargeEventType", "RentalTransactionEvent": "RentalEventType",
    "DebtRecoveryEvent": "DebtRecoveryType", "LoanServicingEvent": "SourceBusinessEventType",
    "SellerDealPaymentEvent": "feeType", "NetworkComminglingTransactionEvent": "TransactionType",
    "AffordabilityExpenseEvent": "TransactionType", "AffordabilityExpenseReversalEvent": "TransactionType",
    "RemovalShipmentEvent": "TransactionType", "RemovalShipmentAdjustmentEvent": "TransactionType",
    "AdhocDisbursementEvent": "TransactionType", "ValueAddedServiceChargeEvent": "TransactionType",
    "CapacityReservationBillingEvent": "TransactionType", "FailedAdhocDisbursementEvent": "FundsTransfersType",
    "SAFETReimbursementEvent": "ReasonCode", "ServiceProviderCreditEvent": "ProviderTransactionType",
    "ChargeRefundEvent": "ReasonCode",
}

# Money fields that restate money emitted elsewhere (totals of emitted parts, parts of an emitted total, bases).
NOT_EMITTED = {
    "AdjustmentEvent": {"AdjustmentItemList"},
    "AffordabilityExpenseEvent": {"BaseExpense", "TaxTypeCGST", "TaxTypeSGST", "TaxTypeIGST"},
    "AffordabilityExpenseReversalEvent": {"BaseExpense", "TaxTypeCGST", "TaxTypeSGST", "TaxTypeIGST"},
    "ProductAdsPaymentEvent": {"baseValue", "taxValue"},
    "SellerDealPaymentEvent": {"feeAmount", "taxAmount"},
    "CouponPaymentEvent": {"TotalAmount"},
    "SellerReviewEnrollmentPaymentEvent": {"TotalAmount"},
    "TaxWithholdingEvent": {"BaseAmount"},
    "DebtRecoveryEvent": {"DebtRecoveryItemList", "ChargeInstrumentList"},
    "RentalTransactionEvent": {"RentalInitialValue"},
    "SAFETReimbursementEvent": {"SAFETReimbursementItemList"},
}

ID_FIELDS = ("AmazonOrderId", "SellerOrderId", "OrderId", "MerchantOrderId", "AdjustmentEventId", "TransactionId",
             "invoiceId", "dealId", "CouponId", "PaymentEventId", "EnrollmentId", "SAFETClaimId", "TDSOrderId",
             "ImagingRequestBillingItemID", "NetCoTransactionID", "TransferId", "DisbursementId",
             "OriginalRemovalOrderId")
DATE_FIELDS = ("PostedDate", "postedDate", "TransactionPostedDate", "TransactionCreationDate")
ITEM_ID_FIELDS = ("OrderItemId", "OrderAdjustmentItemId", "RemovalShipmentItemId")


def json_default(value: Any) -> str:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=json_default, ensure_ascii=False)


def is_money(value: Any) -> bool:
    return isinstance(value, dict) and "CurrencyAmount" in value and "CurrencyCode" in value


def money(value: dict, document: str, page: str) -> tuple[str, Decimal]:
    raw = value.get("CurrencyAmount")
    if isinstance(raw, bool) or raw is None or not value.get("CurrencyCode"):
        raise ParseError(document, page, f"incomplete money {dumps(value)}")
    return value["CurrencyCode"], to_amount(raw, document, page, dumps(value))


def to_amount(raw: object, document: str, page: str, shown: str) -> Decimal:
    """A JSON amount -> Decimal within limits.py's range; text, NaN, infinities and absurd sizes are refused with
    the page named. Floats only reach here when a caller hands us already-parsed JSON; str() gives the shortest
    exact repr."""
    if isinstance(raw, (dict, list, bool)):
        raise ParseError(document, page, f"amount is not a number: {shown}")
    try:
        amount = raw if isinstance(raw, Decimal) else Decimal(str(raw).strip())
        return limits.check_amount(amount)
    except (InvalidOperation, ValueError) as exc:
        reason = str(exc) if isinstance(exc, ValueError) else "not a number"
        raise ParseError(document, page, f"amount {shown[:200]}: {reason}") from None


def component(value: Any) -> tuple[str, str] | None:
    """(type key, amount key) when `value` is a Charge/Fee/Promotion/DirectPayment component."""
    if isinstance(value, dict):
        for type_key, amount_key in COMPONENT_KEYS:
            if is_money(value.get(amount_key)):
                return type_key, amount_key
    return None


def load(data: bytes | dict, document: str) -> dict:
    """Bytes or parsed JSON -> the response object. Amounts become Decimal at decode time, never float."""
    if isinstance(data, dict):
        return data
    try:
        return json.loads(tx.decode(data, document), parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise ParseError(document, exc.lineno, f"not JSON: {exc.msg}") from None


def unwrap(obj: dict, document: str) -> tuple[dict, dict]:
    """(payload, request parameters) from a {request, response} sample, a bare response or a bare payload."""
    params: dict = {}
    if "response" in obj and isinstance(obj["response"], dict):
        params = {k: (v.get("value") if isinstance(v, dict) else v)
                  for k, v in ((obj.get("request") or {}).get("parameters") or {}).items()}
        obj = obj["response"]
    if obj.get("errors") and not obj.get("payload"):
        first = obj["errors"][0] if isinstance(obj["errors"], list) and obj["errors"] else obj["errors"]
        raise ParseError(document, None, f"SP-API error response: {dumps(first)}")
    payload = obj.get("payload", obj)
    if not isinstance(payload, dict):
        raise ParseError(document, None, "payload is not an object")
    return payload, params


def page_label(operation: str, params: dict, page_number: int) -> str:
    token = params.get("NextToken") or params.get("nextToken")
    return f"{operation} NextToken {token}" if token else f"{operation} page {page_number}"


def parse(data: bytes | dict, document: str, *, sha256: str | None = None, group_id: str | None = None,
          group_final: bool = False, operation: str | None = None, page_number: int = 1) -> ParsedDocument:
    """A Finances v0 page -> ParsedDocument. `group_id`/`group_final` say which event group the page belongs to
    and whether it is closed; listFinancialEvents pages cannot know it themselves."""
    if sha256 is None:
        sha256 = hashlib.sha256(data if isinstance(data, bytes) else dumps(data).encode()).hexdigest()
    payload, params = unwrap(load(data, document), document)
    if "FinancialEventGroupList" in payload:
        return parse_groups(payload, document, sha256, page=page_label(operation or "listFinancialEventGroups",
                                                                       params, page_number))
    if operation is None:
        operation = ("listFinancialEventsByGroupId" if params.get("eventGroupId") else
                     "listFinancialEventsByOrderId" if params.get("orderId") else "listFinancialEvents")
    return parse_events(payload, document, sha256, operation=operation,
                        page=page_label(operation, params, page_number),
                        group_id=group_id or params.get("eventGroupId"), group_final=group_final)


def parse_events(payload: dict, document: str, sha256: str, *, operation: str, page: str,
                 group_id: str | None = None, group_final: bool = False) -> ParsedDocument:
    events = payload.get("FinancialEvents")
    if not isinstance(events, dict):
        raise ParseError(document, page, "payload has no FinancialEvents object")
    walker = _Walker(document, sha256, page, group_id, group_final)
    count = 0
    for list_name, items in events.items():
        if not list_name.endswith("List"):
            walker.warnings.append(f"{page}: unexpected key {list_name} in FinancialEvents, ignored")
            continue
        # The model declares FailedAdhocDisbursementEventList and ValueAddedServiceChargeEventList as objects.
        for event in items if isinstance(items, list) else [items]:
            if not isinstance(event, dict):
                raise ParseError(document, page, f"{list_name}: event is not an object")
            walker.event(list_name[: -len("List")], event)
            count += 1
    return ParsedDocument(document, sha256, "finances-v0-events", (), tuple(walker.amounts),
                          tuple(walker.warnings), rows=count)


class _Walker:
    """Collects AmazonAmounts from events; keeps the per-document occurrence counts that make keys unique."""

    def __init__(self, document: str, sha256: str, page: str, group_id: str | None, group_final: bool):
        self.document, self.sha256, self.page = document, sha256, page
        self.group_id, self.group_final = group_id, group_final
        self.amounts: list[AmazonAmount] = []
        self.warnings: list[str] = []
        self.seen: Counter[str] = Counter()

    def event(self, event_type: str, event: dict) -> None:
        raw = dumps(event)
        identity = next((str(event[f]) for f in ID_FIELDS if event.get(f)), None)
        identity = identity or "h" + hashlib.sha256(raw.encode()).hexdigest()[:16]
        posted_raw = next((event[f] for f in DATE_FIELDS if event.get(f)), None)
        try:
            posted = tx.parse_datetime(posted_raw) if posted_raw else None
        except ValueError as exc:
            raise ParseError(self.document, self.page, f"{event_type} {identity}: {exc}") from None
        type_value = event.get(TYPE_FIELDS.get(event_type, ""), "") or ""
        skip = NOT_EMITTED.get(event_type, set())
        context = {
            "event_type": event_type, "identity": identity, "posted": posted, "type_value": type_value,
            "source": SourceRef(SYSTEM, self.document, self.sha256, None, self.page, raw),
            "event": event,
            "extra": tuple((k, f"{v['CurrencyAmount']} {v['CurrencyCode']}") for k, v in event.items()
                           if k in skip and is_money(v)),
        }
        for key, value in event.items():
            if key not in skip:
                self.visit(key, value, context, item_label="-", item={})

    def visit(self, key: str, value: Any, ctx: dict, item_label: str, item: dict) -> None:
        if is_money(value):
            currency, amount = money(value, self.document, self.page)
            if amount != 0:  # untyped zero: no fact (see module docstring)
                self.emit(ctx, item_label, item, key, ctx["type_value"] or key, currency, amount)
            return
        if component(value):
            self.emit_component(ctx, item_label, item, key, value, ())
            return
        if not isinstance(value, list):
            return
        for index, element in enumerate(value):
            if component(element):
                self.emit_component(ctx, item_label, item, key, element, ())
            elif isinstance(element, dict) and "TaxesWithheld" in element:
                model = (("TaxCollectionModel", element["TaxCollectionModel"]),) if element.get("TaxCollectionModel") else ()
                for charge in element.get("TaxesWithheld") or []:
                    if not component(charge):
                        raise ParseError(self.document, self.page, f"{key}: withheld tax is not a charge component")
                    self.emit_component(ctx, item_label, item, key, charge, model)
            elif isinstance(element, dict):
                # OrderItemId and OrderAdjustmentItemId together: a refund item carries both, a shipment item one.
                item_id = "/".join(str(element[f]) for f in ITEM_ID_FIELDS if element.get(f)) or f"#{index}"
                label = f"{key}[{item_id}]"
                for child_key, child in element.items():
                    self.visit(child_key, child, ctx, label, element)

    def emit_component(self, ctx: dict, item_label: str, item: dict, amount_type: str, value: dict,
                       extra: tuple[tuple[str, str], ...]) -> None:
        type_key, amount_key = component(value)  # type: ignore[misc]
        currency, amount = money(value[amount_key], self.document, self.page)
        description = value.get(type_key) or amount_type
        self.emit(ctx, item_label, item, amount_type, description, currency, amount,
                  promotion_id=value.get("PromotionId"), extra=extra)

    def emit(self, ctx: dict, item_label: str, item: dict, amount_type: str, description: str, currency: str,
             amount: Decimal, promotion_id: str | None = None, extra: tuple[tuple[str, str], ...] = ()) -> None:
        event = ctx["event"]
        posted = ctx["posted"].isoformat() if ctx["posted"] else "-"
        group = self.group_id or event.get("FinancialEventGroupId") or "-"
        # The group is part of the identity: two identical fee events in two groups are two facts.
        prefix = f"finances:{group}:{ctx['event_type']}:{ctx['identity']}:{posted}:{item_label}:{amount_type}:{description}"
        k = self.seen[prefix]
        self.seen[prefix] += 1
        quantity = next((item[f] for f in ("QuantityShipped", "Quantity", "AdjustedQuantity") if item.get(f) is not None), None)
        quantity = int(quantity) if quantity is not None and str(quantity).lstrip("-").isdigit() else None
        self.amounts.append(AmazonAmount(
            natural_key=f"{prefix}:{k}",
            settlement_id=self.group_id or event.get("FinancialEventGroupId") or None,
            currency=currency,
            amount=amount,
            transaction_type=ctx["event_type"],
            amount_type=amount_type,
            amount_description=str(description),
            posted_at=ctx["posted"],
            final=self.group_final,
            source=ctx["source"],
            order_id=event.get("AmazonOrderId") or None,
            merchant_order_id=event.get("SellerOrderId") or event.get("MerchantOrderId") or None,
            adjustment_id=item.get("OrderAdjustmentItemId") or event.get("AdjustmentEventId") or None,
            marketplace=event.get("MarketplaceName") or event.get("MarketplaceId") or None,
            sku=item.get("SellerSKU") or event.get("SellerSKU") or event.get("SKU") or None,
            quantity=quantity,
            order_item_code=item.get("OrderItemId") or None,
            promotion_id=promotion_id or None,
            extra=ctx["extra"] + extra,
        ))


def parse_groups(payload: dict, document: str, sha256: str, *, page: str) -> ParsedDocument:
    groups = payload.get("FinancialEventGroupList")
    if not isinstance(groups, list):
        raise ParseError(document, page, "payload has no FinancialEventGroupList")
    summaries, warnings = [], []
    for group in groups:
        summary, warning = _group(group, document, sha256, page)
        summaries.append(summary)
        warnings.extend(warning)
    return ParsedDocument(document, sha256, "finances-v0-groups", tuple(summaries), (), tuple(warnings),
                          rows=len(summaries))


def _group(group: dict, document: str, sha256: str, page: str) -> tuple[SettlementSummary, list[str]]:
    group_id = group.get("FinancialEventGroupId")
    if not group_id:
        raise ParseError(document, page, "financial event group without FinancialEventGroupId")
    totals = [group.get(k) for k in ("OriginalTotal", "BeginningBalance", "ConvertedTotal") if is_money(group.get(k))]
    if not totals:
        raise ParseError(document, page, f"group {group_id}: no currency (no OriginalTotal or BeginningBalance)")
    currency = money(totals[0], document, page)[0]
    total = money(group["OriginalTotal"], document, page)[1] if is_money(group.get("OriginalTotal")) else None
    status = str(group.get("ProcessingStatus") or "")
    warnings = []
    # The model enumerates Open and Closed only. Anything else (the sandbox says PROCESSED) is treated as open:
    # a provisional view can be superseded later, a wrongly final one cannot.
    if status.lower() not in ("open", "closed"):
        warnings.append(f"group {group_id}: ProcessingStatus {status!r} is neither Open nor Closed; treated as open")

    def when(key: str):
        try:
            return tx.parse_date_or_none(group.get(key) or "")
        except ValueError as exc:
            raise ParseError(document, page, f"group {group_id} {key}: {exc}") from None

    extra = tuple((k, str(group[k])) for k in ("ProcessingStatus", "FundTransferStatus", "TraceId", "AccountTail")
                  if group.get(k))
    extra += tuple((k, f"{group[k]['CurrencyAmount']} {group[k]['CurrencyCode']}")
                   for k in ("BeginningBalance", "ConvertedTotal") if is_money(group.get(k)))
    return SettlementSummary(
        settlement_id=str(group_id), currency=currency, total_amount=total,
        start=when("FinancialEventGroupStart"), end=when("FinancialEventGroupEnd"),
        deposit_date=when("FundTransferDate"), final=status.lower() == "closed",
        source=SourceRef(SYSTEM, document, sha256, None, page, dumps(group)), extra=extra,
    ), warnings
