"""The mapping-gap audit finds each kind of gap, with where it was first seen, and gives the blocking ones to the
exception queue (both engines)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

from ledger_service.catalog import service
from ledger_service.catalog.audit import catalog_audit, exception_items, has_cost
from ledger_service.ingest.service import ingest_bytes
from ledger_service.journal.model import EntryDraft, money_posting, units_posting
from ledger_service.journal.service import post
from ledger_service.locations.service import add_location
from ledger_service.store.engine import write_transaction
from tests.api.seed import settlement_file
from tests.support.builders import event

HEADER = "sku,title,marketplace,msku,asin,fnsku,parent_asin,valid_from\n"


def imported(engine, text: str, name: str) -> None:
    with write_transaction(engine) as conn:
        service.import_catalog(conn, "US", text.encode(), name)


def gaps(engine, kind: str | None = None) -> list[dict]:
    with engine.connect() as conn:
        return [g for g in catalog_audit(conn, "US") if kind is None or g["kind"] == kind]


def test_a_sku_sold_but_not_in_the_catalog_is_a_gap_until_it_is(engine):
    ingest_bytes(engine, settlement_file("US", 0), "US-0.txt", "US")  # an order of seller SKU SKU-A on Amazon.com
    ingest_bytes(engine, settlement_file("US", 1), "US-1.txt", "US")
    (gap,) = gaps(engine, "sku_not_in_catalog")
    assert (gap["sku"], gap["marketplace"], gap["severity"]) == ("SKU-A", "amazon.com", "blocking")
    seen = gap["first_seen"]
    assert (seen["document"], seen["date"]) == ("US-0.txt", "2026-05-10") and seen["line"] > 1
    assert "not in the catalog of amazon.com" in gap["detail"]
    imported(engine, HEADER + "A-1,Widget,amazon.com,SKU-A,B00000000A,,,2026-05-12\n", "late.csv")
    (gap,) = gaps(engine, "sku_not_in_catalog")  # its identity starts after the first sale
    assert "its identity starts on 2026-05-12" in gap["detail"]
    imported(engine, HEADER + "A-1,Widget,amazon.com,SKU-A,B00000000A,,,2026-05-01\n", "early.csv")
    assert gaps(engine, "sku_not_in_catalog") == []


def test_a_sku_sold_under_the_brands_own_sku_is_no_gap(engine):
    ingest_bytes(engine, settlement_file("US", 0), "US-0.txt", "US")
    imported(engine, "sku,title\nSKU-A,Widget\n", "items.csv")
    assert gaps(engine, "sku_not_in_catalog") == []


def test_an_fnsku_on_two_skus_at_once_is_a_gap_but_a_relabel_over_time_is_not(engine):
    imported(engine, HEADER + "A-1,,amazon.com,M1,B00000000A,X00000000A,,2026-01-01\n"
                              "A-1,,amazon.com,M1,B00000000A,X00000000B,,2026-02-01\n"
                              "A-2,,amazon.com,M2,B00000000C,X00000000A,,2026-03-01\n", "relabel.csv")
    assert gaps(engine, "fnsku_on_two_skus") == []
    imported(engine, HEADER + "A-3,,amazon.co.uk,M3,B00000000D,X00000000B,,2026-06-01\n", "clash.csv")
    (gap,) = gaps(engine, "fnsku_on_two_skus")
    assert (gap["fnsku"], gap["sku"], gap["marketplace"]) == ("X00000000B", "A-3", "amazon.co.uk")
    assert gap["first_seen"]["document"] == "clash.csv" and gap["first_seen"]["line"] == 2
    assert "SKU A-1 (MSKU M1 on amazon.com from 2026-02-01), SKU A-3" in gap["detail"]


def test_an_asin_change_is_listed_for_review(engine):
    imported(engine, HEADER + "A-1,,amazon.com,M1,B00000000A,,,\n", "a.csv")
    imported(engine, HEADER + "A-1,,amazon.com,M1,B00000000B,,,2026-03-01\n", "b.csv")
    (gap,) = gaps(engine, "asin_changed")
    assert (gap["severity"], gap["asin"], gap["first_seen"]["date"]) == ("info", "B00000000B", "2026-03-01")
    assert "ASIN B00000000A until 2026-02-28, B00000000B from 2026-03-01" in gap["detail"]
    with engine.connect() as conn:
        assert exception_items(conn, "US") == []  # informational: not an exception


def test_bundle_components_and_units_without_cost(engine):
    imported(engine, "sku,title\nA-1,Widget\nA-2,Gadget\n", "items.csv")
    imported(engine, "bundle_sku,component_sku,quantity\nKIT,A-1,2\nKIT,A-2,1\n", "kit.csv")
    assert [g["sku"] for g in gaps(engine, "bundle_uncosted_component")] == ["A-1", "A-2"]
    with write_transaction(engine) as conn:
        add_location(conn, "US", "WH-NJ", "warehouse")
    receive = EntryDraft("US", date(2026, 6, 1), "USD", "receive A-1 at cost", (
        units_posting("Assets:Inventory:WH-NJ:Available", "A-1", D(10), D("4.25"), "USD"),
        money_posting("Liabilities:AccountsPayable", D("-42.50"))))
    free = EntryDraft("US", date(2026, 6, 2), "USD", "found A-2 units, no cost", (
        units_posting("Assets:Inventory:WH-NJ:Available", "A-2", D(3), D(0), "USD"),
        units_posting("Assets:Inventory:WH-NJ:Researching", "A-2", D(-3), D(0), "USD")))
    post(engine, event("receive"), [receive])
    post(engine, event("free"), [free])
    with engine.connect() as conn:
        assert has_cost(conn, "US", "A-1") and not has_cost(conn, "US", "A-2")
    (component,) = gaps(engine, "bundle_uncosted_component")
    assert component["sku"] == "A-2" and "bundle KIT consumes 1 x A-2" in component["detail"]
    (units,) = gaps(engine, "units_without_cost")
    assert (units["sku"], units["first_seen"]["date"]) == ("A-2", "2026-06-02")
    assert "3 unit(s) of A-2 came into inventory at no cost" in units["detail"]
    with engine.connect() as conn:
        queue = exception_items(conn, "US")
    assert sorted(i["kind"] for i in queue) == ["catalog:bundle_uncosted_component", "catalog:units_without_cost"]


def test_the_audit_of_an_empty_catalog_is_empty_and_names_an_unknown_subsidiary(engine):
    import pytest

    from ledger_service.errors import NotFound

    assert gaps(engine) == []
    with engine.connect() as conn, pytest.raises(NotFound):
        catalog_audit(conn, "XX")


def test_catalog_gaps_are_in_the_exception_queue_and_the_close_pack(engine, cli, tmp_path):
    """A SKU sold but not in the catalog is listed by `exceptions catalog` and in the close pack's exception queue."""
    from ledger_service.ingest.service import ingest_file
    from ledger_service.reports.close import close_pack
    from tests.support.settlement_files import sale, v2

    path = tmp_path / "s.txt"
    path.write_bytes(v2("8801", "2026-05-01", "2026-05-14", "2026-05-16", "80.00",
                        sale("111-0000001-0000001", "2026-05-05", sku="NOT-IN-CATALOG")))
    ingest_file(engine, path, "US")
    listed = cli("exceptions", "catalog", "-s", "US", "--format", "csv")
    assert listed.exit_code == 0, listed.output
    assert "catalog:sku_not_in_catalog" in listed.output and "NOT-IN-CATALOG" in listed.output
    with engine.connect() as conn:
        pack = close_pack(conn, "US", "2026-05")
    section = next(s for s in pack.sections if s.key == "exceptions")
    gaps = next(t for t in section.tables if t.name == "catalog_gaps")
    assert [r["kind"] for r in gaps.rows] == ["catalog:sku_not_in_catalog"]
    assert "NOT-IN-CATALOG" in gaps.rows[0]["detail"]
