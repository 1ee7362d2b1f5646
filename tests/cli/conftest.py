"""The command line against a real database: `cli(*args)` runs a command with LEDGER_DATABASE_URL pointing at the
test's fresh copy."""

import pytest
from typer.testing import CliRunner

from ledger_service.cli.main import app

runner = CliRunner()


@pytest.fixture
def cli(db_url, monkeypatch):
    monkeypatch.setenv("LEDGER_DATABASE_URL", db_url)

    def run(*args):
        return runner.invoke(app, list(args))
    return run
