"""Gross to net through the real database, on the negative settlement 7101 and the next one, 7102, that takes its
balance back and charges the card (tests.settlements.test_statuses builds them; figures worked by hand there):

  7101, dated 04-16, total -27.49: Subscription Fee -39.99 (04-05); order on 04-07: 20.00, -3.00, -4.50
  7102, deposited 04-30, total 46.50: Payable to Amazon -27.49 (04-15); Successful charge 27.49 (04-16);
        order on 04-20: 60.00, -9.00, -4.50
"""

import json
from datetime import date

from typer.testing import CliRunner

from ledger_service.cli.main import app
from ledger_service.reports.gross_to_net import MARKETPLACE_NOTE, gross_to_net
from tests.settlements.test_statuses import ingest_negative_pair


def report(engine, **filters) -> dict:
    with engine.connect() as conn:
        return gross_to_net(conn, "US", **filters)


def lines(cur: dict) -> list[tuple[str, str]]:
    return [(b["line"], b["amount"]) for b in cur["bridge"]]


def closing(cur: dict) -> tuple:
    return tuple(cur.get(k) for k in ("net_proceeds", "check", "disbursed", "carried", "in_transit"))


def test_both_settlements_close_with_the_carry_and_the_card_charge(engine):
    ingest_negative_pair(engine)
    data = report(engine)
    [usd] = data["currencies"]
    # sales 20.00 + 60.00; fees -39.99 - 3.00 - 4.50 - 9.00 - 4.50 = -60.99; carried -27.49; charged 27.49
    assert lines(usd) == [("gross sales", "80.00"), ("Amazon fees", "-60.99"),
                          ("balance carried from earlier settlements", "-27.49"), ("card charges", "27.49")]
    assert [a["account"] for a in usd["bridge"][2]["accounts"]] == ["Liabilities:Amazon:Payable"]
    # net 19.01 = 46.50 disbursed - 27.49 carried: nothing in transit
    assert closing(usd) == ("19.01", "0.00", "46.50", "-27.49", "0.00")
    assert (data["subsidiary_name"], data["notes"]) == ("Example Brand Inc. (US)", [])


def test_a_period_shows_what_is_in_transit(engine):
    ingest_negative_pair(engine)
    [usd] = report(engine, start=date(2026, 4, 1), end=date(2026, 4, 25))["currencies"]
    # Every row is dated in the period; 7101's carry (04-16) is in it, 7102's deposit (04-30) is not:
    # net 19.01 - 0.00 disbursed - (-27.49) carried = 46.50 in transit, which is 7102's rows awaiting their deposit.
    assert closing(usd) == ("19.01", "0.00", "0.00", "-27.49", "46.50")

    [usd] = report(engine, start=date(2026, 4, 17), end=date(2026, 4, 30))["currencies"]
    # Only 7102's order (46.50) is dated here, and its deposit: nothing in transit.
    assert lines(usd) == [("gross sales", "60.00"), ("Amazon fees", "-13.50")]
    assert closing(usd) == ("46.50", "0.00", "46.50", "0.00", "0.00")


def test_filtered_by_settlement(engine):
    ingest_negative_pair(engine)
    [first] = report(engine, settlement_id="7101")["currencies"]
    assert lines(first) == [("gross sales", "20.00"), ("Amazon fees", "-47.49")]
    assert closing(first) == ("-27.49", "0.00", "0.00", "-27.49", "0.00")
    [second] = report(engine, settlement_id="7102")["currencies"]
    assert lines(second) == [("gross sales", "60.00"), ("Amazon fees", "-13.50"),
                             ("balance carried from earlier settlements", "-27.49"), ("card charges", "27.49")]
    assert closing(second) == ("46.50", "0.00", "46.50", "0.00", "0.00")
    assert report(engine, settlement_id="nope")["currencies"] == []


def test_filtered_by_marketplace_leaves_out_the_cash_lines(engine):
    ingest_negative_pair(engine)
    data = report(engine, marketplace="AMAZON.COM")  # stored as amazon.com: compared case-insensitively
    [usd] = data["currencies"]
    # Only the two orders carry a marketplace: 20.00 + 60.00 sales, -3.00 - 4.50 - 9.00 - 4.50 = -21.00 fees.
    assert lines(usd) == [("gross sales", "80.00"), ("Amazon fees", "-21.00")]
    assert closing(usd) == ("59.00", "0.00", None, None, None)
    assert set(usd) == {"currency", "bridge", "net_proceeds", "check"}
    assert data["notes"] == [MARKETPLACE_NOTE]
    assert report(engine, marketplace="amazon.co.uk")["currencies"] == []


def test_the_cli_and_the_rest_api_take_the_filters(engine, db_url, monkeypatch):
    from tests.support.api import api_client

    ingest_negative_pair(engine)
    monkeypatch.setenv("LEDGER_DATABASE_URL", db_url)
    runner = CliRunner()
    out = runner.invoke(app, ["report", "gross-to-net", "-s", "US", "--settlement", "7101", "--format", "json"])
    assert out.exit_code == 0, out.output
    assert closing(json.loads(out.output)["currencies"][0]) == ("-27.49", "0.00", "0.00", "-27.49", "0.00")

    table = runner.invoke(app, ["report", "gross-to-net", "-s", "US", "--from", "2026-04-01", "--to", "2026-04-25"])
    assert table.exit_code == 0, table.output
    assert "gross to net: Example Brand Inc. (US) USD 2026-04-01 to 2026-04-25" in table.output
    assert "in transit / not yet settled" in table.output and "46.50" in table.output
    assert "check: lines - clearing moved (must be 0.00)" in table.output
    by_market = runner.invoke(app, ["report", "gross-to-net", "-s", "US", "--marketplace", "amazon.com"])
    assert "note: filtered by marketplace" in by_market.output and "disbursed in the period" not in by_market.output
    bad = runner.invoke(app, ["report", "gross-to-net", "-s", "XX"])
    assert bad.exit_code == 1 and "unknown subsidiary 'XX'" in bad.output

    recon = runner.invoke(app, ["reconcile", "settlements", "-s", "US"])
    assert recon.exit_code == 0 and "carried" in recon.output and "-27.49" in recon.output
    one = runner.invoke(app, ["reconcile", "settlements", "-s", "US", "--settlement", "7102", "--format", "json"])
    assert json.loads(one.output)["status"] == "reconciled"
    missing = runner.invoke(app, ["reconcile", "settlements", "-s", "US", "--settlement", "1"])
    assert missing.exit_code == 1 and "settlement 1 is not in subsidiary US" in missing.output

    client = api_client(engine, "viewer")
    r = client.get("/reports/gross-to-net", params={"subsidiary": "US", "settlement": "7102"})
    assert r.status_code == 200, r.text
    assert closing(r.json()["currencies"][0]) == ("46.50", "0.00", "46.50", "0.00", "0.00")
    r = client.get("/reports/gross-to-net", params={"subsidiary": "US", "marketplace": "Amazon.com",
                                                    "from": "2026-04-01", "to": "2026-04-10"})
    [usd] = r.json()["currencies"]
    assert (usd["net_proceeds"], usd["disbursed"]) == ("12.50", None)  # 7101's order only; no cash by marketplace
