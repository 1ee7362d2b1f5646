"""`--format csv` on every command that takes --format: stdout is one CSV (RFC 4180) and nothing else.

On a small ledger (a settlement with an unmapped fee, a manual journal, a rate, a token): each command's stdout
parses whole with the csv module, starts with its header row, every row has the header's width, and figures are
the ledger's decimal strings (125.40, never 125.4 or a float's 1.2540000000000001). Titles, notes and progress
go to stderr or are left out, so a pipe into a spreadsheet gets rows only.
"""

from __future__ import annotations

import csv
import io
import json
import re

import pytest

from tests.support.settlement_files import other, sale, v2

DECIMAL = re.compile(r"^-?\d+(\.\d+)?$")
FIGURES = {"balance", "pending", "functional_balance", "debit", "credit", "amount", "total", "rows_sum", "deposit",
           "carried", "clearing", "suspense", "difference", "deposit_difference", "functional_amount", "rate"}
JOURNAL = {"subsidiary": "US", "date": "2026-10-31", "currency": "USD", "description": "Accrue storage",
           "idempotency_key": "csv-accrual",
           "postings": [{"account": "Expenses:Amazon:Fees:Storage", "amount": "125.40"},
                        {"account": "Liabilities:Accrued", "amount": "-125.40"}]}


@pytest.fixture
def ledger(cli, tmp_path):
    """The books, written through the CLI itself with --format csv (the write commands that print a result)."""
    settlement = tmp_path / "7301.txt"
    settlement.write_bytes(v2("7301", "2026-10-01", "2026-10-14", "2026-10-16", "79.00",
                              [*sale("O-1", "2026-10-05"), other("other-transaction", "MysteryFeeXYZ", "-1.00",
                                                                 "2026-10-06")]))
    journal = tmp_path / "journal.json"
    journal.write_text(json.dumps(JOURNAL))
    rates = tmp_path / "rates.csv"
    rates.write_text("date,from,to,rate\n2026-10-30,EUR,USD,1.0850\n")
    written = {
        "ingest": parse(cli("ingest", str(settlement), "-s", "US", "--format", "csv")),
        "post": parse(cli("post", str(journal), "--format", "csv")),
        "rates import": parse(cli("rates", "import", str(rates), "--format", "csv")),
        "token create": parse(cli("token", "create", "--name", "csv-viewer", "--role", "viewer", "-s", "US",
                                  "--format", "csv")),
    }
    return cli, written


def parse(result) -> list[dict]:
    """stdout as CSV: a header, rows of its width; returned as dicts."""
    assert result.exit_code == 0, result.output
    text = result.stdout_bytes.decode("utf-8")  # result.stdout turns CRLF into LF
    assert text.endswith("\r\n"), text
    rows = list(csv.reader(io.StringIO(text)))
    header, body = rows[0], rows[1:]
    assert header and all(header) and len(set(header)) == len(header), header
    assert all(len(r) == len(header) for r in body), text
    out = [dict(zip(header, r)) for r in body]
    for row in out:
        for column, value in row.items():
            if column in FIGURES and value:
                assert DECIMAL.match(value), (column, value)
    return out


READS = {
    "balances": ("balances", "-s", "US"),
    "trial-balance": ("trial-balance", "-s", "US", "--as-of", "2026-10-31"),
    "exceptions": ("exceptions", "-s", "US"),
    "exceptions late": ("exceptions", "late", "-s", "US", "--all"),
    "reconcile settlements": ("reconcile", "settlements", "-s", "US"),
    "reconcile one settlement": ("reconcile", "settlements", "-s", "US", "--settlement", "7301"),
    "report gross-to-net": ("report", "gross-to-net", "-s", "US", "--from", "2026-10-01", "--to", "2026-10-31"),
    "subsidiaries list": ("subsidiaries", "list"),
    "subsidiaries show": ("subsidiaries", "show", "US"),
    "config show": ("config", "show"),
    "rates show": ("rates", "show", "--from", "EUR", "--to", "USD", "--date", "2026-10-31"),
    "token list": ("token", "list"),
    "verify": ("verify",),
    "periods": ("periods", "-s", "US"),
}


def test_every_read_command_prints_csv(ledger):
    cli, written = ledger
    out = {name: parse(cli(*args, "--format", "csv")) for name, args in READS.items()}

    assert [(r["account"], r["debit"], r["credit"]) for r in out["balances"] if r["account"].startswith("Exp")] == [
        ("Expenses:Amazon:Fees:Fulfillment", "5.00", ""), ("Expenses:Amazon:Fees:Referral", "15.00", ""),
        ("Expenses:Amazon:Fees:Storage", "125.40", "")]
    assert out["balances"][-1]["account"] == "total"  # the totals row, labelled, as the table ends
    tb = out["trial-balance"]
    assert list(tb[0])[:4] == ["account", "commodity", "debit", "credit"]
    assert (tb[-1]["account"], tb[-1]["debit"], tb[-1]["credit"]) == ("total", tb[-1]["credit"], "225.40")
    [exception, total] = out["exceptions"]
    assert (exception["amount"], exception["where"], total["event_id"]) == ("-1.00", "7301.txt:6", "1 amount(s)")
    assert out["exceptions late"] == []
    [settlement, _total] = out["reconcile settlements"]
    assert (settlement["total"], settlement["suspense"], settlement["status"]) == (
        "79.00", "-1.00", "reconciled_with_suspense")
    one = out["reconcile one settlement"]
    assert [r["part"] for r in one] == ["settlement", "in suspense"]
    assert (one[0]["difference"], one[1]["amount"], one[1]["line"]) == ("0.00", "-1.00", "6")
    g2n = {r["line"]: r["amount"] for r in out["report gross-to-net"]}
    assert (g2n["gross sales"], g2n["= net proceeds"], out["report gross-to-net"][0]["currency"]) == (
        "100.00", "79.00", "USD")
    assert {r["code"] for r in out["subsidiaries list"]} == {"UK", "US"}
    assert {"setting", "in force"} == set(out["subsidiaries show"][0])
    assert "database_url" in {r["setting"] for r in out["config show"]}
    [rate] = out["rates show"]
    assert (rate["rate"], rate["rate_dates"], rate["sources"]) == ("1.0850", "2026-10-30", "rates.csv")
    assert [r["name"] for r in out["token list"]] == ["csv-viewer"]
    [verify] = out["verify"]
    assert (verify["ok"], verify["problem"]) == ("True", "")
    assert [r["period"] for r in out["periods"]] == ["2026-10"]

    # the write commands that print their result
    assert written["ingest"][0]["outcome"] == "posted" and written["ingest"][-1]["document"] == "1 file(s)"
    assert [r["amount"] for r in written["post"]] == ["125.40", "-125.40"]
    assert (written["rates import"][0]["imported"], written["token create"][0]["subsidiaries"]) == ("1", "US")
    assert written["token create"][0]["token"].startswith("lsk_")

    [closed] = parse(cli("close", "-s", "US", "--period", "2026-10", "--format", "csv"))
    assert (closed["period"], closed["status"], closed["exceptions"]) == ("2026-10", "closed", "1")
    [reopened] = parse(cli("reopen", "-s", "US", "--period", "2026-10", "--reason", "csv test", "--format", "csv"))
    assert (reopened["status"], reopened["reason"]) == ("open", "csv test")


def test_csv_is_the_only_thing_on_stdout(ledger):
    cli, _ = ledger
    result = cli("report", "gross-to-net", "-s", "US", "--marketplace", "amazon.com", "--format", "csv")
    rows = parse(result)
    assert "note: filtered by marketplace" in result.stderr and "note" not in result.stdout
    assert [r["line"] for r in rows][0] == "gross sales"
    empty = cli("exceptions", "-s", "UK", "--format", "csv")
    assert empty.exit_code == 0 and empty.stdout.splitlines()[0].startswith("event_id,")
    assert parse(empty) == []


def test_the_close_pack_takes_csv_too(ledger):
    cli, _ = ledger
    rows = parse(cli("report", "close", "-s", "US", "--period", "2026-10", "--format", "csv"))
    assert {r["section"] for r in rows} >= {"about", "trial_balance", "gross_to_net", "settlements", "exceptions",
                                           "fx_revaluation", "exports"}
