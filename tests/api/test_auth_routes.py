"""Auth by construction: every route but the open ones depends on auth.deps.authenticate.

A route gets the dependency only through a caller parameter (Viewer, Poster, Controller, Admin), so a route
written without one is caught here, before the matrix (test_auth_matrix) even asks it anything.
"""

from starlette.routing import Mount

from ledger_service.api.app import DOCS_ASSETS, create_app, is_open
from ledger_service.auth.deps import authenticate
from ledger_service.store.engine import make_engine
from tests.support.api import app_routes, is_api_route


def _depends_on(dependant, call) -> bool:
    return dependant.call is call or any(_depends_on(d, call) for d in dependant.dependencies)


def test_every_route_but_the_open_ones_needs_a_token():
    app = create_app(make_engine("sqlite://"))
    unguarded, guarded = [], []
    for route in app_routes(app):
        if is_api_route(route):
            needs = _depends_on(route.dependant, authenticate)
            if is_open(route.path):
                assert not needs, f"{route.path} is open (probes, documentation) and must stay so"
            elif needs:
                guarded.append(route.path)
            else:
                unguarded.append(f"{sorted(route.methods)} {route.path}")
        elif isinstance(getattr(route, "original_route", route), Mount):
            assert route.path == DOCS_ASSETS, f"a mount outside the documentation assets: {route.path}"
        else:  # plain Starlette routes: only the documentation pages fastapi-offline adds
            assert is_open(route.path), f"{route.path} is not an APIRoute and not open: it bypasses auth"
    assert not unguarded, f"routes without a caller parameter (Viewer, Poster, ...): {unguarded}"
    assert len(guarded) >= 15


def test_openapi_declares_the_bearer_scheme_on_every_guarded_operation():
    spec = create_app(make_engine("sqlite://")).openapi()
    assert spec["components"]["securitySchemes"]["HTTPBearer"] == {
        "type": "http", "scheme": "bearer", "description": spec["components"]["securitySchemes"]["HTTPBearer"][
            "description"]}
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            if is_open(path):
                assert "security" not in op, (method, path)
            else:
                assert op["security"] == [{"HTTPBearer": []}], (method, path)
                assert {"401", "403"} <= set(op["responses"]), (method, path)
