"""The FastAPI application: routers from each capability, errors as JSON a person can act on.

Every route but /health, /ready and the documentation needs a bearer token (auth.deps); /docs and /redoc serve
their scripts and styles from the installed package (fastapi-offline), so they work without a network.
"""

from __future__ import annotations

import gc
import logging
import threading
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from ledger_service import __version__
from ledger_service.api.guard import GuardBodies, RefuseControlCharacters
from ledger_service.auth.api import router as tokens_router
from ledger_service.balances.api import router as balances_router
from ledger_service.catalog.api import router as catalog_router
from ledger_service.chart.api import router as chart_router
from ledger_service.errors import LedgerError
from ledger_service.ingest.worker import warm
from ledger_service.inventory.api import router as inventory_router
from ledger_service.eventlog.api import router as events_router
from ledger_service.export.api import router as exports_router
from ledger_service.journal.api import router as journal_router
from ledger_service.locations.api import router as locations_router
from ledger_service.periods.api import router as periods_router
from ledger_service.rates.api import router as rates_router
from ledger_service.reports.api import router as reports_router
from ledger_service.settings import Settings
from ledger_service.settlements.api import router as settlements_router
from ledger_service.store import readiness
from ledger_service.store.engine import make_engine
from ledger_service.store.problems import explain
from ledger_service.trace.api import router as trace_router

log = logging.getLogger("ledger_service")


DESCRIPTION = """Amazon FBA facts recorded once, posted as balanced double-entry journals per subsidiary.

Every endpoint but /health and /ready needs `Authorization: Bearer <token>` (Authorize, above): an admin makes
tokens with `ledger-service token create --name NAME --role viewer|poster|controller|admin [--subsidiary US]`.
Roles: viewer reads; poster also ingests; controller also posts manual journals and reversals; admin also manages
tokens. A token scoped to subsidiaries sees nothing of the others (403 when one is named, absent from lists).

Amounts are decimal strings. Lists come a page at a time: `limit` (default 100, at most 1000) and `after` (the
`next` of the previous page). Errors are `{"error": kind, "message": what to do}`.
"""

# Paths served without a token: liveness and readiness probes, and the documentation with its assets.
DOCS_ASSETS = "/static-offline-docs"  # fastapi-offline's mount of the Swagger UI and ReDoc scripts and styles
OPEN_PATHS = frozenset({"/health", "/ready", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json",
                        DOCS_ASSETS})


def is_open(path: str) -> bool:
    """A path that needs no token (exactly one of OPEN_PATHS, or a documentation asset)."""
    return path in OPEN_PATHS or path.startswith(DOCS_ASSETS + "/")


def create_app(engine: Engine | None = None) -> FastAPI:
    settings = Settings.from_env()

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        # The ingest workers' start forks this process: at startup, not in the middle of the first upload.
        threading.Thread(target=warm, args=(settings.ingest_workers,), daemon=True).start()
        # Everything loaded so far (FastAPI, SQLAlchemy, the models) lives as long as the server: out of the cyclic
        # collector's reach, a full collection no longer walks it, and stops pausing answers for tens of ms.
        gc.collect()
        gc.freeze()
        yield

    app = FastAPIOffline(
        lifespan=lifespan,
        title="ledger-service",
        version=__version__,
        description=DESCRIPTION,
        static_url=DOCS_ASSETS,
        # the token survives a reload of /docs; no call to Swagger's online validator (offline, and private)
        swagger_ui_parameters={"persistAuthorization": True, "validatorUrl": None},
    )
    app.state.engine = engine or make_engine(settings.database_url)
    app.add_middleware(GuardBodies, max_bytes=settings.max_upload_bytes, is_open=is_open)
    app.add_middleware(RefuseControlCharacters)

    @app.exception_handler(LedgerError)
    async def ledger_error(_request: Request, exc: LedgerError):
        return JSONResponse(status_code=exc.status_code, content={"error": exc.kind, "message": exc.message},
                            headers=getattr(exc, "headers", None))  # 401 carries WWW-Authenticate

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        """Unknown paths (404) and wrong methods (405, with Allow) in the same shape as every other error; a body
        that cannot be parsed is invalid input (422), as a body that does not validate is."""
        if exc.status_code == 400:  # FastAPI's "error parsing the body" (not UTF-8, say): malformed input, 422
            return JSONResponse(status_code=422, content={
                "error": "invalid", "message": f"the request body could not be read: {exc.detail}"})
        if exc.status_code == 404:
            kind, message = "not_found", f"no such endpoint: {request.url.path}; see /docs"
        elif exc.status_code == 405:
            kind = "method_not_allowed"
            message = (f"{request.method} is not allowed on {request.url.path}; allowed: "
                       f"{(exc.headers or {}).get('Allow', 'see /docs')}")
        else:
            kind, message = "http_error", str(exc.detail)
        return JSONResponse(status_code=exc.status_code, content={"error": kind, "message": message},
                            headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError):
        details = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
            details.append(f"{where}: {err.get('msg')}" if where else str(err.get("msg")))
        return JSONResponse(status_code=422, content={"error": "invalid", "message": "; ".join(details)})

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, exc: Exception):
        log.exception("unexpected error")
        return JSONResponse(
            status_code=500,
            content={"error": "internal", "message": f"the ledger could not answer: {type(exc).__name__}; "
                                                     "nothing was written; see the service log"},
        )

    @app.exception_handler(DBAPIError)
    async def database_unavailable(request: Request, exc: DBAPIError):
        """The database is down, unreachable or not migrated: 503 (retry later) instead of 500 (a bug).

        pool_pre_ping (store.engine) replaces dead connections on the next checkout, so once the database is back
        the next request succeeds without a restart.
        """
        message = await run_in_threadpool(explain, exc, app.state.engine)  # may read the schema's revision
        if message is None and not exc.connection_invalidated:
            return await unexpected(request, exc)  # an integrity error or a bad query: a bug, not an outage
        message = message or "lost the connection to the database; retry shortly"
        log.warning("database unavailable: %s", message)
        return JSONResponse(status_code=503, content={"error": "unavailable", "message": message},
                            headers={"Retry-After": "5"})

    @app.get("/health", tags=["health"])
    def health() -> dict:
        """Liveness: the process answers. It does not touch the database (see /ready), so an orchestrator does
        not restart a healthy service because its database is briefly away."""
        return {"status": "ok", "version": __version__}

    @app.get("/ready", tags=["health"], responses={503: {"description": "not ready: the reason and every check"}})
    def ready():
        """Readiness: the database is reachable, its schema is at this version's latest migration, and at least
        one subsidiary has accounts. 503 with the first failing check's reason until then."""
        checks = readiness.check(app.state.engine)
        body = {name: check.as_dict() for name, check in checks.items()}
        failed = next((check.detail for check in checks.values() if not check.ok), None)
        if failed:
            return JSONResponse(status_code=503, content={"error": "not_ready", "message": failed, "checks": body})
        return {"status": "ready", "checks": body}

    for router in (chart_router, journal_router, events_router, balances_router, settlements_router, tokens_router,
                   rates_router, periods_router, reports_router, exports_router, trace_router, catalog_router,
                   locations_router, inventory_router):
        app.include_router(router)
    return app
