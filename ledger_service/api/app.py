"""The FastAPI application: routers from each capability, errors as JSON a person can act on."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, text

from ledger_service import __version__
from ledger_service.balances.api import router as balances_router
from ledger_service.chart.api import router as chart_router
from ledger_service.errors import LedgerError
from ledger_service.eventlog.api import router as events_router
from ledger_service.journal.api import router as journal_router
from ledger_service.settings import Settings
from ledger_service.settlements.api import router as settlements_router
from ledger_service.store.engine import make_engine

log = logging.getLogger("ledger_service")


def create_app(engine: Engine | None = None) -> FastAPI:
    app = FastAPI(
        title="ledger-service",
        version=__version__,
        description="Amazon FBA facts recorded once, posted as balanced double-entry journals per subsidiary.",
    )
    app.state.engine = engine or make_engine(Settings.from_env().database_url)

    @app.exception_handler(LedgerError)
    async def ledger_error(_request: Request, exc: LedgerError):
        return JSONResponse(status_code=exc.status_code, content={"error": exc.kind, "message": exc.message})

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

    @app.get("/health", tags=["health"])
    def health() -> dict:
        with app.state.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return {"status": "ok", "database": app.state.engine.dialect.name, "version": __version__}

    for router in (chart_router, journal_router, events_router, balances_router, settlements_router):
        app.include_router(router)
    return app
