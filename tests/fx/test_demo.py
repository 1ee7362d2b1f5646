"""The demo's amazon.de story: deterministic files and rates, ingested into UK with every figure tying."""

import json
from datetime import date
from decimal import Decimal as D

from sqlalchemy import select

from ledger_service.balances.integrity import verify
from ledger_service.balances.queries import trial_balance
from ledger_service.demo.fx import ingest_eur_demo, write_eur_demo
from ledger_service.store.tables import accounts, events, postings
from sqlalchemy import func


def test_files_and_rates_are_deterministic_and_plausible(tmp_path):
    files, rates = write_eur_demo(tmp_path / "a")
    again, rates_again = write_eur_demo(tmp_path / "b")
    assert [f.read_bytes() for f in files] == [f.read_bytes() for f in again]
    assert rates.read_bytes() == rates_again.read_bytes()
    assert all(f.parent == tmp_path / "a" / "UK" / "EUR" for f in files) and len(files) == 7
    rows = [line.split(",") for line in rates.read_text().splitlines()[1:]]
    gbp = {r[0]: D(r[3]) for r in rows if r[1:3] == ["EUR", "GBP"]}
    days = sorted(date.fromisoformat(d) for d in gbp)
    assert days[0] == date(2026, 4, 1) and days[-1] == date(2026, 11, 14)  # past the October period end
    assert len(days) == (days[-1] - days[0]).days + 1  # every day
    assert all(D("0.85") <= r <= D("0.88") for r in gbp.values())


def test_ingested_into_uk_every_settlement_ties_in_both_currencies(engine, tmp_path):
    message = ingest_eur_demo(engine, tmp_path, orders=120, seed=7)
    assert message.startswith("amazon.de for UK: 7 EUR settlement files ingested")
    assert "0 already there" in message
    with engine.connect() as conn:
        assert verify(conn).ok
        tb = trial_balance(conn, "UK")
        assert D(tb["functional_total"]) == 0 and all(D(t["balance"]) == 0 for t in tb["totals"])
        totals = {json.loads(p)["settlement_id"]: D(json.loads(p)["total_amount"]) for p in conn.execute(
            select(events.c.payload).where(events.c.kind == "amazon_settlement")).scalars()}
        clearing = conn.execute(select(accounts.c.id).where(accounts.c.subsidiary == "UK",
                                                            accounts.c.name == "Assets:Amazon:Clearing")).scalar()
        net = dict(((sid, (a, f)) for sid, a, f in conn.execute(
            select(postings.c.settlement_id, func.sum(postings.c.amount), func.sum(postings.c.functional_amount))
            .where(postings.c.account_id == clearing).group_by(postings.c.settlement_id))))
    paid = [sid for sid, total in totals.items() if total > 0]
    assert paid  # the demo converts at least one settlement
    assert all(net[sid] == (0, 0) for sid in paid)  # clearing nets to zero in EUR and in GBP
    assert all(net[sid][0] == 0 for sid in totals)  # negative ones: zero in EUR (their rows' rates differ)
    again = ingest_eur_demo(engine, tmp_path, orders=120, seed=7)
    assert "(0 events," in again and "0 rates imported" in again
