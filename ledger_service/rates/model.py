"""A rate and a rate found for a day.

The problem: a rate is only usable with its direction and its day. `Rate` is one imported fact, "on `date`, 1
`from_currency` buys `rate` `to_currency`"; `RateInForce` is what a lookup answers for a day, with how it was found
(that day's rate, an earlier one, the inverse pair, a cross rate through EUR), so a figure can be explained.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal


@dataclass(frozen=True)
class Rate:
    date: dt.date
    from_currency: str
    to_currency: str
    rate: Decimal  # units of to_currency per 1 from_currency
    source: str  # "ecb", or the file's name
    line: int | None = field(default=None, compare=False)  # the file line it was read from (parsing only)

    @property
    def key(self) -> tuple[dt.date, str, str]:
        return self.date, self.from_currency, self.to_currency


@dataclass(frozen=True)
class RateInForce:
    from_currency: str
    to_currency: str
    date: dt.date  # the day asked about
    rate: Decimal
    method: str  # identity | direct | inverse | cross
    rate_dates: tuple[dt.date, ...]  # the dates of the stored rates used
    sources: tuple[str, ...]
    explanation: str

    def as_dict(self) -> dict:
        return {"from": self.from_currency, "to": self.to_currency, "date": self.date.isoformat(),
                "rate": format(self.rate, "f"), "method": self.method,
                "rate_dates": [d.isoformat() for d in self.rate_dates], "sources": list(self.sources),
                "explanation": self.explanation}
