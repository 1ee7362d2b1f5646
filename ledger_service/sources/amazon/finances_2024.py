"""SP-API Finances 2024-06-19 pages (listTransactions; listBalances and listSummary recognised) -> canonical records.

The problem: a listTransactions transaction states its totalAmount and a tree of breakdowns explaining it
(Sales -> Product Charges -> Principal, Expenses -> Amazon Fees -> ...). Only the leaves are money; inner nodes
restate the sum of their children. So each LEAF becomes one AmazonAmount:

    transaction_type   = transactionType                      (Shipment, Refund, ServiceFee, ...)
    amount_type        = the parent breakdownTypes joined by "/" ("Sales", "Expenses/AmazonFees"); for a leaf at
                         the top level, its own breakdownType
    amount_description = the leaf's breakdownType

The leaves must sum to totalAmount; when they do not, ParsedDocument.warnings names the transaction, so that a
model change surfaces instead of silently dropping money. A transaction without breakdowns (the sandbox's) is one
amount: (transactionType, "totalAmount", "totalAmount"), its free-text description kept in `extra`.
Items carry their own breakdowns that restate the transaction's per item; they are not emitted (raw keeps them),
but a single ProductContext gives the amounts their sku and quantity.

final: the model's transactionStatus enum is DEFERRED / RELEASED / DEFERRED_RELEASED (the model's own example
writes "Released"). RELEASED and DEFERRED_RELEASED are money released to the seller's balance, so final=True,
compared case-insensitively; DEFERRED or missing is provisional.

listBalances and listSummary are snapshots and aggregates of money recorded elsewhere; posting them would
double count, so they parse to a document with no amounts and a warning saying why.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from decimal import Decimal

from ledger_service.sources.amazon import text as tx
from ledger_service.sources.amazon.finances_v0 import dumps, load, page_label, to_amount, unwrap
from ledger_service.sources.model import AmazonAmount, ParsedDocument, ParseError, SourceRef

SYSTEM = "sp-api-finances-2024-06-19"
FINAL_STATUSES = {"RELEASED", "DEFERRED_RELEASED"}


def parse(data: bytes | dict, document: str, *, sha256: str | None = None, group_id: str | None = None,
          page_number: int = 1) -> ParsedDocument:
    if sha256 is None:
        sha256 = hashlib.sha256(data if isinstance(data, bytes) else dumps(data).encode()).hexdigest()
    payload, params = unwrap(load(data, document), document)
    for key, operation, fmt in (("balances", "listBalances", "finances-2024-balances"),
                                ("summaries", "listSummary", "finances-2024-summaries")):
        if key in payload and "transactions" not in payload:
            note = f"{operation} is a snapshot of money recorded by transactions; nothing to post"
            return ParsedDocument(document, sha256, fmt, (), (), (note,), rows=len(payload.get(key) or []))
    transactions = payload.get("transactions")
    if not isinstance(transactions, list):
        raise ParseError(document, None, "payload has no transactions list")
    page = page_label("listTransactions", params, page_number)
    amounts: list[AmazonAmount] = []
    warnings: list[str] = []
    seen: Counter[str] = Counter()
    for index, transaction in enumerate(transactions):
        if not isinstance(transaction, dict):
            raise ParseError(document, page, f"transaction {index} is not an object")
        got, warning = _transaction(transaction, document, sha256, page, group_id, seen)
        amounts.extend(got)
        warnings.extend(warning)
    return ParsedDocument(document, sha256, "finances-2024-transactions", (), tuple(amounts), tuple(warnings),
                          rows=len(transactions))


def _money(value: object, document: str, page: str, what: str) -> tuple[str, Decimal]:
    if not isinstance(value, dict) or value.get("currencyAmount") is None or not value.get("currencyCode"):
        raise ParseError(document, page, f"{what}: missing or incomplete money {dumps(value)}")
    return value["currencyCode"], to_amount(value["currencyAmount"], document, page, dumps(value))


def _children(node: dict) -> list:
    # The model's own example nests transaction breakdowns as {"breakdowns": [...]}; accept both shapes.
    value = node.get("breakdowns")
    if isinstance(value, dict):
        value = value.get("breakdowns")
    return value or []


def leaves(nodes: list, parents: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], dict]]:
    """(path of breakdownTypes, leaf) for every leaf under `nodes`, in document order."""
    out = []
    for node in nodes:
        path = parents + (str(node.get("breakdownType") or "?"),)
        children = _children(node)
        out.extend(leaves(children, path) if children else [(path, node)])
    return out


def _related(transaction: dict) -> dict[str, str]:
    return {str(r.get("relatedIdentifierName")): str(r.get("relatedIdentifierValue"))
            for r in transaction.get("relatedIdentifiers") or [] if isinstance(r, dict)}


def _product(transaction: dict) -> dict:
    products = [c for c in transaction.get("contexts") or [] if isinstance(c, dict) and c.get("contextType") == "ProductContext"]
    return products[0] if len(products) == 1 else {}


def _transaction(transaction: dict, document: str, sha256: str, page: str, group_id: str | None,
                 seen: Counter[str]) -> tuple[list[AmazonAmount], list[str]]:
    raw = dumps(transaction)
    identity = transaction.get("transactionId") or "h" + hashlib.sha256(raw.encode()).hexdigest()[:16]
    kind = str(transaction.get("transactionType") or "")
    if not kind:
        raise ParseError(document, page, f"transaction {identity} without transactionType")
    currency, total = _money(transaction.get("totalAmount"), document, page, f"transaction {identity} totalAmount")
    try:
        posted = tx.parse_date_or_none(transaction.get("postedDate") or "")
    except ValueError as exc:
        raise ParseError(document, page, f"transaction {identity} postedDate: {exc}") from None
    related, product = _related(transaction), _product(transaction)
    details = transaction.get("marketplaceDetails") or {}
    meta = transaction.get("sellingPartnerMetadata") or {}
    status = str(transaction.get("transactionStatus") or "")
    extra = tuple((k, str(v)) for k, v in (("transactionStatus", status), ("description", transaction.get("description")),
                                            ("accountType", meta.get("accountType"))) if v)
    parts = [((("totalAmount", "totalAmount")), {"breakdownAmount": transaction.get("totalAmount")})]
    tree = leaves(_children(transaction))
    if tree:
        parts = [(("/".join(path[:-1]) or path[0], path[-1]), leaf) for path, leaf in tree]
    source = SourceRef(SYSTEM, document, sha256, None, page, raw)
    amounts, sum_ = [], Decimal(0)
    for (amount_type, description), leaf in parts:
        leaf_currency, amount = _money(leaf.get("breakdownAmount"), document, page, f"transaction {identity} {description}")
        if leaf_currency != currency:
            raise ParseError(document, page, f"transaction {identity}: {description} in {leaf_currency}, total in {currency}")
        sum_ += amount
        prefix = f"finances2024:{kind}:{identity}:{amount_type}:{description}"
        k = seen[prefix]
        seen[prefix] += 1
        quantity = product.get("quantityShipped")
        amounts.append(AmazonAmount(
            natural_key=f"{prefix}:{k}",
            settlement_id=group_id or related.get("SETTLEMENT_ID") or related.get("FINANCIAL_EVENT_GROUP_ID"),
            currency=currency, amount=amount, transaction_type=kind, amount_type=amount_type,
            amount_description=description, posted_at=posted, final=status.upper() in FINAL_STATUSES,
            source=source, order_id=related.get("ORDER_ID"), shipment_id=related.get("SHIPMENT_ID"),
            marketplace=details.get("marketplaceName") or details.get("marketplaceId") or meta.get("marketplaceId"),
            sku=product.get("sku"), quantity=int(quantity) if quantity is not None else None,
            fulfillment_id=product.get("fulfillmentNetwork"), extra=extra,
        ))
    warnings = [] if sum_ == total else [f"transaction {identity} ({kind}): breakdown leaves sum to {sum_}, "
                                         f"totalAmount is {total} {currency}"]
    return amounts, warnings
