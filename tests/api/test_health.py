"""Liveness, readiness and a database outage, on both engines.

/health says the process is up without touching the database; /ready says whether the database is reachable, at
the package's latest migration and has accounts (503 with the reason otherwise); a request while the database is
away answers 503 "unavailable", not 500, and the service recovers by itself when it is back.
"""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import make_url

from ledger_service.api.app import create_app
from ledger_service.store.engine import make_engine
from tests.conftest import PG_URL, _pg_admin

ANY_TOKEN = {"Authorization": "Bearer lsk_not-a-real-token"}  # gets past "no token" to the database lookup


def client_for(engine) -> TestClient:
    return TestClient(create_app(engine), raise_server_exceptions=False)


@pytest.fixture
def unreachable(engine_name, tmp_path):
    """An engine whose database cannot be reached: a closed port, or a SQLite file in a folder that is not there."""
    url = ("postgresql://postgres@127.0.0.1:1/ledger" if engine_name == "postgresql"
           else f"sqlite:///{tmp_path / 'no-such-folder' / 'ledger.db'}")
    eng = make_engine(url)
    yield eng
    eng.dispose()


@pytest.fixture
def empty(engine_name, tmp_path):
    """An engine on a database that exists but has no schema."""
    if engine_name == "sqlite":
        path = tmp_path / "empty.db"
        path.touch()
        eng = make_engine(f"sqlite:///{path}")
        yield eng
        eng.dispose()
        return
    name = f"ledger_empty_{uuid.uuid4().hex[:10]}"
    admin = _pg_admin()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    eng = make_engine(make_url(PG_URL).set(database=name).render_as_string(hide_password=False))
    yield eng
    eng.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_health_answers_without_the_database(unreachable):
    with client_for(unreachable) as client:
        r = client.get("/health")
    assert r.status_code == 200 and r.json()["status"] == "ok"


def test_ready_on_an_initialised_database(engine):
    with client_for(engine) as client:
        r = client.get("/ready")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "ready"
    assert set(body["checks"]) == {"database", "schema", "accounts"}
    assert all(check["ok"] for check in body["checks"].values())


def test_not_ready_without_a_schema(empty):
    with client_for(empty) as client:
        r = client.get("/ready")
    assert r.status_code == 503
    body = r.json()
    assert body["error"] == "not_ready"
    assert body["message"] == "the database has no ledger schema: run `ledger-service init`"
    assert body["checks"]["database"]["ok"] and not body["checks"]["schema"]["ok"]


def test_not_ready_without_accounts(engine):
    with engine.begin() as conn:  # a migrated database before `init` loaded accounts/
        conn.execute(text("DELETE FROM accounts"))
    with client_for(engine) as client:
        r = client.get("/ready")
    assert r.status_code == 503 and "no subsidiary has accounts" in r.json()["message"]


def test_not_ready_and_unavailable_while_the_database_is_unreachable(unreachable, engine_name):
    with client_for(unreachable) as client:
        ready = client.get("/ready")
        request = client.get("/subsidiaries", headers=ANY_TOKEN)
    assert ready.status_code == 503 and ready.json()["error"] == "not_ready"
    assert not ready.json()["checks"]["database"]["ok"]
    expected = "cannot reach the PostgreSQL server" if engine_name == "postgresql" else "cannot open the SQLite"
    assert expected in ready.json()["message"]
    assert request.status_code == 503, request.text
    assert request.json()["error"] == "unavailable" and expected in request.json()["message"]


def test_the_service_recovers_when_the_database_comes_back(engine, engine_name, db_url):
    if engine_name != "postgresql":
        pytest.skip("a SQLite file does not go away and come back")
    with client_for(engine) as client:
        assert client.get("/ready").status_code == 200
        admin = _pg_admin()
        with admin.connect() as conn:  # what a database restart does to every pooled connection
            killed = conn.execute(text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                       "WHERE datname = :db AND pid <> pg_backend_pid()"),
                                  {"db": make_url(db_url).database}).scalar_one()
        admin.dispose()
        assert killed >= 1
        assert client.get("/ready").status_code == 200  # pool_pre_ping replaced the dead connection
