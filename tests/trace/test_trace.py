"""The audit trace: every exported line traces to postings that sum to it to the cent, and to the raw source rows
they were read from (document, sha256, line, raw); a balance lists what makes it up, a page at a time."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal

import pytest

from ledger_service.errors import Invalid, NotFound
from ledger_service.export.netsuite.service import export
from ledger_service.ingest.service import ingest_bytes
from ledger_service.store.engine import write_transaction
from ledger_service.trace.service import trace_netsuite
from tests.export.test_netsuite import parse_csv
from tests.support.api import api_client
from tests.trace.books import close, october, settlement_across_month_end, settlement_in_october

FILES = {"settlement-7001.txt": settlement_across_month_end(), "settlement-7002.txt": settlement_in_october()}


def _exported(engine) -> list[dict]:
    october(engine)
    close(engine, "US", "2026-09")
    close(engine, "US", "2026-10")
    with write_transaction(engine) as conn:
        return parse_csv(export(conn, "US", "2026-10", "csv").data)


def test_every_line_traces_to_postings_that_sum_to_it_and_to_raw_rows(engine):
    rows = _exported(engine)
    numbers: dict[str, int] = {}
    with engine.connect() as conn:
        for row in rows:
            external_id = row["External ID"]
            numbers[external_id] = numbers.get(external_id, 0) + 1
            traced = trace_netsuite(conn, external_id, numbers[external_id])
            line = traced["line"]
            assert (line["account"], line["debit"] or "", line["credit"] or "") == (
                row["Account"], row["Debit"], row["Credit"])
            amount = Decimal(row["Debit"] or 0) - Decimal(row["Credit"] or 0)
            assert sum(Decimal(p["amount"]) for p in traced["postings"]) == amount  # to the cent
            assert Decimal(traced["postings_total"]) == amount
            assert {p["entry_id"] for p in traced["postings"]} == {e["id"] for e in traced["entries"]}
            assert {p["event_id"] for p in traced["postings"]} == {e["id"] for e in traced["events"]}
            assert traced["sources"] and all(s["raw"] for s in traced["sources"])
            for source in traced["sources"]:
                if source["document"] in FILES:
                    data = FILES[source["document"]]
                    assert source["sha256"] == hashlib.sha256(data).hexdigest()
                    file_lines = data.decode().split("\n")
                    raw_lines = source["raw"].split("\n")
                    # the posting's own row, or (for a posting summed from several, such as clearing) every row
                    assert file_lines[source["line"] - 1] == raw_lines[0], source
                    assert all(r in file_lines for r in raw_lines)


def test_a_settlement_posting_traces_to_its_own_row(engine):
    _exported(engine)
    with engine.connect() as conn:
        journal = trace_netsuite(conn, "LS-US-2026-10-S-7002")
        assert journal["line"] is None and journal["postings"] == []
        principal = next(l["number"] for l in journal["lines"] if l["memo"] == "Income:Amazon:Sales:Principal")
        traced = trace_netsuite(conn, "LS-US-2026-10-S-7002", principal)
    assert [p["amount"] for p in traced["postings"]] == ["-45.50", "-100.00"]
    file_lines = FILES["settlement-7002.txt"].decode().split("\n")
    assert len(traced["sources"]) == 2
    for source in traced["sources"]:
        assert source["document"] == "settlement-7002.txt" and source["page"] is None
        assert "\n" not in source["raw"] and source["raw"] == file_lines[source["line"] - 1]
        assert "\tPrincipal\t" in source["raw"]
    assert traced["exports"][0]["format"] == "csv" and traced["exports"][0]["file"] == "netsuite-US-2026-10.csv"


def test_the_cli_and_the_api_trace_alike(engine, cli):
    _exported(engine)
    result = cli("trace", "LS-US-2026-10-S-7001", "--line", "2", "--format", "json")
    assert result.exit_code == 0, result.output
    from_cli = json.loads(result.output)
    answer = api_client(engine, "viewer").get("/trace/netsuite/LS-US-2026-10-S-7001", params={"line": 2})
    assert answer.status_code == 200, answer.text
    from_api = answer.json()
    for key in ("line", "postings", "sources", "postings_total", "entries"):
        assert from_cli[key] == from_api[key], key
    assert set(from_api["line"]) >= {"account", "debit", "credit"}
    assert all(set(p) >= {"account", "amount", "entry_id", "event_id"} for p in from_api["postings"])
    assert all(set(s) >= {"document", "sha256", "line", "page", "raw"} for s in from_api["sources"])
    table = cli("trace", "LS-US-2026-10-S-7001", "--line", "2")
    assert table.exit_code == 0 and "postings sum to" in table.output and "settlement-7001.txt" in table.output
    lines = cli("trace", "LS-US-2026-10-S-7001", "--format", "csv")
    assert lines.exit_code == 0 and lines.output.splitlines()[0].startswith("number,account,debit,credit")
    rows = cli("trace", "LS-US-2026-10-S-7001", "--line", "2", "--format", "csv")
    assert rows.exit_code == 0 and rows.output.splitlines()[0].endswith("document,sha256,page,raw")


def test_unknown_ids_and_lines_are_clear_errors(engine, cli):
    _exported(engine)
    with engine.connect() as conn:
        with pytest.raises(NotFound, match="has 2 line"):
            trace_netsuite(conn, "LS-US-2026-10-D-20261015", 3)
        with pytest.raises(NotFound, match="no NetSuite export of US 2026-10 carried"):
            trace_netsuite(conn, "LS-US-2026-10-S-9999")
        with pytest.raises(Invalid, match="not an external id"):
            trace_netsuite(conn, "JE-123")
    result = cli("trace", "LS-US-2026-11-P")
    assert result.exit_code == 1 and "no NetSuite export of US 2026-11" in result.output
    client = api_client(engine, "viewer", ["UK"])
    assert client.get("/trace/netsuite/LS-US-2026-10-D-20261015").status_code == 403
    assert api_client(engine, "viewer").get("/trace/netsuite/LS-US-2026-99-P").status_code == 422


def test_a_balance_lists_what_makes_it_up_a_page_at_a_time(engine):
    october(engine)
    client = api_client(engine, "viewer")
    params = {"subsidiary": "US", "account": "Assets:Amazon", "as_of": "2026-10-31", "limit": 3}
    seen, after = [], None
    while True:
        answer = client.get("/trace/balance", params=params | ({"after": after} if after else {}))
        assert answer.status_code == 200, answer.text
        body = answer.json()
        seen.extend(body["items"])
        after = body["next"]
        if after is None:
            break
    assert len(seen) > 3 and len({p["posting_id"] for p in seen}) == len(seen)
    posted = sum(Decimal(p["functional_amount"]) for p in seen if p["state"] == "posted")
    pending = sum(Decimal(p["functional_amount"]) for p in seen if p["state"] == "pending")
    assert Decimal(body["total"]) == posted and Decimal(body["pending"]) == pending == Decimal("42.00")
    balances = client.get("/balances", params={"subsidiary": "US", "as_of": "2026-10-31"}).json()
    assert posted == sum(Decimal(b["functional_balance"]) for b in balances if b["account"].startswith("Assets:Amazon"))
    assert all(p["document"] and p["entry_id"] and p["event_id"] for p in seen)
    early = client.get("/trace/balance", params=params | {"as_of": "2026-09-30", "limit": 1000}).json()
    assert [p["date"] for p in early["items"]] == ["2026-09-29"] and early["total"] == "80.00"
    missing = client.get("/trace/balance", params={"subsidiary": "US", "account": "Assets:Nope"})
    assert missing.status_code == 404


def test_an_api_page_traces_to_its_page_and_payload(engine):
    from tests.ingest.test_ingest import finances_page

    ingest_bytes(engine, finances_page("G-1"), "group-G-1.json", "US", group_id="G-1", group_final=True)
    close(engine, "US", "2026-06")
    with write_transaction(engine) as conn:
        rows = parse_csv(export(conn, "US", "2026-06", "csv").data)
    external_id = rows[0]["External ID"]
    with engine.connect() as conn:
        traced = trace_netsuite(conn, external_id, 1)
    assert traced["sources"] and all(s["page"] and s["document"] == "group-G-1.json" for s in traced["sources"])
    assert all("114-8829371-4410258" in s["raw"] for s in traced["sources"])
    assert Decimal(traced["postings_total"]) == Decimal(rows[0]["Debit"] or 0) - Decimal(rows[0]["Credit"] or 0)
