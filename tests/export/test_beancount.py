"""The beancount export: bean-check passes (every month-end balance assertion holds), beancount's own balances
equal ours, and the same ledger exports byte-identical text."""

from dataclasses import replace
from datetime import date
from decimal import Decimal

from beancount import loader
from beancount.core import data
from typer.testing import CliRunner

from ledger_service.balances.queries import balance_rows
from ledger_service.export.beancount import commodity_names, quote
from ledger_service.export.service import beancount_text
from ledger_service.ingest.service import ingest_file
from ledger_service.journal.model import EntryDraft, money_posting, units_posting
from ledger_service.journal.service import post, reverse
from tests.ingest.test_ingest import SAMPLE
from tests.support.builders import event, transfer


def _ledger(engine) -> dict:
    """Manual journals (units at cost, an odd SKU, an inexact cost, a pending entry, a reversal) and the sample."""
    ids = {}
    ids["opening"] = post(engine, event("open"), [replace(
        transfer("Assets:Bank:Operating", "Equity:OpeningBalances", "25000.00", on=date(2026, 5, 1)),
        description='Opening "bank" balance \\ 2026')]).entry_ids[0]
    buy = EntryDraft("US", date(2026, 5, 3), "USD", "Purchase 500 NX-HD-1200 at 18.40", (
        units_posting("Assets:Inventory:Warehouse", "NX-HD-1200", Decimal(500), Decimal("18.40"), "USD",
                      location="WH-NJ"),
        money_posting("Liabilities:AccountsPayable", Decimal("-9200.00"))))
    ids["buy"] = post(engine, event("buy"), [buy]).entry_ids[0]
    ship = EntryDraft("US", date(2026, 5, 20), "USD", "Ship 300 to FBA", (
        units_posting("Assets:Inventory:FBA:Inbound", "NX-HD-1200", Decimal(300), Decimal("18.40"), "USD",
                      marketplace="amazon.com"),
        units_posting("Assets:Inventory:Warehouse", "NX-HD-1200", Decimal(-300), Decimal("18.40"), "USD",
                      location="WH-NJ")))
    post(engine, event("ship"), [ship])
    odd = EntryDraft("US", date(2026, 6, 2), "USD", "Purchase 3 of a lower-case SKU at 1.333", (
        units_posting("Assets:Inventory:Warehouse", "ab-12/blue (v2)", Decimal(3), Decimal("1.333"), "USD"),
        money_posting("Liabilities:AccountsPayable", Decimal("-4.00"))))
    post(engine, event("odd"), [odd])
    accrual = transfer("Expenses:Amazon:Fees:Storage", "Liabilities:Accrued", "125.40", on=date(2026, 6, 30),
                       marketplace="amazon.com")
    ids["accrual"] = post(engine, event("accrual"), [accrual]).entry_ids[0]
    reverse(engine, ids["accrual"], "invoice received", date(2026, 7, 1))
    pending = replace(transfer("Assets:Amazon:Reserve", "Income:Amazon:Sales:Principal", "42.00",
                               on=date(2026, 7, 15), settlement_id="999"), state="pending")
    ids["pending"] = post(engine, event("pending"), [pending]).entry_ids[0]
    ingest_file(engine, SAMPLE, "US")
    post(engine, event("uk", subsidiary="UK"), [transfer("Assets:Bank:Operating", "Equity:OpeningBalances",
                                                         "100.00", subsidiary="UK", currency="GBP")])
    return ids


def _beancount_balance(entries, account: str, currency: str, before: date | None = None) -> Decimal:
    total = Decimal(0)
    for entry in entries:
        if isinstance(entry, data.Transaction) and (before is None or entry.date < before):
            total += sum((p.units.number for p in entry.postings
                          if p.account == account and p.units.currency == currency), Decimal(0))
    return total


def _ours(engine, account: str, commodity: str, as_of: date | None = None) -> Decimal:
    with engine.connect() as conn:
        return sum((r["balance"] + r["pending"] for r in balance_rows(conn, "US", as_of, account)
                    if r["account"] == account and r["commodity"] == commodity), Decimal(0))


def test_export_passes_bean_check_and_balances_match(engine):
    _ledger(engine)
    with engine.connect() as conn:
        text = beancount_text(conn, "US")
        again = beancount_text(conn, "US")
    assert text == again  # deterministic
    entries, errors, options = loader.load_string(text)
    assert errors == [], "\n".join(str(e) for e in errors) + "\n" + text
    assert options["operating_currency"] == ["USD"]
    tampered = text.replace("06-01 balance Assets:Bank:Operating  25000.00", "06-01 balance Assets:Bank:Operating  25000.10")
    assert tampered != text and loader.load_string(tampered)[1]  # the assertions do check something

    txns = [e for e in entries if isinstance(e, data.Transaction)]
    assert {t.flag for t in txns} == {"*", "!"}
    assert any(t.narration == 'Opening "bank" balance \\ 2026' for t in txns)
    balances = [e for e in entries if isinstance(e, data.Balance)]
    assert balances and all(b.date.day == 1 for b in balances)
    assert {b.date for b in balances} >= {date(2026, 6, 1), date(2026, 7, 1), date(2026, 8, 1)}

    # beancount's own balances equal ours, by hand: money and units
    for account, commodity, bean in [("Assets:Bank:Operating", "USD", "USD"),
                                     ("Income:Amazon:Sales:Principal", "USD", "USD"),
                                     ("Assets:Inventory:Warehouse", "NX-HD-1200", "NX-HD-1200"),
                                     ("Assets:Inventory:Warehouse", "ab-12/blue (v2)",
                                      commodity_names({"ab-12/blue (v2)"}, {"USD"})["ab-12/blue (v2)"])]:
        assert _beancount_balance(entries, account, bean) == _ours(engine, account, commodity) != 0
    assert _beancount_balance(entries, "Assets:Bank:Operating", "USD", date(2026, 6, 1)) == \
        _ours(engine, "Assets:Bank:Operating", "USD", date(2026, 5, 31)) == Decimal("25000.00")
    assert _beancount_balance(entries, "Assets:Inventory:Warehouse", "NX-HD-1200") == 200

    # the SKU keeps its original name in the commodity's metadata; units move at cost
    commodity = {e.currency: e for e in entries if isinstance(e, data.Commodity)}
    assert commodity["NX-HD-1200"].meta["sku"] == "NX-HD-1200"
    odd = commodity_names({"ab-12/blue (v2)"}, {"USD"})["ab-12/blue (v2)"]
    assert commodity[odd].meta["sku"] == "ab-12/blue (v2)"
    assert "500 NX-HD-1200 {18.40 USD}" in text
    assert "3 AB-12-BLUE--V2 {{4.00 USD}}" in text  # 3 x 1.333 is not 4.00: the total cost keeps our weight
    # dimensions and entry metadata
    assert 'settlement_id: "999"' in text and 'location: "WH-NJ"' in text and "entry_id:" in text
    assert "UK" not in {t.meta.get("subsidiary") for t in txns} and "GBP" not in text


def test_export_to_a_date(engine):
    _ledger(engine)
    with engine.connect() as conn:
        text = beancount_text(conn, "US", date(2026, 6, 15))
    entries, errors, _ = loader.load_string(text)
    assert errors == [], "\n".join(str(e) for e in errors)
    txns = [e for e in entries if isinstance(e, data.Transaction)]
    assert max(t.date for t in txns) <= date(2026, 6, 15)
    assert max(e.date for e in entries if isinstance(e, data.Balance)) == date(2026, 6, 16)
    assert _beancount_balance(entries, "Assets:Inventory:Warehouse", "NX-HD-1200") == \
        _ours(engine, "Assets:Inventory:Warehouse", "NX-HD-1200", date(2026, 6, 15)) == 200


def test_cli_writes_the_file(engine, tmp_path, monkeypatch):
    from ledger_service.cli.main import app

    _ledger(engine)
    monkeypatch.setenv("LEDGER_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    out = tmp_path / "us.beancount"
    result = CliRunner().invoke(app, ["export", "beancount", "-s", "US", "--out", str(out)])
    assert result.exit_code == 0, result.output
    with engine.connect() as conn:
        assert out.read_text(encoding="utf-8") == beancount_text(conn, "US")
    assert loader.load_file(str(out))[1] == []


def test_commodity_names_are_valid_deterministic_and_one_to_one():
    skus = {"nx-hd-1200", "NX-HD-1200", "1234", "a" * 40, "usd", "x_y.z'", "ünï"}
    names = commodity_names(skus, {"USD"})
    assert names == commodity_names(set(sorted(skus, reverse=True)), {"USD"})
    assert len(set(names.values())) == len(skus)
    assert names["1234"] == "SKU-1234" and names["x_y.z'"] == "X_Y.Z"
    assert all(len(n) <= 24 and n[0].isalpha() and n not in {"USD"} for n in names.values())
    assert quote('a "b"\nc') == '"a \\"b\\" c"'


def test_a_foreign_settlement_and_its_revaluation_export_at_our_functional_amounts(engine):
    """A EUR settlement in the GBP subsidiary (tests/fx/support.py: rows at their dates' rates, paid out in August
    with realized FX) and July's revaluation with its reversal: bean-check passes, every assertion (per commodity,
    the FX-only amounts in GBP included) holds, and beancount's GBP weights are our functional amounts."""
    from ledger_service.fx.service import revalue_period
    from ledger_service.ingest.service import ingest_bytes
    from ledger_service.store.engine import write_transaction
    from tests.fx.support import RATES, eur_settlement, import_eur_gbp

    import_eur_gbp(engine, RATES | {"2026-07-31": "0.87", "2026-08-03": "0.88"})
    post(engine, event("uk-open", subsidiary="UK"), [transfer("Assets:Bank:Operating", "Equity:OpeningBalances",
                                                              "100.00", subsidiary="UK", currency="GBP",
                                                              on=date(2026, 7, 1))])
    ingest_bytes(engine, eur_settlement(deposit="2026-08-03"), "de.txt", "UK")
    with write_transaction(engine) as conn:
        revalue_period(conn, "UK", "2026-07", "close-1")
        text = beancount_text(conn, "UK")
        assert beancount_text(conn, "UK") == text  # deterministic
    entries, errors, options = loader.load_string(text)
    assert errors == [], "\n".join(str(e) for e in errors) + "\n" + text
    assert options["operating_currency"] == ["GBP"]
    # order A at 0.85123: each posting in EUR, weighed at our GBP amount (the residual included)
    assert "Assets:Amazon:Clearing  80.00 EUR @@ 68.10 GBP" in text
    assert "Income:Amazon:Sales:Principal  -100.00 EUR @@ 85.13 GBP" in text
    # the disbursement: clearing given up at what it carried, Conversion at 08-03's rate, the gain in GBP
    assert "Assets:Amazon:Clearing  -110.00 EUR @@ 93.80 GBP" in text
    assert "Assets:Amazon:Conversion  110.00 EUR @@ 96.80 GBP" in text
    assert "Income:FX:Realized  -3.00 GBP" in text
    # the revaluation (amount 0 in EUR) moves GBP only
    assert "Assets:Amazon:Clearing  1.90 GBP" in text and "Income:FX:Unrealized  -1.90 GBP" in text
    # the July-end assertion of clearing in GBP is its GBP balance (none) plus the revaluation's 1.90
    assert "2026-08-01 balance Assets:Amazon:Clearing  1.90 GBP" in text
    assert "2026-08-01 balance Assets:Amazon:Clearing  110.00 EUR" in text

    def weight(account: str, currency: str, before: date | None = None) -> Decimal:
        total = Decimal(0)
        for e in entries:
            if isinstance(e, data.Transaction) and (before is None or e.date < before):
                for p in e.postings:
                    if p.account == account:
                        w = p.units.number * (p.price.number if p.price else 1)
                        if (p.price.currency if p.price else p.units.currency) == currency:
                            total += w
        return total

    with engine.connect() as conn:
        ours = {(r["account"]): r["functional_balance"] for r in balance_rows(conn, "UK", date(2026, 7, 31))
                if r["commodity"] == "EUR"}
        later = {(r["account"], r["commodity"]): r for r in balance_rows(conn, "UK")}
    assert ours["Assets:Amazon:Clearing"] == Decimal("95.70")
    for account in ("Assets:Amazon:Clearing", "Income:Amazon:Sales:Principal", "Income:FX:Unrealized"):
        assert abs(weight(account, "GBP", date(2026, 8, 1)) - ours[account]) < Decimal("0.000001"), account
    assert _beancount_balance(entries, "Assets:Bank:Operating", "GBP") == later[
        ("Assets:Bank:Operating", "GBP")]["balance"] == Decimal("196.80")
    assert _beancount_balance(entries, "Assets:Amazon:Conversion", "EUR") == Decimal("110.00")
    assert _beancount_balance(entries, "Assets:Amazon:Conversion", "GBP") == Decimal("-96.80")
    assert _beancount_balance(entries, "Income:FX:Realized", "GBP") == later[
        ("Income:FX:Realized", "EUR")]["functional_balance"] == Decimal("-3.00")


def test_a_functional_amount_against_its_amounts_sign_is_written_apart():
    """beancount refuses negative prices: a posting of 0.01 EUR carried at -0.02 GBP is written as 0.01 EUR at a
    zero price plus -0.02 GBP on the same account, whose GBP assertion then includes it."""
    from ledger_service.export.beancount import Assertion, ExportEntry, Journal, render
    from ledger_service.journal.model import Posting

    on = date(2026, 7, 2)
    postings = (Posting("Assets:A", Decimal("10.00"), functional_amount=Decimal("8.62")),
                Posting("Assets:B", Decimal("-10.01"), functional_amount=Decimal("-8.60")),
                Posting("Assets:C", Decimal("0.01"), functional_amount=Decimal("-0.02")))
    entry = ExportEntry(1, 1, on, "posted", "EUR", "0.86", "odd rounding", postings)
    end = date(2026, 7, 31)
    checks = (Assertion(end, "Assets:A", "EUR", Decimal("10.00")), Assertion(end, "Assets:B", "EUR", Decimal("-10.01")),
              Assertion(end, "Assets:C", "EUR", Decimal("0.01")))
    text = render(Journal("UK", "GBP", (entry,), checks))
    assert "Assets:C  0.01 EUR @@ 0.00 GBP\n  Assets:C  -0.02 GBP" in text
    assert "2026-08-01 balance Assets:C  -0.02 GBP" in text
    assert "Assets:B  -10.01 EUR @@ 8.60 GBP" in text
    assert loader.load_string(text)[1] == []
