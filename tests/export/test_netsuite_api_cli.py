"""`ledger-service export netsuite` and /exports/netsuite give the same bytes; the API records who exported."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from ledger_service.store.tables import events
from tests.support.api import api_client
from tests.trace.books import close, october

PARAMS = {"subsidiary": "US", "period": "2026-10"}


def _closed(engine) -> None:
    october(engine)
    close(engine, "US", "2026-09")
    close(engine, "US", "2026-10")


def test_the_cli_writes_the_file_the_api_serves(engine, cli, tmp_path):
    _closed(engine)
    out = tmp_path / "out"
    result = cli("export", "netsuite", "-s", "US", "--period", "2026-10", "--format", "csv", "--out", str(out))
    assert result.exit_code == 0, result.output
    path = Path(result.output.strip())
    assert path == out / "netsuite-US-2026-10.csv" and path.is_file()
    result = cli("export", "netsuite", "-s", "US", "--period", "2026-10", "--format", "json", "--out", str(out))
    assert result.exit_code == 0, result.output
    json_path = Path(result.output.strip())
    assert json_path.name == "netsuite-US-2026-10.json"
    client = api_client(engine, "viewer")
    answer = client.get("/exports/netsuite", params=PARAMS | {"format": "csv"})
    assert answer.status_code == 200, answer.text
    assert answer.content == path.read_bytes()
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.headers["content-disposition"] == 'attachment; filename="netsuite-US-2026-10.csv"'
    answer = client.get("/exports/netsuite", params=PARAMS | {"format": "json"})
    assert answer.content == json_path.read_bytes() and answer.headers["content-type"] == "application/json"
    # exporting again from the API: the same file, already recorded
    again = api_client(engine, "controller").post("/exports/netsuite", params=PARAMS | {"format": "csv"})
    assert again.status_code == 200 and again.content == path.read_bytes()
    with engine.connect() as conn:
        actors = [r.actor for r in conn.execute(select(events.c.actor).where(events.c.kind == "netsuite_export"))]
    assert actors == [None, None]  # the CLI records without an actor; the repeat recorded nothing


def test_the_api_records_the_export_with_its_actor(engine):
    _closed(engine)
    viewer = api_client(engine, "viewer")
    missing = viewer.get("/exports/netsuite", params=PARAMS)
    assert missing.status_code == 404 and "has not been exported yet" in missing.json()["message"]
    controller = api_client(engine, "controller", name="month-end")
    made = controller.post("/exports/netsuite", params=PARAMS | {"format": "json", "summary": "day"})
    assert made.status_code == 201, made.text
    requests = json.loads(made.content)
    assert all("-D-" in r["externalId"] for r in requests)
    assert made.headers["x-export-generation"] == "1"
    with engine.connect() as conn:
        row = conn.execute(select(events).where(events.c.kind == "netsuite_export")).mappings().one()
    assert row["actor"] == "token:month-end" and row["source_sha256"] == made.headers["x-export-sha256"]
    assert json.loads(row["payload"])["summary"] == "day"
    assert viewer.get("/exports/netsuite", params=PARAMS | {"format": "json"}).content == made.content


def test_an_open_period_is_refused_by_the_cli_and_the_api(engine, cli, tmp_path):
    october(engine)
    out = tmp_path / "out"
    result = cli("export", "netsuite", "-s", "US", "--period", "2026-10", "--out", str(out))
    assert result.exit_code == 1
    assert "period 2026-10 of US is open: close it first" in result.output
    assert not out.exists()
    answer = api_client(engine, "controller").post("/exports/netsuite", params=PARAMS)
    assert answer.status_code == 409 and answer.json()["error"] == "conflict"
    bad = api_client(engine, "controller").post("/exports/netsuite", params=PARAMS | {"period": "2026-13"})
    assert bad.status_code == 422
