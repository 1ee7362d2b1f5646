"""The command line against a real database (LEDGER_DATABASE_URL points at the test's fresh copy)."""

import json

from tests.balances.test_integrity import tamper

EXAMPLE = {"subsidiary": "US", "date": "2026-10-31", "currency": "USD",
           "description": "Accrue October storage fees", "idempotency_key": "manual-2026-10-storage",
           "postings": [{"account": "Expenses:Amazon:Fees:Storage", "amount": "125.40"},
                        {"account": "Liabilities:Accrued", "amount": "-125.40"}]}


def test_init_post_trial_balance_verify(cli, tmp_path, engine):
    assert cli("init").exit_code == 0  # idempotent on an initialised database
    entry = tmp_path / "entry.json"
    entry.write_text(json.dumps(EXAMPLE))
    result = cli("post", str(entry), "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["duplicate"] is False
    assert json.loads(cli("post", str(entry), "--format", "json").output)["duplicate"] is True

    tb = json.loads(cli("trial-balance", "--subsidiary", "US", "--format", "json").output)
    assert [(r["account"], r["commodity"], r["balance"]) for r in tb["rows"]] == [
        ("Expenses:Amazon:Fees:Storage", "USD", "125.40"), ("Liabilities:Accrued", "USD", "-125.40")]
    assert [(t["commodity"], t["balance"]) for t in tb["totals"]] == [("USD", "0.00")]
    balances = json.loads(cli("balances", "-s", "US", "--account", "Liabilities", "--format", "json").output)
    assert [b["balance"] for b in balances] == ["-125.40"]

    ok = cli("verify", "--format", "json")
    assert ok.exit_code == 0 and json.loads(ok.output)["ok"] is True
    tamper(engine, "UPDATE postings SET amount = 99, quantity = 99 WHERE id = 1")
    broken = cli("verify")
    assert broken.exit_code == 1
    assert "first broken event 1" in broken.output
    refused = cli("rebuild")  # a rebuild over a broken chain would launder the tamper
    assert refused.exit_code == 1 and "event 1" in refused.output


def test_unbalanced_entry_is_refused_with_the_imbalance(cli, tmp_path):
    bad = dict(EXAMPLE, postings=[{"account": "Expenses:Amazon:Fees:Storage", "amount": "125.40"},
                                  {"account": "Liabilities:Accrued", "amount": "-125.00"}])
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    result = cli("post", str(path))
    assert result.exit_code == 1
    assert "entry does not balance: USD postings sum to 0.40" in result.output


def test_subsidiaries_add_and_list(cli):
    assert cli("subsidiaries", "add", "DE", "--currency", "EUR", "--name", "Example GmbH", "--tax-profile", "eu-vcs",
               "--valuation", "average").exit_code == 0
    rows = json.loads(cli("subsidiaries", "list", "--format", "json").output)
    assert [(r["code"], r["functional_currency"], r["valuation_method"]) for r in rows] == [
        ("DE", "EUR", "average"), ("UK", "GBP", "average"), ("US", "USD", "fifo")]
    again = cli("subsidiaries", "add", "DE", "--currency", "EUR", "--tax-profile", "eu-vcs")
    assert again.exit_code == 1 and "already exists" in again.output
    assert cli("subsidiaries", "add", "FR", "--currency", "XYZ", "--tax-profile", "eu-vcs").exit_code == 1


def test_ingest_reconcile_exceptions_and_a_rejected_file(cli, tmp_path):
    from tests.ingest.test_ingest import SAMPLE

    result = cli("ingest", str(SAMPLE), "-s", "US", "--format", "json")
    assert result.exit_code == 0, result.output
    [report] = json.loads(result.output)["files"]
    assert (report["rows"], report["events"], report["suspense"]) == (23, 12, 0)  # 11 transactions + the summary
    [s] = json.loads(cli("reconcile", "settlements", "-s", "US", "--format", "json").output)
    assert {k: s[k] for k in ("settlement_id", "currency", "total_amount", "rows_sum", "clearing", "deposit",
                              "status")} == {
        "settlement_id": "28471003921", "currency": "USD", "total_amount": "582.89", "rows_sum": "582.89",
        "clearing": "0.00", "deposit": "582.89", "status": "reconciled"}
    g2n = json.loads(cli("report", "gross-to-net", "-s", "US", "--format", "json").output)
    assert g2n["currencies"][0]["check"] == "0.00"
    assert json.loads(cli("exceptions", "-s", "US", "--format", "json").output) == []

    bad = tmp_path / "bad.txt"
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    lines[2] = lines[2].replace("\t129.99\t", "\t12x.99\t")
    bad.write_text("\n".join(lines), encoding="utf-8")
    rejected = cli("ingest", str(bad), "-s", "US")
    assert rejected.exit_code == 1
    assert "bad.txt:3: amount: unrecognised amount" in rejected.output
    assert "nothing from this file was posted" in rejected.output
