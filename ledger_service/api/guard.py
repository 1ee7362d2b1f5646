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
