"""What every route's OpenAPI shares: the error body, decimal strings, the page envelope, declared errors.

The problem: a client generated from /openapi.json must know every field and every status a route can answer
with. So each route names a response model, amounts have one type everywhere (a decimal as a string, never a
float: JSON numbers lose cents), lists have one envelope, and `errors(...)` declares the error statuses with the
one error body.
"""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from fastapi import Path
from pydantic import BaseModel, BeforeValidator, Field

# What money.fmt prints: plain notation, optional sign, no exponent ("125.40", "-3", "0.00").
DECIMAL_PATTERN = r"^-?\d+(\.\d+)?$"

Amount = Annotated[str, Field(pattern=DECIMAL_PATTERN, description="a decimal as a string (exact, never a float)",
                              examples=["125.40"])]


def _decimal_text(value: object) -> object:
    """A JSON number is refused by name: a float has already lost the cents, an int is a habit to break early."""
    if isinstance(value, (bool, int, float)):
        raise ValueError(f'must be a decimal string such as "125.40", not the '
                         f'{"float" if isinstance(value, float) else "number"} {value!r}')
    return value


# A decimal sent by a client: a string, optionally signed, at most 30 characters (the store keeps 64-bit minor units).
DecimalIn = Annotated[str, BeforeValidator(_decimal_text),
                      Field(pattern=r"^[+-]?(\d+(\.\d*)?|\.\d+)$", max_length=30,
                            description="a decimal as a string, e.g. \"125.40\" (JSON numbers are refused)",
                            examples=["125.40"])]


# Text a client sends in a body: no control character but tab (PostgreSQL cannot store NUL; none belongs in a
# reason, key or code), as limits.check_text asks of manual journals.
TEXT_PATTERN = r"^[^\x00-\x08\x0a-\x1f\x7f]*$"
Text = Annotated[str, Field(pattern=TEXT_PATTERN)]
# A subsidiary code as a client may write it (the ledger's are upper case; others are simply unknown).
CODE_PATTERN = r"^[A-Za-z0-9_]{1,32}$"
Code = Annotated[str, Field(pattern=CODE_PATTERN, examples=["US"])]


class Error(BaseModel):
    """Every error the API answers with: a kind a program can branch on, and a message a person can act on."""

    error: str = Field(description="unauthorized, forbidden, not_found, method_not_allowed, conflict, invalid, "
                                   "unbalanced_entry, unavailable, ...", examples=["not_found"])
    message: str = Field(examples=["entry 999 does not exist"])


# Ids are 64-bit (BIGINT on PostgreSQL, INTEGER on SQLite): a larger number names nothing and would overflow the
# driver, so it is refused as invalid (422) rather than looked up.
MAX_ID = 2**63 - 1
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]

ItemT = TypeVar("ItemT")
CursorT = TypeVar("CursorT")

MAX_LIMIT = 1000


class Page(BaseModel, Generic[ItemT, CursorT]):
    """One page of a list, in a fixed order. Pass `next` as `after` to get the following page."""

    items: list[ItemT]
    next: CursorT | None = Field(description="the cursor of the next page (pass it as `after`); null on the last page")


_DESCRIPTIONS = {
    401: "no bearer token, or one the ledger does not know or has revoked (WWW-Authenticate: Bearer)",
    403: "the token's role or subsidiary scope does not cover this request",
    404: "what the path or a parameter names does not exist",
    409: "the request contradicts what the ledger holds (an idempotency key with other content, a double "
         "reversal, a name in use)",
    413: "the request body is larger than LEDGER_MAX_UPLOAD_BYTES",
    422: "the request is malformed or cannot be posted as it is (unbalanced entry, unknown account, bad file)",
    503: "the database cannot be reached; nothing was written",
}


def errors(*codes: int) -> dict[int | str, dict]:
    """OpenAPI `responses` for these error statuses, each with the Error body."""
    return {code: {"model": Error, "description": _DESCRIPTIONS[code]} for code in codes}


# Every authenticated route may answer these.
AUTHENTICATED = (401, 403, 422, 503)
