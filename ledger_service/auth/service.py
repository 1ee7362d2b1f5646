"""Storage of API tokens: create (the secret is returned once), list, revoke, and authenticate a request.

A token row keeps the sha256 of its secret (see model.secret_hash for why sha256 is enough), its name, role,
subsidiary scope and when it was made and revoked. Revoking sets revoked_at; nothing is deleted, and a name is
never used twice, because events name their writer `token:NAME` and that must keep meaning one token.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import Connection, Engine, select
from sqlalchemy.exc import IntegrityError

from ledger_service.auth.model import Principal, Role, new_secret, secret_hash
from ledger_service.chart.service import list_subsidiaries, utcnow
from ledger_service.errors import Conflict, Invalid, NotFound, Unauthorized
from ledger_service.store.engine import write_transaction
from ledger_service.store.tables import api_tokens

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
LOCAL_ADMIN = "demo-admin"


@dataclass(frozen=True)
class TokenInfo:
    """A token as `token list` and GET /tokens show it: everything but the secret, which is never kept."""

    name: str
    role: Role
    subsidiaries: tuple[str, ...] | None  # None: every subsidiary
    created_at: datetime
    revoked_at: datetime | None = None

    def as_dict(self) -> dict:
        return {"name": self.name, "role": self.role.value,
                "subsidiaries": list(self.subsidiaries) if self.subsidiaries is not None else None,
                "created_at": _utc(self.created_at), "revoked_at": _utc(self.revoked_at)}


def create_token(conn: Connection, name: str, role: Role | str, subsidiaries: list[str] | None = None
                 ) -> tuple[TokenInfo, str]:
    """A new token and its secret, which is shown this once: only its hash is stored."""
    if not _NAME.match(name or ""):
        raise Invalid(f"token name {name!r} must be letters, digits, '.', '_' or '-' (at most 100), "
                      "starting with a letter or digit")
    try:
        role = Role(role)
    except ValueError:
        raise Invalid(f"role {role!r} must be one of {', '.join(r.value for r in Role)}") from None
    scope = _scope(conn, subsidiaries)
    if conn.execute(select(api_tokens.c.id).where(api_tokens.c.name == name)).first() is not None:
        raise Conflict(f"a token named {name!r} exists (or existed: names are never reused, events name them); "
                       "choose another name")
    secret = new_secret()
    info = TokenInfo(name, role, scope, utcnow().replace(microsecond=0))
    try:
        conn.execute(api_tokens.insert().values(
            name=name, secret_sha256=secret_hash(secret), role=role.value, created_at=info.created_at,
            subsidiaries=None if scope is None else json.dumps(list(scope))))
    except IntegrityError:  # the same name made at the same moment by another writer
        raise Conflict(f"a token named {name!r} was just created by another writer") from None
    return info, secret


def _scope(conn: Connection, subsidiaries: list[str] | None) -> tuple[str, ...] | None:
    if not subsidiaries:
        return None
    known = {s.code for s in list_subsidiaries(conn)}
    unknown = sorted(set(subsidiaries) - known)
    if unknown:
        raise NotFound(f"unknown subsidiary {unknown[0]!r} (known: {', '.join(sorted(known)) or 'none'})")
    return tuple(sorted(set(subsidiaries)))


def list_tokens(conn: Connection) -> list[TokenInfo]:
    return [_info(r) for r in conn.execute(select(api_tokens).order_by(api_tokens.c.name)).mappings()]


def revoke_token(conn: Connection, name: str) -> TokenInfo:
    """Revoke a token at once (its next request answers 401). Revoking a revoked token changes nothing."""
    row = conn.execute(select(api_tokens).where(api_tokens.c.name == name)).mappings().first()
    if row is None:
        raise NotFound(f"no token named {name!r}")
    if row["revoked_at"] is None:
        conn.execute(api_tokens.update().where(api_tokens.c.id == row["id"]).values(revoked_at=utcnow()))
        row = conn.execute(select(api_tokens).where(api_tokens.c.id == row["id"])).mappings().first()
    return _info(row)


def authenticate(conn: Connection, secret: str) -> Principal:
    """The principal a presented secret stands for, or 401 when it is unknown or revoked."""
    row = conn.execute(select(api_tokens).where(api_tokens.c.secret_sha256 == secret_hash(secret))).mappings().first()
    if row is None:
        raise Unauthorized("the bearer token is not known; ask an admin for one (`ledger-service token create`)",
                           invalid_token=True)
    if row["revoked_at"] is not None:
        raise Unauthorized(f"token {row['name']!r} was revoked", invalid_token=True)
    info = _info(row)
    return Principal(info.name, info.role, None if info.subsidiaries is None else frozenset(info.subsidiaries))


def create_local_admin(engine: Engine, base: str = LOCAL_ADMIN) -> tuple[TokenInfo, str]:
    """An admin token for every subsidiary, for a local first run (`demo`): `demo-admin`, or when that name is
    taken (its secret was shown once and is not kept), the first free `demo-admin-2`, `demo-admin-3`, ..."""
    with write_transaction(engine) as conn:
        taken = {r.name for r in conn.execute(select(api_tokens.c.name).where(api_tokens.c.name.like(f"{base}%")))}
        name, n = base, 1
        while name in taken:
            n += 1
            name = f"{base}-{n}"
        return create_token(conn, name, Role.admin)


def _utc(value: datetime | None) -> datetime | None:
    return None if value is None else value.replace(tzinfo=timezone.utc)  # stored naive UTC: say so


def _info(row) -> TokenInfo:
    scope = json.loads(row["subsidiaries"]) if row["subsidiaries"] else None
    return TokenInfo(row["name"], Role(row["role"]), tuple(scope) if scope is not None else None,
                     row["created_at"], row["revoked_at"])
