"""Settings: flag > environment > ledger.toml > default, `config show` saying where each came from, a bad value
in one line (exit 2), secrets masked, and logging as JSON lines. None of this needs a database."""

from __future__ import annotations

import json
import logging

import pytest
from typer.testing import CliRunner

from ledger_service.cli.main import app
from ledger_service.logs import configure_logging
from ledger_service.settings import DEFAULT_ACCOUNTS_DIR, SPECS, ConfigError, Settings

runner = CliRunner()


@pytest.fixture
def here(tmp_path, monkeypatch):
    """An empty working folder and an environment without LEDGER_* variables."""
    monkeypatch.chdir(tmp_path)
    for spec in SPECS:
        monkeypatch.delenv(spec.env, raising=False)
    return tmp_path


def show(*args: str) -> dict[str, dict]:
    result = runner.invoke(app, [*args, "config", "show", "--format", "json"])
    assert result.exit_code == 0, result.output
    return {row["setting"]: row for row in json.loads(result.stdout)}


def error_line(result) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_defaults_and_their_sources(here):
    rows = show()
    assert {k: (r["value"], r["source"]) for k, r in rows.items()} == {
        "database_url": ("sqlite:///ledger.db", "default"),
        "accounts_dir": (str(DEFAULT_ACCOUNTS_DIR), "default"),
        "config_dir": (None, "default"),
        "host": ("127.0.0.1", "default"),
        "port": (8000, "default"),
        "log_level": ("INFO", "default"),
        "log_format": ("text", "default"),
        "default_subsidiary": (None, "default"),
        "max_upload_bytes": (512 << 20, "default"),
        "sqlite_lock_timeout": (60, "default"),
        "ingest_workers": (2, "default"),
    }
    assert rows["port"]["env"] == "LEDGER_PORT" and rows["port"]["file_key"] == "[ledger] port"
    table = runner.invoke(app, ["config", "show"])
    assert table.exit_code == 0 and "database_url" in table.stdout and "default" in table.stdout


def test_precedence_flag_env_file_default(here, monkeypatch):
    (here / "ledger-config").mkdir()  # found in the working folder without being named
    toml = here / "ledger-config" / "ledger.toml"
    toml.write_text('[ledger]\nport = 9000\nhost = "0.0.0.0"\nlog_format = "json"\naccounts_dir = "accounts"\n'
                    'database_url = "postgres://ledger:s3cret@db:5432/ledger"\n')
    monkeypatch.setenv("LEDGER_PORT", "9100")
    rows = show()
    assert (rows["port"]["value"], rows["port"]["source"]) == (9100, "env")
    assert (rows["host"]["value"], rows["host"]["source"], rows["host"]["where"]) == ("0.0.0.0", "file", str(toml))
    assert rows["accounts_dir"]["value"] == str(here / "ledger-config" / "accounts")  # relative to the folder
    assert rows["database_url"]["value"] == "postgres://ledger:***@db:5432/ledger"
    assert rows["log_level"]["source"] == "default"

    other = here / "elsewhere"
    other.mkdir()
    (other / "ledger.toml").write_text('[ledger]\nhost = "10.0.0.1"\n')
    monkeypatch.setenv("LEDGER_CONFIG_DIR", str(here / "ledger-config"))
    rows = show("--config-dir", str(other))  # the flag beats the variable
    assert (rows["config_dir"]["value"], rows["config_dir"]["source"]) == (str(other), "flag")
    assert rows["host"]["value"] == "10.0.0.1" and rows["port"]["value"] == 9100

    # serve --port 9200 (no --host): the flag beats the variable, the host still comes from ./ledger-config
    settings = Settings.load({"port": 9200, "host": None}, environ={"LEDGER_PORT": "9100"})
    assert settings.port == 9200 and str(settings.sources["port"]) == "flag --port"
    assert settings.host == "0.0.0.0" and settings.sources["host"].kind == "file"


def test_secrets_are_masked_in_the_table_too(here, monkeypatch):
    monkeypatch.setenv("LEDGER_DATABASE_URL", "postgresql://ledger:s3cret@db/ledger")
    result = runner.invoke(app, ["config", "show"])
    assert result.exit_code == 0 and "s3cret" not in result.output and "***" in result.output


@pytest.mark.parametrize("var, value, says", [
    ("LEDGER_PORT", "abc", "port must be a port number from 1 to 65535, not 'abc' (from env LEDGER_PORT)"),
    ("LEDGER_LOG_FORMAT", "xml", "log_format must be one of text, json, not 'xml' (from env LEDGER_LOG_FORMAT)"),
    ("LEDGER_LOG_LEVEL", "loud", "log_level must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL"),
    ("LEDGER_DATABASE_URL", "notaurl", "'notaurl' is not a database URL"),
    ("LEDGER_CONFIG_DIR", "/no/such/folder", "config_dir '/no/such/folder' (from env LEDGER_CONFIG_DIR) is not a"),
])
def test_a_bad_value_is_one_line(here, monkeypatch, var, value, says):
    monkeypatch.setenv(var, value)
    assert says in error_line(runner.invoke(app, ["config", "show"]))
    assert says in error_line(runner.invoke(app, ["trial-balance", "-s", "US"]))  # every command, not only config


def test_a_bad_file_is_one_line(here):
    folder = here / "cfg"
    folder.mkdir()
    (folder / "ledger.toml").write_text('[ledger]\nprot = 8000\n')
    assert "unknown setting(s) prot in [ledger]" in error_line(runner.invoke(app, ["--config-dir", str(folder),
                                                                                   "config", "show"]))
    (folder / "ledger.toml").write_text('[ledger\n')
    assert "not valid TOML" in error_line(runner.invoke(app, ["--config-dir", str(folder), "config", "show"]))
    (folder / "ledger.toml").write_text('[ledger]\nport = "x"\n')
    assert f"(from file {folder / 'ledger.toml'})" in error_line(
        runner.invoke(app, ["--config-dir", str(folder), "config", "show"]))


def test_serve_refuses_a_bad_port_before_starting(here):
    assert "port must be a port number" in error_line(runner.invoke(app, ["serve", "--port", "70000"]))


def test_settings_stay_backward_compatible(here, monkeypatch):
    monkeypatch.setenv("LEDGER_DATABASE_URL", "sqlite:///x.db")
    settings = Settings.from_env()
    assert settings.database_url == "sqlite:///x.db" and settings.accounts_dir == DEFAULT_ACCOUNTS_DIR
    assert Settings("", DEFAULT_ACCOUNTS_DIR).port == 8000  # positional construction as before
    with pytest.raises(ConfigError):
        Settings.load(environ={"LEDGER_PORT": "0"})


def test_json_logs_are_one_object_per_line(here, capsys):
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure_logging(Settings(log_format="json", log_level="DEBUG"))
        logging.getLogger("ledger_service.test").info("hello %s", "world")
        try:
            raise ValueError("boom")
        except ValueError:
            logging.getLogger("uvicorn.error").exception("failed")
    finally:
        root.handlers[:], _ = saved
        root.setLevel(saved[1])
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [(r["level"], r["logger"], r["message"]) for r in lines] == [
        ("INFO", "ledger_service.test", "hello world"), ("ERROR", "uvicorn.error", "failed")]
    assert "ValueError: boom" in lines[1]["exception"] and lines[0]["time"].endswith("+00:00")


def test_unit_source_is_a_subsidiary_setting(cli):
    """`unit_source` (issue 12): inventory_ledger by default (nothing changes for a subsidiary that does not set it),
    settlement when set, anything else refused in one line, and the recorded form reads back."""
    from ledger_service.chart.config import SETTING_NAMES, SubsidiaryConfig, from_dict

    assert "unit_source" in SETTING_NAMES and SubsidiaryConfig("US").unit_source == "inventory_ledger"
    assert from_dict({"code": "US"}).unit_source == "inventory_ledger"  # a configuration recorded before it
    assert from_dict(SubsidiaryConfig("US", unit_source="settlement").as_dict()).unit_source == "settlement"

    def shown() -> str:
        result = cli("subsidiaries", "show", "US", "--format", "json")
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)["unit_source"]

    assert shown() == "inventory_ledger"
    assert cli("subsidiaries", "set", "US", "--unit-source", "settlement").exit_code == 0
    assert shown() == "settlement"
    bad = cli("subsidiaries", "set", "US", "--unit-source", "both")
    assert bad.exit_code == 1 and "unit_source = 'both'; use one of inventory_ledger, settlement" in bad.output
    assert shown() == "settlement"
    added = cli("subsidiaries", "add", "DE", "--currency", "EUR", "--tax-profile", "eu", "--unit-source", "settlement")
    assert added.exit_code == 0, added.output
    assert json.loads(cli("subsidiaries", "show", "DE", "--format", "json").stdout)["unit_source"] == "settlement"
