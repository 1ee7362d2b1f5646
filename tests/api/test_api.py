"""The REST face against a real database (as an admin): the issue's example, errors as JSON, the OpenAPI route
list. Lists answer in the page envelope {"items": [...], "next": cursor}."""

import pytest

from tests.support.api import api_client

EXAMPLE = {"subsidiary": "US", "date": "2026-10-31", "currency": "USD",
           "description": "Accrue October storage fees", "idempotency_key": "manual-2026-10-storage",
           "postings": [{"account": "Expenses:Amazon:Fees:Storage", "amount": "125.40"},
                        {"account": "Liabilities:Accrued", "amount": "-125.40"}]}


@pytest.fixture
def client(engine):
    with api_client(engine, "admin") as c:
        yield c


def test_example_posts_and_shows_in_balances(client):
    r = client.post("/journal-entries", json=EXAMPLE)
    assert r.status_code == 201, r.text
    entry = r.json()
    assert [(p["account"], p["amount"]) for p in entry["postings"]] == [
        ("Expenses:Amazon:Fees:Storage", "125.40"), ("Liabilities:Accrued", "-125.40")]
    assert client.post("/journal-entries", json=EXAMPLE).status_code == 200  # idempotent repeat
    tb = client.get("/trial-balance", params={"subsidiary": "US"}).json()
    assert tb["totals"] == [{"commodity": "USD", "debit": "125.40", "credit": "-125.40", "balance": "0.00",
                             "pending": "0.00"}]
    bal = client.get("/balances", params={"subsidiary": "US", "account": "Expenses:Amazon"}).json()
    assert [(b["account"], b["balance"]) for b in bal] == [("Expenses:Amazon:Fees:Storage", "125.40")]
    assert client.get("/balances", params={"subsidiary": "US", "as_of": "2026-10-30"}).json() == []

    event = client.get(entry["source_events"][0]["href"]).json()
    assert event["kind"] == "manual_journal" and event["idempotency_key"] == "manual-2026-10-storage"
    assert '"125.40"' in event["raw"]

    rev = client.post(f"/journal-entries/{entry['id']}/reverse", json={"reason": "posted in error"})
    assert rev.status_code == 201 and rev.json()["links"]["reverses"] == entry["id"]
    again = client.post(f"/journal-entries/{entry['id']}/reverse", json={"reason": "x", "idempotency_key": "r2"})
    assert again.status_code == 409
    assert again.json() == {"error": "conflict",
                            "message": f"entry {entry['id']} was already reversed by entry {rev.json()['id']}"}


def test_errors_are_json_a_person_can_act_on(client):
    unbalanced = dict(EXAMPLE, idempotency_key="u", postings=[
        {"account": "Expenses:Amazon:Fees:Storage", "amount": "125.40"},
        {"account": "Liabilities:Accrued", "amount": "-125.00"}])
    r = client.post("/journal-entries", json=unbalanced)
    assert r.status_code == 422
    assert r.json()["message"].startswith("entry does not balance: USD postings sum to 0.40")

    client.post("/journal-entries", json=EXAMPLE)
    r = client.post("/journal-entries", json=dict(EXAMPLE, description="other"))
    assert r.status_code == 409 and "different content" in r.json()["message"]

    r = client.get("/journal-entries/999")
    assert (r.status_code, r.json()) == (404, {"error": "not_found", "message": "entry 999 does not exist"})
    assert client.get("/events/999").status_code == 404
    r = client.get("/trial-balance", params={"subsidiary": "XX"})
    assert r.status_code == 404 and "unknown subsidiary 'XX'" in r.json()["message"]
    r = client.post("/journal-entries", json=dict(EXAMPLE, idempotency_key="f", postings=[
        {"account": "Liabilities:Accrued", "amount": 1.5}, {"account": "Liabilities:Accrued", "amount": "-1.5"}]))
    assert r.status_code == 422 and "not the float" in r.json()["message"]
    r = client.get("/balances")
    assert r.status_code == 422 and "subsidiary" in r.json()["message"]


def test_health_subsidiaries_accounts_and_openapi(client):
    assert client.get("/health").json()["status"] == "ok"
    subs = client.get("/subsidiaries").json()["items"]
    assert [(s["code"], s["functional_currency"]) for s in subs] == [("UK", "GBP"), ("US", "USD")]
    names = {a["name"] for a in client.get("/accounts", params={"subsidiary": "US", "limit": 1000}).json()["items"]}
    assert {"Assets:Amazon:Clearing", "Expenses:Amazon:Fees:Storage", "Liabilities:Accrued"} <= names
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/health", "/subsidiaries", "/accounts", "/balances", "/trial-balance", "/journal-entries/{entry_id}",
            "/events/{event_id}", "/journal-entries", "/journal-entries/{entry_id}/reverse"} <= set(paths)
    assert client.get("/docs").status_code == 200


def test_ingest_upload_settlements_and_reports(client):
    from tests.ingest.test_ingest import SAMPLE

    with open(SAMPLE, "rb") as f:
        r = client.post("/ingest", data={"subsidiary": "US"}, files={"file": (SAMPLE.name, f, "text/plain")})
    assert r.status_code == 201, r.text
    assert (r.json()["events"], r.json()["suspense"]) == (12, 0)  # 11 Amazon transactions + the summary
    [s] = client.get("/settlements", params={"subsidiary": "US"}).json()["items"]
    assert (s["settlement_id"], s["status"], s["deposit"]) == ("28471003921", "reconciled", "582.89")
    assert client.get("/settlements/28471003921", params={"subsidiary": "US"}).json()["suspense_rows"] == []
    assert client.get("/settlements/1", params={"subsidiary": "US"}).status_code == 404
    assert client.get("/exceptions", params={"subsidiary": "US"}).json() == {"items": [], "next": None}
    g2n = client.get("/reports/gross-to-net", params={"subsidiary": "US", "from": "2026-06-01", "to": "2026-07-31"})
    assert g2n.json()["currencies"][0]["net_proceeds"] == "582.89"
    bad = client.post("/ingest", data={"subsidiary": "US"}, files={"file": ("bad.txt", b"hello\tworld\n", "text/plain")})
    assert bad.status_code == 422 and bad.json()["message"].startswith("bad.txt")


def test_ingest_upload_of_an_open_group_page_posts_pending(client):
    from tests.ingest.test_ingest import finances_page

    r = client.post("/ingest", data={"subsidiary": "US", "group_id": "G-1"},
                    files={"file": ("page1.json", finances_page("G-1"), "application/json")})
    assert r.status_code == 201, r.text
    assert (r.json()["format"], r.json()["events"]) == ("finances-v0-events", 2)
    rows = client.get("/balances", params={"subsidiary": "US", "account": "Income"}).json()
    assert [(b["account"], b["balance"], b["pending"]) for b in rows] == [
        ("Income:Amazon:Sales:Principal", "0.00", "-129.99")]


def test_unknown_paths_wrong_methods_and_unreadable_bodies_answer_json(client):
    r = client.get("/no-such-thing")
    assert (r.status_code, r.json()["error"]) == (404, "not_found") and set(r.json()) == {"error", "message"}
    r = client.delete("/subsidiaries")
    assert (r.status_code, r.json()["error"], r.headers["allow"]) == (405, "method_not_allowed", "GET")
    r = client.post("/journal-entries", content=b"\xff\xfe{", headers={"Content-Type": "application/json"})
    assert (r.status_code, r.json()["error"]) == (422, "invalid")
    r = client.get("/events", params={"subsidiary": "US\x00"})
    assert (r.status_code, r.json()["error"]) == (422, "invalid") and "control character" in r.json()["message"]
    r = client.get(f"/journal-entries/{2**64}")
    assert (r.status_code, r.json()["error"]) == (422, "invalid")


def test_every_operation_declares_its_answers(client):
    """Each operation names a response model for success and the Error model for each error it can answer."""
    spec = client.get("/openapi.json").json()
    for path, operations in spec["paths"].items():
        if path in ("/health", "/ready"):
            continue
        for method, op in operations.items():
            ok = [code for code in op["responses"] if code.startswith("2")]
            assert ok and all("$ref" in str(op["responses"][c]["content"]) for c in ok), (method, path)
            for code in ("401", "403", "503"):
                assert op["responses"][code]["content"]["application/json"]["schema"] == {
                    "$ref": "#/components/schemas/Error"}, (method, path, code)
            if op.get("parameters") or op.get("requestBody"):
                assert "422" in op["responses"], (method, path)
