"""The REST shape of a location: what it is, the lanes that draw from it, its state accounts."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class LocationOut(BaseModel):
    subsidiary: str
    code: str = Field(examples=["FBA-US"])
    kind: Literal["warehouse", "3pl", "fba", "transit"]
    marketplace: str | None = Field(examples=["amazon.com"])
    currency: str = Field(examples=["USD"])
    name: str
    lanes: list[str] = Field(description="the lanes that may draw from it (FBA, FBM, MCF, WHOLESALE, RETAIL_3PL)")
    accounts: list[str] = Field(description="its state accounts: Assets:Inventory:<code>:Available, ...")
    event_id: int = Field(description="the change that last set it")
