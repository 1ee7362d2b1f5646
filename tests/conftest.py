"""Test harness: every database test runs on SQLite and on PostgreSQL, each on a fresh database.

A migrated database with the default chart (`init`) is made once per engine and session as a template; each test
gets its own copy (a file copy on SQLite, CREATE DATABASE ... TEMPLATE on PostgreSQL), so tests commit for real
and the immutability triggers stay on. `--engines sqlite` runs one engine only; the PostgreSQL server is taken
from LEDGER_TEST_PG_URL (default postgresql+psycopg2://postgres@127.0.0.1:5432/postgres). An unreachable server
fails the run: it never skips silently.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import uuid
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from ledger_service.chart.service import load_accounts_dir
from ledger_service.settings import DEFAULT_ACCOUNTS_DIR, REPO_ROOT
from ledger_service.store.engine import make_engine, write_transaction
from ledger_service.store.migrate import upgrade

PG_URL = os.environ.get("LEDGER_TEST_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
RUN_ID = uuid.uuid4().hex[:8]
_counter = itertools.count()
_engine_counts: Counter = Counter()


def pytest_addoption(parser):
    parser.addoption("--engines", default="sqlite,postgresql", help="comma-separated: sqlite,postgresql")


def pytest_generate_tests(metafunc):
    if "engine_name" in metafunc.fixturenames:
        names = [n.strip() for n in metafunc.config.getoption("engines").split(",") if n.strip()]
        metafunc.parametrize("engine_name", names, scope="session")


def _init(url: str) -> None:
    upgrade(url)
    engine = make_engine(url)
    with write_transaction(engine) as conn:
        load_accounts_dir(conn, DEFAULT_ACCOUNTS_DIR)
    engine.dispose()


def _pg_admin():
    return create_engine(PG_URL, isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def template(engine_name, tmp_path_factory):
    """A migrated, initialised database to copy from; returns a factory of fresh database URLs."""
    if engine_name == "sqlite":
        path = tmp_path_factory.mktemp("template") / "template.db"
        _init(f"sqlite:///{path}")

        def fresh(dest: Path) -> str:
            target = dest / f"ledger-{next(_counter)}.db"
            shutil.copyfile(path, target)
            return f"sqlite:///{target}"

        yield fresh, None
        return
    admin = _pg_admin()
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # the PostgreSQL half must run: fail loudly
        pytest.fail(f"PostgreSQL at {PG_URL} is not reachable: {exc}. Start it with "
                    "`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`", pytrace=False)
    tpl = f"ledger_tpl_{RUN_ID}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{tpl}"'))
    base = make_url(PG_URL)
    _init(base.set(database=tpl).render_as_string(hide_password=False))
    created: list[str] = []

    def fresh(_dest: Path) -> str:
        name = f"ledger_t_{RUN_ID}_{next(_counter)}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{tpl}"'))
        created.append(name)
        return base.set(database=name).render_as_string(hide_password=False)

    yield fresh, created
    with admin.connect() as conn:
        for name in created + [tpl]:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def db_url(template, engine_name, tmp_path):
    fresh, created = template
    url = fresh(tmp_path)
    _engine_counts[engine_name] += 1
    yield url
    if created is not None and created:
        name = make_url(url).database
        with _pg_admin().connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        created.remove(name)


@pytest.fixture
def engine(db_url):
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def superuser_conn(engine):
    """A raw connection as a database superuser, for tests that go behind the ledger's back (tampering)."""
    with engine.connect() as conn:
        yield conn


def pytest_sessionfinish(session, exitstatus):
    # .ci/run reads this to prove both engines ran (a skipped PostgreSQL half must fail CI).
    (REPO_ROOT / ".pytest-engines.json").write_text(json.dumps(dict(_engine_counts)))


@pytest.fixture
def cli(db_url, monkeypatch):
    """The command line against the test's database: cli(*args) runs one command (typer's CliRunner)."""
    from typer.testing import CliRunner

    from ledger_service.cli.main import app

    monkeypatch.setenv("LEDGER_DATABASE_URL", db_url)
    runner = CliRunner()

    def run(*args):
        return runner.invoke(app, list(args))
    return run

