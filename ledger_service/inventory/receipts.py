"""Purchase receipt files: a CSV of purchase-order lines and their charges, read into one record per PO.

The problem: a lot's cost is fixed when its units are received, so a receipt file must be read exactly or not at
all: every PO line becomes a lot (`<po>:<n>`, n counting the PO's lines in file order) at its landed cost, and
freight, duty and prep must be spread over the right PO's lines. A wrong number, a line for another currency or
date within one PO, or a charge with nothing to spread over is refused naming file:line, and nothing of the file
posts. Pure: no I/O; the catalog, the location and the postings are the service's (inventory.service).

Format (UTF-8, a BOM allowed, comma-separated; column names case-insensitive, in any order):

    po,supplier,sku,units,unit_cost,currency,date,weight,charge,amount
    PO-7,Acme,W-1,10,4.00,USD,2026-03-02,0.5,,
    PO-7,Acme,W-2,5,10.00,USD,2026-03-02,2,,
    PO-7,,,,,USD,,,freight,6.00

- A **line** names a `sku` (the catalog's brand SKU), whole `units` (1..limits.MAX_UNITS), a `unit_cost` (0..
  limits.MAX_UNIT_COST) in `currency`, and the receipt `date` (YYYY-MM-DD); `weight` is per unit (any one
  unit: kg, lb), needed by `--allocate weight` on the lines of a PO with charges.
- A **charge** row has an empty `sku`, `charge` = freight | duty | prep and its `amount` (> 0, at most the
  currency's minor unit); `po` names the PO it belongs to; `currency` may be left empty (the PO's). All charges of
  a PO are spread over its lines by the file's rule (units, value or weight: valuation.landed_cost).
- The rows of one PO share supplier, currency and date (empty on a charge row means the PO's). A PO needs a line.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import NamedTuple

from ledger_service import limits
from ledger_service.errors import Invalid
from ledger_service.eventlog.model import canonical_json, sha256_hex
from ledger_service.inventory.model import BY_WEIGHT, RULES
from ledger_service.money import currency_exponent

REQUIRED = ("po", "supplier", "sku", "units", "unit_cost", "currency", "date")
OPTIONAL = ("weight", "charge", "amount")
CHARGES = ("freight", "duty", "prep")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


class ReceiptLine(NamedTuple):
    line: int  # the file's line
    sku: str  # as written: the service resolves it through the catalog
    units: int
    unit_cost: Decimal
    weight: Decimal | None


class Charge(NamedTuple):
    line: int
    kind: str  # freight | duty | prep
    amount: Decimal


class PurchaseOrder(NamedTuple):
    po: str
    supplier: str
    date: dt.date
    currency: str
    rule: str
    lines: tuple[ReceiptLine, ...]
    charges: tuple[Charge, ...]
    raw: str  # the header and the PO's rows, verbatim

    @property
    def first_line(self) -> int:
        return min(x.line for x in (*self.lines, *self.charges))

    def content(self) -> dict:
        """What the PO says, canonical: what its idempotency key and input hash cover (not the file's layout)."""
        return {"po": self.po, "supplier": self.supplier, "date": self.date.isoformat(), "currency": self.currency,
                "rule": self.rule if self.charges else None,  # the rule changes nothing of a PO without charges
                "lines": [{"sku": x.sku, "units": x.units, "unit_cost": str(x.unit_cost),
                           "weight": None if x.weight is None else str(x.weight)} for x in self.lines],
                "charges": [{"kind": c.kind, "amount": str(c.amount)} for c in self.charges]}

    @property
    def key(self) -> str:
        """`receipt:<po>:<32 hex of the sha256 of its content>`: the same PO again is a no-op."""
        return f"receipt:{self.po}:{sha256_hex(canonical_json(self.content()))[:32]}"


def parse_receipts(data: bytes | str, document: str, rule: str = "units") -> list[PurchaseOrder]:
    """The file's purchase orders, in order of first appearance; Invalid naming file:line on any bad row."""
    if rule not in RULES:
        raise Invalid(f"--allocate must be one of {', '.join(RULES)}, not {rule!r}")
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise Invalid(f"{document}: not UTF-8 ({exc.reason} at byte {exc.start})") from None
    data = data.lstrip("\ufeff")
    header: list[str] | None = None
    header_raw, rows = "", []
    for n, text in enumerate(data.splitlines(), start=1):
        if not text.strip():
            continue
        where = f"{document}:{n}"
        cells = next(csv.reader([text]))
        if header is None:
            header, header_raw = _header(cells, where), text
            continue
        if len(cells) > len(header) and any(c.strip() for c in cells[len(header):]):
            raise Invalid(f"{where}: {len(cells)} cells, but the header has {len(header)} columns")
        row = {name: (cells[i].strip() if i < len(cells) else "") for i, name in enumerate(header)}
        rows.append((n, text, row))
    if header is None:
        raise Invalid(f"{document}: empty file: expected the header {','.join(REQUIRED)}")
    if not rows:
        raise Invalid(f"{document}: no rows after the header")
    orders: dict[str, dict] = {}
    for n, text, row in rows:
        _row(orders, n, text, row, f"{document}:{n}", rule)
    out = []
    for po, o in orders.items():
        if not o["lines"]:
            raise Invalid(f"{document}:{o['charges'][0].line}: PO {po} has charges but no line to spread them over")
        if rule == BY_WEIGHT and o["charges"]:
            for x in o["lines"]:
                if x.weight is None:
                    raise Invalid(f"{document}:{x.line}: --allocate weight needs a weight on every line of a PO "
                                  "with charges")
        out.append(PurchaseOrder(po, o["supplier"], o["date"], o["currency"], rule, tuple(o["lines"]),
                                 tuple(o["charges"]), "\n".join([header_raw, *o["raw"]])))
    return out


def _header(cells: list[str], where: str) -> list[str]:
    names = [c.strip().lower() for c in cells]
    missing = [c for c in REQUIRED if c not in names]
    if missing:
        raise Invalid(f"{where}: the header lacks {', '.join(missing)} (expected {','.join(REQUIRED)}"
                      f"[,{','.join(OPTIONAL)}])")
    unknown = [c for c in names if c and c not in REQUIRED + OPTIONAL]
    dup = sorted({c for c in names if c and names.count(c) > 1})
    if unknown or dup:
        raise Invalid(f"{where}: " + (f"unknown column(s) {', '.join(unknown)}" if unknown else
                                      f"column(s) {', '.join(dup)} given twice"))
    return names


def _row(orders: dict, n: int, text: str, row: dict, where: str, rule: str) -> None:
    try:
        limits.check_cells(row)
    except ValueError as exc:
        raise Invalid(f"{where}: {exc}") from None
    po = row["po"]
    if not po:
        raise Invalid(f"{where}: po is empty")
    if len(po) > limits.MAX_LENGTH.get("order_id", 64):
        raise Invalid(f"{where}: po {po[:40]!r}... is longer than {limits.MAX_LENGTH.get('order_id', 64)} characters")
    o = orders.setdefault(po, {"supplier": None, "date": None, "currency": None, "lines": [], "charges": [],
                               "raw": []})
    o["raw"].append(text)
    currency = row["currency"].upper()
    if currency and not _CURRENCY.match(currency):
        raise Invalid(f"{where}: currency {row['currency']!r} is not an ISO 4217 code")
    if row["sku"]:
        line = _line(row, where, rule)
        day = _date(row["date"], where)
        if not row["supplier"]:
            raise Invalid(f"{where}: supplier is empty")
        if not currency:
            raise Invalid(f"{where}: currency is empty")
        _same(o, "supplier", row["supplier"], po, where)
        _same(o, "date", day, po, where)
        _same(o, "currency", currency, po, where)
        o["lines"].append(line._replace(line=n))
        return
    kind = row.get("charge", "").lower()
    if kind not in CHARGES:
        raise Invalid(f"{where}: a row without a sku is a charge: charge must be one of {', '.join(CHARGES)}, "
                      f"not {row.get('charge', '')!r}")
    if row["units"] or row["unit_cost"]:
        raise Invalid(f"{where}: a charge row has its amount in `amount`; units and unit_cost stay empty")
    amount = _decimal(row.get("amount", ""), "amount", where)
    if amount <= 0:
        raise Invalid(f"{where}: charge amount must be above 0, not {amount}")
    try:
        limits.check_amount(amount, "charge amount")
    except ValueError as exc:
        raise Invalid(f"{where}: {exc}") from None
    for name, value in (("supplier", row["supplier"]), ("currency", currency),
                        ("date", _date(row["date"], where) if row["date"] else "")):
        if value:
            _same(o, name, value, po, where)
    if currency or o["currency"]:
        exp = currency_exponent(currency or o["currency"])
        if amount != amount.quantize(Decimal(1).scaleb(-exp)):
            raise Invalid(f"{where}: charge amount {amount} has more decimals than {currency or o['currency']} "
                          "allows")
    o["charges"].append(Charge(n, kind, amount))


def _line(row: dict, where: str, rule: str) -> ReceiptLine:
    if row.get("charge") or row.get("amount"):
        raise Invalid(f"{where}: a line with a sku has no charge or amount (a charge is a row of its own)")
    units = _decimal(row["units"], "units", where)
    if units != units.to_integral_value() or not 1 <= units <= limits.MAX_UNITS:
        raise Invalid(f"{where}: units must be a whole number from 1 to {limits.MAX_UNITS}, not {row['units']!r}")
    cost = _decimal(row["unit_cost"], "unit_cost", where)
    if not 0 <= cost <= limits.MAX_UNIT_COST:
        raise Invalid(f"{where}: unit_cost must be from 0 to {limits.MAX_UNIT_COST}, not {row['unit_cost']!r}")
    weight = None
    if row.get("weight"):
        weight = _decimal(row["weight"], "weight", where)
        if not 0 <= weight <= limits.MAX_UNIT_COST:
            raise Invalid(f"{where}: weight must be from 0 to {limits.MAX_UNIT_COST}, not {row['weight']!r}")
    return ReceiptLine(0, row["sku"], int(units), cost, weight)


def _decimal(text: str, what: str, where: str) -> Decimal:
    try:
        value = Decimal(text)
    except (InvalidOperation, ValueError):
        raise Invalid(f"{where}: {what} {text!r} is not a number") from None
    if not value.is_finite():
        raise Invalid(f"{where}: {what} {text!r} is not a finite number")
    return value


def _date(text: str, where: str) -> dt.date:
    try:
        day = dt.date.fromisoformat(text)
        limits.check_date(day)
    except ValueError as exc:
        raise Invalid(f"{where}: date {text!r}: {exc if text[:1].isdigit() else 'expected YYYY-MM-DD'}") from None
    if len(text) != 10:
        raise Invalid(f"{where}: date {text!r}: expected YYYY-MM-DD")
    return day


def _same(o: dict, name: str, value, po: str, where: str) -> None:
    if o[name] is None:
        o[name] = value
    elif o[name] != value:
        raise Invalid(f"{where}: PO {po} has {name} {o[name]} on an earlier row, {value} here: one PO is one "
                      f"{name}")
