"""Engines for SQLite (embedded default) and PostgreSQL (production), with the same transaction semantics.

SQLite: foreign keys on, WAL, and write transactions opened with BEGIN IMMEDIATE so that two writers never
interleave a hash chain (pysqlite's own implicit transactions are switched off and BEGIN is emitted here).
PostgreSQL: READ COMMITTED; writers serialise per subsidiary by locking its chain head row (see journal.writer).

URLs: operators write postgresql://, postgres:// (Heroku and most hosting providers) or postgresql+psycopg2://.
SQLAlchemy 2.1 maps bare postgresql:// to psycopg 3 and does not know postgres:// at all, while the package ships
psycopg2; normalise_url is the one place that turns all three into postgresql+psycopg2:// (make_engine and the
Alembic migrations both go through it).
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from typing import Iterator

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

URL_FORMS = "sqlite:///path/ledger.db or postgresql://user:password@host:5432/ledger"
_POSTGRES_NAMES = {"postgres", "postgresql", "postgresql+psycopg2"}
_SQLITE_NAMES = {"sqlite", "sqlite+pysqlite"}
PG_CONNECT_TIMEOUT = 10  # seconds: an unroutable host must fail a command or /ready, not hang it


class DatabaseUrlError(ValueError):
    """A database URL that cannot be used: malformed, or a database or driver ledger-service does not run on."""


def masked_url(url: str) -> str:
    """A database URL fit to print or log: its password replaced by ***, even when the URL is malformed."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return re.sub(r"(//[^/:@]*:)[^@/]*@", r"\1***@", url)


def normalise_url(url: str) -> str:
    """The URL with the driver ledger-service ships: postgres(ql)[+psycopg2]:// -> postgresql+psycopg2://."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise DatabaseUrlError(f"{masked_url(url)!r} is not a database URL; use {URL_FORMS}") from None
    name = parsed.drivername
    if name in _SQLITE_NAMES:
        return url
    if name in _POSTGRES_NAMES:
        return parsed.set(drivername="postgresql+psycopg2").render_as_string(hide_password=False)
    if name.startswith("postgresql+"):
        raise DatabaseUrlError(f"the driver {name.split('+', 1)[1]!r} is not installed with ledger-service; "
                               "write postgresql:// (psycopg2)")
    raise DatabaseUrlError(f"ledger-service does not run on {name!r} databases; use {URL_FORMS}")


def make_engine(url: str, **kwargs) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        from ledger_service.settings import Settings

        # how long a writer waits for another's lock (LEDGER_SQLITE_LOCK_TIMEOUT) before "database is locked"
        timeout = kwargs.pop("sqlite_timeout", None)
        timeout = Settings.from_env().sqlite_lock_timeout if timeout is None else timeout
        engine = create_engine(url, connect_args={"timeout": timeout}, **kwargs)
        _configure_sqlite(engine)
        return engine
    if "connect_timeout" not in make_url(url).query:
        kwargs["connect_args"] = {"connect_timeout": PG_CONNECT_TIMEOUT, **kwargs.get("connect_args", {})}
    return create_engine(url, pool_pre_ping=True, **kwargs)


def is_sqlite(bind: Engine | Connection) -> bool:
    return bind.dialect.name == "sqlite"


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        immediate = conn.get_execution_options().get("write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """One database transaction for writing: everything inside commits together or not at all."""
    with engine.connect() as conn:
        conn = conn.execution_options(write=True)
        with conn.begin():
            yield conn
