"""Catalog imports in the ledger (both engines): events with their author, the projection written with them and
equal to a fold of the log, idempotent re-import, all-or-nothing refusal, and the lookups posting will use."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from ledger_service.catalog import service
from ledger_service.errors import Invalid
from ledger_service.store.engine import write_transaction
from ledger_service.store.tables import events, item_identities, items

HEADER = "sku,title,marketplace,msku,asin,fnsku,parent_asin,valid_from\n"
CATALOG = (HEADER
           + "W-1,Blue widget,amazon.com,0042,B00000000A,X00000000A,B0000000PA,\n"
           + "W-1,Blue widget,amazon.co.uk,0042,B00000000A,X00000000U,,\n"
           + "W-2,Red widget,amazon.com,W2-FBA,B00000000C,X00000000C,B0000000PA,\n"
           + "W-2,Red widget,amazon.com,W2-FBM,B00000000C,,B0000000PA,\n")
MERGE = "sku,marketplace,msku,asin,fnsku,valid_from\nW-1,amazon.com,0042,B00000000B,X00000000B,2026-03-01\n"


def run(engine, text: str, name: str, sub: str = "US", **options) -> dict:
    with write_transaction(engine) as conn:
        return service.import_catalog(conn, sub, text.encode(), name, actor="test:me", **options)


def counts(engine) -> tuple[int, int, int]:
    with engine.connect() as conn:
        return tuple(conn.execute(select(func.count()).select_from(t)).scalar()
                     for t in (events, items, item_identities))


def test_an_import_is_an_event_with_its_author_and_its_projection(engine):
    result = run(engine, CATALOG, "catalog.csv")
    assert (result["items_added"], result["identities_opened"], result["duplicate"]) == (2, 4, False)
    with engine.connect() as conn:
        event = conn.execute(select(events).where(events.c.id == result["event_id"])).one()
        assert (event.kind, event.actor, event.source_document, event.raw) == ("catalog_import", "test:me",
                                                                               "catalog.csv", CATALOG)
        assert service.projection_problems(conn) == []
        listed = service.list_catalog(conn, "US")
    assert [(i["sku"], i["title"], len(i["identities"])) for i in listed] == [("W-1", "Blue widget", 2),
                                                                              ("W-2", "Red widget", 2)]


def test_reimporting_the_same_file_changes_nothing(engine):
    first = run(engine, CATALOG, "catalog.csv")
    run(engine, MERGE, "merge.csv")
    before = counts(engine)
    again = run(engine, CATALOG, "catalog-copy.csv")  # the same bytes under another name: the same import
    assert again["duplicate"] and again["event_id"] == first["event_id"]
    assert counts(engine) == before


def test_lookups_find_what_was_in_force_that_day(engine):
    run(engine, CATALOG, "catalog.csv")
    run(engine, MERGE, "merge.csv")
    with engine.connect() as conn:
        def on(day, marketplace="amazon.com", **ids):
            found = service.identity_on(conn, "US", marketplace, day, **ids)
            return found and (found.sku, found.asin, found.fnsku)

        assert on(date(2026, 2, 28), msku="0042") == ("W-1", "B00000000A", "X00000000A")
        assert on(date(2026, 3, 1), msku="0042") == ("W-1", "B00000000B", "X00000000B")
        assert on(date(2026, 2, 28), asin="b00000000a") == ("W-1", "B00000000A", "X00000000A")
        assert on(date(2026, 3, 1), asin="B00000000A") is None  # merged away on amazon.com
        assert on(date(2026, 3, 1), "amazon.co.uk", asin="B00000000A")[0] == "W-1"  # not on amazon.co.uk
        assert on(date(2026, 3, 1), None, fnsku="X00000000B")[0] == "W-1"
        # a relabelled FNSKU still names its SKU after its last day: units with the old label are still in the FCs
        assert on(date(2026, 9, 1), fnsku="X00000000A")[0] == "W-1"
        assert on(date(2026, 3, 1), asin="B00000000C")[0] == "W-2"  # two MSKUs, one SKU: not ambiguous
        assert on(date(2026, 3, 1), msku="NOPE") is None
        assert service.resolve_sku(conn, "US", "Amazon.com", "0042", date(2026, 5, 1)) == "W-1"
        assert service.resolve_sku(conn, "US", "amazon.com", "W-2", date(2026, 5, 1)) == "W-2"  # its own SKU
        assert service.resolve_sku(conn, "US", "amazon.com", "W-9", date(2026, 5, 1)) is None
        with pytest.raises(Invalid, match="exactly one"):
            service.identity_on(conn, "US", None, date(2026, 1, 1), msku="0042", asin="B00000000A")


def test_an_identifier_on_two_skus_is_refused_not_guessed(engine):
    run(engine, CATALOG, "catalog.csv")
    run(engine, HEADER + "W-3,Green widget,amazon.com,W3,B00000000D,X00000000C,,2026-04-01\n", "clash.csv")
    with engine.connect() as conn:
        assert service.identity_on(conn, "US", None, date(2026, 3, 31), fnsku="X00000000C").sku == "W-2"
        with pytest.raises(Invalid, match=r"FNSKU X00000000C names 2 SKUs of US on 2026-04-01: SKU W-2 .*SKU W-3"):
            service.identity_on(conn, "US", None, date(2026, 4, 1), fnsku="X00000000C")


def test_a_refused_import_writes_nothing(engine):
    run(engine, CATALOG, "catalog.csv")
    before = counts(engine)
    # a changed ASIN with no valid_from would rewrite history from the start: refused, with the new SKU above it
    bad = HEADER + "W-4,New,amazon.com,W4,B00000000E,,,\nW-1,,amazon.com,0042,B00000000Z,,,\n"
    with pytest.raises(Invalid, match=r"bad\.csv:3: MSKU 0042 on amazon.com from 1999-01-01 .* give a later"):
        run(engine, bad, "bad.csv")
    with pytest.raises(Invalid, match=r"broken\.csv:2: asin"):
        run(engine, HEADER + "W-5,,amazon.com,W5,XYZ,,,\n", "broken.csv")
    assert counts(engine) == before


def test_bundles_and_their_components_by_day(engine):
    run(engine, CATALOG, "catalog.csv")
    run(engine, "bundle_sku,component_sku,quantity\nKIT,W-1,2\nKIT,W-2,1\n", "kit.csv")
    result = run(engine, "bundle_sku,component_sku,quantity,valid_from\nKIT,W-1,3,2026-06-01\n", "kit2.csv")
    assert result["bundles_changed"] == 1
    with engine.connect() as conn:
        assert service.components_on(conn, "US", "KIT", date(2026, 5, 31)) == {"W-1": 2, "W-2": 1}
        assert service.components_on(conn, "US", "KIT", date(2026, 6, 1)) == {"W-1": 3}
        assert service.components_on(conn, "US", "W-1", date(2026, 6, 1)) == {}
        kit = next(i for i in service.list_catalog(conn, "US") if i["sku"] == "KIT")
        now = service.list_catalog(conn, "US", as_of=date(2026, 7, 1))
        assert service.projection_problems(conn) == []
    assert kit["is_bundle"] and len(kit["components"]) == 3
    assert next(i for i in now if i["sku"] == "KIT")["components"] == [
        {"component_sku": "W-1", "quantity": 3, "valid_from": "2026-06-01", "valid_to": None,
         "event_id": result["event_id"]}]


def test_an_amazon_report_imports_its_identities_per_marketplace(engine):
    report = "sku\tfnsku\tasin\tproduct-name\n0042\tX00000000A\tB00000000A\tWidget\n0077\tX00000000F\tB00000000F\tNew\n"
    run(engine, CATALOG, "catalog.csv")
    first = run(engine, report, "myi.txt", marketplace="amazon.com")
    assert (first["items_added"], first["identities_opened"]) == (1, 1)  # 0042 is W-1's already; 0077 is new
    other = run(engine, report, "myi.txt", marketplace="amazon.ca")  # the same file read for another marketplace
    assert not other["duplicate"] and other["identities_opened"] == 2
    with engine.connect() as conn:
        assert service.identity_on(conn, "US", "amazon.com", date(2026, 1, 1), msku="0042").sku == "W-1"
        assert service.identity_on(conn, "US", "amazon.com", date(2026, 1, 1), msku="0077").sku == "0077"
        assert service.identity_on(conn, "US", "amazon.ca", date(2026, 1, 1), msku="0042").sku == "0042"
        assert service.projection_problems(conn) == []
    with pytest.raises(Invalid, match="--valid-from is for an Amazon report"):
        run(engine, CATALOG, "c.csv", valid_from=date(2026, 1, 1))


def test_catalogs_of_two_subsidiaries_are_apart(engine):
    run(engine, CATALOG, "catalog.csv", sub="US")
    run(engine, HEADER + "W-1,Widget UK,amazon.co.uk,0042,B00000000A,X0000000UK,,\n", "uk.csv", sub="UK")
    with engine.connect() as conn:
        assert service.identity_on(conn, "UK", "amazon.co.uk", date(2026, 1, 1), msku="0042").fnsku == "X0000000UK"
        assert service.identity_on(conn, "US", "amazon.co.uk", date(2026, 1, 1), msku="0042").fnsku == "X00000000U"
        assert [i["title"] for i in service.list_catalog(conn, "UK")] == ["Widget UK"]


def test_a_projection_changed_behind_the_logs_back_is_named_and_rebuilt(engine):
    run(engine, CATALOG, "catalog.csv")
    run(engine, MERGE, "merge.csv")
    run(engine, "bundle_sku,component_sku,quantity\nKIT,W-1,2\n", "kit.csv")
    with write_transaction(engine) as conn:
        conn.execute(item_identities.update().where(item_identities.c.msku == "0042",
                                                    item_identities.c.marketplace == "amazon.com",
                                                    item_identities.c.valid_to.is_(None)).values(asin="B00000000Z"))
        conn.execute(items.delete().where(items.c.sku == "KIT"))
    with engine.connect() as conn:
        problems = service.projection_problems(conn)
    assert len(problems) == 2 and all(p.startswith("catalog of US: ") for p in problems)
    assert any("B00000000Z" in p for p in problems) and any("item KIT" in p for p in problems)
    with write_transaction(engine) as conn:
        assert service.rebuild(conn) == {"catalogs": 1}
    with engine.connect() as conn:
        assert service.projection_problems(conn) == []
        assert service.identity_on(conn, "US", "amazon.com", date(2026, 3, 1), msku="0042").asin == "B00000000B"
