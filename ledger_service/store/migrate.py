"""Run the Alembic migrations programmatically: `init` and the tests make the schema only this way.

The migrations are package data (ledger_service/store/migrations), so an installed wheel migrates without the
source tree; alembic.ini at a checkout's root points at the same folder for `alembic` run by hand.
"""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from ledger_service.settings import MIGRATIONS_DIR


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)
