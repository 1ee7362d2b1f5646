"""The one dependency every route of the REST API takes: who is calling, and may they.

Routes declare the role they need by the type of one parameter, and ask it about subsidiaries:

    def get_entry(entry_id: int, conn: ConnDep, caller: Viewer) -> Entry:
        caller.check(entry_subsidiary(conn, entry_id))     # 403 outside the token's scope
        ...
    def list_accounts(conn: ConnDep, caller: Viewer, ...):
        ... service.list_accounts(conn, codes=caller.codes) # only rows in scope

Each of Viewer, Poster, Controller and Admin depends on `authenticate`, which reads `Authorization: Bearer
<token>` (an HTTPBearer security scheme, so /docs shows the Authorize button). tests/api/test_auth_routes.py walks
app.routes and fails for any route, but the open ones (/health, /ready, the documentation), that does not depend
on `authenticate`: a new route without a caller parameter cannot ship.
"""

from __future__ import annotations

from typing import Annotated, Callable

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ledger_service.api.deps import EngineDep
from ledger_service.auth import service
from ledger_service.auth.model import Principal, Role
from ledger_service.errors import Unauthorized

bearer = HTTPBearer(auto_error=False, description="An API token (`ledger-service token create`), sent as "
                                                  "`Authorization: Bearer lsk_...`.")


def authenticate(engine: EngineDep,
                 credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Principal:
    """The caller, or 401. The token is looked up on a connection of its own, closed at once: the route's read
    connection must not open its snapshot before the route's own write (SQLite's WAL reads from the snapshot the
    first read took)."""
    if credentials is None:
        raise Unauthorized("this endpoint needs `Authorization: Bearer <token>`; an admin creates one with "
                           "`ledger-service token create --name NAME --role viewer|poster|controller|admin`")
    with engine.connect() as conn:
        return service.authenticate(conn, credentials.credentials)


def require(role: Role) -> Callable[..., Principal]:
    """A dependency: the caller, when their role includes `role`; 403 otherwise."""

    def caller(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
        return principal.require(role)

    caller.__name__ = f"require_{role.value}"
    return caller


Viewer = Annotated[Principal, Depends(require(Role.viewer))]
Poster = Annotated[Principal, Depends(require(Role.poster))]
Controller = Annotated[Principal, Depends(require(Role.controller))]
Admin = Annotated[Principal, Depends(require(Role.admin))]
