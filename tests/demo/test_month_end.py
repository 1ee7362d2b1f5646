"""Issue 11's "done when", on the demo: its closed months export, trace, re-export, check and render as promised.

The demo (40 orders) closes each subsidiary's first two months, exports them as NetSuite CSV and JSON and renders
their close packs. For every exported file: each journal balances, every row has an External ID of letters,
digits, `_` and `-`, a journal's rows are consecutive, no amount has more than two decimals; every line traces to
postings that sum to it to the cent and to raw source rows; the postings traced per account equal, to the cent,
an independent SQL sum of the period's posted functional amounts; exporting again gives the same bytes. The UK's
EUR settlements post at recorded rates and its July close revalued them; bean-check passes on the beancount export
of each subsidiary; the close pack is an HTML page with its SVG chart and an XLSX workbook.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import defaultdict
from decimal import Decimal

import pytest
from beancount import loader
from openpyxl import load_workbook
from sqlalchemy import and_, func, select

from ledger_service.export.netsuite.service import export
from ledger_service.export.service import beancount_text
from ledger_service.money import currency_exponent, from_minor
from ledger_service.periods.model import bounds
from ledger_service.store.engine import write_transaction
from ledger_service.store.tables import accounts, entries, events, postings, subsidiaries
from ledger_service.trace.service import trace_netsuite

EXTERNAL_ID = re.compile(r"^[A-Za-z0-9_-]+$")
CLOSED = {"US": ("2026-04", "2026-05"), "UK": ("2026-07", "2026-08"), "CA": ("2026-04", "2026-05")}


@pytest.fixture
def demo(cli, tmp_path):
    out = tmp_path / "demo"
    result = cli("demo", "--orders", "40", "--out", str(out))
    assert result.exit_code == 0, result.output
    return out, result.output


def rows_of(path) -> list[dict]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def ledger_totals(conn, code: str, period: str) -> dict[str, Decimal]:
    """Per account, the period's posted functional amounts: straight from the postings, not through the export."""
    first, last = bounds(period)
    functional = conn.execute(select(subsidiaries.c.functional_currency).where(subsidiaries.c.code == code)).scalar()
    q = (select(accounts.c.name, func.sum(postings.c.functional_amount))
         .join(entries, entries.c.id == postings.c.entry_id).join(accounts, accounts.c.id == postings.c.account_id)
         .where(and_(postings.c.subsidiary == code, entries.c.state == "posted",
                     entries.c.effective_date >= first, entries.c.effective_date <= last))
         .group_by(accounts.c.name))
    return {name: from_minor(int(total), currency_exponent(functional)) for name, total in conn.execute(q)
            if int(total)}


def test_closed_months_export_trace_and_reexport_as_promised(demo, engine):
    out, printed = demo
    for code, months in CLOSED.items():
        for period in months:
            assert f"{code} {period}: closed" in printed
            csv_path, json_path = (out / code / "close" / f"netsuite-{code}-{period}.{x}" for x in ("csv", "json"))
            rows = rows_of(csv_path)
            assert rows, (code, period)
            seen, journals = [], defaultdict(list)
            for row in rows:
                assert EXTERNAL_ID.match(row["External ID"]), row
                if not seen or seen[-1] != row["External ID"]:
                    assert row["External ID"] not in seen, f"{row['External ID']}: its rows are not consecutive"
                    seen.append(row["External ID"])
                journals[row["External ID"]].append(row)
                for side in ("Debit", "Credit"):
                    if row[side]:
                        assert Decimal(row[side]).as_tuple().exponent >= -2, row
            traced: dict[str, Decimal] = defaultdict(Decimal)
            with engine.connect() as conn:
                for external_id, lines in journals.items():
                    debits = sum(Decimal(r["Debit"] or 0) for r in lines)
                    assert debits == sum(Decimal(r["Credit"] or 0) for r in lines) and len(lines) >= 2
                    for n, line in enumerate(lines, 1):
                        t = trace_netsuite(conn, external_id, line=n)
                        amount = Decimal(line["Debit"] or 0) - Decimal(line["Credit"] or 0)
                        assert sum(Decimal(p["amount"]) for p in t["postings"]) == amount, (external_id, n)
                        assert t["sources"] and all(s["document"] and s["raw"] for s in t["sources"])
                        for p in t["postings"]:
                            traced[p["account"]] += Decimal(p["amount"])
                assert {a: v for a, v in traced.items() if v} == ledger_totals(conn, code, period), (code, period)
                bodies = json.loads(json_path.read_text(encoding="utf-8"))
                assert [b["externalId"] for b in bodies] == list(journals)
            with write_transaction(engine) as conn:  # exporting again: the same bytes, nothing new recorded
                for fmt, path in (("csv", csv_path), ("json", json_path)):
                    again = export(conn, code, period, fmt)
                    assert again.data == path.read_bytes() and again.duplicate


def test_foreign_settlements_post_at_rates_and_revalue_at_close(demo, engine):
    with engine.connect() as conn:
        rates = {r.rate for r in conn.execute(select(entries.c.rate).where(
            entries.c.subsidiary == "UK", entries.c.currency == "EUR"))}
        revaluation = conn.execute(select(events.c.payload).where(
            events.c.subsidiary == "UK", events.c.kind == "fx_revaluation")).scalars().all()
    assert len(rates) > 10 and "1" not in rates  # a rate per day, recorded on each entry
    july = [json.loads(p) for p in revaluation if json.loads(p)["period"] == "2026-07"]
    assert july and any(line["currency"] == "EUR" for line in july[0]["lines"])


def test_bean_check_passes_and_the_close_pack_renders(demo, engine):
    out, _ = demo
    for code in CLOSED:
        with engine.connect() as conn:
            text = beancount_text(conn, code)
        _entries, errors, _options = loader.load_string(text)
        assert errors == [], (code, errors[:3])
    html = (out / "UK" / "close" / "close-pack-UK-2026-07.html").read_text(encoding="utf-8")
    assert "<svg" in html and "<script" not in html and "Trial balance" in html
    workbook = load_workbook(out / "UK" / "close" / "close-pack-UK-2026-07.xlsx")
    assert len(workbook.sheetnames) >= 5
