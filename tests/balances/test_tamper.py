"""The tamper matrix: what a database superuser does behind the ledger's back, and verify finding each one.

Every tamper goes through a raw connection with the guard triggers switched off (tests/balances/superuser.py),
as a superuser would, on both engines. Where one event holds the changed rows, verify names it; what the chain
cannot show alone (a cut-back tail, a chain rewritten with the public hash function) a signed checkpoint shows,
naming the subsidiary and seq.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from ledger_service.balances import checkpoint as checkpoints
from ledger_service.balances.integrity import BrokenLog, anchor, rebuild, verify
from ledger_service.cli.main import app
from ledger_service.ingest.service import ingest_file
from ledger_service.journal.service import post
from ledger_service.store.engine import write_transaction
from ledger_service.store.tables import GUARD_TRIGGERS
from tests.balances.superuser import guards_down, rechain
from tests.support.builders import event, transfer

KEY = b"k" * 32
OTHER_KEY = b"o" * 32


def post_three(engine, sub: str = "US", start: int = 0):
    """Three events of `sub`, 10.00, 20.00 and 30.00 from the bank to opening balances (UK: in GBP)."""
    currency = "USD" if sub == "US" else "GBP"
    return [post(engine, event(f"{sub}-k{start + i}", subsidiary=sub),
                 [transfer("Assets:Bank:Operating", "Equity:OpeningBalances", amount, subsidiary=sub,
                           currency=currency)])
            for i, amount in enumerate(["10.00", "20.00", "30.00"])]


def check(engine, anchor_point=None):
    with engine.connect() as conn:
        return verify(conn, anchor_point)


def signed_checkpoint(engine, tmp_path, key: bytes = KEY):
    path = tmp_path / "checkpoint.json"
    with engine.connect() as conn:
        checkpoints.write(path, anchor(conn), key)
    return path


def broken_by(report, event_id: int, *fragments: str) -> bool:
    return report.first_broken_event == event_id and any(
        all(f in p for f in (f"event {event_id} ", *fragments)) for p in report.problems)


# --- an untouched ledger ---------------------------------------------------------------------------------------

def test_untouched_ledger_verifies_with_and_without_a_checkpoint_before_and_after_more_ingest(engine, tmp_path):
    from tests.ingest.test_ingest import SAMPLE

    post_three(engine)
    post_three(engine, "UK")
    first = check(engine)
    assert first.ok and first.legacy_events == 0, first.problems
    path = signed_checkpoint(engine, tmp_path)
    assert check(engine, checkpoints.read(path, KEY)).ok

    ingest_file(engine, SAMPLE, "US")  # more ingest after the checkpoint: it still holds
    post_three(engine, "US", start=3)
    after = check(engine, checkpoints.read(path, KEY))
    assert after.ok, after.problems
    assert after.events > first.events
    later = signed_checkpoint(engine, tmp_path)
    assert check(engine, checkpoints.read(later, KEY)).ok


def test_no_guard_trigger_is_missing_after_the_migrations(engine, superuser_conn):
    from ledger_service.balances.integrity import guard_problems

    assert guard_problems(superuser_conn) == []
    assert len(GUARD_TRIGGERS[engine.dialect.name]) >= 12


# --- tampering found by the chain and its references -----------------------------------------------------------

def test_postings_moved_to_another_subsidiary(engine, superuser_conn):
    target = post_three(engine)[1]
    entry = target.entry_ids[0]
    with guards_down(superuser_conn, "entries", "postings") as conn:
        conn.execute(text(f"UPDATE postings SET subsidiary = 'UK' WHERE entry_id = {entry}"))
        conn.execute(text(f"UPDATE entries SET subsidiary = 'UK' WHERE id = {entry}"))
    report = check(engine)
    assert broken_by(report, target.event_id, f"entry {entry} is on subsidiary UK, its event on US")
    assert broken_by(report, target.event_id, "(US, seq 2", "does not match its hash")


def test_postings_moved_with_their_accounts_too(engine, superuser_conn):
    """Moved thoroughly: postings onto the UK's accounts of the same names, so that every row agrees but the event."""
    target = post_three(engine)[0]
    entry = target.entry_ids[0]
    with guards_down(superuser_conn, "entries", "postings") as conn:
        conn.execute(text(
            f"UPDATE postings SET subsidiary = 'UK', account_id = (SELECT uk.id FROM accounts us JOIN accounts uk "
            f"ON uk.name = us.name AND uk.subsidiary = 'UK' WHERE us.id = postings.account_id) "
            f"WHERE entry_id = {entry}"))
        conn.execute(text(f"UPDATE entries SET subsidiary = 'UK' WHERE id = {entry}"))
    report = check(engine)
    assert broken_by(report, target.event_id, "does not match its hash")
    assert broken_by(report, target.event_id, "is on subsidiary UK")


@pytest.mark.parametrize("change", ["type = 'income'", "name = 'Assets:Bank:Renamed'"],
                         ids=["retyped", "renamed"])
def test_account_changed_after_posting(engine, superuser_conn, change):
    first = post_three(engine)[0]
    with guards_down(superuser_conn, "accounts") as conn:
        conn.execute(text(f"UPDATE accounts SET {change} "
                          f"WHERE subsidiary = 'US' AND name = 'Assets:Bank:Operating'"))
    report = check(engine)
    # every event on the account breaks; the first is named
    assert broken_by(report, first.event_id, "(US, seq 1", "does not match its hash")


def test_commodity_changed(engine, superuser_conn):
    """On SQLite nothing refused this before migration 0006; now a trigger does, and the hash covers the
    commodity's kind and exponent (USD with no decimals would make every cent a dollar)."""
    first = post_three(engine)[0]
    with guards_down(superuser_conn, "commodities") as conn:
        conn.execute(text("UPDATE commodities SET exponent = 0 WHERE code = 'USD'"))
    report = check(engine)
    assert broken_by(report, first.event_id, "(US, seq 1", "does not match its hash")


def test_subsidiary_functional_currency_changed(engine, superuser_conn):
    first = post_three(engine)[0]
    with guards_down(superuser_conn, "subsidiaries") as conn:
        conn.execute(text("UPDATE subsidiaries SET functional_currency = 'EUR' WHERE code = 'US'"))
    assert broken_by(check(engine), first.event_id, "does not match its hash")


def test_entry_relinked_to_another_event(engine, superuser_conn):
    one, two, _ = post_three(engine)
    with guards_down(superuser_conn, "entries") as conn:
        conn.execute(text(f"UPDATE entries SET event_id = {one.event_id} WHERE id = {two.entry_ids[0]}"))
    report = check(engine)
    assert broken_by(report, one.event_id, "does not match its hash")


# --- the guards themselves ---------------------------------------------------------------------------------------

def test_dropped_guard_trigger_is_named(engine, superuser_conn):
    post_three(engine)
    name = "postings_immutable" if engine.dialect.name == "postgresql" else "postings_no_update"
    superuser_conn.execute(text(f"DROP TRIGGER {name}" + (" ON postings" if engine.dialect.name == "postgresql"
                                                           else "")))
    superuser_conn.commit()
    report = check(engine)
    assert not report.ok
    assert any(f"guard trigger {name} on postings is missing" in p for p in report.problems), report.problems


def test_disabled_guard_trigger_is_named(engine, superuser_conn):
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite triggers cannot be disabled, only dropped")
    post_three(engine)
    superuser_conn.execute(text("ALTER TABLE events DISABLE TRIGGER events_immutable"))
    superuser_conn.commit()
    report = check(engine)
    assert any("guard trigger events_immutable on events is disabled" in p for p in report.problems)


def test_tamper_with_the_trigger_left_dropped(engine, superuser_conn):
    """The superuser does not bother to put the trigger back: both the change and the missing guard are named."""
    target = post_three(engine)[2]
    with guards_down(superuser_conn, "postings", restore=False) as conn:
        conn.execute(text(f"UPDATE postings SET amount = 1, quantity = 1, functional_amount = 1 "
                          f"WHERE entry_id = {target.entry_ids[0]}"))
    report = check(engine)
    assert broken_by(report, target.event_id, "does not match its hash")
    # dropped on SQLite, disabled on PostgreSQL
    assert sum("guard trigger postings_" in p and ("missing" in p or "disabled" in p) for p in report.problems) >= 2


# --- what only a checkpoint shows --------------------------------------------------------------------------------

def test_last_events_deleted_and_the_head_fixed(engine, superuser_conn, tmp_path):
    results = post_three(engine)
    path = signed_checkpoint(engine, tmp_path)
    last = results[2]
    with guards_down(superuser_conn, "events", "entries", "postings") as conn:
        conn.execute(text(f"DELETE FROM postings WHERE entry_id = {last.entry_ids[0]}"))
        conn.execute(text(f"DELETE FROM entries WHERE id = {last.entry_ids[0]}"))
        conn.execute(text(f"DELETE FROM events WHERE id = {last.event_id}"))
        conn.execute(text("UPDATE chain_heads SET seq = 2, hash = (SELECT hash FROM events "
                          "WHERE subsidiary = 'US' AND seq = 2) WHERE subsidiary = 'US'"))
    with write_transaction(engine) as conn:
        rebuild(conn)  # the log left is consistent, so the attacker may even rebuild the balances
    assert check(engine).ok  # the chain alone cannot tell
    report = check(engine, checkpoints.read(path, KEY))
    assert not report.ok
    assert any(p.startswith("US: ") and "has seq 3, but the chain ends at seq 2" in p and "deleted" in p
               for p in report.problems), report.problems


def test_whole_chain_rewritten_with_the_public_hash_function(engine, superuser_conn, tmp_path):
    results = post_three(engine)
    path = signed_checkpoint(engine, tmp_path)
    entry = results[1].entry_ids[0]
    with guards_down(superuser_conn, "events", "postings") as conn:
        conn.execute(text(f"UPDATE postings SET amount = amount * 10, quantity = quantity * 10, "
                          f"functional_amount = functional_amount * 10 WHERE entry_id = {entry}"))
        rechain(conn, "US", from_seq=2)
    with write_transaction(engine) as conn:
        rebuild(conn)
    assert check(engine).ok  # consistent with itself
    report = check(engine, checkpoints.read(path, KEY))
    assert any(p.startswith(f"US seq 3 (event {results[2].event_id})") and "rewritten" in p
               for p in report.problems), report.problems


@pytest.mark.parametrize("edit", ["seq", "hash"])
def test_forged_checkpoint(engine, tmp_path, edit):
    post_three(engine)
    path = signed_checkpoint(engine, tmp_path)
    data = json.loads(path.read_text())
    chain = data["chains"]["US"]
    if edit == "seq":
        chain["seq"] = 2
    else:
        chain["hash"] = "f" * 64
    path.write_text(json.dumps(data))  # the HMAC left as it was
    with pytest.raises(checkpoints.BadCheckpoint, match="forged or was edited"):
        checkpoints.read(path, KEY)


def test_checkpoint_signed_with_another_key(engine, tmp_path):
    post_three(engine)
    path = signed_checkpoint(engine, tmp_path, OTHER_KEY)
    with pytest.raises(checkpoints.BadCheckpoint, match="forged or was edited"):
        checkpoints.read(path, KEY)


# --- rebuild and checkpoint refuse to launder ------------------------------------------------------------------------

def test_rebuild_refuses_over_a_broken_chain(engine, superuser_conn):
    target = post_three(engine)[1]
    with guards_down(superuser_conn, "postings") as conn:
        conn.execute(text(f"UPDATE postings SET amount = 2500, quantity = 2500, functional_amount = 2500 "
                          f"WHERE entry_id = {target.entry_ids[0]} AND amount = 2000"))
    with engine.connect() as conn:
        before = conn.execute(text("SELECT count(*), sum(amount) FROM balances")).one()
    with pytest.raises(BrokenLog, match=f"refusing to rebuild over a broken log: first broken event "
                                        f"{target.event_id}"):
        with write_transaction(engine) as conn:
            rebuild(conn)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*), sum(amount) FROM balances")).one() == before
    with pytest.raises(BrokenLog, match="refusing to write a checkpoint"), engine.connect() as conn:
        anchor(conn)


# --- the same through the command line -----------------------------------------------------------------------------

@pytest.fixture
def cli(db_url, monkeypatch):
    monkeypatch.setenv("LEDGER_DATABASE_URL", db_url)
    monkeypatch.delenv(checkpoints.KEY_ENV, raising=False)
    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args))


def test_cli_checkpoint_and_verify(cli, engine, superuser_conn, tmp_path, monkeypatch):
    results = post_three(engine)
    out = tmp_path / "cp.json"
    refused = cli("checkpoint", "--out", str(out))
    assert refused.exit_code == 2 and "no checkpoint key" in refused.output
    assert len(refused.output.strip().splitlines()) == 1 and not out.exists()

    key_file = tmp_path / "key"
    key_file.write_text(KEY.decode() + "\n")
    written = cli("checkpoint", "--out", str(out), "--key-file", str(key_file))
    assert written.exit_code == 0, written.output
    assert "US seq 3" in written.output
    ok = cli("verify", "--checkpoint", str(out), "--key-file", str(key_file), "--format", "json")
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.output)["checkpoint"]["chains"] == len(json.loads(out.read_text())["chains"]) >= 2

    monkeypatch.setenv(checkpoints.KEY_ENV, KEY.decode())  # the environment's key works the same
    assert cli("verify", "--checkpoint", str(out)).exit_code == 0
    assert cli("verify", "--checkpoint", str(out), "--key-file", str(tmp_path / "missing")).exit_code == 2

    data = json.loads(out.read_text())
    data["chains"]["US"]["seq"] = 1
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(data))
    result = cli("verify", "--checkpoint", str(forged))
    assert result.exit_code == 1 and "is forged or was edited" in result.output

    with guards_down(superuser_conn, "postings") as conn:
        conn.execute(text(f"UPDATE postings SET amount = 99, quantity = 99 WHERE entry_id = {results[0].entry_ids[0]}"))
    broken = cli("verify", "--checkpoint", str(out))
    assert broken.exit_code == 1 and f"first broken event {results[0].event_id}" in broken.output
    rebuilt = cli("rebuild")
    assert rebuilt.exit_code == 1
    assert f"refusing to rebuild over a broken log: first broken event {results[0].event_id}" in rebuilt.output
    assert cli("checkpoint", "--out", str(tmp_path / "new.json")).exit_code == 1


# --- events hashed before migration 0006 -----------------------------------------------------------------------------

def test_chains_from_before_0006_still_verify_and_continue(engine, superuser_conn):
    """A ledger whose events were hashed with record version 1 (as before 0006) verifies, and new events chain on
    with version 2; a v2 event cannot be passed off as v1."""
    post_three(engine)
    with guards_down(superuser_conn, "events") as conn:
        rechain(conn, "US", version=1)  # what the chain looked like when these were written before 0006
    report = check(engine)
    assert report.ok and report.legacy_events == 3, report.problems
    later = post_three(engine, start=3)
    report = check(engine)
    assert report.ok and report.legacy_events == 3 and report.events == 6, report.problems
    with guards_down(superuser_conn, "postings") as conn:  # a field only version 2 covers
        conn.execute(text(f"UPDATE postings SET subsidiary = 'UK' WHERE entry_id = {later[0].entry_ids[0]}"))
    assert broken_by(check(engine), later[0].event_id, "does not match its hash")

