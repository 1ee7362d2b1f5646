"""Pages: walking a list with a small `limit` and each `next` as `after` yields every row exactly once, in the
order of the whole list, and the last page says so with next = null."""

import pytest

from ledger_service.api.schemas import MAX_LIMIT
from ledger_service.chart.model import Subsidiary
from ledger_service.chart.service import add_subsidiary
from ledger_service.store.engine import write_transaction
from tests.api.seed import seed
from tests.support.api import api_client, make_token

# (path, params, key of a row: what identifies it, and what `next` carries)
LISTS = [
    ("/events", {}, lambda r: r["id"]),
    ("/events", {"subsidiary": "UK"}, lambda r: r["id"]),
    ("/events", {"kind": "amazon_amount"}, lambda r: r["id"]),
    ("/accounts", {}, lambda r: r["id"]),
    ("/accounts", {"subsidiary": "US"}, lambda r: r["id"]),
    ("/subsidiaries", {}, lambda r: r["code"]),
    ("/settlements", {"subsidiary": "US"}, lambda r: r["source"]["event_id"]),
    ("/exceptions", {"subsidiary": "UK"}, lambda r: r["posting_id"]),
    ("/tokens", {}, lambda r: r["name"]),
]


@pytest.fixture
def client(engine):
    seed(engine)
    with write_transaction(engine) as conn:  # a third subsidiary, so that its list has pages too
        add_subsidiary(conn, Subsidiary("CA", "Example Brand Canada Inc.", "CAD"))
    for i in range(3):
        make_token(engine, "viewer", name=f"page-{i}")
    with api_client(engine, "admin") as c:
        yield c


def walk(client, path, params, limit):
    rows, after, pages = [], None, 0
    while True:
        r = client.get(path, params=params | {"limit": limit} | ({"after": after} if after is not None else {}))
        assert r.status_code == 200, r.text
        body = r.json()
        rows += body["items"]
        pages += 1
        assert len(body["items"]) <= limit
        if body["next"] is None:
            return rows, pages
        assert len(body["items"]) == limit  # only a full page has a next
        after = body["next"]


@pytest.mark.parametrize("path,params,key", LISTS)
def test_pages_cover_every_row_once(client, path, params, key):
    whole = client.get(path, params=params | {"limit": MAX_LIMIT}).json()
    assert whole["next"] is None
    assert len(whole["items"]) >= 3, "the seed should give every list several rows"
    for limit in (1, 2, len(whole["items"]), len(whole["items"]) + 1):
        rows, pages = walk(client, path, params, limit)
        assert [key(r) for r in rows] == [key(r) for r in whole["items"]], limit
        assert len({key(r) for r in rows}) == len(rows)
        assert pages >= -(-len(rows) // limit)


@pytest.mark.parametrize("path,params,key", LISTS[:1] + LISTS[3:4] + LISTS[6:8])
def test_the_limit_is_bounded_and_documented(client, path, params, key):
    for bad in (0, MAX_LIMIT + 1):
        r = client.get(path, params=params | {"limit": bad})
        assert r.status_code == 422 and r.json()["error"] == "invalid", r.text
    assert len(client.get(path, params=params).json()["items"]) <= 100  # the default
    spec = client.get("/openapi.json").json()
    [limit] = [p for p in spec["paths"][path]["get"]["parameters"] if p["name"] == "limit"]
    assert limit["schema"]["maximum"] == MAX_LIMIT and str(MAX_LIMIT) in limit["description"]
    assert limit["schema"]["default"] == 100


def test_a_page_stays_put_while_rows_are_added(client, engine):
    from tests.api.seed import post_journal

    first = client.get("/events", params={"limit": 2}).json()
    post_journal(engine, "US")
    second = client.get("/events", params={"limit": 2, "after": first["next"]}).json()
    assert second["items"][0]["id"] > first["items"][-1]["id"]
