"""`ledger-service token`: create, list and revoke the REST API's bearer tokens.

The CLI talks to the database directly, so it needs no token itself: whoever can run it against the database is
already its operator. A token's secret is printed once, at creation; only its sha256 is kept.
"""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from ledger_service.auth import service
from ledger_service.auth.model import ROLE_NOTES, Role
from ledger_service.cli.common import FormatOpt, engine, fail
from ledger_service.cli.output import Format, console, emit, write_csv
from ledger_service.errors import LedgerError
from ledger_service.store.engine import write_transaction

tokens_app = typer.Typer(help="API tokens: a role and a subsidiary scope per token; the secret is shown once.",
                         no_args_is_help=True)


@tokens_app.command("create")
def create(name: Annotated[str, typer.Option("--name", help="unique; never reused (events name it)")],
           role: Annotated[Role, typer.Option("--role", help="; ".join(f"{r.value}: {n}" for r, n in ROLE_NOTES.items()))],
           subsidiary: Annotated[Optional[list[str]], typer.Option(
               "--subsidiary", "-s", help="scope (repeatable); none given: every subsidiary")] = None,
           fmt: FormatOpt = Format.table) -> None:
    """Create a token and print its secret, this once."""
    try:
        with write_transaction(engine()) as conn:
            info, secret = service.create_token(conn, name, role, subsidiary)
    except LedgerError as exc:
        fail(exc)
    if fmt == Format.json:
        emit(info.as_dict() | {"token": secret}, fmt)
        return
    if fmt == Format.csv:
        row = info.as_dict()
        write_csv([row | {"subsidiaries": ";".join(row["subsidiaries"] or ()), "token": secret}],
                  ["name", "role", "subsidiaries", "created_at", "token"])
        return
    print_secret(info, secret)


def print_secret(info: service.TokenInfo, secret: str) -> None:
    scope = ", ".join(info.subsidiaries) if info.subsidiaries else "every subsidiary"
    console.print(f"token {info.name!r} ({info.role.value}, {scope}); shown once, keep it secret:")
    # plain print: a terminal must not wrap or style the secret (it is copied and pasted)
    print(secret)
    console.print(f"use it as `Authorization: Bearer {secret[:8]}...`, or paste it into Authorize at /docs")


@tokens_app.command("list")
def list_(fmt: FormatOpt = Format.table) -> None:
    """Every token, revoked ones included; never a secret."""
    with engine().connect() as conn:
        rows = [t.as_dict() for t in service.list_tokens(conn)]
    table = [r | {"subsidiaries": ", ".join(r["subsidiaries"]) if r["subsidiaries"] else "all",
                  "revoked_at": r["revoked_at"] or ""} for r in rows]
    emit(rows, fmt, rows=table, title="API tokens", columns=["name", "role", "subsidiaries", "created_at", "revoked_at"])


@tokens_app.command("revoke")
def revoke(name: str) -> None:
    """Revoke a token at once: its next request answers 401."""
    try:
        with write_transaction(engine()) as conn:
            info = service.revoke_token(conn, name)
    except LedgerError as exc:
        fail(exc)
    console.print(f"token {info.name!r} revoked at {info.revoked_at:%Y-%m-%d %H:%M:%S} UTC")


def print_local_admin() -> None:
    """The end of `demo`: a fresh admin token for this machine, printed once."""
    info, secret = service.create_local_admin(engine())
    print_secret(info, secret)
