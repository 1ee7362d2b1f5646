"""A EUR settlement ingested into the UK subsidiary (GBP): every entry at its own date's rate, the disbursement
converted at the deposit date's rate with its realized FX, figures worked by hand in tests/fx/support.py."""

from decimal import Decimal as D

import pytest
from sqlalchemy import func, select

from ledger_service.balances.integrity import verify
from ledger_service.balances.queries import balance_rows, trial_balance
from ledger_service.ingest.service import ingest_bytes
from ledger_service.journal.service import entry_view
from ledger_service.sources.model import ParseError
from ledger_service.store.tables import entries, events, postings
from tests.fx.support import CARRIED, RATES, SETTLEMENT, eur_settlement, import_eur_gbp


def views(engine, subsidiary="UK") -> list[dict]:
    with engine.connect() as conn:
        ids = conn.execute(select(entries.c.id).where(entries.c.subsidiary == subsidiary)
                           .order_by(entries.c.id)).scalars().all()
        return [entry_view(conn, i) for i in ids]


def disbursement(engine) -> tuple[dict, dict]:
    """The settlement's two disbursement entries: the exchange (in EUR), then the deposit (in GBP)."""
    exchange, deposit = [v for v in views(engine) if v["description"].startswith("Disbursement of settlement")]
    return exchange, deposit


def lines(view: dict) -> list[tuple[str, str, str]]:
    return [(p["account"], p["amount"], p["functional_amount"]) for p in view["postings"]]


def balances(engine, subsidiary="UK") -> dict[tuple[str, str], tuple[D, D]]:
    with engine.connect() as conn:
        return {(r["account"], r["commodity"]): (r["balance"] + r["pending"], r["functional_balance"])
                for r in balance_rows(conn, subsidiary)}


def clearing_of(engine, settlement_id: str) -> tuple[int, int]:
    """Net of Amazon clearing postings tagged with the settlement: (EUR minor units, GBP minor units)."""
    with engine.connect() as conn:
        from ledger_service.store.tables import accounts
        row = conn.execute(
            select(func.coalesce(func.sum(postings.c.amount), 0), func.coalesce(func.sum(postings.c.functional_amount), 0))
            .join(accounts, accounts.c.id == postings.c.account_id)
            .where(postings.c.subsidiary == "UK", postings.c.settlement_id == settlement_id,
                   accounts.c.name == "Assets:Amazon:Clearing")).one()
        return int(row[0]), int(row[1])


def check_whole(engine, subsidiary="UK") -> None:
    with engine.connect() as conn:
        tb = trial_balance(conn, subsidiary)
        report = verify(conn)
    assert D(tb["functional_total"]) == 0
    assert all(D(t["balance"]) == 0 for t in tb["totals"]), tb["totals"]
    assert report.ok, report.problems


@pytest.mark.parametrize("deposit_rate, converted, realized", [
    ("0.88", "96.80", "-3.00"),  # a gain: a credit to Income:FX:Realized
    ("0.84", "92.40", "1.40"),  # a loss: a debit
])
def test_each_entry_posts_at_its_date_and_the_disbursement_realizes_fx(engine, deposit_rate, converted, realized):
    import_eur_gbp(engine, RATES | {"2026-07-16": deposit_rate})
    report = ingest_bytes(engine, eur_settlement(), "de.txt", "UK")
    assert (report.events, report.entries) == (4, 5)  # 2 orders, the fee, the summary with its 2 entries
    order_a, order_b, fee, exchange, deposit = views(engine)

    assert (order_a["currency"], order_a["rate"]) == ("EUR", "0.85123")
    assert lines(order_a) == [
        ("Assets:Amazon:Clearing", "80.00", "68.10"),
        ("Income:Amazon:Sales:Principal", "-100.00", "-85.13"),  # -85.12, plus the rounding residual of 0.01
        ("Expenses:Amazon:Fees:Referral", "15.00", "12.77"),
        ("Expenses:Amazon:Fees:Fulfillment", "5.00", "4.26")]
    assert (order_b["rate"], lines(order_b)[0]) == ("0.86", ("Assets:Amazon:Clearing", "40.00", "34.40"))
    # no rate on 07-14: 07-12's, the latest within the fallback window
    assert (fee["date"], fee["rate"], lines(fee)[0]) == ("2026-07-14", "0.87",
                                                         ("Assets:Amazon:Clearing", "-10.00", "-8.70"))

    assert (exchange["date"], exchange["currency"], exchange["rate"]) == ("2026-07-16", "EUR", deposit_rate)
    assert lines(exchange) == [
        ("Assets:Amazon:Clearing", "-110.00", f"-{CARRIED}"),
        ("Assets:Amazon:Conversion", "110.00", converted),
        ("Income:FX:Realized", "0.00", realized)]
    assert (deposit["currency"], deposit["rate"]) == ("GBP", "1")
    assert lines(deposit) == [("Assets:Bank:Operating", converted, converted),
                              ("Assets:Amazon:Conversion", f"-{converted}", f"-{converted}")]
    assert all(p["dimensions"]["settlement_id"] == SETTLEMENT for v in (exchange, deposit) for p in v["postings"])

    # clearing for the settlement nets to zero in EUR and in GBP; Conversion nets to zero in GBP
    assert clearing_of(engine, SETTLEMENT) == (0, 0)
    held = balances(engine)
    assert held[("Assets:Amazon:Conversion", "EUR")] == (D("110.00"), D(converted))
    assert held[("Assets:Amazon:Conversion", "GBP")] == (D(f"-{converted}"), D(f"-{converted}"))
    assert held[("Assets:Bank:Operating", "GBP")] == (D(converted), D(converted))
    assert held[("Income:FX:Realized", "EUR")] == (D("0.00"), D(realized))
    assert ("Assets:Amazon:Clearing", "EUR") not in held  # nothing left, in either currency
    check_whole(engine)

    again = ingest_bytes(engine, eur_settlement(), "de.txt", "UK")  # idempotent
    assert (again.events, again.entries, again.duplicates) == (0, 0, 4)
    assert balances(engine) == held


def counts(engine) -> tuple[int, int]:
    with engine.connect() as conn:
        return tuple(conn.execute(select(func.count()).select_from(t)).scalar() for t in (events, postings))


def test_a_missing_rate_refuses_the_file_naming_pair_date_and_line(engine):
    import_eur_gbp(engine, {"2026-07-09": "0.86", "2026-07-12": "0.87", "2026-07-16": "0.88"})
    before = counts(engine)
    with pytest.raises(ParseError) as caught:
        ingest_bytes(engine, eur_settlement(), "de.txt", "UK")
    message = str(caught.value)
    assert message.startswith("de.txt:3: ")  # order A's first row: no EUR->GBP rate on or within 7 days before 07-02
    assert "EUR->GBP" in message and "2026-07-02" in message
    assert counts(engine) == before  # nothing of the file


def test_a_missing_deposit_rate_refuses_the_file_too(engine):
    import_eur_gbp(engine, RATES)  # 07-12 is within 7 days of the 07-16 deposit: move the deposit further
    before = counts(engine)
    with pytest.raises(ParseError, match=r"^de.txt:2: .*EUR->GBP.*2026-07-25"):
        ingest_bytes(engine, eur_settlement(deposit="2026-07-25"), "de.txt", "UK")
    assert counts(engine) == before


def test_functional_currency_entries_keep_rate_one(engine):
    from tests.ingest.test_ingest import SAMPLE
    from ledger_service.ingest.service import ingest_file

    ingest_file(engine, SAMPLE, "US")  # no rates in the ledger at all: none is asked for
    with engine.connect() as conn:
        assert set(conn.execute(select(entries.c.rate).where(entries.c.subsidiary == "US")).scalars()) == {"1"}


def test_a_negative_foreign_settlement_is_carried_at_the_deposit_rate_without_realized_fx(engine):
    from tests.fx.support import storage
    import_eur_gbp(engine, RATES | {"2026-07-16": "0.88"})
    ingest_bytes(engine, eur_settlement(total="-10.00", rows=[storage("-10.00", "2026-07-14")]), "neg.txt", "UK")
    _fee, carry = views(engine)
    assert (carry["currency"], carry["rate"]) == ("EUR", "0.88")
    assert lines(carry) == [("Liabilities:Amazon:Payable", "-10.00", "-8.80"),
                            ("Assets:Amazon:Clearing", "10.00", "8.80")]
    # EUR clearing is closed; the 0.10 GBP the two rates leave stays in clearing until revalued at period end
    assert clearing_of(engine, SETTLEMENT) == (0, 10)
    assert ("Income:FX:Realized", "EUR") not in balances(engine)
    check_whole(engine)


def finances_page(amount: str, fee: str, on: str) -> bytes:
    import json
    money = lambda a: {"CurrencyCode": "EUR", "CurrencyAmount": a}  # noqa: E731
    return json.dumps({"payload": {"FinancialEvents": {"ShipmentEventList": [{
        "AmazonOrderId": "302-1", "PostedDate": f"{on}T08:00:00Z", "MarketplaceName": "Amazon.de",
        "ShipmentItemList": [{"SellerSKU": "SKU-A", "OrderItemId": "1", "QuantityShipped": 1,
                              "ItemChargeList": [{"ChargeType": "Principal", "ChargeAmount": money(amount)}],
                              "ItemFeeList": [{"FeeType": "Commission", "FeeAmount": money(fee)}]}]}]}}}).encode()


def test_provisional_finances_data_voided_by_the_flat_file_is_not_carried(engine):
    """The open group's amounts (pending, at 07-02's rate) are in clearing when the flat file arrives; its
    precedence voids them after the disbursement, so the disbursement is measured against the file's rows only."""
    import_eur_gbp(engine, RATES | {"2026-07-16": "0.88"})
    ingest_bytes(engine, finances_page(100.0, -15.0, "2026-07-02"), "open.json", "UK", group_id=SETTLEMENT,
                 group_final=False)
    assert clearing_of(engine, SETTLEMENT) == (8500, 7235)  # 85.00 EUR; 85 x 0.85123 = 72.35455 -> 72.35
    report = ingest_bytes(engine, eur_settlement(), "de.txt", "UK")
    assert report.voided == 2
    exchange, _ = disbursement(engine)
    assert lines(exchange) == [("Assets:Amazon:Clearing", "-110.00", "-93.80"),
                               ("Assets:Amazon:Conversion", "110.00", "96.80"),
                               ("Income:FX:Realized", "0.00", "-3.00")]
    assert clearing_of(engine, SETTLEMENT) == (0, 0)
    check_whole(engine)


def groups_page(total: float, deposit: str) -> bytes:
    import json
    return json.dumps({"payload": {"FinancialEventGroupList": [{
        "FinancialEventGroupId": SETTLEMENT, "ProcessingStatus": "Closed", "FundTransferStatus": "Succeeded",
        "OriginalTotal": {"CurrencyCode": "EUR", "CurrencyAmount": total},
        "FinancialEventGroupStart": "2026-07-01T00:00:00Z", "FinancialEventGroupEnd": "2026-07-14T23:59:59Z",
        "FundTransferDate": f"{deposit}T00:00:00Z"}]}}).encode()


def test_a_closed_foreign_group_converts_against_its_final_amounts(engine):
    """Final Finances amounts (85.00 EUR to clearing at 0.85123: 72.35 GBP), then the closed group: 85.00 EUR at
    07-16's 0.88 is 74.80 GBP, a realized gain of 2.45."""
    import_eur_gbp(engine, RATES | {"2026-07-16": "0.88"})
    ingest_bytes(engine, finances_page(100.0, -15.0, "2026-07-02"), "final.json", "UK", group_id=SETTLEMENT,
                 group_final=True)
    ingest_bytes(engine, groups_page(85.0, "2026-07-16"), "groups.json", "UK")
    exchange, deposit = disbursement(engine)
    assert lines(exchange) == [("Assets:Amazon:Clearing", "-85.00", "-72.35"),
                               ("Assets:Amazon:Conversion", "85.00", "74.80"),
                               ("Income:FX:Realized", "0.00", "-2.45")]
    assert lines(deposit)[0] == ("Assets:Bank:Operating", "74.80", "74.80")
    assert clearing_of(engine, SETTLEMENT) == (0, 0)
    check_whole(engine)


def test_rows_written_in_many_batches_are_all_carried(engine, monkeypatch):
    """One event per batch: the rows are in the ledger before the summary, and counted once."""
    from ledger_service.ingest import service

    monkeypatch.setattr(service, "BATCH", 1)
    import_eur_gbp(engine, RATES | {"2026-07-16": "0.88"})
    ingest_bytes(engine, eur_settlement(), "de.txt", "UK")
    exchange, _ = disbursement(engine)
    assert lines(exchange)[0] == ("Assets:Amazon:Clearing", "-110.00", "-93.80")
    assert clearing_of(engine, SETTLEMENT) == (0, 0)
    check_whole(engine)


def test_the_flat_file_replaces_a_closed_groups_conversion(engine):
    """The closed group converted 85.00 EUR (realized 2.45); the flat file voids it, amounts and both disbursement
    entries, and converts its own 110.00 EUR against its own rows: only its 96.80 GBP and 3.00 gain remain."""
    import_eur_gbp(engine, RATES | {"2026-07-16": "0.88"})
    ingest_bytes(engine, finances_page(100.0, -15.0, "2026-07-02"), "final.json", "UK", group_id=SETTLEMENT,
                 group_final=True)
    ingest_bytes(engine, groups_page(85.0, "2026-07-16"), "groups.json", "UK")
    report = ingest_bytes(engine, eur_settlement(), "de.txt", "UK")
    assert report.voided == 4  # principal, commission, and the group's two disbursement entries
    held = balances(engine)
    assert held[("Assets:Bank:Operating", "GBP")] == (D("96.80"), D("96.80"))
    assert held[("Income:FX:Realized", "EUR")] == (D("0.00"), D("-3.00"))
    assert clearing_of(engine, SETTLEMENT) == (0, 0)
    check_whole(engine)
