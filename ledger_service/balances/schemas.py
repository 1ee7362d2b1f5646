"""REST shapes of balances and the trial balance."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from ledger_service.api.schemas import Amount


class BalanceRow(BaseModel):
    """An account's balance in one commodity (a currency, or units of a SKU), posted and pending apart."""

    account: str = Field(examples=["Assets:Amazon:Clearing"])
    type: str = Field(description="asset, liability, equity, income or expense")
    commodity: str = Field(description="a currency, or a SKU whose units the balance counts", examples=["USD"])
    balance: Amount = Field(description="posted: the amount, or the units of a SKU")
    pending: Amount = Field(description="provisional, from open settlement groups")
    functional_balance: Amount = Field(description="posted, in the subsidiary's functional currency")
    functional_currency: str
    value: Amount | None = Field(None, description="units rows: what the units cost, in value_currency")
    value_currency: str | None = Field(None, description="units rows: the currency of value")


class Total(BaseModel):
    """A currency's totals over the trial balance (money, plus units at cost); balance must be zero."""

    commodity: str
    debit: Amount
    credit: Amount
    balance: Amount
    pending: Amount


class TrialBalance(BaseModel):
    subsidiary: str
    as_of: date | None
    functional_currency: str
    rows: list[BalanceRow]
    totals: list[Total]
    functional_total: Amount = Field(description="the sum of every row in functional currency: zero")
