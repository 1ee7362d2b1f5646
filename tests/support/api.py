"""The REST API in tests: a TestClient that sends a bearer token of the role (and scope) asked for."""

from __future__ import annotations

import itertools

from fastapi.testclient import TestClient

from ledger_service.api.app import create_app
from ledger_service.auth.service import create_token
from ledger_service.store.engine import write_transaction

_names = itertools.count(1)


def make_token(engine, role: str = "admin", subsidiaries: list[str] | None = None, name: str | None = None) -> str:
    """A new token's secret (a fresh name unless one is given)."""
    with write_transaction(engine) as conn:
        return create_token(conn, name or f"test-{role}-{next(_names)}", role, subsidiaries)[1]


def bearer(secret: str) -> dict:
    return {"Authorization": f"Bearer {secret}"}


def api_client(engine, role: str = "admin", subsidiaries: list[str] | None = None, name: str | None = None,
               app=None) -> TestClient:
    """A client of the app on `engine` whose every request carries a token of `role` (every subsidiary unless
    `subsidiaries` says otherwise). Server errors come back as 500 answers, as a client would see them."""
    return TestClient(app or create_app(engine), raise_server_exceptions=False,
                      headers=bearer(make_token(engine, role, subsidiaries, name)))


def app_routes(app) -> list:
    """Every route of the app, those of included routers too, with its full path and effective dependencies.

    FastAPI from 0.13x keeps an included router as one entry of app.routes; iter_route_contexts walks through
    it. Older versions copy each route into app.routes."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # pragma: no cover - older FastAPI
        return list(app.routes)
    return list(iter_route_contexts(app.routes))


def is_api_route(route) -> bool:
    from fastapi.routing import APIRoute

    return isinstance(getattr(route, "original_route", route), APIRoute)
