"""REST shapes of subsidiaries and accounts."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from ledger_service.api.schemas import Page


class Subsidiary(BaseModel):
    code: str = Field(examples=["US"])
    name: str
    functional_currency: str = Field(examples=["USD"])
    valuation_method: Literal["fifo", "average"]


class SubsidiaryDetail(Subsidiary):
    """A subsidiary and the configuration in force, with where it was recorded."""

    tax_profile: str = Field(description="tax profile of its marketplaces (see docs/amazon.md)", examples=["us"])
    marketplace_profiles: dict[str, str] = Field(description="marketplace -> tax profile, where it differs")
    promotions: Literal["contra_revenue", "marketing"]
    fee_tax: Literal["itc", "expense"] = Field(description="tax on Amazon's fees: recoverable or a cost")
    charge_account: str = Field(description="where a card charge (Successful charge) is paid from")
    mapping: list[dict[str, Any]] = Field(description="Amazon mapping override rules, as in accounts/mappings")
    accounts: list[str] = Field(description="accounts the subsidiary adds to the shared chart")
    origin: str = Field(description="where the configuration was read: the event that recorded it, a file, or the "
                                    "defaults")


class Account(BaseModel):
    id: int
    subsidiary: str
    name: str = Field(examples=["Assets:Amazon:Clearing"])
    type: Literal["asset", "liability", "equity", "income", "expense"]
    description: str
    netsuite_id: str | None


class SubsidiaryPage(Page[Subsidiary, str]):
    """Subsidiaries by code; `next` is the last code of the page."""


class AccountPage(Page[Account, int]):
    """Accounts by subsidiary and name; `next` is the id of the last account of the page."""
