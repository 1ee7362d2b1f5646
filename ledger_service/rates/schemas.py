"""REST shapes of rates: a stored rate, a page of them, and the rate in force on a day with how it was found."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from ledger_service.api.schemas import Amount, Page

CURRENCY_PATTERN = r"^[A-Z]{3}$"
# A page cursor: the (date, from, to) of the last rate of the previous page.
CURSOR_PATTERN = r"^\d{4}-\d{2}-\d{2}:[A-Z]{3}:[A-Z]{3}$"


class StoredRate(BaseModel):
    date: str = Field(examples=["2026-10-30"])
    from_: str = Field(alias="from", examples=["EUR"])
    to: str = Field(examples=["USD"])
    rate: Amount = Field(description="units of `to` per 1 `from`", examples=["1.0850"])
    source: str = Field(description="`ecb`, or the imported file's name", examples=["ecb"])
    imported_at: str

    model_config = {"populate_by_name": True}


class RatePage(Page[StoredRate, str]):
    """Rates by date, from, to; `next` is `DATE:FROM:TO` of the last rate of the page."""


class RateInForce(BaseModel):
    """The rate for 1 `from` in `to` on `date`, and how the ledger found it."""

    from_: str = Field(alias="from", examples=["USD"])
    to: str = Field(examples=["GBP"])
    date: str = Field(examples=["2026-10-31"])
    rate: Amount = Field(examples=["0.8029493088"])
    method: Literal["identity", "direct", "inverse", "cross"] = Field(
        description="identity (same currency), direct (the pair's rate), inverse (1 / the inverse pair's rate), "
                    "cross (through EUR)")
    rate_dates: list[str] = Field(description="dates of the stored rates used (earlier than `date` when none was "
                                              "stored for it: at most 7 days)")
    sources: list[str]
    explanation: str

    model_config = {"populate_by_name": True}
