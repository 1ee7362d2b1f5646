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
    for section in ("trial_balance", "gross_to_net", "settlements", "exceptions", "fx_revaluation", "exports"):
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
    assert wb.sheetnames == ["Close pack", "Trial balance", "Gross to net", "Settlements", "Exceptions",
                             "FX revaluation", "Exports"]
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
