"""The REST shapes of the catalog: items with their dated Amazon identities and bundle components, and the gaps
the audit finds."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from ledger_service.api.schemas import Page


class IdentityOut(BaseModel):
    marketplace: str = Field(examples=["amazon.com"])
    msku: str = Field(description="the seller SKU, as written (leading zeros kept)")
    sku: str = Field(description="the brand SKU it stands for")
    asin: str | None
    fnsku: str | None
    parent_asin: str | None = Field(description="the variation family")
    valid_from: str = Field(examples=["2026-03-01"])
    valid_to: str | None = Field(description="the last day in force; null: in force")
    event_id: int = Field(description="the import that opened it")
    line: int | None = Field(description="its line in the imported file")


class ComponentOut(BaseModel):
    component_sku: str
    quantity: int = Field(description="units of the component one unit of the bundle consumes")
    valid_from: str
    valid_to: str | None
    event_id: int


class CatalogItem(BaseModel):
    subsidiary: str
    sku: str
    title: str
    is_bundle: bool
    event_id: int = Field(description="the import that last changed the item")
    identities: list[IdentityOut]
    components: list[ComponentOut] = Field(description="a bundle's composition (empty for a unit item)")


CatalogPage = Page[CatalogItem, str]


class FirstSeen(BaseModel):
    event_id: int | None
    document: str | None
    line: int | None
    date: str | None


class Gap(BaseModel):
    kind: Literal["sku_not_in_catalog", "fnsku_on_two_skus", "asin_changed", "bundle_uncosted_component",
                  "units_without_cost"]
    severity: Literal["blocking", "info"] = Field(description="blocking gaps are exception-queue items")
    sku: str | None
    fnsku: str | None
    asin: str | None
    marketplace: str | None
    detail: str = Field(description="what is wrong and what to do")
    first_seen: FirstSeen
