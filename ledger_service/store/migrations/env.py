"""Alembic environment: the schema of ledger-service is made only through these migrations."""

import os

from alembic import context
from sqlalchemy import pool

from ledger_service.store.engine import make_engine, normalise_url
from ledger_service.store.tables import metadata

config = context.config
url = config.get_main_option("sqlalchemy.url")
if url == "sqlite:///ledger.db" and os.environ.get("LEDGER_DATABASE_URL"):
    url = os.environ["LEDGER_DATABASE_URL"]
url = normalise_url(url)  # postgres:// and postgresql:// mean psycopg2, as everywhere else


def run_migrations_offline() -> None:
    context.configure(url=url, target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = make_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
