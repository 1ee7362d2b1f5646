"""API tokens: the secret is shown once and only its hash kept; list shows no secret; revoke works at once;
names are never reused; a scope names real subsidiaries; `demo` makes a fresh local admin each run."""

import json

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from ledger_service.auth.model import TOKEN_PREFIX, Principal, Role, secret_hash
from ledger_service.auth.service import authenticate, create_local_admin, create_token, revoke_token
from ledger_service.cli.main import app
from ledger_service.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized
from ledger_service.store.engine import write_transaction
from ledger_service.store.tables import api_tokens
from tests.support.api import api_client

runner = CliRunner()


@pytest.fixture
def cli(db_url, monkeypatch):
    monkeypatch.setenv("LEDGER_DATABASE_URL", db_url)
    return lambda *args: runner.invoke(app, list(args))


def test_only_the_hash_is_kept(engine):
    with write_transaction(engine) as conn:
        info, secret = create_token(conn, "uploader", "poster", ["US"])
    assert secret.startswith(TOKEN_PREFIX) and len(secret) > 40
    with engine.connect() as conn:
        [row] = conn.execute(select(api_tokens)).mappings().all()
        assert secret not in json.dumps({k: str(v) for k, v in row.items()})
        assert row["secret_sha256"] == secret_hash(secret)
        assert authenticate(conn, secret) == Principal("uploader", Role.poster, frozenset({"US"}))


def test_names_scopes_and_revocation(engine):
    with write_transaction(engine) as conn:
        _, secret = create_token(conn, "ops", "viewer")
        with pytest.raises(NotFound, match="unknown subsidiary 'XX'"):
            create_token(conn, "scoped", "viewer", ["XX"])
        with pytest.raises(Invalid, match="role"):
            create_token(conn, "bad-role", "owner")
        with pytest.raises(Invalid, match="token name"):
            create_token(conn, "has space", "viewer")
        revoke_token(conn, "ops")
        with pytest.raises(Conflict, match="never reused"):
            create_token(conn, "ops", "viewer")  # revoked, and still its name is taken: events name it
    with engine.connect() as conn, pytest.raises(Unauthorized, match="revoked"):
        authenticate(conn, secret)


def test_principal_role_and_scope():
    uk = Principal("uk-ctl", Role.controller, frozenset({"UK"}))
    assert uk.require(Role.poster) is uk and uk.check("UK") == "UK"
    with pytest.raises(Forbidden, match="needs admin"):
        uk.require(Role.admin)
    with pytest.raises(Forbidden, match="subsidiary US is outside its scope"):
        uk.check("US")
    assert uk.filter([{"s": "US"}, {"s": "UK"}], lambda r: r["s"]) == [{"s": "UK"}]
    assert Principal("all", Role.viewer).allows("ANY") and uk.actor == "token:uk-ctl"


def test_local_admin_is_fresh_each_time(engine):
    first, second = create_local_admin(engine), create_local_admin(engine)
    assert (first[0].name, second[0].name) == ("demo-admin", "demo-admin-2")
    assert first[1] != second[1] and first[0].role == Role.admin and first[0].subsidiaries is None


def test_cli_create_list_revoke(cli, engine):
    made = cli("token", "create", "--name", "uk-viewer", "--role", "viewer", "--subsidiary", "UK")
    assert made.exit_code == 0, made.output
    secret = next(line for line in made.output.splitlines() if line.startswith(TOKEN_PREFIX))
    client = api_client(engine, "viewer")
    client.headers["Authorization"] = f"Bearer {secret}"
    assert [s["code"] for s in client.get("/subsidiaries").json()["items"]] == ["UK"]

    listed = cli("token", "list", "--format", "json")
    assert listed.exit_code == 0 and secret not in listed.output
    [row] = [t for t in json.loads(listed.output) if t["name"] == "uk-viewer"]
    assert (row["role"], row["subsidiaries"], row["revoked_at"]) == ("viewer", ["UK"], None)
    assert "uk-viewer" in cli("token", "list").output

    assert cli("token", "revoke", "uk-viewer").exit_code == 0
    r = client.get("/subsidiaries")
    assert r.status_code == 401 and "revoked" in r.json()["message"]
    again = cli("token", "create", "--name", "uk-viewer", "--role", "viewer")
    assert again.exit_code == 1 and "never reused" in again.output
    assert cli("token", "revoke", "nobody").exit_code == 1
    assert cli("token", "create", "--name", "x", "--role", "owner").exit_code == 2  # not a role
