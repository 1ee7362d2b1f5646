"""Locations and lanes: the lane check by hand, and in the ledger (both engines) locations that create their state
accounts, changes recorded as events, and a cross-lane movement refused naming both locations."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from ledger_service.errors import Conflict, Invalid
from ledger_service.locations import service
from ledger_service.locations.model import STATES, CrossLane, check_lane, check_location, lane_checker
from ledger_service.store.engine import write_transaction
from ledger_service.store.tables import accounts, events

LANES = {"FBA": ("FBA-US",), "MCF": ("FBA-US",), "FBM": ("WH-NJ",)}


def test_a_lane_draws_only_from_its_own_locations():
    check_lane(LANES, "FBA", "FBA-US")
    check_lane(LANES, "mcf", "FBA-US")
    with pytest.raises(CrossLane, match=r"^lane FBM may not draw from FBA-US \(FBA's and MCF's location\); FBM "
                                        r"draws from WH-NJ$"):
        check_lane(LANES, "FBM", "FBA-US")
    with pytest.raises(CrossLane, match=r"lane FBA may not draw from WH-NJ \(FBM's location\); FBA draws from FBA-US"):
        check_lane(LANES, "FBA", "WH-NJ")
    with pytest.raises(CrossLane, match=r"TRANSIT \(a location of no lane\); WHOLESALE draws from no location yet"):
        check_lane(LANES, "WHOLESALE", "TRANSIT")
    with pytest.raises(Invalid, match="unknown lane 'RETAIL'; lanes are FBA, FBM, MCF, WHOLESALE, RETAIL_3PL"):
        check_lane(LANES, "RETAIL", "WH-NJ")
    assert CrossLane.status_code == 422


def test_a_runs_lane_checker_answers_as_check_lane_every_time():
    """lane_checker remembers what it allowed; a refusal is checked, and raised, again on every call."""
    check = lane_checker(LANES)
    for _ in range(2):
        assert check("FBA", "FBA-US") is None and check("mcf", "FBA-US") is None
        with pytest.raises(CrossLane, match=r"^lane FBM may not draw from FBA-US"):
            check("FBM", "FBA-US")
        with pytest.raises(Invalid, match="unknown lane 'RETAIL'"):
            check("RETAIL", "WH-NJ")


@pytest.mark.parametrize("args, message", [
    (("fba-us", "fba", "amazon.com"), "location code 'fba-us' must be upper-case"),
    (("FBA-US", "fba", None), "an FBA location needs its marketplace"),
    (("WH-1", "shed", None), "kind 'shed'; use one of warehouse, 3pl, fba, transit"),
    (("WH-1", "warehouse", None, "EURO"), "currency 'EURO' is not an ISO 4217 code"),
    (("WH:1", "warehouse", None), "location code 'WH:1'"),
])
def test_bad_locations_are_refused(args, message):
    code, kind, marketplace, *currency = args
    with pytest.raises(Invalid, match=message):
        check_location(code, kind, marketplace, currency[0] if currency else None, None, "USD")


def change(engine, fn, *args, **kwargs):
    with write_transaction(engine) as conn:
        return fn(conn, *args, **kwargs)


def names(engine, sub: str, prefix: str) -> list[str]:
    with engine.connect() as conn:
        return sorted(conn.execute(select(accounts.c.name).where(
            accounts.c.subsidiary == sub, accounts.c.name.like(prefix + "%"))).scalars())


def n_events(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(events)).scalar()


def test_adding_a_location_creates_its_state_accounts_and_is_an_event(engine):
    result = change(engine, service.add_location, "US", "FBA-US", "fba", "Amazon.com", actor="test:me")
    assert result["changed"] and result["accounts_added"] == len(STATES)
    assert names(engine, "US", "Assets:Inventory:FBA-US:") == sorted(f"Assets:Inventory:FBA-US:{s}" for s in STATES)
    assert {"Expenses:COGS", "Expenses:Inventory:Shrinkage", "Expenses:Inventory:WriteOff:Lost",
            "Expenses:Inventory:WriteOff:Damaged"} <= set(names(engine, "US", "Expenses:"))
    assert names(engine, "UK", "Assets:Inventory:FBA-US") == []  # a location belongs to one subsidiary
    with engine.connect() as conn:
        (row,) = service.list_locations(conn, "US")
        actor = conn.execute(select(events.c.actor).where(events.c.id == result["event_id"])).scalar()
    assert (row["kind"], row["marketplace"], row["currency"], row["name"], actor) == (
        "fba", "amazon.com", "USD", "FBA-US", "test:me")
    before = n_events(engine)
    again = change(engine, service.add_location, "US", "FBA-US", "fba", "amazon.com")
    assert not again["changed"] and n_events(engine) == before  # nothing to change: nothing recorded
    renamed = change(engine, service.add_location, "US", "FBA-US", "fba", "amazon.com", name="FBA amazon.com")
    assert renamed["changed"] and renamed["accounts_added"] == 0
    with pytest.raises(Conflict, match="location FBA-US of US is of kind fba on amazon.com in USD; a location's "
                                       "kind, marketplace and currency never change"):
        change(engine, service.add_location, "US", "FBA-US", "fba", "amazon.ca")


def test_fba_per_marketplace_are_locations_of_their_own_subsidiary_and_currency(engine):
    change(engine, service.add_location, "US", "FBA-US", "fba", "amazon.com")
    change(engine, service.add_location, "UK", "FBA-UK", "fba", "amazon.co.uk")
    with engine.connect() as conn:
        assert [(r["code"], r["currency"]) for r in service.list_locations(conn, "UK")] == [("FBA-UK", "GBP")]
        assert [r["code"] for r in service.list_locations(conn, "US")] == ["FBA-US"]


def test_a_code_under_the_charts_own_inventory_accounts_is_refused(engine):
    with pytest.raises(Invalid, match="location code FBA would put its accounts among Assets:Inventory:FBA:Inbound"):
        change(engine, service.add_location, "US", "FBA", "fba", "amazon.com")


def test_lanes_name_their_locations_and_a_cross_lane_movement_is_refused(engine):
    change(engine, service.add_location, "US", "FBA-US", "fba", "amazon.com")
    change(engine, service.add_location, "US", "WH-NJ", "warehouse")
    change(engine, service.set_lane, "US", "FBA", ["FBA-US"])
    change(engine, service.set_lane, "US", "fbm", ["WH-NJ"])
    with pytest.raises(Invalid, match="lane FBM may not draw from FBA-US, a location of kind fba: FBM draws from warehouse or 3pl"):
        change(engine, service.set_lane, "US", "FBM", ["FBA-US"])
    with pytest.raises(Invalid, match="lane MCF: unknown location FBA-CA"):
        change(engine, service.set_lane, "US", "MCF", ["FBA-CA"])
    with engine.connect() as conn:
        assert service.lanes_of(conn, "US") == {"FBA": ("FBA-US",), "FBM": ("WH-NJ",)}
        service.check_movement(conn, "US", "FBM", "WH-NJ")
        with pytest.raises(CrossLane, match=r"lane FBM may not draw from FBA-US \(FBA's location\); FBM draws from "
                                            r"WH-NJ"):
            service.check_movement(conn, "US", "FBM", "FBA-US")
        with pytest.raises(CrossLane, match=r"lane FBA may not draw from FBA-US \(a location of no lane\)"):
            service.check_movement(conn, "UK", "FBA", "FBA-US")  # another subsidiary's lanes are not these
        assert service.projection_problems(conn) == []


TOML = '''
[[location]]
code = "WH-NJ"
kind = "warehouse"
name = "New Jersey warehouse"

[[location]]
code = "3PL-X"
kind = "3pl"

[[location]]
code = "TRANSIT"
kind = "transit"

[[lane]]
lane = "FBM"
locations = ["WH-NJ", "3PL-X"]

[[lane]]
lane = "RETAIL_3PL"
locations = ["3PL-X"]
'''


def test_a_toml_file_adds_locations_and_sets_lanes_whole_or_not_at_all(engine):
    result = change(engine, service.import_locations, "US", TOML, "locations.toml")
    assert [loc["code"] for loc in result["locations"]] == ["WH-NJ", "3PL-X", "TRANSIT"]
    assert result["accounts_added"] == 3 * len(STATES)
    before = n_events(engine)
    assert not change(engine, service.import_locations, "US", TOML, "locations.toml")["changed"]
    assert n_events(engine) == before
    bad = TOML.replace('locations = ["3PL-X"]', 'locations = ["TRANSIT"]').replace('"New Jersey', '"NJ')
    with pytest.raises(Invalid, match="lane RETAIL_3PL may not draw from TRANSIT"):
        change(engine, service.import_locations, "US", bad, "bad.toml")
    with engine.connect() as conn:
        assert service.load_locations(conn, "US")["WH-NJ"].name == "New Jersey warehouse"  # the rename rolled back
        assert service.lanes_of(conn, "US") == {"FBM": ("3PL-X", "WH-NJ"), "RETAIL_3PL": ("3PL-X",)}
        assert service.projection_problems(conn) == []
    for text, message in (("[[shelf]]\n", "unknown table"), ("[[location]]\ncode = 1\n", "strings"),
                          ('[[lane]]\nlane = "FBM"\n', "a lane is lane"), ("code = [", "not valid TOML"),
                          ('[[location]]\ncode = "A"\nkind = "warehouse"\n[[location]]\ncode = "A"\nkind = "3pl"\n',
                           "location A is given twice")):
        with pytest.raises(Invalid, match=message):
            change(engine, service.import_locations, "US", text, "bad.toml")


def test_a_projection_changed_behind_the_logs_back_is_named_and_rebuilt(engine):
    from ledger_service.store.tables import lanes, locations

    change(engine, service.import_locations, "US", TOML, "locations.toml")
    with write_transaction(engine) as conn:
        conn.execute(lanes.insert().values(subsidiary="US", lane="FBM", location="TRANSIT", event_id=1))
        conn.execute(locations.update().where(locations.c.code == "3PL-X").values(kind="warehouse"))
    with engine.connect() as conn:
        problems = service.projection_problems(conn)
    assert [p.split(":")[0] for p in problems] == ["location 3PL-X of US", "lane FBM of US"]
    with write_transaction(engine) as conn:
        service.rebuild(conn)
    with engine.connect() as conn:
        assert service.projection_problems(conn) == []
        assert service.lanes_of(conn, "US")["FBM"] == ("3PL-X", "WH-NJ")


def test_a_subsidiary_without_the_expense_accounts_gets_them_with_its_first_location(engine):
    from ledger_service.chart.model import Subsidiary
    from ledger_service.chart.service import add_subsidiary

    with write_transaction(engine) as conn:
        add_subsidiary(conn, Subsidiary("CA", "Canada", "CAD"))  # no chart at all
    result = change(engine, service.add_location, "CA", "FBA-CA", "fba", "amazon.ca")
    assert result["accounts_added"] == len(STATES) + 4
    assert names(engine, "CA", "Expenses:") == ["Expenses:COGS", "Expenses:Inventory:Shrinkage",
                                                "Expenses:Inventory:WriteOff:Damaged",
                                                "Expenses:Inventory:WriteOff:Lost"]
    with engine.connect() as conn:
        assert service.list_locations(conn, "CA")[0]["currency"] == "CAD"
