"""A database that cannot be used, said in one line: what is wrong and what to do.

A wrong URL, a server that is down, a database that was never created or a schema that was never migrated reach
the code as driver exceptions whose text ("FATAL: database "x" does not exist", "no such table: subsidiaries") and
traceback help nobody operating the service. explain() maps them to one line; the CLI prints it and exits 2, the
REST API answers 503 with it. Anything it does not recognise (a bug, a constraint) is left to the caller (None).
"""

from __future__ import annotations

from sqlalchemy import Engine, pool
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, ProgrammingError

from ledger_service.store.engine import make_engine

# Substrings of libpq's connection errors, and what they mean for an operator.
_UNREACHABLE = {
    "connection refused": "connection refused",
    "could not translate host name": "unknown host",
    "name or service not known": "unknown host",
    "timeout expired": "timed out",
    "timed out": "timed out",
    "no route to host": "no route to host",
    "network is unreachable": "network unreachable",
    "no such file or directory": "no server on that socket",
}
_REFUSED_LOGIN = ("password authentication failed", "no password supplied", "pg_hba.conf", "role \"")
_LOST = ("server closed the connection", "terminating connection", "connection already closed",
         "ssl connection has been closed", "the database system is starting up", "the database system is shutting down",
         "could not receive data", "could not send data", "connection not open")
_UNDEFINED_OBJECT = {"42P01", "42703", "42883"}  # undefined table, column, function: a schema behind the code


def explain(exc: BaseException, engine: Engine | None) -> str | None:
    """One line for a database that is misconfigured, unreachable, missing or not migrated; None otherwise.

    `engine` is the one that failed (for the server's address, and to read the schema's revision when a table is
    missing).
    """
    if not isinstance(exc, DBAPIError):
        return None
    text = str(exc.orig if exc.orig is not None else exc)
    lowered = text.lower()
    url = engine.url if engine is not None else None
    where = _where(url)
    if (isinstance(exc, ProgrammingError) and getattr(exc.orig, "pgcode", None) in _UNDEFINED_OBJECT) \
            or "no such table" in lowered or "no such column" in lowered:
        return schema_problem_at(engine)
    if "invalid dsn" in lowered:  # libpq refusing the URL's query parameters, before connecting
        return f"the database URL has an option PostgreSQL does not know ({_first_line(text)}): correct the URL"
    if getattr(exc.orig, "pgcode", None) == "42501":  # insufficient privilege, e.g. CREATE DATABASE without CREATEDB
        return (f"PostgreSQL user {url.username if url else None!r} is not allowed to do this "
                f"({_first_line(text)}): grant the privilege, or have an administrator do it")
    if not isinstance(exc, (OperationalError, InterfaceError)) and not exc.connection_invalidated:
        return None  # an integrity error, a bad query: a bug to see in full, not a database to fix
    if url is not None and url.get_backend_name() == "sqlite":
        return _sqlite(lowered, text, url)
    if "does not exist" in lowered and "database" in lowered:
        return (f"database {url.database if url else '?'!r} does not exist on {where}: "
                "run `ledger-service init --create-database`")
    if any(s in lowered for s in _REFUSED_LOGIN):
        user = url.username if url else None
        return (f"PostgreSQL at {where} refused user {user!r} ({_first_line(text)}): "
                "check the user and password in the database URL")
    for needle, reason in _UNREACHABLE.items():
        if needle in lowered:
            return f"cannot reach the PostgreSQL server at {where} ({reason}): start it, or correct the database URL"
    if exc.connection_invalidated or any(s in lowered for s in _LOST):
        return f"lost the connection to the database server at {where}: it may be restarting; retry shortly"
    return f"the database at {where} cannot be used: {_first_line(text)}"


def _sqlite(lowered: str, text: str, url: URL) -> str:
    path = url.database or ":memory:"
    if "unable to open database file" in lowered:
        return (f"cannot open the SQLite database {path}: its folder must exist and be writable "
                "(`ledger-service init --create-database` creates the folder)")
    if "database is locked" in lowered:
        from ledger_service.settings import Settings

        waited = Settings.from_env().sqlite_lock_timeout
        return (f"the SQLite database {path} is locked by another writer; waited {waited} s "
                "(LEDGER_SQLITE_LOCK_TIMEOUT): retry, raise the timeout, or use PostgreSQL for many writers")
    if "readonly database" in lowered:
        return f"the SQLite database {path} is read-only: give the service write access to the file and its folder"
    return f"the SQLite database {path} cannot be used: {_first_line(text)}"


def schema_problem_at(engine: Engine | None, quiet: bool = True) -> str | None:
    """The schema's revision against the package's, read on a fresh connection (the failed one may be aborted);
    None when it is current, or (quiet) when the database cannot be read at all."""
    from ledger_service.store.readiness import schema_problem

    if engine is None:
        return None
    probe = make_engine(engine.url.render_as_string(hide_password=False), poolclass=pool.NullPool)
    try:
        with probe.connect() as conn:
            return schema_problem(conn)
    except DBAPIError:
        if quiet:
            return None
        raise
    finally:
        probe.dispose()


def _where(url: URL | None) -> str:
    if url is None:
        return "the configured server"
    if url.get_backend_name() == "sqlite":
        return url.database or ":memory:"
    return f"{url.host or 'localhost'}:{url.port or 5432}"


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    line = (lines[0] if lines else text.strip()).split(" failed: ", 1)[-1]  # libpq: "connection to ... failed: X"
    return line.strip().removeprefix("FATAL:").strip()
