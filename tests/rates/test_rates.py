"""Rates as data, on both engines: a plain CSV and the ECB's CSV imported whole or not at all, the rate in force on
a day (direct, an earlier day, inverse, cross through EUR), the CLI and the REST endpoints.

Figures worked out by hand: 1 / 1.0850 = 0.92165898617... -> 0.9216589862 (10 significant digits);
0.8712 / 1.0850 = 0.80294930875576... -> 0.8029493088.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from ledger_service.errors import Conflict, Invalid, NotFound
from ledger_service.rates.parse import parse_rates
from ledger_service.rates.service import import_file, rate_on
from ledger_service.store.tables import rates
from tests.support.api import api_client

ECB_HIST = """Date,USD,JPY,GBP,CYP,
2026-10-30,1.0850,N/A,0.8712,N/A,
2026-10-29,1.0790,162.31,0.8695,N/A,
"""
ECB_DAILY = "Date, USD, JPY, GBP, \n02 November 2026, 1.0870, 163.02, 0.8730, \n"
PLAIN = "date,from,to,rate\n2026-10-30,USD,CAD,1.3925\n2026-10-30,GBP,JPY,186.50\n"


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def count(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(rates)).scalar()


@pytest.fixture
def loaded(engine, tmp_path):
    assert import_file(engine, write(tmp_path, "eurofxref-hist.csv", ECB_HIST)) == {
        "file": "eurofxref-hist.csv", "imported": 5, "duplicates": 0}
    assert import_file(engine, write(tmp_path, "rates.csv", PLAIN))["imported"] == 2
    return engine


def on(engine, source, target, day):
    with engine.connect() as conn:
        return rate_on(conn, source, target, date.fromisoformat(day))


def test_parsers_read_both_ecb_shapes_and_the_plain_csv():
    hist = parse_rates(ECB_HIST, "eurofxref-hist.csv")
    assert [(r.date.isoformat(), r.from_currency, r.to_currency, str(r.rate), r.source, r.line) for r in hist] == [
        ("2026-10-30", "EUR", "USD", "1.0850", "ecb", 2), ("2026-10-30", "EUR", "GBP", "0.8712", "ecb", 2),
        ("2026-10-29", "EUR", "USD", "1.0790", "ecb", 3), ("2026-10-29", "EUR", "JPY", "162.31", "ecb", 3),
        ("2026-10-29", "EUR", "GBP", "0.8695", "ecb", 3)]
    daily = parse_rates(ECB_DAILY, "eurofxref.csv")
    assert {(r.date, r.to_currency, r.rate) for r in daily} == {
        (date(2026, 11, 2), "USD", Decimal("1.0870")), (date(2026, 11, 2), "JPY", Decimal("163.02")),
        (date(2026, 11, 2), "GBP", Decimal("0.8730"))}
    plain = parse_rates(PLAIN, "rates.csv")
    assert [(r.from_currency, r.to_currency, r.rate, r.source) for r in plain] == [
        ("USD", "CAD", Decimal("1.3925"), "rates.csv"), ("GBP", "JPY", Decimal("186.50"), "rates.csv")]


@pytest.mark.parametrize("text, message", [
    ("date,from,to,rate\n2026-10-30,USD,CAD,1.39\n2026-10-31,USD,XYZ,1.39\n", "bad.csv:3: 'XYZ' is not an ISO"),
    ("date,from,to,rate\n2026-10-30,USD,CAD,0\n", "bad.csv:2: rate 0 is outside 0.000001..1000000"),
    ("date,from,to,rate\n2026-10-30,USD,CAD,-1.3\n", "bad.csv:2: rate -1.3 is outside"),
    ("date,from,to,rate\n2026-10-30,USD,CAD,abc\n", "bad.csv:2: rate 'abc' is not a decimal"),
    ("date,from,to,rate\n2101-01-01,USD,CAD,1.3\n", "bad.csv:2: date 2101-01-01 is outside 1999-01-01..2100-12-31"),
    ("date,from,to,rate\n2026-10-30,USD,USD,1\n", "bad.csv:2: from and to are both USD"),
    ("date,from,to,rate\n2026-10-30,USD,CAD,1.39\n2026-10-30,USD,CAD,1.40\n", "bad.csv:3: USD->CAD on 2026-10-30 "
     "is 1.40 here but 1.39 on line 2"),
    ("Date,USD,GBP,\n2026-10-30,1.0850,x,\n", "bad.csv:2: GBP: rate 'x' is not a decimal"),
    ("Date,USD,GBP,\n2026-10-30,1.0850,0.8712,1.2,\n", "bad.csv:2: 3 rates for 2 currencies"),
    ("when,what\n", "bad.csv:1: unknown header"),
])
def test_a_bad_row_is_refused_naming_file_and_line(text, message):
    with pytest.raises(Invalid) as exc:
        parse_rates(text, "bad.csv")
    assert message in exc.value.message


def test_rate_on_direct_inverse_cross_and_fallback(loaded):
    usd = on(loaded, "EUR", "USD", "2026-10-30")
    assert (usd.rate, usd.method, usd.rate_dates, usd.sources) == (Decimal("1.0850"), "direct",
                                                                   (date(2026, 10, 30),), ("ecb",))
    inverse = on(loaded, "USD", "EUR", "2026-10-30")
    assert (inverse.rate, inverse.method) == (Decimal("0.9216589862"), "inverse")
    cross = on(loaded, "USD", "GBP", "2026-10-30")
    assert (cross.rate, cross.method) == (Decimal("0.8029493088"), "cross")
    assert "cross rate through EUR: EUR->GBP 0.8712 / EUR->USD 1.0850" in cross.explanation
    # Saturday 31 October: Friday's rate, said so; the day before, the 29th's
    later = on(loaded, "USD", "GBP", "2026-10-31")
    assert (later.rate, later.rate_dates) == (Decimal("0.8029493088"), (date(2026, 10, 30),) * 2)
    assert "of 2026-10-30, the latest within 7 days before 2026-10-31" in later.explanation
    assert on(loaded, "EUR", "USD", "2026-10-29").rate == Decimal("1.0790")
    assert on(loaded, "EUR", "USD", "2026-11-06").rate == Decimal("1.0850")  # 7 days on: still in force
    assert on(loaded, "CAD", "USD", "2026-10-30").rate == Decimal("0.7181328546")  # 1 / 1.3925
    assert on(loaded, "GBP", "GBP", "2026-10-30").method == "identity"
    with pytest.raises(NotFound, match=r"no EUR->USD rate on 2026-11-07 \(nor within 7 days before it"):
        on(loaded, "EUR", "USD", "2026-11-07")
    with pytest.raises(NotFound, match="no USD->CHF rate on 2026-10-30"):
        on(loaded, "USD", "CHF", "2026-10-30")


def test_reimport_is_a_no_op_and_a_contradiction_imports_nothing(loaded, tmp_path):
    assert count(loaded) == 7
    again = import_file(loaded, write(tmp_path, "eurofxref-hist.csv", ECB_HIST))
    assert (again["imported"], again["duplicates"]) == (0, 5)
    contradicting = "date,from,to,rate\n2026-11-02,EUR,USD,1.0870\n2026-10-30,EUR,GBP,0.8713\n"
    with pytest.raises(Conflict) as exc:
        import_file(loaded, write(tmp_path, "fix.csv", contradicting))
    assert exc.value.message.startswith("fix.csv:3: EUR->GBP on 2026-10-30 is 0.8713 here but the ledger holds "
                                        "0.8712 (from ecb)")
    assert "corrections are not supported yet" in exc.value.message
    assert count(loaded) == 7  # not even line 2's new rate
    # the daily file adds its day; a mix of new and held rates counts both
    daily = import_file(loaded, write(tmp_path, "eurofxref.csv", ECB_DAILY))
    assert (daily["imported"], daily["duplicates"]) == (3, 0)
    assert on(loaded, "EUR", "USD", "2026-11-07").rate == Decimal("1.0870")


def test_cli_imports_and_shows(cli, engine, tmp_path):
    path = write(tmp_path, "eurofxref-hist.csv", ECB_HIST)
    r = cli("rates", "import", str(path), "--format", "json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output) == {"file": "eurofxref-hist.csv", "imported": 5, "duplicates": 0}
    r = cli("rates", "import", str(path))
    assert r.exit_code == 0 and "0 rates imported, 5 duplicates" in r.output, r.output
    r = cli("rates", "show", "--from", "USD", "--to", "GBP", "--date", "2026-10-31")
    assert r.exit_code == 0 and "1 USD = 0.8029493088 GBP on 2026-10-31: cross rate through EUR" in r.output, r.output
    r = cli("rates", "show", "--from", "USD", "--to", "CHF", "--date", "2026-10-31")
    assert r.exit_code == 1 and "no USD->CHF rate on 2026-10-31" in r.output
    bad = write(tmp_path, "bad.csv", "date,from,to,rate\n2026-10-30,USD,CAD,-1\n")
    r = cli("rates", "import", str(bad))
    assert r.exit_code == 1 and "bad.csv:2: rate -1 is outside" in r.output, r.output


def test_rest_lists_pages_and_finds_rates(loaded):
    client = api_client(loaded, "viewer")
    assert client.get("/rates", headers={"Authorization": ""}).status_code == 401
    r = client.get("/rates/USD/GBP/2026-10-31")
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["from"], body["to"], body["rate"], body["method"], body["rate_dates"]) == (
        "USD", "GBP", "0.8029493088", "cross", ["2026-10-30", "2026-10-30"])
    r = client.get("/rates/USD/CHF/2026-10-31")
    assert r.status_code == 404 and "no USD->CHF rate on 2026-10-31" in r.json()["message"]
    assert client.get("/rates/usd/GBP/2026-10-31").status_code == 422
    seen, after = [], None
    while True:
        r = client.get("/rates", params={"limit": 2} | ({"after": after} if after else {}))
        assert r.status_code == 200, r.text
        seen += [(i["date"], i["from"], i["to"], i["rate"]) for i in r.json()["items"]]
        after = r.json()["next"]
        if after is None:
            break
    assert seen == [("2026-10-29", "EUR", "GBP", "0.8695"), ("2026-10-29", "EUR", "JPY", "162.31"),
                    ("2026-10-29", "EUR", "USD", "1.0790"), ("2026-10-30", "EUR", "GBP", "0.8712"),
                    ("2026-10-30", "EUR", "USD", "1.0850"), ("2026-10-30", "GBP", "JPY", "186.50"),
                    ("2026-10-30", "USD", "CAD", "1.3925")]
    r = client.get("/rates", params={"from": "EUR", "to": "USD", "date_from": "2026-10-30", "date_to": "2026-10-30"})
    assert [(i["date"], i["rate"], i["source"]) for i in r.json()["items"]] == [("2026-10-30", "1.0850", "ecb")]
    r = client.get("/rates", params={"from": "USD"})
    assert [i["to"] for i in r.json()["items"]] == ["CAD"] and r.json()["next"] is None
