"""REST: API tokens, for an admin whose token covers every subsidiary.

A scoped admin may not manage tokens: it could otherwise make itself a token for every subsidiary."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from ledger_service.api.deps import EngineDep
from ledger_service.api.pagination import AfterCode, Limit, page
from ledger_service.api.schemas import AUTHENTICATED, Code, Page, errors
from ledger_service.auth import service
from ledger_service.auth.deps import Admin
from ledger_service.auth.model import Principal, Role
from ledger_service.errors import Forbidden
from ledger_service.store.engine import write_transaction


def _unscoped_admin(caller: Admin) -> Principal:
    if not caller.unscoped:
        raise Forbidden(f"token {caller.name!r} is scoped to some subsidiaries; managing tokens needs an admin "
                        "token for every subsidiary")
    return caller


TokenAdmin = Annotated[Principal, Depends(_unscoped_admin)]

router = APIRouter(prefix="/tokens", tags=["tokens"], responses=errors(*AUTHENTICATED))


class NewToken(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$", description="unique; never reused",
                      examples=["nightly-uploader"])
    role: Role
    subsidiaries: list[Code] | None = Field(None, max_length=1000, description="the scope; omit or null for every "
                                                                             "subsidiary")


class Token(BaseModel):
    name: str
    role: Role
    subsidiaries: list[str] | None = Field(description="the scope; null: every subsidiary")
    created_at: datetime = Field(description="UTC")
    revoked_at: datetime | None = Field(description="UTC; null while the token is valid")


class CreatedToken(Token):
    token: str = Field(description="the secret, shown this once: only its hash is kept", examples=["lsk_..."])


class TokenPage(Page[Token, str]):
    """Tokens by name (no secrets); `next` is the last name of the page."""


@router.get("", response_model=TokenPage)
def list_tokens(engine: EngineDep, caller: TokenAdmin, after: AfterCode = None, limit: Limit = 100) -> dict:
    """Every token, revoked ones included, without secrets."""
    with engine.connect() as conn:
        rows = sorted((t.as_dict() for t in service.list_tokens(conn)), key=lambda t: t["name"])
    return page(rows, limit, lambda t: t["name"], after)  # sorted here: the cursor compares as Python does


@router.post("", status_code=201, response_model=CreatedToken, responses=errors(404, 409))
def create_token(body: NewToken, engine: EngineDep, caller: TokenAdmin) -> dict:
    """A new token; its secret is in this answer only."""
    with write_transaction(engine) as conn:
        info, secret = service.create_token(conn, body.name, body.role, body.subsidiaries)
    return info.as_dict() | {"token": secret}


@router.post("/{name}/revoke", response_model=Token, responses=errors(404))
def revoke_token(name: str, engine: EngineDep, caller: TokenAdmin) -> dict:
    """Revoke a token at once; revoking a revoked token changes nothing."""
    with write_transaction(engine) as conn:
        return service.revoke_token(conn, name).as_dict()
