"""Settings from the environment (12-factor): the database URL and where the chart of accounts lives."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    database_url: str
    accounts_dir: Path

    @classmethod
    def from_env(cls) -> "Settings":
        return cls(
            database_url=os.environ.get("LEDGER_DATABASE_URL", "sqlite:///ledger.db"),
            accounts_dir=Path(os.environ.get("LEDGER_ACCOUNTS_DIR", REPO_ROOT / "accounts")),
        )
