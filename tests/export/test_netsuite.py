"""The NetSuite export of a closed period: balanced journals with safe external ids on every row, lines consecutive,
two decimals, per-account totals equal to the ledger's, settlements split at month end, pending entries left out,
byte-identical re-export recorded once, and the summarisation settings."""

from __future__ import annotations

import csv
import io
import json
import re
from collections import defaultdict
from decimal import Decimal

import pytest
from sqlalchemy import select

from ledger_service.errors import Conflict
from ledger_service.export.netsuite import mapping as mapping_mod
from ledger_service.export.netsuite.render import CSV_COLUMNS
from ledger_service.export.netsuite.service import EXPORT_KIND, export
from ledger_service.store.engine import write_transaction
from ledger_service.store.tables import events
from tests.trace.books import close, ledger_activity, october

SAFE_ID = re.compile(r"^[A-Za-z0-9_-]+$")
TWO_PLACES = re.compile(r"^\d+\.\d{2}$")


def _export(engine, period="2026-10", fmt="csv", **kwargs):
    with write_transaction(engine) as conn:
        return export(conn, "US", period, fmt, **kwargs)


def _closed_october(engine) -> dict:
    books = october(engine)
    close(engine, "US", "2026-09")
    close(engine, "US", "2026-10")
    return books


def parse_csv(data: bytes) -> list[dict]:
    text = data.decode("utf-8")
    assert "\n" not in text.replace("\r\n", ""), "every line ends with CRLF"
    return list(csv.DictReader(io.StringIO(text, newline="")))


def check_csv(rows: list[dict]) -> dict[str, list[dict]]:
    """The CSV's invariants; returns the rows per journal."""
    journals: dict[str, list[dict]] = {}
    previous = None
    for row in rows:
        external_id = row["External ID"]
        assert SAFE_ID.match(external_id), external_id
        if external_id != previous:
            assert external_id not in journals, f"lines of {external_id} are not consecutive"
            journals[external_id] = []
        journals[external_id].append(row)
        previous = external_id
        assert (row["Debit"] == "") != (row["Credit"] == ""), row
        assert TWO_PLACES.match(row["Debit"] or row["Credit"]), row
        assert Decimal(row["Debit"] or row["Credit"]) > 0
        assert row["Exchange Rate"] == "1.0"
    for external_id, lines in journals.items():
        assert len(lines) >= 2, external_id
        for column in ("Date", "Subsidiary", "Currency", "Posting Period", "Memo"):
            assert len({line[column] for line in lines}) == 1, (external_id, column)  # header values repeated
        debits = sum(Decimal(l["Debit"] or 0) for l in lines)
        credits = sum(Decimal(l["Credit"] or 0) for l in lines)
        assert debits == credits, f"{external_id} does not balance: {debits} / {credits}"
    return journals


def per_netsuite_account(rows: list[dict]) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for row in rows:
        totals[row["Account"]] += Decimal(row["Debit"] or 0) - Decimal(row["Credit"] or 0)
    return {k: v for k, v in totals.items() if v}


def expected_per_netsuite_account(engine, period: str) -> dict[str, Decimal]:
    example = mapping_mod.load(mapping_mod.PACKAGE_EXAMPLE)
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for account, amount in ledger_activity(engine, "US", period).items():
        totals[example.accounts[account][0]] += amount
    return {k: v for k, v in totals.items() if v}


def test_csv_export_balances_and_totals_equal_the_ledger(engine):
    _closed_october(engine)
    result = _export(engine)
    assert result.name == "netsuite-US-2026-10.csv" and result.generation == 1 and not result.duplicate
    rows = parse_csv(result.data)
    assert list(rows[0])[:len(CSV_COLUMNS)] == list(CSV_COLUMNS)
    journals = check_csv(rows)
    assert per_netsuite_account(rows) == expected_per_netsuite_account(engine, "2026-10")
    # settlements in their own journals; entries without a settlement per day
    assert {"LS-US-2026-10-S-7001", "LS-US-2026-10-S-7002", "LS-US-2026-10-D-20261015",
            "LS-US-2026-10-D-20261005", "LS-US-2026-10-D-20261018"} <= set(journals)
    assert journals["LS-US-2026-10-S-7002"][0]["Date"] == "10/22/2026"  # the settlement's last October date
    assert {r["Posting Period"] for r in rows} == {"Oct 2026"}
    assert {r["Subsidiary"] for r in rows} == {"1"} and {r["Currency"] for r in rows} == {"1"}
    # the EUR entry is in USD, its transaction amount named in the line memo
    eur = journals["LS-US-2026-10-D-20261020"]
    assert {r["Line Memo"] for r in eur} == {"Expenses:Amazon:Fees:Advertising; EUR 99.99",
                                             "Income:Amazon:Other; EUR -99.99"}
    assert {r["Debit"] or r["Credit"] for r in eur} == {"108.49"}
    # inventory and COGS journals are exported too; the pending entry is not
    assert any(r["Line Memo"] == "Expenses:COGS" for r in rows)
    assert not any("Assets:Amazon:Reserve" in r["Line Memo"] for r in rows)
    # dimensions from the mapping: the marketplace's department, class and segment; the account's name
    principal = [r for r in journals["LS-US-2026-10-S-7002"] if r["Account"] == "4000"]
    assert [(r["Department"], r["Class"], r["cseg_channel"]) for r in principal] == [("10", "1", "1")]
    assert {r["Name"] for r in rows if r["Account"] == "1210"} == {"900"}


def test_a_settlement_across_month_end_is_split_at_the_boundary(engine):
    _closed_october(engine)
    september = parse_csv(_export(engine, "2026-09").data)
    october_rows = parse_csv(_export(engine, "2026-10").data)
    check_csv(september)
    assert {r["External ID"] for r in september} == {"LS-US-2026-09-S-7001"}
    assert per_netsuite_account(september) == expected_per_netsuite_account(engine, "2026-09")
    sept_principal = sum(Decimal(r["Credit"] or 0) for r in september if r["Account"] == "4000")
    oct_principal = sum(Decimal(r["Credit"] or 0) for r in october_rows
                        if r["Account"] == "4000" and r["External ID"] == "LS-US-2026-10-S-7001")
    assert (sept_principal, oct_principal) == (Decimal("100.00"), Decimal("100.00"))


def test_json_export_is_one_upsert_per_journal_with_the_csv_lines(engine):
    _closed_october(engine)
    rows = parse_csv(_export(engine).data)
    result = _export(engine, fmt="json")
    assert result.name == "netsuite-US-2026-10.json"
    requests = json.loads(result.data, parse_float=Decimal)
    assert [r["externalId"] for r in requests] == list(dict.fromkeys(r["External ID"] for r in rows))
    for request in requests:
        body = request["body"]
        assert request["method"] == "PUT"
        assert request["path"] == f"/record/v1/journalEntry/eid:{request['externalId']}"
        assert body["externalId"] == request["externalId"]
        assert body["subsidiary"] == {"id": "1"} and body["currency"] == {"id": "1"}
        assert body["exchangeRate"] == Decimal("1.0") and body["postingPeriod"] == {"refName": "Oct 2026"}
        assert re.match(r"^\d{4}-\d{2}-\d{2}$", body["tranDate"])
        items = body["line"]["items"]
        assert sum(i.get("debit", 0) for i in items) == sum(i.get("credit", 0) for i in items)
        for item in items:
            assert ("debit" in item) != ("credit" in item)
            assert set(item["account"]) == {"id"}
            assert -item.get("debit", item.get("credit")).as_tuple().exponent == 2
        csv_lines = [r for r in rows if r["External ID"] == request["externalId"]]
        assert [str(i.get("debit", "")) for i in items] == [r["Debit"] for r in csv_lines]
        assert [i["memo"] for i in items] == [r["Line Memo"] for r in csv_lines]
    assert b"\r\n" not in result.data and result.data.endswith(b"\n")


def test_re_export_is_byte_identical_and_recorded_once(engine):
    _closed_october(engine)
    first = _export(engine)
    again = _export(engine)
    assert again.data == first.data and again.sha256 == first.sha256
    assert again.duplicate and again.event_id == first.event_id
    with engine.connect() as conn:
        recorded = conn.execute(select(events).where(events.c.kind == EXPORT_KIND)).mappings().all()
    assert len(recorded) == 1
    payload = json.loads(recorded[0]["payload"])
    assert recorded[0]["source_sha256"] == first.sha256 and recorded[0]["source_document"] == first.name
    assert recorded[0]["actor"] is None
    assert recorded[0]["idempotency_key"] == f"netsuite-export:2026-10:csv:{first.sha256[:16]}"
    rows = parse_csv(first.data)
    assert payload["period"] == "2026-10" and payload["format"] == "csv" and payload["summary"] == "settlement"
    assert payload["files"] == [first.name] and payload["sha256"] == first.sha256
    assert payload["journals"] == len({r["External ID"] for r in rows}) and payload["lines"] == len(rows)
    assert payload["debits"] == payload["credits"] == str(sum(Decimal(r["Debit"] or 0) for r in rows))
    assert payload["external_ids"] == list(dict.fromkeys(r["External ID"] for r in rows))
    assert payload["watermark"] > 0


@pytest.mark.parametrize("summary", ["day", "period"])
def test_summaries_per_day_and_per_period(engine, summary):
    _closed_october(engine)
    rows = parse_csv(_export(engine, summary=summary).data)
    journals = check_csv(rows)
    assert per_netsuite_account(rows) == expected_per_netsuite_account(engine, "2026-10")
    if summary == "period":
        assert list(journals) == ["LS-US-2026-10-P"]
        assert journals["LS-US-2026-10-P"][0]["Date"] == "10/31/2026"
    else:
        assert all(re.match(r"^LS-US-2026-10-D-202610\d\d$", j) for j in journals)


def test_an_open_period_is_refused(engine):
    october(engine)
    with pytest.raises(Conflict, match="period 2026-10 of US is open: close it first"):
        _export(engine)
