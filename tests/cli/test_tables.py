"""Per-subsidiary commands need -s (or LEDGER_DEFAULT_SUBSIDIARY); tables show debit and credit and end with totals."""

import json

from tests.cli.test_cli import EXAMPLE


def post_example(cli, tmp_path):
    entry = tmp_path / "entry.json"
    entry.write_text(json.dumps(EXAMPLE))  # Storage 125.40 debit, Accrued 125.40 credit, US
    assert cli("post", str(entry)).exit_code == 0


def test_every_per_subsidiary_command_needs_a_subsidiary(cli, monkeypatch):
    monkeypatch.delenv("LEDGER_DEFAULT_SUBSIDIARY", raising=False)
    for command in (["trial-balance"], ["balances"], ["reconcile", "settlements"], ["report", "gross-to-net"],
                    ["exceptions"], ["exceptions", "reclass"]):
        result = cli(*command)
        assert result.exit_code == 2, command
        assert "which subsidiary? give -s CODE" in result.output, command


def test_the_default_subsidiary_comes_from_the_environment(cli, tmp_path, monkeypatch):
    post_example(cli, tmp_path)
    monkeypatch.setenv("LEDGER_DEFAULT_SUBSIDIARY", "UK")
    uk = json.loads(cli("trial-balance", "--format", "json").output)
    assert (uk["subsidiary"], uk["rows"]) == ("UK", [])  # the UK books, not the US ones
    us = cli("trial-balance", "-s", "US")  # the flag wins over the default
    assert "trial balance of subsidiary US" in us.output


def test_trial_balance_table_has_debit_credit_and_totals(cli, tmp_path):
    post_example(cli, tmp_path)
    lines = cli("trial-balance", "-s", "US").output.splitlines()
    storage = next(line for line in lines if "Expenses:Amazon:Fees:Storage" in line)
    accrued = next(line for line in lines if "Liabilities:Accrued" in line)
    total = next(line for line in lines if "│ total" in line)
    # debit column before credit: the storage expense is a debit, the accrual a credit; both columns total 125.40
    assert [c.strip() for c in storage.split("│")[3:5]] == ["125.40", ""]
    assert [c.strip() for c in accrued.split("│")[3:5]] == ["", "125.40"]
    assert [c.strip() for c in total.split("│")[2:5]] == ["USD", "125.40", "125.40"]
