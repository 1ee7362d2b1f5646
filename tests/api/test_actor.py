"""Who did what is on the event: API writes carry `token:NAME`, the chain hash covers it, verify still passes."""

from sqlalchemy import select, text

from ledger_service.balances.integrity import verify
from ledger_service.eventlog.model import event_record
from ledger_service.store.tables import events
from tests.api.seed import journal, post_journal
from tests.ingest.test_ingest import SAMPLE, finances_page
from tests.support.api import api_client


def actors(engine) -> dict[int, str | None]:
    with engine.connect() as conn:
        return {r.id: r.actor for r in conn.execute(select(events.c.id, events.c.actor))}


def test_api_writes_name_their_token_and_verify_passes(engine):
    before = post_journal(engine, "US")  # written as the CLI writes: no actor
    controller = api_client(engine, "controller", name="month-end")
    uploader = api_client(engine, "poster", ["US"], name="nightly")

    entry = controller.post("/journal-entries", json=journal("US", "accrual-1")).json()
    event_id = entry["source_events"][0]["id"]
    assert controller.get(f"/events/{event_id}").json()["actor"] == "token:month-end"
    rev = controller.post(f"/journal-entries/{entry['id']}/reverse", json={"reason": "posted twice"}).json()
    assert controller.get(rev["source_events"][0]["href"]).json()["actor"] == "token:month-end"

    known = set(actors(engine))
    page = uploader.post("/ingest", data={"subsidiary": "US", "group_id": "28471003921"},
                         files={"file": ("open.json", finances_page("28471003921"), "application/json")})
    assert page.status_code == 201, page.text
    flat = uploader.post("/ingest", data={"subsidiary": "US"},
                         files={"file": (SAMPLE.name, SAMPLE.read_bytes(), "text/plain")})
    assert flat.status_code == 201 and flat.json()["voided"] > 0, flat.text  # the flat file voids the open group
    written = {i: a for i, a in actors(engine).items() if i not in known}
    assert written and set(written.values()) == {"token:nightly"}  # the voids (kind superseded) included

    by_api = controller.get("/events", params={"limit": 1000}).json()["items"]
    assert {e["actor"] for e in by_api} == {None, "token:month-end", "token:nightly"}
    assert next(e for e in by_api if e["id"] == controller.get(f"/journal-entries/{before}").json()[
        "source_events"][0]["id"])["actor"] is None
    with engine.connect() as conn:
        report = verify(conn)
    assert report.ok, report.problems


def test_an_idempotent_repeat_by_another_token_keeps_the_first_writer(engine):
    first = api_client(engine, "controller", name="alice")
    second = api_client(engine, "admin", name="bob")
    entry = first.post("/journal-entries", json=journal("US", "same-key")).json()
    again = second.post("/journal-entries", json=journal("US", "same-key"))
    assert again.status_code == 200 and again.json()["id"] == entry["id"]  # the actor is not part of the fact
    assert first.get(entry["source_events"][0]["href"]).json()["actor"] == "token:alice"


def test_the_chain_covers_the_actor_only_when_set(engine):
    row = {k: None for k in ("subsidiary", "seq", "kind", "occurred_at", "recorded_at", "idempotency_key",
                             "input_hash", "source_system", "source_document", "source_sha256", "source_line",
                             "source_page", "raw")}
    assert "actor" not in event_record(row | {"actor": None})  # older events hash as they always did
    assert event_record(row | {"actor": "token:x"})["actor"] == "token:x"

    client = api_client(engine, "controller", name="carol")
    entry = client.post("/journal-entries", json=journal("US", "tamper-me")).json()
    event_id = entry["source_events"][0]["id"]
    with engine.begin() as conn:  # behind the triggers' back, as a superuser would
        if engine.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE events DISABLE TRIGGER events_immutable"))
            conn.execute(text(f"UPDATE events SET actor = 'token:mallory' WHERE id = {event_id}"))
            conn.execute(text("ALTER TABLE events ENABLE TRIGGER events_immutable"))
        else:
            ddl = conn.execute(text("SELECT sql FROM sqlite_master WHERE name = 'events_no_update'")).scalar()
            conn.execute(text("DROP TRIGGER events_no_update"))
            conn.execute(text(f"UPDATE events SET actor = 'token:mallory' WHERE id = {event_id}"))
            conn.execute(text(ddl))
    with engine.connect() as conn:
        report = verify(conn)
    assert report.first_broken_event == event_id
