"""Signed checkpoints: each chain's head anchored outside the database.

The hash chain proves that the log is what was written only up to its own head, and the hash function is public.
A database superuser who deletes a chain's last events and moves its head back, or who changes an amount and
recomputes every later hash with the project's own function, leaves a chain that verifies. What they cannot
change is a record kept elsewhere of where each chain stood: a checkpoint, per subsidiary the last seq and hash,
and when it was written, signed with HMAC-SHA256 under a key the database never holds (LEDGER_CHECKPOINT_KEY or
a key file). `verify --checkpoint FILE` first checks the signature (an edited or forged checkpoint is reported as
such and its contents are not trusted), then that each chain still holds that seq with that hash: since verify
also recomputes every hash up to it, the whole prefix is then the one that was anchored.

A checkpoint protects what was written up to it: take one after each ingest or close, and keep the files (and
the key) off the database's host.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import Connection, func, select

from ledger_service.chart.service import GENESIS_HASH
from ledger_service.errors import LedgerError
from ledger_service.eventlog.model import canonical_bytes
from ledger_service.settings import ConfigError
from ledger_service.store.tables import events, subsidiaries

FORMAT = "ledger-service checkpoint 1"
KEY_ENV = "LEDGER_CHECKPOINT_KEY"
MIN_KEY_BYTES = 16  # an HMAC key shorter than this is guessable
SIGNATURE = "hmac_sha256"


class BadCheckpoint(LedgerError):
    """A checkpoint file that cannot be trusted: unreadable, not a checkpoint, or its signature does not match."""

    kind = "bad_checkpoint"


@dataclass(frozen=True)
class Checkpoint:
    written_at: str  # ISO 8601, UTC
    chains: dict[str, tuple[int, str]]  # subsidiary -> (seq, hash) of its last event; (0, genesis) for none

    def body(self) -> dict:
        """What the signature covers (the file is this plus the signature)."""
        return {"format": FORMAT, "written_at": self.written_at,
                "chains": {sub: {"seq": seq, "hash": h} for sub, (seq, h) in sorted(self.chains.items())}}


def load_key(key_file: Path | None) -> bytes:
    """The HMAC key: the key file's contents (surrounding whitespace stripped, so that `echo` made files work),
    else LEDGER_CHECKPOINT_KEY. Never stored in the database. ConfigError (one line) without a usable key."""
    if key_file is not None:
        try:
            key = key_file.read_bytes().strip()
        except OSError as exc:
            raise ConfigError(f"cannot read the checkpoint key file {key_file}: {exc.strerror or exc}") from None
        where = f"key file {key_file}"
    else:
        key = os.environ.get(KEY_ENV, "").strip().encode()
        where = KEY_ENV
        if not key:
            raise ConfigError(f"no checkpoint key: set {KEY_ENV} or pass --key-file PATH (the key is never kept in "
                              f"the database)")
    if len(key) < MIN_KEY_BYTES:
        raise ConfigError(f"the checkpoint key in {where} is {len(key)} bytes; use at least {MIN_KEY_BYTES} "
                          f"(e.g. `openssl rand -hex 32`)")
    return key


def take(conn: Connection) -> Checkpoint:
    """Where every chain stands now, read from the events themselves (not the chain_heads projection)."""
    chains = {r.code: (0, GENESIS_HASH) for r in conn.execute(select(subsidiaries.c.code))}
    last = select(events.c.subsidiary, func.max(events.c.seq).label("seq")).group_by(events.c.subsidiary).subquery()
    for r in conn.execute(select(events.c.subsidiary, events.c.seq, events.c.hash).join(
            last, (last.c.subsidiary == events.c.subsidiary) & (last.c.seq == events.c.seq))):
        chains[r.subsidiary] = (r.seq, r.hash)
    now = datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
    return Checkpoint(now, chains)


def signature(body: dict, key: bytes) -> str:
    """HMAC-SHA256 over the canonical JSON of the body (sorted keys, no whitespace: eventlog.canonical_bytes)."""
    return hmac.new(key, canonical_bytes(body), hashlib.sha256).hexdigest()


def dumps(checkpoint: Checkpoint, key: bytes) -> str:
    body = checkpoint.body()
    return json.dumps(body | {SIGNATURE: signature(body, key)}, indent=2, sort_keys=True) + "\n"


def write(path: Path, checkpoint: Checkpoint, key: bytes) -> None:
    """Write the signed checkpoint, whole or not at all (a temporary file renamed over the target)."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(dumps(checkpoint, key), encoding="utf-8")
    tmp.replace(path)


def read(path: Path, key: bytes) -> Checkpoint:
    """A checkpoint whose signature is checked before anything in it is believed; BadCheckpoint otherwise."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BadCheckpoint(f"cannot read checkpoint {path}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, ValueError):
        raise BadCheckpoint(f"checkpoint {path} is not JSON: not a ledger-service checkpoint") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise BadCheckpoint(f"checkpoint {path} is not a ledger-service checkpoint (no \"format\": \"{FORMAT}\")")
    given = data.pop(SIGNATURE, None)
    if not isinstance(given, str) or not hmac.compare_digest(given, signature(data, key)):
        raise BadCheckpoint(f"checkpoint {path} is forged or was edited: its HMAC does not match its contents "
                            f"under this key (or it was signed with another key); nothing in it is trusted")
    try:
        chains = {str(sub): (int(c["seq"]), str(c["hash"])) for sub, c in data["chains"].items()}
        return Checkpoint(str(data["written_at"]), chains)
    except (KeyError, TypeError, ValueError, AttributeError):
        raise BadCheckpoint(f"checkpoint {path} is signed but malformed (chains: {{SUB: {{seq, hash}}}})") from None


def compare(conn: Connection, checkpoint: Checkpoint) -> list[str]:
    """A problem for each chain that no longer holds the checkpoint's seq with its hash. Which event was changed
    first cannot be told from a head alone (every hash after it was recomputed), so the problem names the seq."""
    problems = []
    known = {r.code for r in conn.execute(select(subsidiaries.c.code))}
    when = f"the checkpoint of {checkpoint.written_at}"
    for sub, (seq, want) in sorted(checkpoint.chains.items()):
        if sub not in known:
            problems.append(f"subsidiary {sub} (seq {seq} in {when}) is no longer in the ledger")
            continue
        if seq == 0:
            continue
        row = conn.execute(select(events.c.id, events.c.hash).where(events.c.subsidiary == sub, events.c.seq == seq)
                           ).first()
        if row is None:
            end = conn.execute(select(func.coalesce(func.max(events.c.seq), 0)).where(events.c.subsidiary == sub)
                               ).scalar()
            problems.append(f"{sub}: {when} has seq {seq}, but the chain ends at seq {end}: its events "
                            f"{end + 1}..{seq} were deleted")
        elif row.hash != want:
            problems.append(f"{sub} seq {seq} (event {row.id}): hash {row.hash[:16]}... is not {want[:16]}... as in "
                            f"{when}: the chain up to seq {seq} was rewritten")
    return problems
