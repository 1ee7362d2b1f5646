"""verify and rebuild: tampering behind the triggers' back is found and named; rebuild equals live."""

from sqlalchemy import text

from ledger_service.balances.integrity import computed_balances, rebuild, stored_balances, verify
from ledger_service.journal.service import post
from ledger_service.store.engine import write_transaction
from tests.support.builders import event, transfer


def _post_three(engine):
    ids = []
    for i, amount in enumerate(["10.00", "20.00", "30.00"]):
        ids.append(post(engine, event(f"k{i}"), [transfer("Assets:Bank:Operating", "Equity:OpeningBalances", amount)]))
    return ids


def tamper(engine, sql: str) -> None:
    """As a database superuser: switch the trigger off, change a row, switch it back on."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE postings DISABLE TRIGGER postings_immutable"))
            conn.execute(text(sql))
            conn.execute(text("ALTER TABLE postings ENABLE TRIGGER postings_immutable"))
        else:
            row = conn.execute(text("SELECT sql FROM sqlite_master WHERE name = 'postings_no_update'")).scalar()
            conn.execute(text("DROP TRIGGER postings_no_update"))
            conn.execute(text(sql))
            conn.execute(text(row))


def test_verify_passes_on_an_untouched_ledger(engine):
    _post_three(engine)
    with engine.connect() as conn:
        report = verify(conn)
    assert report.ok, report.problems
    assert (report.events, report.entries) == (3, 3)


def test_tampered_amount_is_named(engine):
    results = _post_three(engine)
    target = results[1]  # the second event: its first posting goes from 2000 to 2500 cents
    tamper(engine, f"UPDATE postings SET amount = 2500, quantity = 2500, functional_amount = 2500 "
                   f"WHERE entry_id = {target.entry_ids[0]} AND amount = 2000")
    with engine.connect() as conn:
        report = verify(conn)
    assert not report.ok
    assert report.first_broken_event == target.event_id
    assert any(f"event {target.event_id} (US, seq 2" in p and "does not match its hash" in p for p in report.problems)
    assert any(f"entry {target.entry_ids[0]}" in p and "does not balance" in p for p in report.problems)
    assert any("daily balances differ" in p for p in report.problems)


def test_rebuild_equals_live(engine):
    _post_three(engine)
    with engine.connect() as conn:
        live = stored_balances(conn)
        assert live == computed_balances(conn)
    with write_transaction(engine) as conn:
        rebuild(conn)
    with engine.connect() as conn:
        assert stored_balances(conn) == live
        assert verify(conn).ok
