"""Settlement statuses through the real database, on small V2 flat files built here, figures worked by hand.

The clean settlement 7001 (2026-03-01 to 03-14, deposited 03-16):
  line 3-5  Order 111-0000001-0000001: Principal 50.00, Commission -7.50, FBA fee -4.25   = 38.25
  line 6-7  Order 111-0000002-0000002: Principal 30.00, Commission -4.50                 = 25.50
  line 8    ServiceFee: Subscription Fee -39.99                                          = -39.99
  total 38.25 + 25.50 - 39.99 = 23.76, deposited to the bank.
"""

import shutil
from datetime import date

from sqlalchemy import select

from ledger_service.balances.queries import balances_view
from ledger_service.exceptions.service import exceptions, reclass
from ledger_service.ingest.service import ingest_bytes
from ledger_service.journal.service import post, reverse
from ledger_service.settings import DEFAULT_ACCOUNTS_DIR, Settings
from ledger_service.settlements.reconcile import settlement, settlements
from ledger_service.store.tables import entries, events
from tests.support.builders import event, transfer
from tests.support.settlement_files import order, other, v2

CLEAN_ROWS = [
    *order("111-0000001-0000001", "2026-03-03", "SKU-A", ("ItemPrice", "Principal", "50.00"),
           ("ItemFees", "Commission", "-7.50"), ("ItemFees", "FBAPerUnitFulfillmentFee", "-4.25")),
    *order("111-0000002-0000002", "2026-03-05", "SKU-B", ("ItemPrice", "Principal", "30.00"),
           ("ItemFees", "Commission", "-4.50")),
    other("ServiceFee", "Subscription Fee", "-39.99", "2026-03-10"),
]
UNKNOWN = other("other-transaction", "SomethingNewXYZ", "-3.15", "2026-03-12")  # line 9 of its file


def clean(total: str = "23.76", rows: list[dict] = CLEAN_ROWS) -> bytes:
    return v2("7001", "2026-03-01", "2026-03-14", "2026-03-16", total, rows)


def figures(row: dict, *keys: str) -> dict:
    return {k: row[k] for k in keys}


FIGURES = ("total_amount", "rows_sum", "deposit", "carried", "clearing", "suspense_count", "suspense", "status")


def balance(engine, account: str) -> str:
    with engine.connect() as conn:
        return next((r["balance"] for r in balances_view(conn, "US", account=account) if r["account"] == account),
                    "0.00")


def test_a_clean_settlement_is_reconciled(engine):
    report = ingest_bytes(engine, clean(), "clean.txt", "US")
    assert (report.rows, report.suspense, report.warnings) == (6, 0, [])
    with engine.connect() as conn:
        [s] = settlements(conn, "US")
        detail = settlement(conn, "US", "7001")
    assert figures(s, *FIGURES, "difference", "deposit_difference", "explained_by") == {
        "total_amount": "23.76", "rows_sum": "23.76", "deposit": "23.76", "carried": "0.00", "clearing": "0.00",
        "suspense_count": 0, "suspense": "0.00", "status": "reconciled", "difference": "0.00",
        "deposit_difference": "0.00", "explained_by": []}
    assert (detail["suspense_rows"], detail["rows"]) == ([], 6)


def test_an_unmapped_amount_is_reconciled_with_suspense_until_reclassed(engine, tmp_path):
    ingest_bytes(engine, clean("20.61", [*CLEAN_ROWS, UNKNOWN]), "susp.txt", "US")  # 23.76 - 3.15
    with engine.connect() as conn:
        detail = settlement(conn, "US", "7001")
        [exc] = exceptions(conn, "US")
    assert figures(detail, *FIGURES) == {
        "total_amount": "20.61", "rows_sum": "20.61", "deposit": "20.61", "carried": "0.00", "clearing": "0.00",
        "suspense_count": 1, "suspense": "-3.15", "status": "reconciled_with_suspense"}
    assert detail["suspense_rows"] == [{
        "event_id": exc["event_id"], "document": "susp.txt", "line": 9,
        "amazon_type": "other-transaction / other-transaction / SomethingNewXYZ", "amount": "-3.15"}]

    accounts_dir = tmp_path / "accounts"  # the mapping learns the triple; reclass moves the amount out of suspense
    shutil.copytree(DEFAULT_ACCOUNTS_DIR, accounts_dir)
    with open(accounts_dir / "subsidiaries" / "US.toml", "a") as f:
        f.write('\n[[mapping]]\nsystem = "settlement"\ntransaction_type = "other-transaction"\n'
                'amount_type = "other-transaction"\namount_description = "SomethingNewXYZ"\n'
                'account = "Expenses:Amazon:Fees:Other"\nrole = "fee"\n')
    assert reclass(engine, "US", Settings(database_url="", accounts_dir=accounts_dir))["reclassed"] == 1
    with engine.connect() as conn:
        detail = settlement(conn, "US", "7001")
    assert figures(detail, *FIGURES) == {
        "total_amount": "20.61", "rows_sum": "20.61", "deposit": "20.61", "carried": "0.00", "clearing": "0.00",
        "suspense_count": 0, "suspense": "0.00", "status": "reconciled"}
    assert detail["suspense_rows"] == []


def test_rows_that_do_not_sum_to_the_total_are_inconsistent(engine):
    report = ingest_bytes(engine, clean(total="24.76"), "short.txt", "US")
    assert report.warnings == ["settlement 7001: rows sum to 23.76, total-amount is 24.76"]
    with engine.connect() as conn:
        [s] = settlements(conn, "US")
    # The disbursement took the total (24.76) out of clearing; the rows put only 23.76 in.
    assert figures(s, *FIGURES, "difference", "deposit_difference") == {
        "total_amount": "24.76", "rows_sum": "23.76", "deposit": "24.76", "carried": "0.00", "clearing": "-1.00",
        "suspense_count": 0, "suspense": "0.00", "status": "inconsistent", "difference": "-1.00",
        "deposit_difference": "0.00"}


def test_inconsistent_wins_over_suspense(engine):
    ingest_bytes(engine, clean("21.61", [*CLEAN_ROWS, UNKNOWN]), "both.txt", "US")  # rows 20.61
    with engine.connect() as conn:
        [s] = settlements(conn, "US")
    assert (s["status"], s["difference"], s["suspense_count"], s["suspense"]) == ("inconsistent", "-1.00", 1, "-3.15")


def test_a_manual_journal_on_clearing_is_a_difference_and_is_listed(engine):
    ingest_bytes(engine, clean(), "clean.txt", "US")
    result = post(engine, event("manual-clearing-7001"), [transfer(
        "Expenses:Amazon:Fees:Other", "Assets:Amazon:Clearing", "5.00", on=date(2026, 3, 20), settlement_id="7001")])
    with engine.connect() as conn:
        detail = settlement(conn, "US", "7001")
    assert figures(detail, *FIGURES, "difference", "deposit_difference") == {
        "total_amount": "23.76", "rows_sum": "23.76", "deposit": "23.76", "carried": "0.00", "clearing": "-5.00",
        "suspense_count": 0, "suspense": "0.00", "status": "difference", "difference": "0.00",
        "deposit_difference": "0.00"}
    assert detail["explained_by"] == [{
        "entry_id": result.entry_ids[0], "date": "2026-03-20", "kind": "manual_journal",
        "description": "Expenses:Amazon:Fees:Other / Assets:Amazon:Clearing", "amount": "-5.00"}]


def test_a_reversed_disbursement_is_a_difference(engine):
    ingest_bytes(engine, clean(), "clean.txt", "US")
    with engine.connect() as conn:
        disbursement = conn.execute(select(entries.c.id).join(events, events.c.id == entries.c.event_id).where(
            events.c.kind == "amazon_settlement")).scalar_one()
    reverse(engine, disbursement, "the deposit bounced")
    with engine.connect() as conn:
        [s] = settlements(conn, "US")
    # Nothing took the total out of clearing: the bank got 0.00 of 23.76.
    assert figures(s, *FIGURES, "difference", "deposit_difference", "explained_by") == {
        "total_amount": "23.76", "rows_sum": "23.76", "deposit": "0.00", "carried": "0.00", "clearing": "23.76",
        "suspense_count": 0, "suspense": "0.00", "status": "difference", "difference": "0.00",
        "deposit_difference": "-23.76", "explained_by": []}


# A negative settlement, then the next one that takes its balance back and charges the card:
# 7101 (04-01 to 04-14, dated 04-16): Subscription Fee -39.99 (04-05); order 111-0000003-0000003 on 04-07:
#   Principal 20.00, Commission -3.00, FBA fee -4.50 = 12.50. Total -27.49: carried to the payable, not paid.
# 7102 (04-15 to 04-28, deposited 04-30): Payable to Amazon -27.49 (04-15); Successful charge 27.49 (04-16);
#   order 111-0000004-0000004 on 04-20: Principal 60.00, Commission -9.00, FBA fee -4.50 = 46.50. Total 46.50.
NEGATIVE = v2("7101", "2026-04-01", "2026-04-14", "2026-04-16", "-27.49", [
    other("ServiceFee", "Subscription Fee", "-39.99", "2026-04-05"),
    *order("111-0000003-0000003", "2026-04-07", "SKU-A", ("ItemPrice", "Principal", "20.00"),
           ("ItemFees", "Commission", "-3.00"), ("ItemFees", "FBAPerUnitFulfillmentFee", "-4.50"))])
NEXT = v2("7102", "2026-04-15", "2026-04-28", "2026-04-30", "46.50", [
    other("other-transaction", "Payable to Amazon", "-27.49", "2026-04-15"),
    other("other-transaction", "Successful charge", "27.49", "2026-04-16"),
    *order("111-0000004-0000004", "2026-04-20", "SKU-B", ("ItemPrice", "Principal", "60.00"),
           ("ItemFees", "Commission", "-9.00"), ("ItemFees", "FBAPerUnitFulfillmentFee", "-4.50"))])


def ingest_negative_pair(engine) -> None:
    for name, data in (("7101.txt", NEGATIVE), ("7102.txt", NEXT)):
        report = ingest_bytes(engine, data, name, "US")
        assert (report.suspense, report.warnings) == (0, [])


def test_a_negative_settlement_is_carried_and_the_next_clears_the_payable(engine):
    ingest_negative_pair(engine)
    assert balance(engine, "Liabilities:Amazon:Payable") == "0.00"  # -27.49 carried, +27.49 taken back
    assert balance(engine, "Assets:Amazon:Clearing") == "0.00"
    assert balance(engine, "Assets:Bank:Operating") == "19.01"  # 46.50 deposited - 27.49 charged
    with engine.connect() as conn:
        rows = {s["settlement_id"]: figures(s, *FIGURES) for s in settlements(conn, "US")}
    assert rows == {
        "7101": {"total_amount": "-27.49", "rows_sum": "-27.49", "deposit": "0.00", "carried": "-27.49",
                 "clearing": "0.00", "suspense_count": 0, "suspense": "0.00", "status": "reconciled"},
        "7102": {"total_amount": "46.50", "rows_sum": "46.50", "deposit": "46.50", "carried": "0.00",
                 "clearing": "0.00", "suspense_count": 0, "suspense": "0.00", "status": "reconciled"}}


def test_after_the_first_settlement_alone_the_payable_holds_the_carried_balance(engine):
    ingest_bytes(engine, NEGATIVE, "7101.txt", "US")
    assert balance(engine, "Liabilities:Amazon:Payable") == "-27.49"
    assert balance(engine, "Assets:Bank:Operating") == "0.00"  # a negative settlement is no cash movement
