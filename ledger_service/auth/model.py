"""Roles, the principal a token stands for, and the token secret itself.

The problem: the REST API serves people and systems that must each see and do only part of the ledger. A
controller of the UK company must not read the US books, a nightly uploader must not post manual journals. So a
token carries one role (what it may do) and a subsidiary scope (which books it may see at all), and every route
asks the principal before it answers: `require(role)` for the role, `check(code)` / `filter(...)` for the scope.

Roles are ordered; each includes the ones below it:
  viewer      reads;
  poster      reads and ingests Amazon documents (POST /ingest);
  controller  also posts manual journals and reversals (and will close periods);
  admin       everything, including managing tokens and subsidiaries.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from enum import Enum
from typing import Callable, Iterable, TypeVar

from ledger_service.errors import Forbidden

T = TypeVar("T")

TOKEN_PREFIX = "lsk_"  # "ledger-service key": recognisable in a leaked log or a secret scanner's rules


class Role(str, Enum):
    viewer = "viewer"
    poster = "poster"
    controller = "controller"
    admin = "admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def includes(self, other: "Role") -> bool:
        return self.rank >= other.rank


ROLE_NOTES = {
    Role.viewer: "reads",
    Role.poster: "reads and ingests",
    Role.controller: "reads, ingests, posts manual journals and reversals",
    Role.admin: "everything, including tokens and subsidiaries",
}


@dataclass(frozen=True)
class Principal:
    """The caller a valid token stands for. `subsidiaries` None means every subsidiary, present and future."""

    name: str
    role: Role
    subsidiaries: frozenset[str] | None = None

    @property
    def actor(self) -> str:
        """How the event log names this caller (events.actor)."""
        return f"token:{self.name}"

    @property
    def codes(self) -> frozenset[str] | None:
        """The subsidiaries a query may return, for a SQL filter; None: no filter."""
        return self.subsidiaries

    def require(self, role: Role) -> "Principal":
        if not self.role.includes(role):
            raise Forbidden(f"token {self.name!r} has role {self.role.value}; this needs {role.value} "
                            f"({ROLE_NOTES[role]}) or higher")
        return self

    def allows(self, code: str) -> bool:
        return self.subsidiaries is None or code in self.subsidiaries

    def check(self, code: str) -> str:
        """The code back, or 403 when it is outside the scope (asked before whether it exists: a scoped token
        learns nothing about other subsidiaries from a 404)."""
        if not self.allows(code):
            raise Forbidden(f"token {self.name!r} is scoped to {', '.join(sorted(self.subsidiaries or ()))}; "
                            f"subsidiary {code} is outside its scope")
        return code

    def filter(self, rows: Iterable[T], code: Callable[[T], str]) -> list[T]:
        """The rows whose subsidiary (code(row)) is in scope."""
        return [r for r in rows if self.allows(code(r))]

    @property
    def unscoped(self) -> bool:
        return self.subsidiaries is None


def new_secret() -> str:
    """A token secret: 256 random bits, URL-safe, with a recognisable prefix."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def secret_hash(secret: str) -> str:
    """What the database keeps instead of the secret.

    sha256, not a password hash (bcrypt, argon2), on purpose: those are slow to make guessing a low-entropy
    password expensive. A token is 256 random bits, so there is nothing to guess and no dictionary to try; a fast
    hash lets every request look its token up by an indexed, unique column, and a stolen table still yields no
    usable secret.
    """
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()
