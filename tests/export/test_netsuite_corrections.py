"""Corrections after an export are a reversal and a replacement under new external ids, never an edit; a
3-decimal functional currency rounds each line to 2 decimals and posts the residue to the rounding account."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from ledger_service.chart.config import SubsidiaryConfig
from ledger_service.chart.model import Subsidiary
from ledger_service.chart.service import create_subsidiary
from ledger_service.export.netsuite.service import export, latest
from ledger_service.journal.model import EntryDraft, money_posting
from ledger_service.journal.service import post, reverse
from ledger_service.settings import DEFAULT_ACCOUNTS_DIR
from ledger_service.store.engine import write_transaction
from ledger_service.trace.service import trace_netsuite
from tests.export.test_netsuite import check_csv, expected_per_netsuite_account, parse_csv, per_netsuite_account
from tests.support.builders import event, transfer
from tests.trace.books import close, ledger_activity, october, reopen, write_mapping


def _export(engine, sub="US", period="2026-10", fmt="csv", **kwargs):
    with write_transaction(engine) as conn:
        return export(conn, sub, period, fmt, **kwargs)


def _journals(data: bytes) -> dict[str, list[dict]]:
    return check_csv(parse_csv(data))


def _signed(lines: list[dict]) -> list[tuple[str, Decimal]]:
    return [(l["Account"], Decimal(l["Debit"] or 0) - Decimal(l["Credit"] or 0)) for l in lines]


def test_a_change_after_export_is_a_reversal_and_a_replacement(engine):
    books = october(engine)
    close(engine, "US", "2026-09")
    close(engine, "US", "2026-10")
    first = _export(engine)
    first_json = _export(engine, fmt="json")
    sent = _journals(first.data)

    reopen(engine, "US", "2026-10")
    post(engine, event("late-1015"), [transfer("Expenses:Amazon:Fees:Storage", "Liabilities:Accrued", "10.00",
                                               on=date(2026, 10, 15), marketplace="amazon.com")])
    post(engine, event("late-1016"), [transfer("Expenses:Amazon:Fees:Removal", "Liabilities:Accrued", "3.00",
                                               on=date(2026, 10, 16))])
    reverse(engine, books["ads"], "booked twice", date(2026, 10, 31))  # the October 31 journal nets to nothing
    close(engine, "US", "2026-10")

    correction = _export(engine)
    assert correction.name == "netsuite-US-2026-10-correction-1.csv" and correction.generation == 2
    journals = _journals(correction.data)
    assert list(journals) == ["LS-US-2026-10-D-20261015-R1", "LS-US-2026-10-D-20261015-V2",
                              "LS-US-2026-10-D-20261016", "LS-US-2026-10-D-20261031-R1"]  # unchanged: not repeated
    old = sent["LS-US-2026-10-D-20261015"]
    assert _signed(journals["LS-US-2026-10-D-20261015-R1"]) == [(a, -v) for a, v in _signed(old)]
    assert journals["LS-US-2026-10-D-20261015-R1"][0]["Memo"].startswith("Reversal of LS-US-2026-10-D-20261015: ")
    assert _signed(journals["LS-US-2026-10-D-20261015-V2"]) == [("2100", Decimal("-135.40")),
                                                                 ("6020", Decimal("135.40"))]
    assert _signed(journals["LS-US-2026-10-D-20261031-R1"]) == [(a, -v) for a, v in
                                                                 _signed(sent["LS-US-2026-10-D-20261031"])]
    # what NetSuite holds after both files is the ledger's October
    both: dict[str, Decimal] = defaultdict(Decimal)
    for data in (first.data, correction.data):
        for account, amount in per_netsuite_account(parse_csv(data)).items():
            both[account] += amount
    assert {k: v for k, v in both.items() if v} == expected_per_netsuite_account(engine, "2026-10")

    again = _export(engine)
    assert again.data == correction.data and again.duplicate  # nothing changed since: the same bytes
    as_json = _export(engine, fmt="json")
    assert as_json.name == "netsuite-US-2026-10-correction-1.json" and b"D-20261015-V2" in as_json.data
    assert as_json.data != first_json.data
    with engine.connect() as conn:
        assert latest(conn, "US", "2026-10", "csv").data == correction.data
        reversal = trace_netsuite(conn, "LS-US-2026-10-D-20261015-R1", 1)  # a reversal traces, negated
        original = trace_netsuite(conn, "LS-US-2026-10-D-20261015", 1)  # so does what the first export sent
    assert reversal["journal"]["kind"] == "reversal"
    assert Decimal(reversal["postings_total"]) == -Decimal(original["postings_total"]) == Decimal("125.40")
    assert reversal["line"]["debit"] == "125.40"


def test_a_new_summary_setting_reverses_what_changed(engine):
    october(engine)
    close(engine, "US", "2026-09")
    close(engine, "US", "2026-10")
    first = _journals(_export(engine).data)
    by_day = _journals(_export(engine, summary="day").data)
    settlements = [j for j in first if "-S-" in j]
    assert {f"{j}-R1" for j in settlements} <= set(by_day)
    assert not any(j in by_day for j in first if "-D-" in j)  # the same journals per day: already sent
    assert "LS-US-2026-10-D-20261002" in by_day


KWD_MAPPING = """
[journal]
subsidiary = "9"
rounding_account = "Expenses:FX:Rounding"
csv_date_format = "YYYY-MM-DD"

[accounts]
"Expenses:FX:Rounding" = "8120"
"Expenses:Amazon:Fees:Storage" = "6020"
"Expenses:Amazon:Fees:Advertising" = "6050"
"Liabilities:Accrued" = "2100"
"""


def test_a_three_decimal_currency_posts_its_rounding_residue_to_the_rounding_account(engine, tmp_path):
    with write_transaction(engine) as conn:
        create_subsidiary(conn, Subsidiary("KW", "Example Brand Kuwait", "KWD"), SubsidiaryConfig("KW"),
                          DEFAULT_ACCOUNTS_DIR, "tests")
    for day, amounts in ((10, ("1.234", "2.344")), (11, ("0.001", "0.001"))):
        first, second = (Decimal(a) for a in amounts)
        post(engine, event(f"kwd-{day}", subsidiary="KW"), [EntryDraft("KW", date(2026, 10, day), "KWD", "fees", (
            money_posting("Expenses:Amazon:Fees:Storage", first),
            money_posting("Expenses:Amazon:Fees:Advertising", second),
            money_posting("Liabilities:Accrued", -(first + second))))])
    close(engine, "KW", "2026-10")
    mapping = write_mapping(tmp_path, KWD_MAPPING)
    result = _export(engine, "KW", summary="period", mapping_file=mapping)
    rows = parse_csv(result.data)
    assert list(check_csv(rows)) == ["LS-KW-2026-10-P"]
    assert [(r["Account"], r["Debit"], r["Credit"], r["Line Memo"]) for r in rows] == [
        ("2100", "", "3.58", "Liabilities:Accrued"),  # -3.580
        ("6020", "1.24", "", "Expenses:Amazon:Fees:Storage"),  # 1.235, half up
        ("6050", "2.35", "", "Expenses:Amazon:Fees:Advertising"),  # 2.345, half up
        ("8120", "", "0.01", "Rounding of KWD lines to 2 decimals")]  # the residue, never dropped
    assert rows[0]["Date"] == "2026-10-31" and rows[0]["Currency"] == "KWD" and rows[0]["Subsidiary"] == "9"
    ledger = ledger_activity(engine, "KW", "2026-10", exponent=3)
    exported = per_netsuite_account(rows)
    numbers = {"Expenses:Amazon:Fees:Storage": "6020", "Expenses:Amazon:Fees:Advertising": "6050",
               "Liabilities:Accrued": "2100"}
    for account, number in numbers.items():
        assert abs(exported[number] - ledger[account]) <= Decimal("0.005"), (account, exported[number])
    assert sum(exported.values()) == 0
    with engine.connect() as conn:
        for number, line in enumerate(rows, 1):
            traced = trace_netsuite(conn, "LS-KW-2026-10-P", number)
            amount = Decimal(line["Debit"] or 0) - Decimal(line["Credit"] or 0)
            if traced["line"]["rounding"]:
                assert traced["postings"] == [] and Decimal(traced["postings_total"]) == 0
            else:
                assert Decimal(traced["postings_total"]).quantize(Decimal("0.01"), ROUND_HALF_UP) == amount
                assert traced["postings_total"].count(".") and len(traced["postings_total"].split(".")[1]) == 3
