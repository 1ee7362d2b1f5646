"""The catalog, locations and lanes through the command line and the REST API (both engines)."""

from __future__ import annotations

import json

from sqlalchemy import select

from ledger_service.store.tables import events
from tests.support.api import api_client

CATALOG = ("sku,title,marketplace,msku,asin,fnsku,parent_asin,valid_from\n"
           "W-1,Blue widget,amazon.com,0042,B00000000A,X00000000A,,\n"
           "W-2,Red widget,amazon.com,W2,B00000000C,X00000000C,,\n"
           "W-3,Green widget,,,,,,\n")
MERGE = "sku,marketplace,msku,asin,valid_from\nW-1,amazon.com,0042,B00000000B,2026-03-01\n"


def write(tmp_path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_cli_catalog_import_list_and_audit(cli, tmp_path, engine):
    first = cli("catalog", "import", write(tmp_path, "catalog.csv", CATALOG), "-s", "US")
    assert first.exit_code == 0, first.output
    assert "3 item(s) added" in first.output and "2 identit(ies) opened" in first.output
    again = cli("catalog", "import", str(tmp_path / "catalog.csv"), "-s", "US")
    assert again.exit_code == 0 and "already imported" in again.output
    merged = json.loads(cli("catalog", "import", write(tmp_path, "merge.csv", MERGE), "-s", "US", "-f", "json").output)
    assert (merged["identities_opened"], merged["identities_closed"]) == (1, 1)
    with engine.connect() as conn:
        actor = conn.execute(select(events.c.actor).where(events.c.id == merged["event_id"])).scalar()
    assert actor.startswith("cli:")
    items = json.loads(cli("catalog", "list", "-s", "US", "--format", "json").output)
    assert [len(i["identities"]) for i in items] == [2, 1, 0]
    dated = cli("catalog", "list", "-s", "US", "--as-of", "2026-02-01", "--format", "csv").output.splitlines()
    assert dated[0] == "sku,title,bundle,marketplace,msku,asin,fnsku,parent_asin,valid_from,valid_to"
    assert "W-1,Blue widget,,amazon.com,0042,B00000000A,X00000000A,,1999-01-01,2026-02-28" in dated
    gaps = json.loads(cli("catalog", "audit", "-s", "US", "--format", "json").output)
    assert [g["kind"] for g in gaps] == ["asin_changed"]
    assert "merge.csv:2" in cli("catalog", "audit", "-s", "US").output


def test_cli_catalog_errors(cli, tmp_path):
    bad = cli("catalog", "import", write(tmp_path, "bad.csv", CATALOG + "W-4,,amazon.com,W4,NOPE,,,\n"), "-s", "US")
    assert bad.exit_code == 1 and "bad.csv:5: asin 'NOPE' is not 10 letters or digits" in bad.output
    assert cli("catalog", "import", "--amazon-report", write(tmp_path, "r.txt", "sku\tasin\n"), "-s", "US"
               ).exit_code == 2  # needs --marketplace
    assert cli("catalog", "import", "-s", "US").exit_code == 2
    report = write(tmp_path, "myi.txt", "sku\tfnsku\tasin\tproduct-name\n0077\tX00000000F\tB00000000F\tNew\n")
    ok = cli("catalog", "import", "--amazon-report", report, "--marketplace", "amazon.com", "--valid-from",
             "2026-01-01", "-s", "US")
    assert ok.exit_code == 0, ok.output
    assert cli("catalog", "list", "-s", "XX").exit_code == 1


LOCATIONS = '''
[[location]]
code = "WH-NJ"
kind = "warehouse"

[[lane]]
lane = "FBM"
locations = ["WH-NJ"]
'''


def test_cli_locations_and_lanes(cli, tmp_path):
    added = cli("locations", "add", "FBA-US", "--kind", "fba", "--marketplace", "amazon.com", "-s", "US")
    assert added.exit_code == 0 and "8 account(s) added" in added.output, added.output
    imported = cli("locations", "import", write(tmp_path, "locations.toml", LOCATIONS), "-s", "US")
    assert imported.exit_code == 0 and "lane FBM draws from WH-NJ" in imported.output, imported.output
    assert cli("lanes", "set", "FBA", "--locations", "FBA-US", "-s", "US").exit_code == 0
    refused = cli("lanes", "set", "FBM", "-l", "WH-NJ,FBA-US", "-s", "US")
    assert refused.exit_code == 1 and "lane FBM may not draw from FBA-US" in refused.output
    listed = json.loads(cli("locations", "list", "-s", "US", "-f", "json").output)
    assert [(r["code"], r["lanes"]) for r in listed] == [("FBA-US", ["FBA"]), ("WH-NJ", ["FBM"])]
    lanes = cli("lanes", "list", "-s", "US", "-f", "csv").output.splitlines()
    assert lanes == ["lane,locations", "FBA,FBA-US", "FBM,WH-NJ"]
    assert "nothing to change" in cli("locations", "add", "FBA-US", "--kind", "fba", "--marketplace", "amazon.com",
                                      "-s", "US").output


def test_api_catalog_pages_audit_and_locations(cli, tmp_path, engine):
    cli("catalog", "import", write(tmp_path, "catalog.csv", CATALOG), "-s", "US")
    cli("catalog", "import", write(tmp_path, "merge.csv", MERGE), "-s", "US")
    cli("locations", "add", "FBA-US", "--kind", "fba", "--marketplace", "amazon.com", "-s", "US")
    client = api_client(engine, "viewer")
    first = client.get("/catalog", params={"subsidiary": "US", "limit": 2})
    assert first.status_code == 200, first.text
    assert [i["sku"] for i in first.json()["items"]] == ["W-1", "W-2"] and first.json()["next"] == "W-2"
    rest = client.get("/catalog", params={"subsidiary": "US", "after": "W-2"}).json()
    assert [i["sku"] for i in rest["items"]] == ["W-3"] and rest["next"] is None
    dated = client.get("/catalog", params={"subsidiary": "US", "as_of": "2026-03-01"}).json()["items"][0]
    assert [(i["asin"], i["valid_from"]) for i in dated["identities"]] == [("B00000000B", "2026-03-01")]
    gaps = client.get("/catalog/audit", params={"subsidiary": "US"}).json()
    assert [(g["kind"], g["first_seen"]["document"]) for g in gaps] == [("asin_changed", "merge.csv")]
    (location,) = client.get("/locations", params={"subsidiary": "US"}).json()
    assert location["accounts"][0] == "Assets:Inventory:FBA-US:Available" and location["lanes"] == []
    assert client.get("/catalog", params={"subsidiary": "XX"}).status_code == 404
    assert client.get("/catalog").status_code == 422  # the subsidiary is required
    scoped = api_client(engine, "viewer", ["UK"])
    assert scoped.get("/catalog/audit", params={"subsidiary": "US"}).status_code == 403
    assert scoped.get("/locations", params={"subsidiary": "UK"}).json() == []
