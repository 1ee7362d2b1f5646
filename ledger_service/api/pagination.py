"""Keyset pagination: `limit` rows after the cursor `after`, and the cursor of the next page.

A cursor is the key of the last row of a page (an id, or a code), never an offset: a page stays right while rows
are added before it, and reading page n costs the same as page 1 when the query seeks by key.
"""

from __future__ import annotations

from typing import Annotated, Callable, Iterable, TypeVar

from fastapi import Query

from ledger_service.api.schemas import MAX_ID, MAX_LIMIT

T = TypeVar("T")
C = TypeVar("C")

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"rows per page: default 100, at most {MAX_LIMIT}")]
AfterId = Annotated[int | None, Query(ge=0, le=MAX_ID, description="cursor: the `next` of the previous page (the last id it held); "
                                                  "omit for the first page")]
AfterCode = Annotated[str | None, Query(max_length=100, description="cursor: the `next` of the previous page (the "
                                                                     "last code it held); omit for the first page")]


def page(rows: Iterable[T], limit: int, key: Callable[[T], C], after: C | None = None) -> dict:
    """The page envelope of rows in key order: those after `after` (if given), at most `limit`, and `next`.

    A query that already sought past the cursor passes after=None and at least limit + 1 rows when there are more:
    the extra row only says that a next page exists."""
    items: list[T] = []
    for row in rows:
        if after is not None and not key(row) > after:
            continue
        if len(items) == limit:
            return {"items": items, "next": key(items[-1])}
        items.append(row)
    return {"items": items, "next": None}
