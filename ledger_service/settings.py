"""Settings: what an operator configures, where each value came from, and one clear line when a value is wrong.

The package carries its defaults (the chart, the Amazon mapping, the tax profiles and the example subsidiaries in
ledger_service/defaults/accounts; the migrations in ledger_service/store/migrations), so that an installed wheel
has everything `init` needs. The operator's own configuration lives outside the package, in a config folder
(`--config-dir`, else LEDGER_CONFIG_DIR, else `./ledger-config` when it exists) holding an optional
`ledger.toml` with a `[ledger]` table. Every setting is resolved flag > environment > ledger.toml > default, and
remembers its source so that `ledger-service config show` can say why a value is what it is.
"""

from __future__ import annotations

import os
from contextvars import ContextVar
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, Mapping

PACKAGE_ROOT = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_ROOT.parent  # a source checkout's root (tests, benchmarks); not used by the installed package
DEFAULT_ACCOUNTS_DIR = PACKAGE_ROOT / "defaults" / "accounts"
MIGRATIONS_DIR = PACKAGE_ROOT / "store" / "migrations"
DEFAULT_DATABASE_URL = "sqlite:///ledger.db"
DEFAULT_CONFIG_DIR = Path("ledger-config")  # relative to the working directory; used only if it exists
CONFIG_FILE = "ledger.toml"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS = ("text", "json")

# Flags given on the command line (`--config-dir`, `serve --port`, ...) for the command being run: the CLI sets
# them for one invocation, so that every Settings.from_env() inside that command sees them.
_cli_flags: ContextVar[Mapping[str, Any]] = ContextVar("ledger_cli_flags", default={})


class ConfigError(ValueError):
    """A setting that cannot be used: the message names the setting, the bad value and where it came from."""


@dataclass(frozen=True)
class Source:
    kind: str  # default | file | env | flag
    where: str = ""  # the file's path, the variable's or the flag's name

    def __str__(self) -> str:
        return f"{self.kind} {self.where}".strip()


@dataclass(frozen=True)
class Spec:
    """One setting: its environment variable, its ledger.toml key (the field name), default, parser, meaning."""
    name: str
    env: str
    default: Any
    parse: Callable[[str, Any], Any]  # (setting name, raw value) -> value, ConfigError if unusable
    meaning: str
    in_file: bool = True


def _text(name: str, raw: Any) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise ConfigError(f"{name} must be a non-empty string, not {raw!r}")
    return raw.strip()


def _database_url(name: str, raw: Any) -> str:
    from ledger_service.store.engine import DatabaseUrlError, normalise_url

    url = _text(name, raw)
    try:
        normalise_url(url)  # refuse a malformed or unsupported URL here, where its source is known
    except DatabaseUrlError as exc:
        raise ConfigError(f"{name}: {exc}") from None
    return url


def _path(name: str, raw: Any) -> Path:
    return Path(_text(name, str(raw) if isinstance(raw, Path) else raw)).expanduser()


def _port(name: str, raw: Any) -> int:
    try:
        port = int(str(raw).strip()) if not isinstance(raw, bool) else -1
    except ValueError:
        port = -1
    if not 1 <= port <= 65535:
        raise ConfigError(f"{name} must be a port number from 1 to 65535, not {raw!r}")
    return port


def _whole(low: int, high: int) -> Callable[[str, Any], int]:
    def parse(name: str, raw: Any) -> int:
        try:
            value = int(str(raw).strip()) if not isinstance(raw, bool) else low - 1
        except ValueError:
            value = low - 1
        if not low <= value <= high:
            raise ConfigError(f"{name} must be a whole number from {low} to {high}, not {raw!r}")
        return value
    return parse


def _choice(options: tuple[str, ...], upper: bool) -> Callable[[str, Any], str]:
    def parse(name: str, raw: Any) -> str:
        value = _text(name, raw)
        value = value.upper() if upper else value.lower()
        if value not in options:
            raise ConfigError(f"{name} must be one of {', '.join(options)}, not {raw!r}")
        return value
    return parse


SPECS: tuple[Spec, ...] = (
    Spec("database_url", "LEDGER_DATABASE_URL", DEFAULT_DATABASE_URL, _database_url,
         "SQLAlchemy URL: sqlite:///path.db, or postgresql:// / postgres:// / postgresql+psycopg2://"),
    Spec("config_dir", "LEDGER_CONFIG_DIR", None, _path,
         "folder of the operator's configuration (ledger.toml); default ./ledger-config if it exists",
         in_file=False),
    Spec("accounts_dir", "LEDGER_ACCOUNTS_DIR", DEFAULT_ACCOUNTS_DIR, _path,
         "chart of accounts, mappings and tax profiles (default: the package's own)"),
    Spec("host", "LEDGER_HOST", "127.0.0.1", _text, "address `serve` listens on"),
    Spec("port", "LEDGER_PORT", 8000, _port, "port `serve` listens on"),
    Spec("log_level", "LEDGER_LOG_LEVEL", "INFO", _choice(LOG_LEVELS, upper=True), "DEBUG, INFO, WARNING, ERROR"),
    Spec("log_format", "LEDGER_LOG_FORMAT", "text", _choice(LOG_FORMATS, upper=False),
         "text, or json (one JSON object per line: time, level, logger, message)"),
    Spec("default_subsidiary", "LEDGER_DEFAULT_SUBSIDIARY", None, _text,
         "subsidiary for per-subsidiary commands when -s is not given (none: -s is required)"),
    Spec("max_upload_bytes", "LEDGER_MAX_UPLOAD_BYTES", 512 << 20, _whole(1, 1 << 40),
         "largest upload POST /ingest takes, in bytes (413 beyond)"),
    Spec("sqlite_lock_timeout", "LEDGER_SQLITE_LOCK_TIMEOUT", 60, _whole(0, 86400),
         "seconds a SQLite writer waits for another's lock before giving up with a message"),
    Spec("ingest_workers", "LEDGER_INGEST_WORKERS", 2, _whole(1, 64),
         "processes the API ingests uploads in (off the server's own process, so that it keeps answering)"),
)
SPEC = {s.name: s for s in SPECS}


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    accounts_dir: Path = DEFAULT_ACCOUNTS_DIR
    config_dir: Path | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "INFO"
    log_format: str = "text"
    default_subsidiary: str | None = None
    max_upload_bytes: int = 512 << 20
    sqlite_lock_timeout: int = 60
    ingest_workers: int = 2
    sources: Mapping[str, Source] = field(default_factory=dict, compare=False, hash=False, repr=False)

    @classmethod
    def from_env(cls, **flags: Any) -> "Settings":
        """The settings in force: the command line's flags (when run from the CLI, and `flags` given here; None
        means not given), the environment, ledger.toml, the defaults."""
        return cls.load({**_cli_flags.get(), **{k: v for k, v in flags.items() if v is not None}})

    @classmethod
    def load(cls, flags: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None) -> "Settings":
        """Resolve every setting flag > environment > ledger.toml > default; ConfigError names a bad one.

        `flags` maps a setting name to a value given on the command line (None: not given).
        """
        flags = {k: v for k, v in (flags or {}).items() if v is not None}
        environ = os.environ if environ is None else environ
        unknown = set(flags) - set(SPEC)
        if unknown:
            raise ConfigError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        values: dict[str, Any] = {}
        sources: dict[str, Source] = {}

        def resolve(spec: Spec, file_values: Mapping[str, Any], file_path: Path | None) -> None:
            if spec.name in flags:
                raw, source = flags[spec.name], Source("flag", "--" + spec.name.replace("_", "-"))
            elif environ.get(spec.env, "") != "":  # an empty variable counts as unset, as in most 12-factor tools
                raw, source = environ[spec.env], Source("env", spec.env)
            elif spec.name in file_values:
                raw, source = file_values[spec.name], Source("file", str(file_path))
            else:
                values[spec.name], sources[spec.name] = spec.default, Source("default")
                return
            try:
                values[spec.name] = spec.parse(spec.name, raw)
            except ConfigError as exc:
                raise ConfigError(f"{exc} (from {source})") from None
            if spec.name == "accounts_dir" and source.kind == "file" and not values[spec.name].is_absolute():
                values[spec.name] = file_path.parent / values[spec.name]  # relative to the config folder
            sources[spec.name] = source

        resolve(SPEC["config_dir"], {}, None)
        config_dir = _config_dir(values["config_dir"], sources["config_dir"])
        values["config_dir"] = config_dir
        file_path = config_dir / CONFIG_FILE if config_dir else None
        file_values = _read_config_file(file_path) if file_path and file_path.is_file() else {}
        for spec in SPECS:
            if spec.name != "config_dir":
                resolve(spec, file_values, file_path)
        return cls(**values, sources=sources)

    def as_rows(self, mask: bool = True) -> list[dict[str, Any]]:
        """Every setting with its value and source, for `config show`; a database password masked."""
        rows = []
        for f in fields(self):
            if f.name == "sources":
                continue
            value = getattr(self, f.name)
            if f.name == "database_url" and mask:
                value = masked_url(value)
            elif isinstance(value, Path):
                value = str(value)
            source = self.sources.get(f.name, Source("default"))
            rows.append({"setting": f.name, "value": value,
                         "source": source.kind, "where": source.where, "env": SPEC[f.name].env,
                         "file_key": f"[ledger] {f.name}" if SPEC[f.name].in_file else "",
                         "meaning": SPEC[f.name].meaning})
        return rows


def set_cli_flags(flags: Mapping[str, Any]):
    """Flags for the command being run; returns the token to undo it with reset_cli_flags."""
    return _cli_flags.set({**_cli_flags.get(), **{k: v for k, v in flags.items() if v is not None}})


def reset_cli_flags(token) -> None:
    _cli_flags.reset(token)


def masked_url(url: str) -> str:
    """A database URL fit to print: its password replaced by ***."""
    from ledger_service.store.engine import masked_url as mask

    return mask(url)


def _config_dir(given: Path | None, source: Source) -> Path | None:
    if given is None:
        return DEFAULT_CONFIG_DIR.absolute() if DEFAULT_CONFIG_DIR.is_dir() else None
    if not given.is_dir():
        # Named explicitly, so a typo must not silently fall back to the defaults.
        raise ConfigError(f"config_dir {str(given)!r} (from {source}) is not a folder")
    return given.absolute()


def _read_config_file(path: Path) -> dict[str, Any]:
    from ledger_service.chart.config import read_toml

    data = read_toml(path, error=ConfigError)
    unexpected = set(data) - {"ledger"}
    if unexpected:
        raise ConfigError(f"{path}: unknown table(s) {', '.join(sorted(unexpected))}; settings go in [ledger]")
    table = data.get("ledger", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [ledger] must be a table")
    known = {s.name for s in SPECS if s.in_file}
    unknown = set(table) - known
    if unknown:
        raise ConfigError(f"{path}: unknown setting(s) {', '.join(sorted(unknown))} in [ledger]; "
                          f"known: {', '.join(sorted(known))}")
    return table
