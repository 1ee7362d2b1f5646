"""Control characters in a URL are refused before any route sees them.

The problem: PostgreSQL cannot hold a NUL in text, so a query or path parameter with %00 made the driver raise
on the lookup (a 500, where SQLite quietly found nothing); and no code, id, date or account of the ledger has a
control character in it. So every request whose decoded path or query string holds one (C0, or DEL) is answered
422 here, in the API's error shape, on both engines alike. Bodies are checked by their models (api.schemas.Text)
and by the services (limits.check_text).
"""

from __future__ import annotations

import json
import re
from urllib.parse import unquote, unquote_plus

from starlette.types import ASGIApp, Receive, Scope, Send

CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class RefuseControlCharacters:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = unquote(scope.get("raw_path", b"").decode("latin-1")) or scope.get("path", "")
            query = unquote_plus(scope.get("query_string", b"").decode("latin-1"))
            where = "path" if CONTROL.search(path) else "query string" if CONTROL.search(query) else None
            if where:
                body = json.dumps({"error": "invalid", "message": f"the {where} holds a control character (such "
                                                                  "as NUL); no parameter of this API has one"})
                await send({"type": "http.response.start", "status": 422,
                            "headers": [(b"content-type", b"application/json")]})
                await send({"type": "http.response.body", "body": body.encode()})
                return
        await self.app(scope, receive, send)


class GuardBodies:
    """A request body is only read for a caller who may send one, and only up to the upload limit.

    FastAPI parses a body (a whole multipart upload) before the route's dependencies check the token, so without
    this an anonymous client could make the service receive and spool any amount of data before its 401. Here a
    request with a body and no bearer token is answered 401 before a byte of it is read, a declared
    Content-Length over LEDGER_MAX_UPLOAD_BYTES 413, and a body that grows past the limit while being read
    (chunked, or a lying Content-Length) is cut off with 413.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, is_open):
        self.app, self.max_bytes, self.is_open = app, max_bytes, is_open

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS") or self.is_open(scope["path"]):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or ())
        if not headers.get(b"authorization", b"").lower().startswith(b"bearer "):
            await _answer(send, 401, "unauthorized", "this endpoint needs `Authorization: Bearer <token>`",
                          [(b"www-authenticate", b"Bearer")])
            return
        declared = headers.get(b"content-length", b"").strip()
        if declared.isdigit() and int(declared) > self.max_bytes:
            await _answer(send, 413, "too_large", self._too_large())
            return
        received, started, exceeded = 0, False, False

        async def limited_receive():
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    exceeded = True
                    raise _TooLarge()  # the framework turns it into an error answer, replaced below by the 413
            return message

        async def tracking_send(message):
            nonlocal started
            if exceeded:
                return  # whatever the app answers to a body cut off, the answer is 413
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            pass
        if exceeded and not started:
            await _answer(send, 413, "too_large", self._too_large())

    def _too_large(self) -> str:
        return (f"the request body is larger than {self.max_bytes:,} bytes (LEDGER_MAX_UPLOAD_BYTES); split the "
                "document, or raise the limit")


class _TooLarge(Exception):
    pass


async def _answer(send: Send, status: int, kind: str, message: str, headers: list | None = None) -> None:
    body = json.dumps({"error": kind, "message": message}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            *(headers or [])]})
    await send({"type": "http.response.body", "body": body})
