"""Every route x role x subsidiary scope: who gets 401, who 403, who an answer, and what a list shows.

The routes come from app.routes, so a new route fails here until ROUTES says which role it needs and gives an
example request; the example names a subsidiary (US or UK) when the route reads or writes one. For each route:
  - no token, a malformed header, an unknown token and a revoked one: 401 with WWW-Authenticate: Bearer;
  - each role with each scope (every subsidiary, UK only, US only), asking for US and for UK data: 403 when the
    role is below the route's or the subsidiary is outside the scope, 200/201 otherwise; a refused request
    writes nothing;
  - a list answers, for a scoped token, only rows of its own subsidiaries, with or without a filter.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from ledger_service.api.app import create_app, is_open
from ledger_service.auth.model import Role
from ledger_service.auth.service import revoke_token
from ledger_service.store.engine import make_engine, write_transaction
from ledger_service.store.tables import api_tokens, events
from tests.api.seed import SUBSIDIARIES, journal, post_journal, seed, settlement_file
from tests.support.api import app_routes, bearer, is_api_route, make_token

_n = itertools.count(1)


@dataclass(frozen=True)
class Spec:
    role: Role
    example: Callable  # (engine, books, sub or None) -> request kwargs for TestClient.request
    names_subsidiary: bool = True  # the example reads or writes the subsidiary it is given
    rows: Callable | None = None  # a list: (answer JSON) -> the subsidiary of each row
    unfiltered: dict | None = None  # a list: request kwargs without a subsidiary filter
    unscoped_only: bool = False  # needs a token for every subsidiary (token management)


def _get(url, **params):
    return lambda engine, books, sub: {"method": "GET", "url": url.format(sub=sub), "params": {
        k: v.format(sub=sub) if isinstance(v, str) else v for k, v in params.items()}}


def _sub_of_rows(data):
    return [row["subsidiary"] for row in data]


def _items(field):
    return lambda data: [row[field] for row in data["items"]]


def _reverse(engine, books, sub):
    return {"method": "POST", "url": f"/journal-entries/{post_journal(engine, sub)}/reverse",
            "json": {"reason": "matrix"}}


def _revoke(engine, books, sub):
    name = f"throwaway-{next(_n)}"
    make_token(engine, "viewer", name=name)
    return {"method": "POST", "url": f"/tokens/{name}/revoke"}


def _rate(engine, books, sub):
    """A stored rate to look up (importing it again is a no-op)."""
    from ledger_service.rates.service import import_rates
    from ledger_service.rates.parse import parse_rates

    with write_transaction(engine) as conn:
        import_rates(conn, parse_rates("date,from,to,rate\n2026-10-30,EUR,USD,1.0850\n", "m.csv"), "m.csv")
    return {"method": "GET", "url": "/rates/USD/EUR/2026-10-31"}


def _period_in(engine, sub, status: str) -> None:
    """Put the seed's month (2026-05) of `sub` in `status`, so that a close or reopen example can succeed."""
    from ledger_service.periods import service

    with write_transaction(engine) as conn:
        closed = service.is_closed(conn, sub, "2026-05")
        if status == "open" and closed:
            service.reopen_period(conn, sub, "2026-05", reason="matrix")
        elif status == "closed" and not closed:
            service.close_period(conn, sub, "2026-05", reason="matrix", force=True)


def _close(engine, books, sub):
    _period_in(engine, sub, "open")
    return {"method": "POST", "url": f"/periods/{sub}/2026-05/close", "json": {"force": True, "reason": "matrix"}}


def _reopen(engine, books, sub):
    _period_in(engine, sub, "closed")
    return {"method": "POST", "url": f"/periods/{sub}/2026-05/reopen", "json": {"reason": "matrix"}}


def _exported(engine, books, sub):
    """The seed's month of `sub` closed and exported (again: a no-op), for the export and trace examples."""
    from ledger_service.export.netsuite.service import export

    _period_in(engine, sub, "closed")
    with write_transaction(engine) as conn:
        export(conn, sub, "2026-05", "csv")
    return {"method": "GET", "url": "/exports/netsuite", "params": {"subsidiary": sub, "period": "2026-05"}}


def _export(engine, books, sub):
    _period_in(engine, sub, "closed")
    return {"method": "POST", "url": "/exports/netsuite", "params": {"subsidiary": sub, "period": "2026-05"}}


def _trace(engine, books, sub):
    _exported(engine, books, sub)
    return {"method": "GET", "url": f"/trace/netsuite/LS-{sub}-2026-05-S-9{sub}0", "params": {"line": 1}}


ROUTES: dict[tuple[str, str], Spec] = {
    ("GET", "/subsidiaries"): Spec(Role.viewer, _get("/subsidiaries"), False, _items("code"), {"url": "/subsidiaries"}),
    ("GET", "/subsidiaries/{code}"): Spec(Role.viewer, _get("/subsidiaries/{sub}")),
    ("GET", "/accounts"): Spec(Role.viewer, _get("/accounts", subsidiary="{sub}"), rows=_items("subsidiary"),
                               unfiltered={"url": "/accounts", "params": {"limit": 1000}}),
    ("GET", "/events"): Spec(Role.viewer, _get("/events", subsidiary="{sub}"), rows=_items("subsidiary"),
                             unfiltered={"url": "/events", "params": {"limit": 1000}}),
    ("GET", "/events/{event_id}"): Spec(Role.viewer, lambda e, b, sub: {"method": "GET",
                                                                      "url": f"/events/{b.events[sub][0]}"}),
    ("GET", "/journal-entries/{entry_id}"): Spec(Role.viewer, lambda e, b, sub: {
        "method": "GET", "url": f"/journal-entries/{b.entries[sub][0]}"}),
    ("POST", "/journal-entries"): Spec(Role.controller, lambda e, b, sub: {
        "method": "POST", "url": "/journal-entries", "json": journal(sub, f"matrix-{next(_n)}")}),
    ("POST", "/journal-entries/{entry_id}/reverse"): Spec(Role.controller, _reverse),
    ("GET", "/balances"): Spec(Role.viewer, _get("/balances", subsidiary="{sub}")),
    ("GET", "/trial-balance"): Spec(Role.viewer, _get("/trial-balance", subsidiary="{sub}")),
    ("GET", "/settlements"): Spec(Role.viewer, _get("/settlements", subsidiary="{sub}")),
    ("GET", "/settlements/{settlement_id}"): Spec(Role.viewer, lambda e, b, sub: {
        "method": "GET", "url": f"/settlements/{b.settlements[sub][0]}", "params": {"subsidiary": sub}}),
    ("GET", "/exceptions"): Spec(Role.viewer, _get("/exceptions", subsidiary="{sub}")),
    ("GET", "/reports/gross-to-net"): Spec(Role.viewer, _get("/reports/gross-to-net", subsidiary="{sub}")),
    ("GET", "/reports/close"): Spec(Role.viewer, _get("/reports/close", subsidiary="{sub}", period="2026-05",
                                                      format="xlsx")),
    ("POST", "/ingest"): Spec(Role.poster, lambda e, b, sub: {
        "method": "POST", "url": "/ingest", "data": {"subsidiary": sub},
        "files": {"file": (f"{sub}-0.txt", settlement_file(sub, 0), "text/plain")}}),
    ("GET", "/tokens"): Spec(Role.admin, _get("/tokens"), False, unscoped_only=True),
    ("POST", "/tokens"): Spec(Role.admin, lambda e, b, sub: {
        "method": "POST", "url": "/tokens", "json": {"name": f"made-{next(_n)}", "role": "viewer"}},
        False, unscoped_only=True),
    ("POST", "/tokens/{name}/revoke"): Spec(Role.admin, _revoke, False, unscoped_only=True),
    ("GET", "/rates"): Spec(Role.viewer, _get("/rates", **{"from": "EUR", "date_from": "2026-10-01"}), False),
    ("GET", "/rates/{from_currency}/{to_currency}/{day}"): Spec(Role.viewer, _rate, False),
    ("GET", "/periods"): Spec(Role.viewer, _get("/periods", subsidiary="{sub}"), rows=_sub_of_rows,
                              unfiltered={"url": "/periods"}),
    ("GET", "/periods/{subsidiary}/{period}/checks"): Spec(Role.viewer, _get("/periods/{sub}/2026-05/checks")),
    ("POST", "/periods/{subsidiary}/{period}/close"): Spec(Role.controller, _close),
    ("POST", "/periods/{subsidiary}/{period}/reopen"): Spec(Role.controller, _reopen),
    ("GET", "/exports/netsuite"): Spec(Role.viewer, _exported),
    ("POST", "/exports/netsuite"): Spec(Role.controller, _export),
    ("GET", "/trace/netsuite/{external_id}"): Spec(Role.viewer, _trace),
    ("GET", "/trace/balance"): Spec(Role.viewer, _get("/trace/balance", subsidiary="{sub}",
                                                      account="Assets:Amazon:Clearing")),
    ("GET", "/catalog"): Spec(Role.viewer, _get("/catalog", subsidiary="{sub}"), rows=_items("subsidiary")),
    ("GET", "/catalog/audit"): Spec(Role.viewer, _get("/catalog/audit", subsidiary="{sub}")),
    ("GET", "/locations"): Spec(Role.viewer, _get("/locations", subsidiary="{sub}"), rows=_sub_of_rows),
    ("GET", "/inventory/positions"): Spec(Role.viewer, _get("/inventory/positions", subsidiary="{sub}",
                                                             as_of="2026-05-31")),
    ("GET", "/inventory/valuation"): Spec(Role.viewer, _get("/inventory/valuation", subsidiary="{sub}")),
    ("GET", "/inventory/cogs"): Spec(Role.viewer, _get("/inventory/cogs", subsidiary="{sub}",
                                                       **{"from": "2026-05-01", "to": "2026-05-31"})),
    ("GET", "/inventory/rollforward"): Spec(Role.viewer, _get("/inventory/rollforward", subsidiary="{sub}",
                                                              **{"from": "2026-05-01", "to": "2026-05-31"})),
    ("GET", "/inventory/exceptions"): Spec(Role.viewer, _get("/inventory/exceptions", subsidiary="{sub}")),
}

SCOPES = {"all": None, "UK": ["UK"], "US": ["US"]}


def api_routes() -> list[tuple[str, str]]:
    app = create_app(make_engine("sqlite://"))  # never connected: only its routes are read
    return sorted((method, route.path) for route in app_routes(app) if is_api_route(route)
                  and not is_open(route.path) for method in route.methods)


def written(engine) -> tuple:
    """What a write leaves behind: events, and tokens made or revoked."""
    with engine.connect() as conn:
        return (conn.execute(select(func.count()).select_from(events)).scalar(),
                conn.execute(select(func.count(), func.count(api_tokens.c.revoked_at))).one()[:])


@pytest.fixture
def world(engine):
    books = seed(engine)
    tokens = {(role, scope): make_token(engine, role.value, subs) for role in Role for scope, subs in SCOPES.items()}
    revoked = make_token(engine, "admin", name="revoked-admin")
    with write_transaction(engine) as conn:
        revoke_token(conn, "revoked-admin")
    with TestClient(create_app(engine), raise_server_exceptions=False) as client:
        yield client, books, tokens, revoked


def test_every_route_is_in_the_matrix():
    routes = set(api_routes())
    missing = sorted(routes - set(ROUTES))
    assert not missing, f"add these routes to ROUTES (the role they need and an example request): {missing}"
    assert not set(ROUTES) - routes, f"ROUTES names routes the app no longer has: {sorted(set(ROUTES) - routes)}"


@pytest.mark.parametrize("route", sorted(ROUTES), ids=" ".join)
def test_route_answers_by_role_and_scope(world, engine, route):
    client, books, tokens, revoked = world
    spec = ROUTES[route]
    targets = SUBSIDIARIES if spec.names_subsidiary else (None,)
    for target in targets:
        for headers in ({}, {"Authorization": "Basic dXM6cHc="}, bearer("lsk_not-a-token"), bearer(revoked)):
            request = spec.example(engine, books, target)
            before = written(engine)
            r = client.request(**request, headers=headers)
            assert r.status_code == 401, (route, headers, r.text)
            assert r.json()["error"] == "unauthorized" and set(r.json()) == {"error", "message"}
            assert r.headers["www-authenticate"].startswith("Bearer")
            assert written(engine) == before, (route, headers, "a refused request wrote")
        for (role, scope), secret in tokens.items():
            allowed_role = role.includes(spec.role) and not (spec.unscoped_only and SCOPES[scope] is not None)
            in_scope = target is None or SCOPES[scope] is None or target in SCOPES[scope]
            request = spec.example(engine, books, target)
            before = written(engine)
            r = client.request(**request, headers=bearer(secret))
            where = (route, role.value, scope, target)
            if not (allowed_role and in_scope):
                assert r.status_code == 403, (where, r.text)
                assert r.json()["error"] == "forbidden", where
                assert written(engine) == before, (where, "a refused request wrote")
                continue
            assert r.status_code in (200, 201), (where, r.text)
            if spec.rows is not None:
                assert set(spec.rows(r.json())) <= set(SCOPES[scope] or SUBSIDIARIES), where


@pytest.mark.parametrize("route", sorted(r for r, s in ROUTES.items() if s.unfiltered), ids=" ".join)
def test_lists_hold_no_row_of_another_subsidiary(world, route):
    client, _books, tokens, _revoked = world
    spec = ROUTES[route]
    for scope, subs in SCOPES.items():
        r = client.get(**spec.unfiltered, headers=bearer(tokens[(Role.viewer, scope)]))
        assert r.status_code == 200, r.text
        seen = set(spec.rows(r.json()))
        assert seen == set(subs or SUBSIDIARIES), (route, scope, seen)


def test_open_routes_need_no_token(world):
    client = world[0]
    app = client.app
    for route in app_routes(app):
        path = route.path
        if is_api_route(route) and is_open(path):
            r = client.get(path)
            assert r.status_code != 401, (path, r.text)
