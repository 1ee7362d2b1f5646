"""The close pack (reports/close.py) through the real database, rendered as HTML, XLSX and CSV.

The books of subsidiary US, October 2026 (figures worked by hand):
  settlement 7301 (2026-10-01 to 10-14, deposited 10-16), total 79.00:
    order O-1 on 10-05: Principal 100.00, Commission -15.00, FBA fee -5.00   = 80.00
    MysteryFeeXYZ on 10-06 (no mapping: in suspense, an open exception)      = -1.00
  settlement 7300 (2026-09-01 to 09-14, deposited 09-16), total 80.00: order O-0, September only
  a manual journal on 10-31: Storage fees 125.40 accrued
  an FX revaluation of 2026-10 and a NetSuite export of 2026-10 (events without entries), and the period closed.
"""

from __future__ import annotations

import csv
import io
import re
import time
import xml.etree.ElementTree as ET
from datetime import date, datetime
from decimal import Decimal
from html.parser import HTMLParser

import openpyxl
import pytest
from sqlalchemy import select

from ledger_service.balances.queries import trial_balance
from ledger_service.eventlog.model import EventDraft, Source, canonical_json
from ledger_service.ingest.service import ingest_bytes
from ledger_service.journal.service import post
from ledger_service.journal.writer import post_batch
from ledger_service.reports.close import _totals, close_pack
from ledger_service.reports.gross_to_net import gross_to_net
from ledger_service.reports.render import MEDIA_TYPES, PackFormat, render
from ledger_service.store.engine import write_transaction
from ledger_service.store.tables import events, periods
from tests.support.builders import event, transfer
from tests.support.settlement_files import other, sale, v2
from tests.support.inventory import LEDGER_HEAD

OCTOBER = (date(2026, 10, 1), date(2026, 10, 31))
FX = {"period": "2026-10", "as_of": "2026-10-31", "lines": [
    {"account": "Assets:Amazon:Clearing", "currency": "EUR", "foreign_balance": "1000.00", "rate": "1.0850",
     "carried": "1080.00", "revalued": "1085.00", "adjustment": "5.00"},
    {"account": "Assets:Bank:Operating", "currency": "GBP", "foreign_balance": "200.00", "rate": "1.2500",
     "carried": "252.00", "revalued": "250.00", "adjustment": "-2.00"}]}
EXPORT = {"period": "2026-10", "format": "netsuite-csv", "summary": "settlement", "files": ["journals.csv"],
          "sha256": "ab" * 32, "watermark": 42, "journals": 3, "lines": 11, "debits": "1234.56",
          "credits": "1234.56", "external_ids": ["LS-US-2026-10-1"]}


def meta_event(kind: str, key: str, payload: dict) -> EventDraft:
    raw = canonical_json(payload)
    return EventDraft(subsidiary="US", kind=kind, occurred_at=datetime(2026, 11, 2, 9, 0), idempotency_key=key,
                      raw=raw, source=Source(system="ledger", document=f"{kind} {payload['period']}"), payload=payload)


def books(engine, close: bool = True) -> None:
    september = v2("7300", "2026-09-01", "2026-09-14", "2026-09-16", "80.00", sale("O-0", "2026-09-05"))
    ingest_bytes(engine, september, "7300.txt", "US")
    october = v2("7301", "2026-10-01", "2026-10-14", "2026-10-16", "79.00",
                 [*sale("O-1", "2026-10-05"), other("other-transaction", "MysteryFeeXYZ", "-1.00", "2026-10-06")])
    ingest_bytes(engine, october, "7301.txt", "US")
    post(engine, event("accrual-2026-10"), [transfer("Expenses:Amazon:Fees:Storage", "Liabilities:Accrued", "125.40")])
    with write_transaction(engine) as conn:
        post_batch(conn, [(meta_event("fx_revaluation", "fx:2026-10:1", FX), []),
                          (meta_event("netsuite_export", "export:2026-10:1", EXPORT), [])], actor="token:ana")
    if close:
        with write_transaction(engine) as conn:
            [closed] = post_batch(conn, [(meta_event("period_closed", "period:2026-10:close:1",
                                                     {"period": "2026-10", "reason": "month end"}), [])],
                                  actor="token:controller")
            conn.execute(periods.insert().values(subsidiary="US", period="2026-10", status="closed",
                                                 event_id=closed.event_id, changed_at=datetime(2026, 11, 2, 9, 0)))


def pack(engine, period: str = "2026-10"):
    with engine.connect() as conn:
        return close_pack(conn, "US", period)


class Tables(HTMLParser):
    """Every <table id=...> of a page as lists of cell texts, and the texts of its h2/h3/p/dd."""

    def __init__(self):
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.current: str | None = None
        self.cell: list[str] | None = None
        self.texts: list[str] = []
        self.text: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.current = dict(attrs)["id"]
            self.tables[self.current] = []
        elif tag == "tr" and self.current:
            self.tables[self.current].append([])
        elif tag in ("td", "th") and self.current:
            self.cell = []
        elif tag in ("h2", "h3", "p", "dd", "dt"):
            self.text = []

    def handle_endtag(self, tag):
        if tag == "table":
            self.current = None
        elif tag in ("td", "th") and self.cell is not None:
            self.tables[self.current][-1].append("".join(self.cell).strip())
            self.cell = None
        elif tag in ("h2", "h3", "p", "dd", "dt") and self.text is not None:
            self.texts.append("".join(self.text).strip())
            self.text = None

    def handle_data(self, data):
        for sink in (self.cell, self.text):
            if sink is not None:
                sink.append(data)


def parse_html(html: str) -> Tables:
    parser = Tables()
    parser.feed(html)
    return parser


def expected_trial_balance(engine) -> list[list[str]]:
    with engine.connect() as conn:
        tb = trial_balance(conn, "US", OCTOBER[1])
    rows = []
    for r in tb["rows"]:
        value = Decimal(r["balance"])
        rows.append([r["account"], r["commodity"], r["balance"] if value > 0 else "",
                     str(-value) if value < 0 else "", r["pending"], r["functional_balance"]])
    return rows


def expected_bars(engine) -> list[Decimal]:
    with engine.connect() as conn:
        [usd] = gross_to_net(conn, "US", *OCTOBER)["currencies"]
    return [Decimal(a["amount"]) for b in usd["bridge"] for a in b["accounts"]] + [Decimal(usd["net_proceeds"])]


def svgs(html: str) -> list[ET.Element]:
    return [ET.fromstring(s) for s in re.findall(r"<svg\b.*?</svg>", html, flags=re.S)]


def chart_bars(svg: ET.Element) -> list[tuple[str, Decimal]]:
    """(label, value) of each bar, top to bottom (pygal writes a horizontal chart's bars bottom up)."""
    descs = [d for d in svg.iter() if d.tag.rsplit("}", 1)[-1] == "desc"]
    values = [Decimal(d.text.replace(",", "")) for d in descs if d.get("class") == "value"]
    labels = [d.text for d in descs if d.get("class") == "x_label"]
    assert len(values) == len(labels)
    return list(zip(labels, values))[::-1]


def test_html_holds_every_section_with_the_query_figures_and_its_chart(engine):
    books(engine)
    html = render(pack(engine), PackFormat.html).decode()
    page = parse_html(html)
    for section in ("trial_balance", "gross_to_net", "settlements", "inventory_valuation", "inventory_rollforward",
                    "exceptions", "fx_revaluation", "exports"):
        assert f'<section id="{section}">' in html
    assert "closed on " in html and "by token:controller (month end)" in html
    assert "through event seq" in html

    # the trial balance as of the period's last day, row for row as the query and the CLI give it
    header, *body = page.tables["trial_balance"]
    assert header == ["account", "commodity", "debit", "credit", "pending", "functional_balance"]
    expected = expected_trial_balance(engine)
    assert body[:len(expected)] == expected and len(body) == len(expected) + 1  # then the total row
    # bank 80.00 + 79.00, suspense 1.00, fees 10.00 + 30.00, storage 125.40 against sales 200.00 and accrued 125.40
    assert body[-1] == ["total", "USD", "325.40", "325.40", "0.00", "0.00"]
    assert ["Expenses:Amazon:Fees:Storage", "USD", "125.40", "", "0.00", "125.40"] in body
    assert "Trial balance as of 2026-10-31: posted balances, debit and credit in each commodity, pending " \
           "(provisional) apart, functional_balance in USD" in page.texts
    assert "functional total (USD, must be 0.00): 0.00" in page.texts
    assert "in USD (money, and units at their cost in it): debits 325.40, credits -325.40, balance (must be 0): " \
           "0.00; pending 0.00" in page.texts

    # gross to net: the table's rows, and the chart's bars are exactly those figures then net proceeds
    bridge = page.tables["gross_to_net_USD"]
    assert bridge == [["line", "account", "amount"],
                      ["gross sales", "Income:Amazon:Sales:Principal", "100.00"],
                      ["Amazon fees", "Expenses:Amazon:Fees:Fulfillment", "-5.00"],
                      ["Amazon fees", "Expenses:Amazon:Fees:Referral", "-15.00"],
                      ["unmapped (suspense)", "Assets:Suspense:Amazon", "-1.00"],
                      ["= net proceeds", "", "79.00"],
                      ["check: lines - clearing moved (must be 0.00)", "", "0.00"],
                      ["disbursed in the period", "", "79.00"],  # 7300's deposit is September's
                      ["carried to payable to Amazon", "", "0.00"],
                      ["in transit / not yet settled", "", "0.00"]]
    [svg] = svgs(html)
    assert svg.get("id") == "chart-gross_to_net_USD"
    bars = chart_bars(svg)
    values = [v for _, v in bars]
    assert values == expected_bars(engine)  # the bridge's own figures, fees by kind, then net proceeds
    assert values == [Decimal(r[2]) for r in bridge[1:5]] + [Decimal(bridge[5][2])]  # = the table's
    assert sum(values[:-1]) == values[-1]
    assert bars == [("gross sales", Decimal("100.00")), ("Amazon fees: Fulfillment", Decimal("-5.00")),
                    ("Amazon fees: Referral", Decimal("-15.00")), ("unmapped (suspense)", Decimal("-1.00")),
                    ("net proceeds", Decimal("79.00"))]
    printed = [t.text for t in svg.iter() if t.tag.rsplit("}", 1)[-1] == "text" and t.get("class", "").startswith(
        "value")]
    assert sorted(printed) == sorted(f"{v:,.2f}" for v in values)  # on the bars, as the table prints them

    # settlements touching October: 7301 only, with its status
    header, *body = page.tables["settlements"]
    assert [r[0] for r in body] == ["7301", "1 settlement(s)"]  # 7300 is September's
    assert body[0][2:5] == ["2026-10-01", "2026-10-14", "2026-10-16"]
    assert body[0][header.index("status")] == "reconciled_with_suspense"
    assert body[0][header.index("total")] == "79.00" and body[0][header.index("suspense")] == "-1.00"
    assert "1 settlement(s) with dates in 2026-10-01 to 2026-10-31: 1 reconciled_with_suspense" in page.texts

    header, *body = page.tables["exceptions"]
    assert body[0][header.index("amazon_type")].endswith("MysteryFeeXYZ")
    assert body[0][header.index("amount")] == "-1.00" and body[0][header.index("where")] == "7301.txt:6"

    header, *body = page.tables[next(t for t in page.tables if t.startswith("fx_revaluation_"))]
    assert body == [["Assets:Amazon:Clearing", "EUR", "1000.00", "1.0850", "1080.00", "1085.00", "5.00"],
                    ["Assets:Bank:Operating", "GBP", "200.00", "1.2500", "252.00", "250.00", "-2.00"],
                    ["total (USD)", "", "", "", "1332.00", "1335.00", "3.00"]]
    header, *body = page.tables["exports"]
    [export] = [dict(zip(header, row)) for row in body]
    assert export["recorded_at"].endswith(" UTC") and export["event_id"].isdigit()
    assert {k: export[k] for k in ("format", "actor", "sha256", "journals", "lines", "debits", "credits")} == {
        "format": "netsuite-csv", "actor": "token:ana", "sha256": "ab" * 32, "journals": "3", "lines": "11",
        "debits": "1234.56", "credits": "1234.56"}


def test_html_loads_nothing_from_anywhere(engine):
    books(engine)
    html = render(pack(engine), PackFormat.html).decode()
    assert "<svg" in html and "<img" not in html
    assert not re.search(r"<script|<link|src=|@import|url\(", html, flags=re.I)
    assert "<script src=" not in html
    # the only URL is the SVG's XML namespace, which names, and loads nothing
    assert set(re.findall(r"https?://[^\s\"'<>]+", html)) == {"http://www.w3.org/2000/svg"}
    assert "href" not in html


def test_every_format_renders_the_same_bytes_twice(engine):
    books(engine)
    first = {fmt: render(pack(engine), fmt) for fmt in PackFormat}
    time.sleep(1.1)  # a time of rendering in the bytes (a zip entry's, a document property) would show
    second = {fmt: render(pack(engine), fmt) for fmt in PackFormat}
    assert first == second


def test_xlsx_has_a_sheet_per_section_with_numeric_cells(engine):
    books(engine)
    data = render(pack(engine), PackFormat.xlsx)
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["Close pack", "Trial balance", "Gross to net", "Settlements", "Inventory valuation",
                             "Inventory roll-forward", "Exceptions", "FX revaluation", "Exports"]
    about = {r[0]: r[1] for r in wb["Close pack"].iter_rows(min_row=3, values_only=True)}
    assert about["period"] == "2026-10" and about["status"].startswith("closed on ")

    def rows(ws):
        return [[c for c in r] for r in ws.iter_rows(values_only=True)]

    tb = wb["Trial balance"]
    header_at = next(i for i, r in enumerate(tb.iter_rows(), 1) if r[0].value == "account")
    assert all(c.font.bold for c in tb[header_at] if c.value is not None)
    storage = next(r for r in tb.iter_rows(min_row=header_at) if r[0].value == "Expenses:Amazon:Fees:Storage")
    assert storage[2].data_type == "n" and Decimal(str(storage[2].value)) == Decimal("125.40")
    assert storage[2].number_format == "#,##0.00"
    expected = expected_trial_balance(engine)
    got = [["" if v is None else (f"{Decimal(str(v)):.2f}" if isinstance(v, (int, float)) else v) for v in r]
           for r in rows(tb)[header_at:header_at + len(expected)]]
    assert got == expected

    g2n = rows(wb["Gross to net"])
    net = next(r for r in g2n if r[0] == "= net proceeds")
    assert Decimal(str(net[2])) == Decimal("79.00")
    settlements = rows(wb["Settlements"])
    header = next(r for r in settlements if r[0] == "settlement_id")
    row = next(r for r in settlements if r[0] == "7301")
    assert row[header.index("status")] == "reconciled_with_suspense"
    assert Decimal(str(row[header.index("total")])) == Decimal("79.00")
    fx = wb["FX revaluation"]
    clearing = next(r for r in fx.iter_rows() if r[0].value == "Assets:Amazon:Clearing")
    assert [Decimal(str(c.value)) for c in clearing[2:]] == [Decimal(v) for v in (
        "1000.00", "1.0850", "1080.00", "1085.00", "5.00")]
    assert (clearing[3].number_format, clearing[6].number_format) == ("#,##0.0000", "#,##0.00")
    exports = rows(wb["Exports"])
    header = next(r for r in exports if r[0] == "event_id")
    [export] = [r for r in exports if r[1] == "netsuite-csv"]
    assert (export[header.index("journals")], export[header.index("lines")]) == (3, 11)


def test_csv_is_one_file_with_a_section_column(engine):
    books(engine)
    text = render(pack(engine), PackFormat.csv).decode()
    assert text.endswith("\r\n")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0])[:4] == ["section", "table", "kind", "note"]
    assert [r["section"] for r in rows[:1]] == ["about"]
    tb = [r for r in rows if r["section"] == "trial_balance" and r["kind"] == "row"]
    assert [[r[c] for c in ("account", "commodity", "debit", "credit", "pending", "functional_balance")]
            for r in tb] == expected_trial_balance(engine)
    bridge = [r for r in rows if r["table"] == "gross_to_net_USD" and r["kind"] in ("row", "total")]
    assert [Decimal(r["amount"]) for r in bridge if r["kind"] == "row"] == expected_bars(engine)[:-1]
    assert {r["kind"] for r in rows} == {"title", "row", "total", "note"}
    assert any(r["section"] == "exports" and r["format"] == "netsuite-csv" for r in rows)
    for r in rows:  # decimal strings, never floats in exponent notation
        assert "e-" not in r["amount"] and "E" not in r["amount"]


def test_an_open_period_without_revaluation_or_export_says_so(engine):
    books(engine, close=False)
    p = pack(engine, "2026-09")
    assert p.status == "open" and p.status_note == "open - figures may still change"
    assert p.section("fx_revaluation").notes == ("no revaluation for 2026-09",)
    assert p.section("exports").notes == ("2026-09 not exported yet",)
    [table] = p.section("settlements").tables
    assert [r["settlement_id"] for r in table.rows] == ["7300"]
    html = render(p, PackFormat.html).decode()
    assert "no revaluation for 2026-09" in html and "not exported yet" in html and "open - figures may" in html
    empty = pack(engine, "2026-08")
    assert empty.section("gross_to_net").tables == () and empty.section("settlements").tables[0].rows == ()
    assert "<svg" not in render(empty, PackFormat.html).decode()
    assert openpyxl.load_workbook(io.BytesIO(render(empty, PackFormat.xlsx))).sheetnames[-1] == "Exports"
    notes = [r["note"] for r in csv.DictReader(io.StringIO(render(empty, PackFormat.csv).decode()))
             if r["kind"] == "note"]
    assert "no Amazon amounts dated 2026-08-01 to 2026-08-31" in notes
    assert "no settlement with dates in 2026-08" in notes


def test_totals_count_and_keep_places_per_group():
    rows = ({"settlement_id": "1", "currency": "USD", "total": "10.00", "status": "reconciled"},
            {"settlement_id": "2", "currency": "JPY", "total": "1500", "status": "reconciled"},
            {"settlement_id": "3", "currency": "USD", "total": "-10.00", "status": "difference"})
    assert _totals(rows, ("settlement_id", "currency", "total", "status"), by="currency",
                   label="{n} settlement(s)") == (
        {"total": "0.00", "currency": "USD", "settlement_id": "2 settlement(s)"},
        {"total": "1500", "currency": "JPY", "settlement_id": "1 settlement(s)"})


def test_a_reopened_period_is_open(engine):
    books(engine)
    with write_transaction(engine) as conn:
        [reopened] = post_batch(conn, [(meta_event("period_reopened", "period:2026-10:reopen:1",
                                                   {"period": "2026-10", "reason": "late invoice"}), [])])
        conn.execute(periods.update().where(periods.c.period == "2026-10").values(
            status="open", event_id=reopened.event_id))
    p = pack(engine)
    assert p.status == "open"
    assert p.status_note.startswith("open - reopened on ") and "by the command line (no token) (late invoice); " \
        "figures may still change" in p.status_note


def test_bad_period_and_unknown_subsidiary(engine):
    from ledger_service.errors import Invalid, NotFound

    with engine.connect() as conn:
        with pytest.raises(Invalid, match="not a month"):
            close_pack(conn, "US", "2026-13")
        with pytest.raises(NotFound):
            close_pack(conn, "XX", "2026-10")


def test_the_cli_writes_each_format(cli, engine, tmp_path):
    books(engine)
    out = tmp_path / "close.xlsx"
    result = cli("report", "close", "-s", "US", "--period", "2026-10", "--format", "xlsx", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert str(out) in result.output
    assert openpyxl.load_workbook(out).sheetnames[0] == "Close pack"
    html = cli("report", "close", "-s", "US", "--period", "2026-10")  # html on stdout by default
    assert html.exit_code == 0 and html.output.startswith("<!DOCTYPE html>") and "<svg" in html.output
    csv_out = tmp_path / "close.csv"
    assert cli("report", "close", "-s", "US", "--period", "2026-10", "--format", "csv", "--out",
               str(csv_out)).exit_code == 0
    assert csv_out.read_bytes() == render(pack(engine), PackFormat.csv)
    needs_out = cli("report", "close", "-s", "US", "--period", "2026-10", "--format", "xlsx")
    assert needs_out.exit_code == 2 and "--out" in needs_out.output
    bad = cli("report", "close", "-s", "US", "--period", "October")
    assert bad.exit_code == 1 and "not a month" in bad.output


def test_the_rest_api_serves_each_format(engine):
    from tests.support.api import api_client

    books(engine)
    client = api_client(engine, "viewer")
    for fmt in PackFormat:
        r = client.get("/reports/close", params={"subsidiary": "US", "period": "2026-10", "format": fmt.value})
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == MEDIA_TYPES[fmt]
        assert r.content == render(pack(engine), fmt)
    r = client.get("/reports/close", params={"subsidiary": "US", "period": "2026-10"})
    assert r.headers["content-type"].startswith("text/html")
    assert client.get("/reports/close", params={"subsidiary": "XX", "period": "2026-10"}).status_code == 404
    assert client.get("/reports/close", params={"subsidiary": "US", "period": "2026-13"}).status_code == 422
    scoped = api_client(engine, "viewer", ["UK"])
    assert scoped.get("/reports/close", params={"subsidiary": "US", "period": "2026-10"}).status_code == 403


def test_recorded_at_not_rendering_time_dates_the_pack(engine):
    books(engine)
    with engine.connect() as conn:
        last = conn.execute(select(events.c.recorded_at).where(events.c.subsidiary == "US")
                            .order_by(events.c.seq.desc()).limit(1)).scalar()
    assert pack(engine).ledger_through.endswith(f"recorded {last.isoformat(sep=' ', timespec='seconds')} UTC")


# -- the inventory sections

OCTOBER_ROWS = [
    "2026-10-07\tX0012ABCD1\tB00012ABCD\t000123\tMug\tReceipts\tFBA15OCT\t24\tPHX6\tSELLABLE\t\tUS",
    "2026-10-10\tX0012ABCD1\tB00012ABCD\t000123\tMug\tShipments\t113-1\t-3\tPHX6\tSELLABLE\t\tUS",
    "2026-10-12\tX0012ABCD1\tB00012ABCD\t000123\tMug\tCustomerReturns\t113-1\t1\tPHX6\tSELLABLE\t\tUS",
    "2026-10-15\tX0012ABCD1\tB00012ABCD\t000123\tMug\tAdjustments\t9001\t-2\tPHX6\tSELLABLE\tD\tUS",
    "2026-10-20\tX0012ABCD1\tB00012ABCD\t000123\tMug\tAdjustments\t9002\t-1\tPHX6\tSELLABLE\tE\tUS",
    "2026-10-20\tX0012ABCD1\tB00012ABCD\t000123\tMug\tAdjustments\t9003\t1\tPHX6\tWAREHOUSE_DAMAGED\tP\tUS",
]


def inventory_books(engine) -> None:
    """US (USD, FIFO), worked by hand:
      09-10 PO-1: 30 MUG at 2.00 = 60.00 into WH-NJ                      -> October opens at 30 units, 60.00
      10-03 PO-2: 10 MUG at 2.50 = 25.00 and 20 CAP at 1.25 = 25.00      -> receipts 30 units, 50.00
      10-05 inbound FBA15OCT: 24 MUG of PO-1:1 WH-NJ -> FBA-US (working, shipped; moves: no value change)
      10-07 Receipts +24 (FBA-US Available); 10-10 Shipments -3 (113-1): COGS 6.00; 10-12 sellable return +1 of
            113-1 at 2.00: COGS -2.00                                        -> COGS 2 units, 4.00
      10-15 Adjustment D -2 SELLABLE (disposed): shrinkage 4.00            -> write-offs 2 units, 4.00
      10-20 Adjustments E -1 SELLABLE / P +1 WAREHOUSE_DAMAGED: Available -> Unfulfillable 1 at 2.00 (a move)
    October 31: WH-NJ MUG 6 of PO-1:1 (12.00) + 10 of PO-2:1 (25.00) = 16 units, 37.00 (2.3125 a unit);
    WH-NJ CAP 20 (25.00); FBA-US MUG Available 24 - 3 + 1 - 2 - 1 = 19 (38.00), Unfulfillable 1 (2.00):
    56 units, 102.00 = 60.00 + 50.00 - 4.00 - 4.00; units 30 + 30 - 2 - 2 = 56."""
    from ledger_service.inventory.service import ingest_ledger
    from tests.support.inventory import ship_to_fba, warehouse_and_fba

    catalog = ("sku,title,marketplace,msku,asin,fnsku,parent_asin,valid_from\n"
               "MUG,Ceramic mug,amazon.com,000123,B00012ABCD,X0012ABCD1,,\nCAP,Cap,,,,,,\n")
    po = ("po,supplier,sku,units,unit_cost,currency,date\nPO-1,Acme,MUG,30,2.00,USD,2026-09-10\n"
          "PO-2,Acme,MUG,10,2.50,USD,2026-10-03\nPO-2,Acme,CAP,20,1.25,USD,2026-10-03\n")
    with write_transaction(engine) as conn:
        warehouse_and_fba(conn, catalog, po)
        ship_to_fba(conn, "FBA15OCT", "MUG", 24, date(2026, 10, 5))
        result = ingest_ledger(conn, "US", (LEDGER_HEAD + "\n".join(OCTOBER_ROWS) + "\n").encode(), "ledger.tsv",
                               "FBA-US")
        assert (result["posted"], result["exceptions"]) == (6, [])


def test_the_valuation_at_the_period_end_ties_to_the_inventory_accounts(engine):
    inventory_books(engine)
    p = pack(engine)
    section = p.section("inventory_valuation")
    assert section.title == "Inventory valuation as of 2026-10-31"
    [table] = section.tables
    assert table.columns == ("sku", "location", "state", "lots", "units", "unit_cost", "amount")
    assert [tuple(r.values()) for r in table.rows] == [
        ("CAP", "WH-NJ", "Available", 1, 20, "1.250000", "25.00"),
        ("MUG", "FBA-US", "Available", 1, 19, "2.000000", "38.00"),
        ("MUG", "FBA-US", "Unfulfillable", 1, 1, "2.000000", "2.00"),
        ("MUG", "WH-NJ", "Available", 2, 16, "2.312500", "37.00")]  # 37.00 / 16
    assert table.totals == (
        {"sku": "total", "lots": 5, "units": 56, "amount": "102.00"},
        {"sku": "inventory accounts' balance (Assets:Inventory and below)", "amount": "102.00"},
        {"sku": "difference (must be 0.00)", "amount": "0.00"})
    assert section.notes == (
        "valuation at cost on 2026-10-31: 5 lot(s) of 2 SKU(s), 56 units, total 102.00 USD; the inventory accounts' "
        "balance (Assets:Inventory and below) on 2026-10-31: 102.00 USD: ties to the cent",)
    # the same balance as the trial balance's inventory accounts, in the same pack
    [tb] = p.section("trial_balance").tables
    assert sum(Decimal(r["functional_balance"]) for r in tb.rows
               if r["account"].startswith("Assets:Inventory")) == Decimal("102.00")


def test_the_rollforward_of_the_period_ties(engine):
    inventory_books(engine)
    section = pack(engine).section("inventory_rollforward")
    [table] = section.tables
    assert [tuple(r.values()) for r in table.rows] == [
        ("opening (as of 2026-09-30)", 30, "60.00"),
        ("receipts", 30, "50.00"),
        ("COGS (units sold, net of returns)", -2, "-4.00"),  # 3 sold at 2.00, 1 back at 2.00
        ("write-offs", -2, "-4.00"),  # 2 disposed at 2.00
        ("adjustments", 0, "0.00")]  # the inbound and E/P moves change states, not value
    assert table.totals == (
        {"line": "= closing (as of 2026-10-31)", "units": 56, "amount": "102.00"},
        {"line": "check: opening + receipts - COGS - write-offs + adjustments - closing (must be 0)", "units": 0,
         "amount": "0.00"})
    assert sum(r["units"] for r in table.rows) == 56 and sum(Decimal(r["amount"]) for r in table.rows) == 102
    assert section.notes[0].startswith("opening 60.00 + receipts 50.00 - COGS 4.00 - write-offs 4.00 + "
                                       "adjustments 0.00 = closing 102.00 USD")
    september = pack(engine, "2026-09").section("inventory_rollforward").tables[0]
    assert [(r["line"], r["units"], r["amount"]) for r in september.rows][:2] == [
        ("opening (as of 2026-08-31)", 0, "0.00"), ("receipts", 30, "60.00")]
    assert september.totals[0]["amount"] == "60.00"


def test_the_inventory_sections_render_in_every_format_the_same_bytes_twice(engine):
    inventory_books(engine)
    html = render(pack(engine), PackFormat.html).decode()
    page = parse_html(html)
    assert page.tables["inventory_valuation"][0] == ["sku", "location", "state", "lots", "units", "unit_cost",
                                                     "amount"]
    assert page.tables["inventory_valuation"][-3:] == [
        ["total", "", "", "5", "56", "", "102.00"],
        ["inventory accounts' balance (Assets:Inventory and below)", "", "", "", "", "", "102.00"],
        ["difference (must be 0.00)", "", "", "", "", "", "0.00"]]
    assert page.tables["inventory_rollforward"][-2] == ["= closing (as of 2026-10-31)", "56", "102.00"]
    assert '<td class="num">2.312500</td>' in html

    wb = openpyxl.load_workbook(io.BytesIO(render(pack(engine), PackFormat.xlsx)))
    ws = wb["Inventory valuation"]
    mug = next(r for r in ws.iter_rows() if r[0].value == "MUG" and r[1].value == "WH-NJ")
    assert [c.value for c in mug[:3]] == ["MUG", "WH-NJ", "Available"]
    assert [Decimal(str(c.value)) for c in mug[3:]] == [2, 16, Decimal("2.3125"), Decimal("37.00")]
    assert all(c.data_type == "n" for c in mug[3:])
    assert (mug[5].number_format, mug[6].number_format) == ("#,##0.000000", "#,##0.00")
    rf = wb["Inventory roll-forward"]
    closing = next(r for r in rf.iter_rows() if str(r[0].value).startswith("= closing"))
    assert (closing[1].value, Decimal(str(closing[2].value))) == (56, Decimal("102.00"))
    assert closing[1].data_type == closing[2].data_type == "n"

    rows = list(csv.DictReader(io.StringIO(render(pack(engine), PackFormat.csv).decode())))
    valuation_rows = [r for r in rows if r["section"] == "inventory_valuation" and r["kind"] in ("row", "total")]
    assert [(r["sku"], r["units"], r["unit_cost"], r["amount"]) for r in valuation_rows][-4:] == [
        ("MUG", "16", "2.312500", "37.00"), ("total", "56", "", "102.00"),
        ("inventory accounts' balance (Assets:Inventory and below)", "", "", "102.00"),
        ("difference (must be 0.00)", "", "", "0.00")]
    rf_rows = [r for r in rows if r["section"] == "inventory_rollforward" and r["kind"] == "row"]
    assert [(r["line"], r["units"], r["amount"]) for r in rf_rows][2] == ("COGS (units sold, net of returns)", "-2",
                                                                            "-4.00")

    first = {fmt: render(pack(engine), fmt) for fmt in PackFormat}
    time.sleep(1.1)
    assert {fmt: render(pack(engine), fmt) for fmt in PackFormat} == first


def test_a_subsidiary_with_no_inventory_says_so(engine):
    books(engine)  # settlements and fees, no unit
    p = pack(engine)
    valuation, rollforward = p.section("inventory_valuation"), p.section("inventory_rollforward")
    assert valuation.notes == ("no inventory: no units held on 2026-10-31",)
    assert valuation.tables[0].rows == () and valuation.tables[0].totals == ()
    assert rollforward.notes == ("no inventory: nothing held on 2026-09-30 or 2026-10-31 and nothing moved in "
                                 "2026-10",)
    html = render(p, PackFormat.html).decode()
    assert '<section id="inventory_valuation">' in html and '<section id="inventory_rollforward">' in html
    assert html.count("no inventory: no units held on 2026-10-31") == 2  # the note and the empty table's line
    notes = [r["note"] for r in csv.DictReader(io.StringIO(render(p, PackFormat.csv).decode()))
             if r["kind"] == "note" and r["section"].startswith("inventory_")]
    assert "no inventory: no units held on 2026-10-31" in notes
    ws = openpyxl.load_workbook(io.BytesIO(render(p, PackFormat.xlsx)))["Inventory roll-forward"]
    assert any(str(c.value).startswith("no inventory: nothing held") for r in ws.iter_rows() for c in r)
