"""SP-API Finances v0 and 2024-06-19 pages: every sample parses, triples, keys, zero rules, sums."""

import json
from collections import Counter
from datetime import datetime
from decimal import Decimal

import pytest

from ledger_service.sources.amazon import finances_2024, finances_v0, parse_document
from ledger_service.sources.model import ParseError

from tests.support.samples import SAMPLES  # noqa: E402
NOT_DOCUMENTS = {"settlement_v2_fee-codes_xieyi.json", "SOURCES.md"}


def sample(name: str, **kwargs):
    return parse_document((SAMPLES / name).read_bytes(), name, **kwargs)


def as_bytes(obj) -> bytes:
    return json.dumps(obj).encode()


@pytest.mark.parametrize("path", sorted(p for p in SAMPLES.iterdir() if p.name not in NOT_DOCUMENTS), ids=lambda p: p.name)
def test_every_sample_parses(path):
    doc = parse_document(path.read_bytes(), path.name)
    assert doc.document == path.name and doc.rows >= 1
    for amount in doc.amounts:
        assert isinstance(amount.amount, Decimal)
    assert len({a.natural_key for a in doc.amounts}) == len(doc.amounts)


def test_fee_codes_json_is_not_a_document():
    with pytest.raises(ParseError, match="not an SP-API Finances page"):
        sample("settlement_v2_fee-codes_xieyi.json")


class TestV0Events:
    def test_by_group_id_walks_every_list(self):
        doc = sample("spapi_financesV0_listFinancialEventsByGroupId_sandbox0.json")
        assert doc.format == "finances-v0-events" and doc.rows == 6 and len(doc.amounts) == 31
        assert sum(a.amount for a in doc.amounts) == Decimal("786.47")  # 31 x 25.37
        assert {a.settlement_id for a in doc.amounts} == {"485734534857"}  # from the request's eventGroupId
        assert Counter(a.transaction_type for a in doc.amounts) == {
            "ChargebackEvent": 25, "ImagingServicesFeeEvent": 1, "NetworkComminglingTransactionEvent": 2,
            "AffordabilityExpenseReversalEvent": 1, "TrialShipmentEvent": 1, "TaxWithholdingEvent": 1}
        triples = Counter(a.triple for a in doc.amounts)
        assert triples[("ChargebackEvent", "ItemTaxWithheldList", "Tax")] == 2
        assert triples[("ChargebackEvent", "DirectPaymentList", "StoredValueCardRevenue")] == 1
        assert triples[("AffordabilityExpenseReversalEvent", "TotalExpense", "Free")] == 1  # parts not emitted
        assert triples[("TaxWithholdingEvent", "WithheldAmount", "WithheldAmount")] == 1  # BaseAmount not emitted
        charge = doc.amounts[7]
        assert charge.natural_key == ("finances:485734534857:ChargebackEvent:444-555-3343433:2020-02-05T13:56:00.363000:"
                                      "ShipmentItemList[4565465645646/456456465464]:ItemChargeList:Tax:0")
        assert (charge.order_id, charge.sku, charge.order_item_code, charge.quantity) == (
            "444-555-3343433", "456454455464", "4565465645646", 0)
        assert charge.posted_at == datetime(2020, 2, 5, 13, 56, 0, 363000) and charge.final is False
        assert charge.source.page == "listFinancialEventsByGroupId page 1" and charge.source.line is None
        assert json.loads(charge.source.raw)["AmazonOrderId"] == "444-555-3343433"
        assert json.loads(charge.source.raw)["OrderChargeList"][0]["ChargeAmount"]["CurrencyAmount"] == "25.37"

    def test_by_order_id(self):
        doc = sample("spapi_financesV0_listFinancialEventsByOrderId_sandbox0.json")
        assert len(doc.amounts) == 9 and sum(a.amount for a in doc.amounts) == Decimal("228.33")
        triples = {a.triple for a in doc.amounts}
        assert ("RetrochargeEvent", "BaseTax", "Retrocharge") in triples
        assert ("RetrochargeEvent", "RetrochargeTaxWithheldList", "Tax") in triples
        assert ("ServiceFeeEvent", "FeeList", "FixedClosingFee") in triples
        ads = [a for a in doc.amounts if a.transaction_type == "ProductAdsPaymentEvent"]
        assert [a.amount_type for a in ads] == ["transactionValue"]  # baseValue + taxValue are in extra
        assert ("baseValue", "25.37 USD") in ads[0].extra
        assert "RentalInitialValue" not in {a.amount_type for a in doc.amounts}

    def test_list_financial_events_takes_group_from_caller(self):
        doc = sample("spapi_financesV0_listFinancialEvents_sandbox0.json", group_id="G-1", group_final=True)
        assert len(doc.amounts) == 8 and {a.settlement_id for a in doc.amounts} == {"G-1"}
        assert all(a.final for a in doc.amounts)
        assert {a.source.page for a in doc.amounts} == {"listFinancialEvents NextToken jehgri34yo7jr9e8f984tr9i4o"}
        assert ("PayWithAmazonEvent", "Charge", "Tax") in {a.triple for a in doc.amounts}
        assert ("ServiceProviderCreditEvent", "TransactionAmount", "Free") in {a.triple for a in doc.amounts}

    def test_wrapper_bare_response_and_bare_payload_agree(self):
        wrapped = json.loads((SAMPLES / "spapi_financesV0_listFinancialEvents_sandbox0.json").read_text())
        response, payload = wrapped["response"], wrapped["response"]["payload"]
        docs = [parse_document(as_bytes(o), "p.json", group_id="G") for o in (wrapped, response, payload)]
        keys = [[(a.natural_key, a.amount) for a in d.amounts] for d in docs]
        assert keys[0] == keys[1] == keys[2]

    def test_zero_amounts_kept_only_when_typed(self):
        event = {"AmazonOrderId": "111-1", "PostedDate": "2024-01-02T03:04:05Z", "ShipmentItemList": [{
            "OrderItemId": "OI-1", "SellerSKU": "S", "QuantityShipped": 1,
            "ItemChargeList": [{"ChargeType": "Principal", "ChargeAmount": {"CurrencyCode": "EUR", "CurrencyAmount": 10.10}},
                               {"ChargeType": "GiftWrap", "ChargeAmount": {"CurrencyCode": "EUR", "CurrencyAmount": 0.0}}],
            "CostOfPointsGranted": {"CurrencyCode": "EUR", "CurrencyAmount": 0}}]}
        doc = parse_document(as_bytes({"payload": {"FinancialEvents": {"ShipmentEventList": [event]}}}), "z.json")
        assert [(a.amount_description, a.amount) for a in doc.amounts] == [("Principal", Decimal("10.10")), ("GiftWrap", Decimal("0.0"))]
        assert doc.amounts[0].posted_at == datetime(2024, 1, 2, 3, 4, 5) and doc.amounts[0].currency == "EUR"

    def test_identical_components_get_distinct_keys(self):
        fee = {"FeeType": "FBAStorageFee", "FeeAmount": {"CurrencyCode": "USD", "CurrencyAmount": -1.5}}
        event = {"FeeReason": "Storage", "FeeList": [fee, fee]}
        doc = parse_document(as_bytes({"payload": {"FinancialEvents": {"ServiceFeeEventList": [event, event]}}}), "s.json")
        assert len(doc.amounts) == 4 and len({a.natural_key for a in doc.amounts}) == 4
        assert sum(a.amount for a in doc.amounts) == Decimal("-6.0")
        assert doc.amounts[0].natural_key.endswith(":-:-:FeeList:FBAStorageFee:0")

    def test_adjustment_event_emits_adjustment_amount_once(self):
        event = {"AdjustmentType": "FBAInventoryReimbursement", "PostedDate": "2024-03-01T00:00:00Z",
                 "AdjustmentAmount": {"CurrencyCode": "USD", "CurrencyAmount": "12.34"},
                 "AdjustmentItemList": [{"Quantity": "2", "SellerSKU": "S",
                                         "PerUnitAmount": {"CurrencyCode": "USD", "CurrencyAmount": "6.17"},
                                         "TotalAmount": {"CurrencyCode": "USD", "CurrencyAmount": "12.34"}}]}
        doc = parse_document(as_bytes({"payload": {"FinancialEvents": {"AdjustmentEventList": [event]}}}), "a.json")
        assert [(a.triple, a.amount) for a in doc.amounts] == [
            (("AdjustmentEvent", "AdjustmentAmount", "FBAInventoryReimbursement"), Decimal("12.34"))]

    def test_error_response_and_incomplete_money(self):
        with pytest.raises(ParseError, match="InvalidInput"):
            parse_document(as_bytes({"errors": [{"code": "InvalidInput", "message": "Input not valid."}]}), "e.json")
        bad = {"payload": {"FinancialEvents": {"ServiceFeeEventList": [{"FeeList": [
            {"FeeType": "X", "FeeAmount": {"CurrencyCode": "", "CurrencyAmount": 1}}]}]}}}
        with pytest.raises(ParseError, match="incomplete money"):
            parse_document(as_bytes(bad), "m.json")


class TestV0Groups:
    def test_sandbox_group(self):
        doc = sample("spapi_financesV0_listFinancialEventGroups_sandbox0.json")
        (group,) = doc.settlements
        assert doc.format == "finances-v0-groups" and doc.amounts == ()
        assert (group.settlement_id, group.currency, group.total_amount) == ("1", "USD", Decimal("10.34"))
        assert group.deposit_date == datetime(2020, 2, 7, 14, 38, 42, 128000)
        assert group.final is False and "PROCESSED" in doc.warnings[0]
        assert ("BeginningBalance", "55.33 USD") in group.extra and ("TraceId", "34550454504545") in group.extra

    @pytest.mark.parametrize("status, final", [("Closed", True), ("Open", False)])
    def test_closed_is_final(self, status, final):
        group = {"FinancialEventGroupId": "G", "ProcessingStatus": status,
                 "OriginalTotal": {"CurrencyCode": "GBP", "CurrencyAmount": -3.10},
                 "FinancialEventGroupStart": "2024-01-01T00:00:00Z"}
        doc = parse_document(as_bytes({"payload": {"FinancialEventGroupList": [group]}}), "g.json")
        (summary,) = doc.settlements
        assert summary.final is final and summary.total_amount == Decimal("-3.10") and doc.warnings == ()


def transaction(**overrides):
    base = {"transactionType": "Shipment", "transactionId": "T-1", "transactionStatus": "RELEASED",
            "postedDate": "2024-07-01T10:00:00Z", "totalAmount": {"currencyCode": "USD", "currencyAmount": 7.50},
            "relatedIdentifiers": [{"relatedIdentifierName": "ORDER_ID", "relatedIdentifierValue": "111-2"},
                                   {"relatedIdentifierName": "SETTLEMENT_ID", "relatedIdentifierValue": "S-9"}],
            "marketplaceDetails": {"marketplaceId": "ATVPDKIKX0DER", "marketplaceName": "Amazon.com"},
            "contexts": [{"contextType": "ProductContext", "sku": "SKU-1", "quantityShipped": 1}],
            "breakdowns": [
                {"breakdownType": "Sales", "breakdownAmount": {"currencyCode": "USD", "currencyAmount": 10.00},
                 "breakdowns": [{"breakdownType": "ProductCharges", "breakdownAmount": {"currencyCode": "USD", "currencyAmount": 10.00},
                                 "breakdowns": [{"breakdownType": "Principal", "breakdownAmount": {"currencyCode": "USD", "currencyAmount": 9.00}},
                                                {"breakdownType": "Tax", "breakdownAmount": {"currencyCode": "USD", "currencyAmount": 1.00}}]}]},
                {"breakdownType": "Expenses", "breakdownAmount": {"currencyCode": "USD", "currencyAmount": -2.50},
                 "breakdowns": [{"breakdownType": "AmazonFees", "breakdownAmount": {"currencyCode": "USD", "currencyAmount": -2.50}, "breakdowns": []}]},
            ]}
    base.update(overrides)
    return base


class TestFinances2024:
    def test_sandbox_transaction_without_breakdowns(self):
        doc = sample("spapi_finances2024-06-19_listTransactions_sandbox0.json")
        (amount,) = doc.amounts
        assert amount.triple == ("Shipment", "totalAmount", "totalAmount") and amount.amount == Decimal("10")
        assert amount.order_id == "8129762527551" and amount.final is False  # no transactionStatus
        assert amount.settlement_id == "4MVaHcsAfaYAlwlaPWrXJxrfUiKfYZ2ooWtY7528FUA"
        assert amount.posted_at == datetime(2020, 7, 14, 3, 35, 13, 214000)

    def test_leaves_are_the_amounts(self):
        doc = parse_document(as_bytes({"payload": {"transactions": [transaction()]}}), "t.json")
        assert [(a.triple, a.amount) for a in doc.amounts] == [
            (("Shipment", "Sales/ProductCharges", "Principal"), Decimal("9.00")),
            (("Shipment", "Sales/ProductCharges", "Tax"), Decimal("1.00")),
            (("Shipment", "Expenses", "AmazonFees"), Decimal("-2.50")),
        ]
        first = doc.amounts[0]
        assert first.natural_key == "finances2024:Shipment:T-1:Sales/ProductCharges:Principal:0"
        assert (first.settlement_id, first.order_id, first.sku, first.quantity, first.marketplace, first.final) == (
            "S-9", "111-2", "SKU-1", 1, "Amazon.com", True)
        assert doc.warnings == ()

    def test_top_level_leaf_and_status(self):
        tx = transaction(transactionStatus="Deferred", totalAmount={"currencyCode": "USD", "currencyAmount": -1},
                         breakdowns={"breakdowns": [{"breakdownType": "Expenses", "breakdownAmount": {"currencyCode": "USD", "currencyAmount": -1}}]})
        (amount,) = parse_document(as_bytes({"payload": {"transactions": [tx]}}), "t.json").amounts
        assert amount.triple == ("Shipment", "Expenses", "Expenses") and amount.final is False

    def test_leaves_not_summing_to_total_warn(self):
        tx = transaction(totalAmount={"currencyCode": "USD", "currencyAmount": 8})
        doc = parse_document(as_bytes({"payload": {"transactions": [tx]}}), "t.json")
        assert doc.warnings == ("transaction T-1 (Shipment): breakdown leaves sum to 7.5, totalAmount is 8 USD",)

    @pytest.mark.parametrize("name, fmt", [
        ("spapi_finances2024-06-19_listBalances_sandbox0.json", "finances-2024-balances"),
        ("spapi_finances2024-06-19_listSummary_sandbox0.json", "finances-2024-summaries"),
    ])
    def test_snapshots_post_nothing(self, name, fmt):
        doc = sample(name)
        assert doc.format == fmt and doc.amounts == () and doc.settlements == () and len(doc.warnings) == 1

    def test_never_float(self):
        doc = finances_2024.parse(b'{"payload": {"transactions": [' + json.dumps(transaction(
            totalAmount={"currencyCode": "USD", "currencyAmount": 0.1}, breakdowns=[
                {"breakdownType": "A", "breakdownAmount": {"currencyCode": "USD", "currencyAmount": 0.1}}])).encode() + b"]}}", "f.json")
        assert doc.amounts[0].amount == Decimal("0.1") and doc.warnings == ()


def test_v0_entry_point_direct():
    data = (SAMPLES / "spapi_financesV0_listFinancialEvents_sandbox0.json").read_bytes()
    direct = finances_v0.parse(data, "x.json", group_id="G", group_final=True)
    routed = parse_document(data, "x.json", group_id="G", group_final=True)
    assert direct == routed
