"""Concurrent `init` runs are safe (one migrates, the others wait and find it done), and a SQLite writer that
waits too long for another's lock says so in one line, naming the setting that decides how long it waits."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import uuid

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from ledger_service.cli.main import app
from ledger_service.store.engine import make_engine
from ledger_service.store.tables import accounts, subsidiaries
from tests.conftest import PG_URL


def empty_database(engine_name: str, tmp_path) -> str:
    if engine_name == "sqlite":
        return f"sqlite:///{tmp_path / 'fresh.db'}"
    name = f"ledger_init_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(PG_URL).set(database=name).render_as_string(hide_password=False)


def drop(url: str) -> None:
    if url.startswith("postgresql"):
        admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
        admin.dispose()


def test_four_inits_at_once_each_succeed_and_load_once(engine_name, tmp_path):
    url = empty_database(engine_name, tmp_path)
    try:
        env = os.environ | {"LEDGER_DATABASE_URL": url}
        runs = [subprocess.Popen([sys.executable, "-m", "ledger_service.cli.main", "init"], env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(4)]
        results = [(run.wait(timeout=120), run.stderr.read()) for run in runs]
        assert [code for code, _ in results] == [0, 0, 0, 0], results
        engine = make_engine(url)
        with engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(subsidiaries)).scalar() == 2  # US and UK, once
            names = conn.execute(select(accounts.c.subsidiary, accounts.c.name)).all()
            assert len(names) == len(set(names)) > 0
        engine.dispose()
    finally:
        drop(url)


def test_a_sqlite_writer_that_waits_too_long_says_so(tmp_path, monkeypatch):
    path = tmp_path / "locked.db"
    url = f"sqlite:///{path}"
    monkeypatch.setenv("LEDGER_DATABASE_URL", url)
    runner = CliRunner()
    assert runner.invoke(app, ["init"]).exit_code == 0
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the lock
    try:
        monkeypatch.setenv("LEDGER_SQLITE_LOCK_TIMEOUT", "1")
        result = runner.invoke(app, ["subsidiaries", "add", "CA", "--currency", "CAD", "--tax-profile", "ca"])
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.exit_code == 2, result.output
    assert "is locked by another writer; waited 1 s (LEDGER_SQLITE_LOCK_TIMEOUT)" in result.output
    assert "Traceback" not in result.output
