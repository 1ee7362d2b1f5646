"""Run the Alembic migrations programmatically: `init` and the tests make the schema only this way.

The migrations are package data (ledger_service/store/migrations), so an installed wheel migrates without the
source tree; alembic.ini at a checkout's root points at the same folder for `alembic` run by hand.
`init --create-database` also makes the database itself: PostgreSQL never creates one on connect, SQLite does
(but not the folder the file goes in).
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import pool, text
from sqlalchemy.engine import make_url

from ledger_service.settings import MIGRATIONS_DIR
from ledger_service.store.engine import make_engine, normalise_url


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", normalise_url(database_url).replace("%", "%%"))
    return config


INIT_LOCK_KEY = 0x1ED9E5  # the PostgreSQL advisory lock `init` holds (an arbitrary constant of this project)


@contextmanager
def init_lock(database_url: str) -> Iterator[None]:
    """Only one `init` at a time on a database: the others wait, then find it migrated and loaded.

    Two inits at once would both create the same tables or subsidiaries (a UniqueViolation for one of them).
    PostgreSQL: a session advisory lock, held on its own connection for the whole init. SQLite: an exclusive
    flock on `<database file>.init-lock` beside it (a :memory: database has no other process to wait for)."""
    url = make_url(normalise_url(database_url))
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:":
            yield
            return
        lock_path = Path(f"{url.database}.init-lock")
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        with lock_path.open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        return
    engine = make_engine(database_url, poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": INIT_LOCK_KEY})
            conn.commit()
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": INIT_LOCK_KEY})
                conn.commit()
    finally:
        engine.dispose()


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def create_database_if_missing(database_url: str) -> bool:
    """Create the database the URL names if it does not exist yet; True if it was created.

    PostgreSQL: through the `postgres` maintenance database of the same server, as the same user (who needs
    CREATEDB). SQLite: the folder of the file (the file itself is created on first connect).
    """
    url = make_url(normalise_url(database_url))
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:":
            return False
        path = Path(url.database)
        existed = path.exists()
        path.parent.mkdir(parents=True, exist_ok=True)
        return not existed
    name = url.database
    if not name:
        return False  # no database named: the server connects to the user's own
    admin = make_engine(url.set(database="postgres").render_as_string(hide_password=False),
                        isolation_level="AUTOCOMMIT", poolclass=pool.NullPool)
    try:
        with admin.connect() as conn:
            if conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first():
                return False
            conn.execute(text(f"CREATE DATABASE {admin.dialect.identifier_preparer.quote(name)}"))
            return True
    finally:
        admin.dispose()
