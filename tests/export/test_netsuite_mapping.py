"""The NetSuite mapping is data, validated on load: the package's example covers the default chart, a malformed
file is refused naming the file and the key, and an unmapped account is an error listing every missing one."""

from __future__ import annotations

import pytest

from ledger_service.chart.loader import load_chart
from ledger_service.errors import Invalid
from ledger_service.export.netsuite import mapping as mapping_mod
from ledger_service.export.netsuite.service import export
from ledger_service.settings import DEFAULT_ACCOUNTS_DIR
from ledger_service.store.engine import write_transaction
from tests.trace.books import close, october, write_mapping

MINIMAL = """
[journal]
subsidiary = "7"
rounding_account = "Expenses:FX:Rounding"

[accounts]
"Expenses:FX:Rounding" = "8120"
"Assets:Bank:Operating" = { account = "1010 Operating", id = "55", department = "3" }
"""


def test_the_package_example_maps_every_account_of_the_default_chart():
    example = mapping_mod.load(mapping_mod.PACKAGE_EXAMPLE)
    chart = load_chart(DEFAULT_ACCOUNTS_DIR)
    names = {a.name for a in chart.shared} | {a.name for own in chart.overrides.values() for a in own}
    assert names, "the default chart has accounts"
    assert sorted(names - set(example.accounts)) == []
    assert example.subsidiary_id("US") == "1" and example.currency_id("GBP") == "2"
    assert mapping_mod.from_dict(example.as_dict(), "again").as_dict() == example.as_dict()  # recorded form


def test_targets_take_the_account_first_then_the_dimension_values(tmp_path):
    path = write_mapping(tmp_path, MINIMAL + """
[dimensions.marketplace."amazon.com"]
department = "10"
class = "1"
segments = { custcol_channel = "2" }

[dimensions.location."WH-NJ"]
location = "4"
class = "9"
""")
    mapping = mapping_mod.load(path)
    target = mapping.target("Assets:Bank:Operating", {"marketplace": "Amazon.com", "location": "WH-NJ"})
    assert (target.account, target.account_id) == ("1010 Operating", "55")
    assert (target.department, target.klass, target.location) == ("3", "9", "4")  # account, then location, market
    assert target.segments == (("custcol_channel", "2"),)
    assert mapping.target("Expenses:FX:Rounding", {}).key() == ("8120", "8120", "", "", "", "", ())
    assert mapping.subsidiary_id("ANY") == "7" and mapping.currency_id("USD") is None


@pytest.mark.parametrize("text, message", [
    ("[accounts]\n", r"\[journal\] is missing"),
    (MINIMAL + "[extra]\n", r"unknown key\(s\) extra"),
    (MINIMAL.replace('rounding_account = "Expenses:FX:Rounding"', 'rounding_account = "Nope"'),
     "rounding_account 'Nope' is not mapped"),
    (MINIMAL + '"Income:Amazon:Other" = 4.5\n', "must be a string"),
    (MINIMAL + '"Income:Amazon:Other" = { id = "3" }\n', r"Income:Amazon:Other\"\.account must be a string"),
    (MINIMAL + '"Income:Amazon:Other" = { account = "3", colour = "red" }\n', r"unknown key\(s\) colour"),
    (MINIMAL + '"Income:Amazon:Other" = { account = "3", segments = { region = "1" } }\n',
     "not a NetSuite custom field"),
    (MINIMAL + '[dimensions.colour."red"]\nclass = "1"\n', "unknown dimension"),
    (MINIMAL.replace('subsidiary = "7"', 'subsidiary = "7"\ncsv_date_format = "YY"'), "csv_date_format"),
    (MINIMAL + "[currencies]\nusd = \"1\"\n", "not an ISO 4217 code"),
    ("[journal\n", "not valid TOML"),
])
def test_a_malformed_mapping_is_refused_naming_the_file(tmp_path, text, message):
    path = write_mapping(tmp_path, text)
    with pytest.raises(Invalid, match=message) as caught:
        mapping_mod.load(path)
    assert str(path) in caught.value.message


def test_a_subsidiary_without_an_id_is_refused(tmp_path):
    mapping = mapping_mod.load(write_mapping(tmp_path, MINIMAL.replace('subsidiary = "7"',
                                                                       'subsidiary = { UK = "2" }')))
    with pytest.raises(Invalid, match="has no id for US"):
        mapping.subsidiary_id("US")


def test_unmapped_accounts_are_listed_all_at_once(engine, tmp_path):
    october(engine)
    close(engine, "US", "2026-09")
    close(engine, "US", "2026-10")
    path = write_mapping(tmp_path, MINIMAL)
    with pytest.raises(Invalid) as caught, write_transaction(engine) as conn:
        export(conn, "US", "2026-10", "csv", mapping_file=path)
    message = caught.value.message
    for account in ("Assets:Amazon:Clearing", "Income:Amazon:Sales:Principal", "Expenses:COGS", "Liabilities:Accrued",
                    "Assets:Inventory:FBA:Available", "Expenses:Amazon:Fees:Advertising"):
        assert account in message
    assert "Assets:Bank:Operating" not in message.split("used in")[1]  # mapped
    assert str(path) in message and "add them under [accounts]" in message


def test_the_operators_mapping_is_found_in_the_config_folder(tmp_path):
    assert mapping_mod.mapping_path(None, "US") == mapping_mod.PACKAGE_EXAMPLE
    assert mapping_mod.mapping_path(tmp_path, "US") == mapping_mod.PACKAGE_EXAMPLE
    shared = write_mapping(tmp_path, MINIMAL)
    assert mapping_mod.mapping_path(tmp_path, "US") == shared
    own = write_mapping(tmp_path, MINIMAL, "netsuite/US.toml")
    assert mapping_mod.mapping_path(tmp_path, "US") == own
    assert mapping_mod.mapping_path(tmp_path, "UK") == shared


def test_patterns_map_the_inventory_accounts_a_new_location_makes():
    """`Assets:Inventory:FBA-UK:Inbound:Working` (a location added after the mapping was written) is mapped by the
    example's pattern `Assets:Inventory:FBA-*:Inbound:**` (1410), `WH-NJ:Available` by the catch-all
    `Assets:Inventory:**` (1400); a named account wins over every pattern."""
    example = mapping_mod.load(mapping_mod.PACKAGE_EXAMPLE)
    assert example.target("Assets:Inventory:FBA-UK:Inbound:Working", {}).account == "1410"
    assert example.target("Assets:Inventory:FBA-US:Available", {}).account == "1420"
    assert example.target("Assets:Inventory:FBA-US:Researching", {}).location == "2"
    assert example.target("Assets:Inventory:WH-NJ:Available", {}).account == "1400"
    assert example.target("Assets:Inventory:FBA:Inbound", {}).account == "1410"  # by name
    example.check_accounts(["Assets:Inventory:3PL-X:Unfulfillable", "Assets:Inventory:FBA-CA:ReturnsHold"], "t")
    with pytest.raises(Invalid, match="Expenses:Nowhere"):
        example.check_accounts(["Assets:Inventory:FBA-CA:ReturnsHold", "Expenses:Nowhere"], "t")


def test_a_star_stays_inside_one_segment_and_equal_patterns_are_refused(tmp_path):
    """`Assets:*:Available` does not match `Assets:Inventory:FBA-US:Available` (two segments); two patterns of
    equal weight matching one account are refused naming both; `**` inside a segment is refused at load."""
    path = write_mapping(tmp_path, MINIMAL + """
"Assets:*:Available" = "1"
"Assets:Inventory:*:X" = "2"
"Assets:Inventory:Y:*" = "3"
""")
    m = mapping_mod.load(path)
    assert m.resolve("Assets:Inventory:FBA-US:Available") is None
    assert m.target("Assets:Stock:Available", {}).account == "1"
    with pytest.raises(Invalid, match="equally"):
        m.target("Assets:Inventory:Y:X", {})
    bad = write_mapping(tmp_path, MINIMAL + '"Assets:In**" = "1"\n')
    with pytest.raises(Invalid, match="whole segments"):
        mapping_mod.load(bad)
