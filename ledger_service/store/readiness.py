"""Is this database ready for the ledger? Reachable, its schema at the package's latest migration, accounts loaded.

`/ready` answers with these checks (a load balancer sends traffic only when all pass), and the CLI uses
schema_problem to turn "no such table" into "run `ledger-service init`". The latest migration is read from the
package's own migrations, so a newer package on an older database says so instead of failing on a missing column.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, func, select

from ledger_service.settings import MIGRATIONS_DIR
from ledger_service.store.tables import accounts


@dataclass(frozen=True)
class Check:
    ok: bool
    detail: str

    def as_dict(self) -> dict:
        return {"ok": self.ok, "detail": self.detail}


@lru_cache(maxsize=1)
def _scripts() -> ScriptDirectory:
    return ScriptDirectory(str(MIGRATIONS_DIR))


def head_revisions() -> tuple[str, ...]:
    """The latest migration(s) this package knows."""
    return tuple(sorted(_scripts().get_heads()))


def schema_revisions(conn: Connection) -> tuple[str, ...]:
    """The migration(s) the database is at (alembic_version); () when it has no ledger schema."""
    return tuple(sorted(MigrationContext.configure(conn).get_current_heads()))


def schema_problem(conn: Connection) -> str | None:
    """None if the schema is at the package's latest migration, else what is wrong and what to do, in one line."""
    current, head = schema_revisions(conn), head_revisions()
    if current == head:
        return None
    if not current:
        return "the database has no ledger schema: run `ledger-service init`"
    known = all(_known(rev) for rev in current)
    if not known:
        return (f"the database schema is at revision {', '.join(current)}, newer than this ledger-service "
                f"(latest {', '.join(head)}): upgrade ledger-service")
    return (f"the database schema is at revision {', '.join(current)}, this ledger-service needs "
            f"{', '.join(head)}: run `ledger-service init`")


def _known(revision: str) -> bool:
    try:
        return _scripts().get_revision(revision) is not None
    except Exception:  # alembic raises several kinds for an unknown id; all mean "not one of ours"
        return False


def check(engine: Engine) -> dict[str, Check]:
    """database, schema, accounts, in that order; a check after a failed one is reported as not run."""
    from ledger_service.store.problems import explain

    skipped = Check(False, "not checked")
    try:
        with engine.connect() as conn:
            checks = {"database": Check(True, f"{engine.dialect.name} reachable")}
            problem = schema_problem(conn)
            if problem:
                return checks | {"schema": Check(False, problem), "accounts": skipped}
            checks["schema"] = Check(True, f"at the latest migration {', '.join(head_revisions())}")
            loaded = conn.execute(select(func.count(func.distinct(accounts.c.subsidiary)))).scalar_one()
    except Exception as exc:  # a database that cannot answer is exactly what this reports
        message = explain(exc, engine) or f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        return {"database": Check(False, message), "schema": skipped, "accounts": skipped}
    if not loaded:
        return checks | {"accounts": Check(False, "no subsidiary has accounts: run `ledger-service init`")}
    return checks | {"accounts": Check(True, f"{loaded} subsidiar{'y' if loaded == 1 else 'ies'} with accounts")}
