"""Negative settlements, carried balances, reserves and micro deposits through real ingest, figures worked by hand.

A negative settlement is not paid and not charged at its deposit date: its total moves from clearing to
Liabilities:Amazon:Payable (a credit: the seller owes Amazon). The next settlement opens with a `Payable to Amazon`
row of the same negative amount, which debits the payable back to zero; its sales absorb it, or the seller's card
is charged (`Successful charge`, a credit to the subsidiary's charge account, Assets:Bank:Operating for US).
Only real cash movements touch the bank.

Signs (posting.amazon): a row of amount A debits clearing by A and credits its mapped account by A, so a fee
(negative) debits its expense, a `Payable to Amazon` of -51.99 debits the payable 51.99, a `Successful charge` of
+51.99 credits the bank 51.99, a `Current Reserve Amount` of -25.00 debits the reserve 25.00. A settlement's
summary then moves its total out of clearing: to the bank if positive, to the payable if negative.

Every file below is written to disk and ingested with ingest_file (the streamed reader). Every order is the same
sale (tests.support.settlement_files.sale): Principal 100.00, Commission -15.00, FBA fee -5.00 = 80.00.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from ledger_service.balances.integrity import verify
from ledger_service.balances.queries import balances_view, trial_balance
from ledger_service.ingest.service import ingest_file
from ledger_service.money import fmt, from_minor
from ledger_service.settlements.reconcile import settlements
from ledger_service.store.engine import make_engine
from ledger_service.store.tables import accounts, entries, postings
from tests.support.settlement_files import order, other, sale, v2

BANK = "Assets:Bank:Operating"
PAYABLE = "Liabilities:Amazon:Payable"
RESERVE = "Assets:Amazon:Reserve"
CLEARING = "Assets:Amazon:Clearing"
WATCHED = (BANK, PAYABLE, RESERVE, CLEARING)

# --- the files -------------------------------------------------------------------------------------------------------

# (a) 7201 (05-01 to 05-14, dated 05-16): Subscription Fee -39.99 (05-05), Storage Fee -12.00 (05-07).
#     Total -39.99 - 12.00 = -51.99: carried to the payable on 05-16.
#     7202 (05-15 to 05-28, deposited 05-30): Payable to Amazon -51.99 (05-15), Successful charge +51.99 (05-16),
#     sale 80.00 (05-20). Total -51.99 + 51.99 + 80.00 = 80.00, deposited.
A_NEGATIVE = v2("7201", "2026-05-01", "2026-05-14", "2026-05-16", "-51.99", [
    other("ServiceFee", "Subscription Fee", "-39.99", "2026-05-05"),
    other("ServiceFee", "Storage Fee", "-12.00", "2026-05-07")])
A_CHARGED = v2("7202", "2026-05-15", "2026-05-28", "2026-05-30", "80.00", [
    other("other-transaction", "Payable to Amazon", "-51.99", "2026-05-15"),
    other("other-transaction", "Successful charge", "51.99", "2026-05-16"),
    *sale("111-0000021-0000021", "2026-05-20")])

# (b) 7211 (06-01 to 06-14, dated 06-16): the same two fees, total -51.99, carried.
#     7212 (06-15 to 06-28, deposited 06-30): Payable to Amazon -51.99 (06-15), sale 80.00 (06-20), no charge.
#     Total -51.99 + 80.00 = 28.01: the sales absorbed the carried balance.
B_NEGATIVE = v2("7211", "2026-06-01", "2026-06-14", "2026-06-16", "-51.99", [
    other("ServiceFee", "Subscription Fee", "-39.99", "2026-06-05"),
    other("ServiceFee", "Storage Fee", "-12.00", "2026-06-07")])
B_ABSORBED = v2("7212", "2026-06-15", "2026-06-28", "2026-06-30", "28.01", [
    other("other-transaction", "Payable to Amazon", "-51.99", "2026-06-15"),
    *sale("111-0000022-0000022", "2026-06-20")])

# (c) 7221 (07-01 to 07-14, dated 07-16): sale with Principal 40.00, Commission -6.00, FBA fee -4.00 = 30.00 (07-03),
#     Subscription Fee -39.99 (07-05), Current Reserve Amount -25.00 (07-14).
#     Total 30.00 - 39.99 - 25.00 = -34.99: carried. Amazon holds 25.00: the reserve is debited 25.00.
#     7222 (07-15 to 07-28, deposited 07-30): Payable to Amazon -34.99 (07-15), Previous Reserve Amount Balance
#     +25.00 (07-15, the reserve released: credited 25.00), sale 80.00 (07-20).
#     Total -34.99 + 25.00 + 80.00 = 70.01, deposited: the one real cash movement.
C_RESERVED = v2("7221", "2026-07-01", "2026-07-14", "2026-07-16", "-34.99", [
    *order("111-0000031-0000031", "2026-07-03", "SKU-A", ("ItemPrice", "Principal", "40.00"),
           ("ItemFees", "Commission", "-6.00"), ("ItemFees", "FBAPerUnitFulfillmentFee", "-4.00")),
    other("ServiceFee", "Subscription Fee", "-39.99", "2026-07-05"),
    other("Transfer", "Current Reserve Amount", "-25.00", "2026-07-14")])
C_RELEASED = v2("7222", "2026-07-15", "2026-07-28", "2026-07-30", "70.01", [
    other("other-transaction", "Payable to Amazon", "-34.99", "2026-07-15"),
    other("Transfer", "Previous Reserve Amount Balance", "25.00", "2026-07-15"),
    *sale("111-0000032-0000032", "2026-07-20")])

# (e) 7231 (08-01 to 08-14, deposited 08-16): Micro Deposit -0.12 (08-02), sale 80.00 (08-05).
#     Total -0.12 + 80.00 = 79.88. Amazon sent 0.12 to the bank to verify it and takes it back here: the row debits
#     the bank 0.12 (cash that did arrive), so the bank ends at 0.12 + 79.88 = 80.00.
E_MICRO = v2("7231", "2026-08-01", "2026-08-14", "2026-08-16", "79.88", [
    other("other-transaction", "Micro Deposit", "-0.12", "2026-08-02"),
    *sale("111-0000041-0000041", "2026-08-05")])

RECONCILED = "reconciled"


# --- helpers ---------------------------------------------------------------------------------------------------------

def ingest(engine, tmp_path: Path, *files: tuple[str, bytes]) -> None:
    for name, data in files:
        path = tmp_path / name
        path.write_bytes(data)
        report = ingest_file(engine, path, "US")
        assert (report.suspense, report.warnings) == (0, []), name  # every triple maps, rows sum to the total


def balances(engine, as_of=None) -> dict[str, str]:
    """The posted balance of each watched account (0.00 when it has none)."""
    with engine.connect() as conn:
        rows = {r["account"]: r["balance"] for r in balances_view(conn, "US", as_of=as_of)}
    return {account: rows.get(account, "0.00") for account in WATCHED}


def bank_movements(engine) -> list[tuple[str, str, str]]:
    """Every posting on the bank: (date, entry description, amount), by date."""
    q = (select(entries.c.effective_date, entries.c.description, postings.c.amount)
         .join(entries, entries.c.id == postings.c.entry_id)
         .join(accounts, accounts.c.id == postings.c.account_id)
         .where(postings.c.subsidiary == "US", accounts.c.name == BANK)
         .order_by(entries.c.effective_date, postings.c.amount))
    with engine.connect() as conn:
        return [(on.isoformat(), description, fmt(from_minor(amount, 2))) for on, description, amount in conn.execute(q)]


def statuses(engine) -> dict[str, dict]:
    with engine.connect() as conn:
        return {s["settlement_id"]: {k: s[k] for k in ("total_amount", "deposit", "carried", "clearing", "status")}
                for s in settlements(conn, "US")}


def assert_sound(engine) -> None:
    """The log verifies (chains, balanced entries, projections) and the trial balance is zero."""
    with engine.connect() as conn:
        report = verify(conn)
        tb = trial_balance(conn, "US")
    assert report.ok, report.problems
    assert [(t["commodity"], t["balance"]) for t in tb["totals"]] == [("USD", "0.00")]
    assert tb["functional_total"] == "0.00"


# --- (a) the card is charged ----------------------------------------------------------------------------------------

def test_a_negative_settlement_collected_by_a_card_charge(engine, tmp_path):
    ingest(engine, tmp_path, ("7201.txt", A_NEGATIVE))
    # After the negative settlement alone: the payable holds -51.99 (credit), the bank is untouched.
    assert balances(engine) == {BANK: "0.00", PAYABLE: "-51.99", RESERVE: "0.00", CLEARING: "0.00"}

    ingest(engine, tmp_path, ("7202.txt", A_CHARGED))
    # Payable: -51.99 carried + 51.99 taken back by the Payable to Amazon row = 0.00.
    # Bank: -51.99 charged to the card on 05-16, +80.00 deposited on 05-30 = 28.01.
    assert balances(engine) == {BANK: "28.01", PAYABLE: "0.00", RESERVE: "0.00", CLEARING: "0.00"}
    assert bank_movements(engine) == [
        ("2026-05-16", "other-transaction / other-transaction / Successful charge", "-51.99"),
        ("2026-05-30", "Disbursement of settlement 7202", "80.00")]
    # The carry is dated 05-16, like the charge, but it is no cash: the bank moved on 05-16 by the charge alone.
    assert balances(engine, as_of=date.fromisoformat("2026-05-15"))[BANK] == "0.00"
    assert balances(engine, as_of=date.fromisoformat("2026-05-29"))[BANK] == "-51.99"
    assert statuses(engine) == {
        "7201": {"total_amount": "-51.99", "deposit": "0.00", "carried": "-51.99", "clearing": "0.00",
                 "status": RECONCILED},
        "7202": {"total_amount": "80.00", "deposit": "80.00", "carried": "0.00", "clearing": "0.00",
                 "status": RECONCILED}}
    assert_sound(engine)


# --- (b) sales absorb it ---------------------------------------------------------------------------------------------

def test_b_negative_settlement_absorbed_by_the_next_settlements_sales(engine, tmp_path):
    ingest(engine, tmp_path, ("7211.txt", B_NEGATIVE), ("7212.txt", B_ABSORBED))
    # Payable: -51.99 + 51.99 = 0.00. Bank: only the deposit of 7212, 80.00 of sales - 51.99 carried = 28.01.
    assert balances(engine) == {BANK: "28.01", PAYABLE: "0.00", RESERVE: "0.00", CLEARING: "0.00"}
    assert bank_movements(engine) == [("2026-06-30", "Disbursement of settlement 7212", "28.01")]
    assert statuses(engine) == {
        "7211": {"total_amount": "-51.99", "deposit": "0.00", "carried": "-51.99", "clearing": "0.00",
                 "status": RECONCILED},
        "7212": {"total_amount": "28.01", "deposit": "28.01", "carried": "0.00", "clearing": "0.00",
                 "status": RECONCILED}}
    assert_sound(engine)


# --- (c) a reserve held in the negative settlement, released in the next ---------------------------------------------

def test_c_reserve_held_in_a_negative_settlement_and_released_in_the_next(engine, tmp_path):
    ingest(engine, tmp_path, ("7221.txt", C_RESERVED))
    # Reserve +25.00 (Amazon holds it); payable -34.99; the bank untouched.
    assert balances(engine) == {BANK: "0.00", PAYABLE: "-34.99", RESERVE: "25.00", CLEARING: "0.00"}

    ingest(engine, tmp_path, ("7222.txt", C_RELEASED))
    # Reserve 25.00 - 25.00 = 0.00; payable -34.99 + 34.99 = 0.00; bank = the one deposit, 70.01.
    assert balances(engine) == {BANK: "70.01", PAYABLE: "0.00", RESERVE: "0.00", CLEARING: "0.00"}
    assert bank_movements(engine) == [("2026-07-30", "Disbursement of settlement 7222", "70.01")]
    assert statuses(engine) == {
        "7221": {"total_amount": "-34.99", "deposit": "0.00", "carried": "-34.99", "clearing": "0.00",
                 "status": RECONCILED},
        "7222": {"total_amount": "70.01", "deposit": "70.01", "carried": "0.00", "clearing": "0.00",
                 "status": RECONCILED}}
    assert_sound(engine)


# --- (d) the same sequences, second file first -----------------------------------------------------------------------

SEQUENCES = {
    # name: (first file, second file, end balances, bank movements, statuses) as worked out in (a) to (c)
    "a-charged": (("7201.txt", A_NEGATIVE), ("7202.txt", A_CHARGED),
                  {BANK: "28.01", PAYABLE: "0.00", RESERVE: "0.00", CLEARING: "0.00"},
                  [("2026-05-16", "other-transaction / other-transaction / Successful charge", "-51.99"),
                   ("2026-05-30", "Disbursement of settlement 7202", "80.00")],
                  {"7201": ("-51.99", "0.00", "-51.99"), "7202": ("80.00", "80.00", "0.00")}),
    "b-absorbed": (("7211.txt", B_NEGATIVE), ("7212.txt", B_ABSORBED),
                   {BANK: "28.01", PAYABLE: "0.00", RESERVE: "0.00", CLEARING: "0.00"},
                   [("2026-06-30", "Disbursement of settlement 7212", "28.01")],
                   {"7211": ("-51.99", "0.00", "-51.99"), "7212": ("28.01", "28.01", "0.00")}),
    "c-reserve": (("7221.txt", C_RESERVED), ("7222.txt", C_RELEASED),
                  {BANK: "70.01", PAYABLE: "0.00", RESERVE: "0.00", CLEARING: "0.00"},
                  [("2026-07-30", "Disbursement of settlement 7222", "70.01")],
                  {"7221": ("-34.99", "0.00", "-34.99"), "7222": ("70.01", "70.01", "0.00")}),
}


@pytest.mark.parametrize("name", SEQUENCES)
def test_d_ingest_order_does_not_change_the_figures(engine, tmp_path, name):
    first, second, end, movements, figures = SEQUENCES[name]
    ingest(engine, tmp_path, second)
    # The second settlement alone: its Payable to Amazon row has debited the payable (nothing to take back yet), and
    # its deposit is in the bank. Not the end state, but balanced.
    assert_sound(engine)

    ingest(engine, tmp_path, first)
    assert balances(engine) == end
    assert bank_movements(engine) == movements
    assert statuses(engine) == {
        sid: {"total_amount": total, "deposit": deposit, "carried": carried, "clearing": "0.00", "status": RECONCILED}
        for sid, (total, deposit, carried) in figures.items()}
    assert_sound(engine)


def test_d_reversed_order_equals_forward_order_account_by_account(engine, tmp_path, template):
    """All three sequences in one ledger, forward; the same in a second ledger, each second file first: every
    account's balance (expenses, revenue, fees included) is the same."""
    forward = engine
    ingest(forward, tmp_path, *[f for first, second, *_ in SEQUENCES.values() for f in (first, second)])
    fresh, _ = template
    backward = make_engine(fresh(tmp_path))
    try:
        ingest(backward, tmp_path, *[f for first, second, *_ in SEQUENCES.values() for f in (second, first)])
        with forward.connect() as a, backward.connect() as b:
            assert balances_view(a, "US") == balances_view(b, "US")
        # Hand check of the combined end: bank 28.01 + 28.01 + 70.01 = 126.03; payable, reserve, clearing 0.00.
        assert balances(backward) == {BANK: "126.03", PAYABLE: "0.00", RESERVE: "0.00", CLEARING: "0.00"}
        assert_sound(forward)
        assert_sound(backward)
    finally:
        backward.dispose()


# --- (e) a micro deposit ---------------------------------------------------------------------------------------------

def test_e_micro_deposit_debits_the_bank(engine, tmp_path):
    ingest(engine, tmp_path, ("7231.txt", E_MICRO))
    assert bank_movements(engine) == [
        ("2026-08-02", "other-transaction / other-transaction / Micro Deposit", "0.12"),
        ("2026-08-16", "Disbursement of settlement 7231", "79.88")]
    # 0.12 arrived on 08-02 (before the deposit); 0.12 + 79.88 = 80.00 at the end.
    assert balances(engine, as_of=date.fromisoformat("2026-08-02"))[BANK] == "0.12"
    assert balances(engine) == {BANK: "80.00", PAYABLE: "0.00", RESERVE: "0.00", CLEARING: "0.00"}
    # The micro deposit is a row of the settlement (in rows_sum), never part of its deposit.
    assert statuses(engine) == {"7231": {"total_amount": "79.88", "deposit": "79.88", "carried": "0.00",
                                         "clearing": "0.00", "status": RECONCILED}}
    assert_sound(engine)
