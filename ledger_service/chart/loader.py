"""Read the chart of accounts from accounts/ (TOML): the shared chart plus one file per subsidiary.

accounts/chart.toml          [[account]] name, description, netsuite_id: every subsidiary gets these
accounts/subsidiaries/X.toml [subsidiary] code, name, functional_currency, valuation_method;
                             optional [[account]] entries that add accounts or set netsuite_id for this one
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from ledger_service.chart.model import Account, Subsidiary, account_type, validate_subsidiary
from ledger_service.errors import Invalid


@dataclass(frozen=True)
class ChartFiles:
    shared: tuple[Account, ...]
    subsidiaries: tuple[Subsidiary, ...]
    overrides: dict  # subsidiary code -> tuple[Account, ...]


def _read(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise Invalid(f"{path}: {exc}") from None


def _accounts(path: Path, data: dict) -> tuple[Account, ...]:
    result = []
    for i, row in enumerate(data.get("account", []), start=1):
        if "name" not in row:
            raise Invalid(f"{path}: account #{i} has no name")
        try:
            kind = account_type(row["name"])
        except Invalid as exc:
            raise Invalid(f"{path}: {exc.message}") from None
        result.append(Account(row["name"], kind, row.get("description", ""), row.get("netsuite_id") or None))
    return tuple(result)


def load_chart(accounts_dir: Path) -> ChartFiles:
    chart_path = accounts_dir / "chart.toml"
    if not chart_path.exists():
        raise Invalid(f"no chart of accounts at {chart_path}")
    shared = _accounts(chart_path, _read(chart_path))
    subs, overrides = [], {}
    for path in sorted((accounts_dir / "subsidiaries").glob("*.toml")):
        data = _read(path)
        table = data.get("subsidiary")
        if not table:
            raise Invalid(f"{path}: missing [subsidiary] table")
        try:
            sub = validate_subsidiary(
                Subsidiary(
                    code=table["code"],
                    name=table.get("name", table["code"]),
                    functional_currency=table["functional_currency"],
                    valuation_method=table.get("valuation_method", "fifo"),
                )
            )
        except KeyError as exc:
            raise Invalid(f"{path}: [subsidiary] needs {exc.args[0]}") from None
        subs.append(sub)
        overrides[sub.code] = _accounts(path, data)
    return ChartFiles(shared, tuple(subs), overrides)


def accounts_for(chart: ChartFiles, code: str) -> tuple[Account, ...]:
    """The shared chart with the subsidiary's own accounts laid over it (same name: the subsidiary's wins)."""
    merged = {a.name: a for a in chart.shared}
    for account in chart.overrides.get(code, ()):
        base = merged.get(account.name)
        if base is not None and not account.description:
            account = Account(account.name, account.type, base.description, account.netsuite_id)
        merged[account.name] = account
    return tuple(merged.values())
