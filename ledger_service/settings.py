"""Settings from the environment (12-factor): the database URL and where the chart of accounts lives.

The package carries its defaults (the chart, the Amazon mapping, the tax profiles and the example subsidiaries in
ledger_service/defaults/accounts; the migrations in ledger_service/store/migrations), so that an installed wheel
has everything `init` needs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_ROOT.parent  # a source checkout's root (tests, benchmarks); not used by the installed package
DEFAULT_ACCOUNTS_DIR = PACKAGE_ROOT / "defaults" / "accounts"
MIGRATIONS_DIR = PACKAGE_ROOT / "store" / "migrations"


@dataclass(frozen=True)
class Settings:
    database_url: str
    accounts_dir: Path

    @classmethod
    def from_env(cls) -> "Settings":
        return cls(
            database_url=os.environ.get("LEDGER_DATABASE_URL", "sqlite:///ledger.db"),
            accounts_dir=Path(os.environ.get("LEDGER_ACCOUNTS_DIR", DEFAULT_ACCOUNTS_DIR)),
        )
