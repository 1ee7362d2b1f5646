"""One small settlement of each other shape, ingested through the database, with balances worked out by hand;
and every public sample file ingested without error, keeping the trial balance at zero."""

from decimal import Decimal

import pytest

from ledger_service.balances.integrity import verify
from ledger_service.balances.queries import balances_view, trial_balance
from ledger_service.exceptions.service import exceptions
from ledger_service.ingest.service import ingest_file
from ledger_service.settings import REPO_ROOT
from ledger_service.settlements.reconcile import settlements
from tests.support.samples import SAMPLES

DATA = REPO_ROOT / "tests" / "data" / "amazon"


def posted(engine):
    with engine.connect() as conn:
        return {r["account"]: r["balance"] for r in balances_view(conn, "US") if r["balance"] != "0.00"}


def test_legacy_36_columns(engine):
    # Rows (line: amounts): 3: Principal 40.00, Commission -6.00; 4: Shipping 5.00, FBAPerUnit -7.50, shipping
    # promotion -5.00; 5: storage misc fee -2.20; 6: FBAPerOrder -1.00, ShippingHB -0.50, an other-fee of 1.50 whose
    # reason ShippingChargeback names the V2 item fee (chargebacks: 0.50 - 1.50 = -1.00), and two amounts whose
    # legacy column/type has no V2 meaning (direct payment StoredValueCardRevenue -3.00, other-amount on an Order
    # 4.00: 1.00) -> suspense. Total 25.30.
    report = ingest_file(engine, DATA / "legacy_36.txt", "US")
    # Lines 3 and 4 are one transaction (order 111-0000001-0000001), 5 and 6 one each: 3 events and the summary.
    assert (report.format, report.rows, report.events, report.suspense) == ("settlement-legacy", 4, 4, 2)
    assert posted(engine) == {
        "Assets:Bank:Operating": "25.30",
        "Assets:Suspense:Amazon": "-1.00",
        "Expenses:Amazon:Fees:Chargebacks": "-1.00",
        "Expenses:Amazon:Fees:Fulfillment": "8.50",
        "Expenses:Amazon:Fees:Other": "2.20",
        "Expenses:Amazon:Fees:Referral": "6.00",
        "Income:Amazon:Promotions": "5.00",
        "Income:Amazon:Sales:Principal": "-40.00",
        "Income:Amazon:Sales:Shipping": "-5.00",
    }
    with engine.connect() as conn:
        [s] = settlements(conn, "US")
        queue = exceptions(conn, "US")
    assert (s["settlement_id"], s["total_amount"], s["rows_sum"], s["deposit"], s["status"], s["suspense"]) == (
        "9001", "25.30", "25.30", "25.30", "reconciled_with_suspense", "1.00")
    assert sorted((e["amount"], e["source"]["line"], e["amazon_type"]) for e in queue) == [
        ("-3.00", 6, "Order / other-transaction / StoredValueCardRevenue"),
        ("4.00", 6, "other-transaction / other-transaction / Order")]


def test_legacy_33_columns_negative_settlement(engine):
    # Subscription -39.99 (other-amount of a `Subscription Fee` row), refund -10.00 with refunded commission +1.50,
    # an FBA inventory reimbursement 11.04 (other-fee reason): total -37.45. Negative: Amazon carries it into the
    # next settlement, so it is owed to Amazon (the payable), and the bank does not move.
    report = ingest_file(engine, DATA / "legacy_33_negative.txt", "US")
    assert (report.rows, report.events, report.suspense) == (3, 4, 0)  # one transaction a row, and the summary
    assert posted(engine) == {
        "Liabilities:Amazon:Payable": "-37.45",
        "Income:Amazon:Reimbursements": "-11.04",
        "Expenses:Amazon:Fees:Referral": "-1.50",
        "Expenses:Amazon:Fees:Subscription": "39.99",
        "Income:Amazon:Refunds": "10.00",
    }
    with engine.connect() as conn:
        [s] = settlements(conn, "US")
    # Negative: nothing goes to the bank, the total is carried to the payable to Amazon.
    assert (s["total_amount"], s["deposit"], s["carried"], s["clearing"], s["status"]) == (
        "-37.45", "0.00", "-37.45", "0.00", "reconciled")


@pytest.mark.parametrize("path", sorted(p for p in SAMPLES.iterdir() if p.suffix in (".json", ".txt")
                                        and "fee-codes" not in p.name), ids=lambda p: p.name)
def test_every_public_sample_ingests_and_keeps_the_books_balanced(engine, path):
    first = ingest_file(engine, path, "US")
    again = ingest_file(engine, path, "US")
    assert (again.events, again.duplicates) == (0, first.events)
    with engine.connect() as conn:
        tb = trial_balance(conn, "US")
        assert all(Decimal(t["balance"]) == 0 and Decimal(t["pending"]) == 0 for t in tb["totals"])
        assert verify(conn).ok
