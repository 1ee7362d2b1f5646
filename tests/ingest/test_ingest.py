"""Ingest through the real database: the public V2 sample posts, reconciles and re-ingests to no change.

Expected balances were worked out by hand from the sample's rows (awk sums per triple) and the mapping in
accounts/: e.g. Principal 129.99 + 89.00 + 45.50 + 210.00 = 474.49 credited to sales.
"""

import json
import shutil
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from ledger_service.balances.queries import balances_view
from ledger_service.exceptions.service import exceptions, reclass
from ledger_service.ingest.service import ingest_bytes, ingest_file
from ledger_service.settings import DEFAULT_ACCOUNTS_DIR, Settings
from ledger_service.settlements.reconcile import settlement, settlements
from ledger_service.sources.model import ParseError
from ledger_service.store.tables import events, postings
from tests.support.samples import SAMPLES

SAMPLE = SAMPLES / "settlement_v2_synthetic_xieyi_settlement-sample.txt"

EXPECTED_US = {
    "Assets:Amazon:Reserve": "-400.44",  # 420.00 held, 820.44 released
    "Assets:Bank:Operating": "582.89",  # the deposit
    "Expenses:Amazon:Fees:Chargebacks": "7.99",
    "Expenses:Amazon:Fees:Fulfillment": "19.85",  # 4.75 per unit + 2.50 per order + 12.60 low inventory level
    "Expenses:Amazon:Fees:Referral": "51.68",  # 71.18 commission - 19.50 refunded commission
    "Expenses:Amazon:Fees:RefundAdministration": "5.00",
    "Expenses:Amazon:Fees:Storage": "64.28",
    "Expenses:Amazon:Fees:Subscription": "39.99",
    "Income:Amazon:Refunds": "129.99",
    "Income:Amazon:Reimbursements": "-18.75",
    "Income:Amazon:Sales:Principal": "-474.49",
    "Income:Amazon:Sales:Shipping": "-7.99",
}  # Liabilities:Tax:MarketplaceFacilitator nets to zero (10.40 collected, 10.40 withheld); clearing nets to zero


def posted(engine, subsidiary="US"):
    with engine.connect() as conn:
        return {r["account"]: r["balance"] for r in balances_view(conn, subsidiary) if r["balance"] != "0.00"}


def test_sample_posts_every_amount_to_its_account_and_reconciles(engine):
    report = ingest_file(engine, SAMPLE, "US")
    # 23 rows make 11 Amazon transactions (lines 3-7, 8-11, 12-13, 14-16, 17-18, the two fees of 06-30, then
    # one each for lines 21 to 25): 11 events, and the summary after them.
    assert (report.format, report.rows, report.events, report.suspense) == ("settlement-v2", 23, 12, 0)
    assert posted(engine) == EXPECTED_US
    with engine.connect() as conn:
        [s] = settlements(conn, "US")
    assert {k: s[k] for k in ("settlement_id", "currency", "total_amount", "rows_sum", "clearing", "deposit", "status")} == {
        "settlement_id": "28471003921", "currency": "USD", "total_amount": "582.89", "rows_sum": "582.89",
        "clearing": "0.00", "deposit": "582.89", "status": "reconciled"}

    again = ingest_file(engine, SAMPLE, "US")
    assert (again.events, again.duplicates) == (0, 12)
    assert posted(engine) == EXPECTED_US


def test_unknown_type_goes_to_suspense_then_reclass(engine, tmp_path):
    text = SAMPLE.read_text(encoding="utf-8").replace("LowInventoryLevelFee", "BrandNewMysteryFee")
    report = ingest_bytes(engine, text.encode(), "mystery.txt", "US")
    assert report.suspense == 1
    with engine.connect() as conn:
        [exc] = exceptions(conn, "US")
        detail = settlement(conn, "US", "28471003921")
    assert exc["amazon_type"] == "ServiceFee / other-transaction / BrandNewMysteryFee"
    assert (exc["amount"], exc["source"]["document"]) == ("-12.60", "mystery.txt")
    assert exc["source"]["line"] == next(i for i, line in enumerate(text.splitlines(), 1) if "BrandNewMystery" in line)
    # Still reconciled to the cent: the row is in clearing and in suspense, never lost, and the status says so.
    assert (detail["status"], detail["suspense"], detail["suspense_rows"][0]["amount"]) == (
        "reconciled_with_suspense", "-12.60", "-12.60")
    assert posted(engine)["Assets:Suspense:Amazon"] == "12.60"

    accounts_dir = tmp_path / "accounts"
    shutil.copytree(DEFAULT_ACCOUNTS_DIR, accounts_dir)
    with open(accounts_dir / "subsidiaries" / "US.toml", "a") as f:
        f.write('\n[[mapping]]\nsystem = "settlement"\ntransaction_type = "ServiceFee"\namount_type = "other-transaction"\n'
                'amount_description = "BrandNewMysteryFee"\naccount = "Expenses:Amazon:Fees:Other"\nrole = "fee"\n')
    settings = Settings(database_url="", accounts_dir=accounts_dir)
    assert reclass(engine, "US", settings) == {"reclassed": 1, "still_open": 0}
    assert reclass(engine, "US", settings) == {"reclassed": 0, "still_open": 0}
    balances = posted(engine)
    assert "Assets:Suspense:Amazon" not in balances and balances["Expenses:Amazon:Fees:Other"] == "12.60"
    with engine.connect() as conn:
        assert exceptions(conn, "US") == []


def test_a_file_with_a_bad_row_posts_nothing(engine):
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    lines[5] = lines[5].replace("\t-4.75\t", "\tfour\t")
    with pytest.raises(ParseError, match=r"^bad.txt:6: "):
        ingest_bytes(engine, "\n".join(lines).encode(), "bad.txt", "US")
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(events)).scalar() == 0
        assert conn.execute(select(func.count()).select_from(postings)).scalar() == 0


def finances_page(group_id: str) -> bytes:
    money = lambda a: {"CurrencyCode": "USD", "CurrencyAmount": a}  # noqa: E731
    page = {"payload": {"FinancialEvents": {"ShipmentEventList": [{
        "AmazonOrderId": "114-8829371-4410258", "PostedDate": "2026-06-17T08:14:22Z", "MarketplaceName": "Amazon.com",
        "ShipmentItemList": [{"SellerSKU": "NX-HD-1200", "OrderItemId": "55182930114", "QuantityShipped": 1,
                              "ItemChargeList": [{"ChargeType": "Principal", "ChargeAmount": money("129.99")}],
                              "ItemFeeList": [{"FeeType": "Commission", "FeeAmount": money("-19.50")}]}]}]}}}
    return json.dumps(page).encode()


def test_open_group_then_final_equals_final_alone(engine):
    report = ingest_bytes(engine, finances_page("28471003921"), "open-group.json", "US",
                          group_id="28471003921", group_final=False)
    assert (report.events, report.entries) == (2, 2)
    with engine.connect() as conn:
        pending = {r["account"]: r["pending"] for r in balances_view(conn, "US") if r["pending"] != "0.00"}
    assert pending == {"Assets:Amazon:Clearing": "110.49", "Income:Amazon:Sales:Principal": "-129.99",
                       "Expenses:Amazon:Fees:Referral": "19.50"}
    assert posted(engine) == {}

    final = ingest_file(engine, SAMPLE, "US")
    assert final.voided == 2
    assert posted(engine) == EXPECTED_US
    with engine.connect() as conn:
        rows = balances_view(conn, "US")
    assert all(Decimal(r["pending"]) == 0 for r in rows)


def test_gross_to_net_bridge_closes_to_the_cent(engine):
    from ledger_service.reports.gross_to_net import gross_to_net

    ingest_file(engine, SAMPLE, "US")
    with engine.connect() as conn:
        [usd] = gross_to_net(conn, "US")["currencies"]
    # By hand: sales 474.49 + 7.99; fees -71.18 + 19.50 - 5.00 - 4.75 - 2.50 - 12.60 - 7.99 - 64.28 - 39.99;
    # reserves -420.00 + 820.44; tax 10.40 collected, 10.40 withheld by Amazon as marketplace facilitator.
    assert [(b["line"], b["amount"]) for b in usd["bridge"]] == [
        ("gross sales", "482.48"), ("refunds", "-129.99"), ("Amazon fees", "-188.79"), ("reimbursements", "18.75"),
        ("sales tax collected", "10.40"), ("sales tax withheld by Amazon", "-10.40"), ("reserves", "400.44")]
    assert (usd["net_proceeds"], usd["check"], usd["disbursed"], usd["carried"], usd["in_transit"]) == (
        "582.89", "0.00", "582.89", "0.00", "0.00")


def test_closed_group_then_flat_file_counts_once(engine):
    group = ingest_bytes(engine, finances_page("28471003921"), "closed-group.json", "US",
                         group_id="28471003921", group_final=True)
    assert (group.events, group.voided) == (2, 0)
    assert posted(engine) == {"Assets:Amazon:Clearing": "110.49", "Income:Amazon:Sales:Principal": "-129.99",
                              "Expenses:Amazon:Fees:Referral": "19.50"}
    flat = ingest_file(engine, SAMPLE, "US")
    assert flat.voided == 2  # the flat file is the authority for its settlement
    assert posted(engine) == EXPECTED_US
    with engine.connect() as conn:
        [s] = settlements(conn, "US")
    assert (s["rows_sum"], s["rows"], s["status"]) == ("582.89", 23, "reconciled")


def test_finances_data_after_the_flat_file_is_kept_but_not_posted(engine):
    ingest_file(engine, SAMPLE, "US")
    late = ingest_bytes(engine, finances_page("28471003921"), "late.json", "US", group_id="28471003921",
                        group_final=False)
    assert (late.events, late.entries, late.superseded) == (2, 0, 2)
    assert posted(engine) == EXPECTED_US
    with engine.connect() as conn:
        assert all(Decimal(r["pending"]) == 0 for r in balances_view(conn, "US"))


def test_superseded_finances_suspense_leaves_the_exception_queue(engine):
    page = finances_page("28471003921").replace(b'"Commission"', b'"MysteryFinancesFee"')
    ingest_bytes(engine, page, "closed.json", "US", group_id="28471003921", group_final=True)
    with engine.connect() as conn:
        assert [e["amazon_type"] for e in exceptions(conn, "US")] == [
            "ShipmentEvent / ItemFeeList / MysteryFinancesFee"]
    ingest_file(engine, SAMPLE, "US")  # the flat file reverses the group's entries, the unknown fee's too
    with engine.connect() as conn:
        assert exceptions(conn, "US") == []
    assert posted(engine) == EXPECTED_US


def test_a_total_that_its_rows_do_not_reach_is_listed_with_its_differences(engine):
    text = SAMPLE.read_text(encoding="utf-8").replace("\t582.89\tUSD", "\t583.89\tUSD", 1)
    report = ingest_bytes(engine, text.encode(), "short.txt", "US")
    assert report.warnings == ["settlement 28471003921: rows sum to 582.89, total-amount is 583.89"]
    with engine.connect() as conn:
        [s] = settlements(conn, "US")
    # rows 582.89 against a total and deposit of 583.89: clearing is left 1.00 short of the deposit
    assert {k: s[k] for k in ("rows_sum", "deposit", "clearing", "status", "difference", "deposit_difference")} == {
        "rows_sum": "582.89", "deposit": "583.89", "clearing": "-1.00", "status": "inconsistent",
        "difference": "-1.00", "deposit_difference": "0.00"}
