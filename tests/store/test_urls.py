"""Database URLs and what the CLI says when the database cannot be used.

postgresql://, postgres:// and postgresql+psycopg2:// all mean psycopg2 (the driver the package ships; SQLAlchemy
2.1 alone maps the first to psycopg 3 and does not know the second). A malformed URL, an unreachable server, a
missing database and a missing or stale schema are each one line on stderr and exit 2 (1 is "the ledger refused
this input"), never a traceback. The PostgreSQL cases use the test server (skipped with --engines sqlite).
"""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from ledger_service.cli.main import app
from ledger_service.store.engine import DatabaseUrlError, make_engine, masked_url, normalise_url
from ledger_service.store.migrate import upgrade
from ledger_service.store.readiness import head_revisions, schema_revisions
from tests.conftest import PG_URL, _pg_admin

runner = CliRunner()
SERVER = make_url(PG_URL)
HOSTPORT = f"{SERVER.host}:{SERVER.port or 5432}"


@pytest.fixture
def pg(request):
    if "postgresql" not in request.config.getoption("engines"):
        pytest.skip("PostgreSQL not among --engines")


@pytest.fixture
def throwaway_db(pg):
    """A database name nobody has created; dropped afterwards if a test created it."""
    name = f"ledger_url_{uuid.uuid4().hex[:10]}"
    yield name
    admin = _pg_admin()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def cli(monkeypatch, tmp_path):
    """Run the CLI in an empty folder (no ./ledger-config) with LEDGER_DATABASE_URL set."""
    monkeypatch.chdir(tmp_path)
    for var in ("LEDGER_CONFIG_DIR", "LEDGER_DEFAULT_SUBSIDIARY"):
        monkeypatch.delenv(var, raising=False)

    def run(url: str, *args: str):
        monkeypatch.setenv("LEDGER_DATABASE_URL", url)
        return runner.invoke(app, list(args))
    return run


def one_line_error(result, exit_code: int = 2) -> str:
    assert result.exit_code == exit_code, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


def url(scheme: str, database: str) -> str:
    user = SERVER.username or "postgres"
    return f"{scheme}://{user}@{HOSTPORT}/{database}"


def test_normalise_url_maps_every_postgres_form_to_psycopg2():
    for scheme in ("postgresql", "postgres", "postgresql+psycopg2"):
        assert normalise_url(f"{scheme}://u:p%40ss@h:5433/db?sslmode=require") == \
            "postgresql+psycopg2://u:p%40ss@h:5433/db?sslmode=require"
    assert normalise_url("sqlite:///ledger.db") == "sqlite:///ledger.db"
    for bad, says in (("notaurl", "is not a database URL"), ("mysql://a@b/c", "does not run on 'mysql'"),
                      ("postgresql+psycopg://a@b/c", "'psycopg' is not installed")):
        with pytest.raises(DatabaseUrlError, match=says):
            normalise_url(bad)
    assert masked_url("postgres://u:secret@h/db") == "postgres://u:***@h/db"
    assert "secret" not in masked_url("postgres//u:secret@h/db")  # malformed, still masked


@pytest.mark.parametrize("scheme", ["postgresql", "postgres", "postgresql+psycopg2"])
def test_every_url_form_connects_and_migrates(scheme, throwaway_db):
    admin = _pg_admin()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{throwaway_db}"'))
    admin.dispose()
    upgrade(url(scheme, throwaway_db))
    engine = make_engine(url(scheme, throwaway_db))
    try:
        assert engine.dialect.driver == "psycopg2"
        with engine.connect() as conn:
            assert schema_revisions(conn) == head_revisions()
    finally:
        engine.dispose()


def test_a_missing_database_says_to_create_it(cli, throwaway_db):
    line = one_line_error(cli(url("postgres", throwaway_db), "trial-balance", "-s", "US"))
    assert f"database '{throwaway_db}' does not exist" in line
    assert "ledger-service init --create-database" in line


def test_init_create_database_creates_it_and_then_it_works(cli, throwaway_db):
    target = url("postgres", throwaway_db)
    done = cli(target, "init", "--create-database")
    assert done.exit_code == 0, done.output
    assert "database created and ready" in done.output
    again = cli(target, "init", "--create-database")  # idempotent
    assert again.exit_code == 0 and "created" not in again.output.split(";")[0]
    tb = cli(target, "trial-balance", "-s", "US", "--format", "json")
    assert tb.exit_code == 0, tb.output


def test_an_unreachable_server_is_one_line(cli, pg):
    line = one_line_error(cli("postgresql://postgres@127.0.0.1:1/ledger", "trial-balance", "-s", "US"))
    assert "cannot reach the PostgreSQL server at 127.0.0.1:1 (connection refused)" in line


def test_a_malformed_url_is_one_line(cli):
    line = one_line_error(cli("notaurl", "trial-balance", "-s", "US"))
    assert "'notaurl' is not a database URL" in line and "LEDGER_DATABASE_URL" in line


def test_a_password_is_never_printed(cli, pg):
    result = cli("postgresql://postgres:s3cret@127.0.0.1:1/ledger", "init")
    one_line_error(result)
    assert "s3cret" not in result.output


def test_an_uninitialised_sqlite_database_says_to_run_init(cli, tmp_path):
    line = one_line_error(cli(f"sqlite:///{tmp_path / 'never-initialised.db'}", "trial-balance", "-s", "US"))
    assert "no ledger schema: run `ledger-service init`" in line


def test_a_schema_behind_the_package_says_to_run_init(cli, db_url, engine):
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    line = one_line_error(cli(db_url, "trial-balance", "-s", "US"))
    assert f"at revision 0001, this ledger-service needs {head_revisions()[0]}: run `ledger-service init`" in line
    assert cli(db_url, "trial-balance", "--help").exit_code == 0  # help needs no database



def test_a_schema_ahead_of_the_package_says_to_upgrade_it(cli, db_url, engine):
    with engine.begin() as conn:  # as after a downgrade of the package
        conn.execute(text("UPDATE alembic_version SET version_num = '0999'"))
    for command in (["trial-balance", "-s", "US"], ["init"]):
        line = one_line_error(cli(db_url, *command))
        assert "at revision 0999, newer than this ledger-service" in line and "upgrade ledger-service" in line
