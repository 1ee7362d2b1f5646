"""The catalog's pure parts by hand: effective dating (an ASIN merge, a relabelled FNSKU, an MSKU remapped),
history that only grows forward, bundles, Amazon reports' identity columns, and errors naming file:line."""

from __future__ import annotations

import json
from datetime import date

import pytest

from ledger_service import limits
from ledger_service.catalog.model import Catalog, apply, in_force
from ledger_service.catalog.parse import AMAZON, BUNDLES, ParsedImport, parse_amazon_report, parse_catalog_file
from ledger_service.errors import Invalid
from ledger_service.eventlog.model import canonical_json

HEADER = "sku,title,marketplace,msku,asin,fnsku,parent_asin,valid_from\n"


def imported(*files: tuple[str, str], catalog: Catalog | None = None) -> Catalog:
    catalog = catalog or Catalog()
    for n, (name, text) in enumerate(files, start=1):
        catalog = apply(catalog, parse_catalog_file(text.encode(), name), n)
    return catalog


def history(catalog: Catalog, msku: str, marketplace: str = "amazon.com"):
    return catalog.identities[(marketplace, msku)]


def test_an_asin_merge_closes_the_identity_in_force_the_day_before():
    catalog = imported(("a.csv", HEADER + "W-1,Widget,amazon.com,0042,B00000000A,X00000000A,B0000000PA,\n"),
                       ("b.csv", "sku,marketplace,msku,asin,valid_from\nW-1,amazon.com,0042,B00000000B,2026-03-01\n"))
    old, new = history(catalog, "0042")
    assert (old.asin, old.valid_from, old.valid_to) == ("B00000000A", limits.EARLIEST, date(2026, 2, 28))
    assert (new.asin, new.valid_from, new.valid_to) == ("B00000000B", date(2026, 3, 1), None)
    # columns b.csv left out are not stated: the FNSKU and parent ASIN carry over
    assert (new.fnsku, new.parent_asin, new.sku, new.event_id) == ("X00000000A", "B0000000PA", "W-1", 2)
    assert in_force(history(catalog, "0042"), date(2026, 2, 28)).asin == "B00000000A"
    assert in_force(history(catalog, "0042"), date(2026, 3, 1)).asin == "B00000000B"
    assert catalog.items["W-1"].title == "Widget"


def test_a_relabelled_fnsku_and_a_remapped_msku_keep_their_history():
    catalog = imported(
        ("a.csv", HEADER + "W-1,Widget,amazon.com,W1-FBA,B00000000A,X00000000A,,2026-01-01\n"
                           "W-1,Widget,amazon.com,W1-FBA,B00000000A,X00000000B,,2026-05-01\n"
                           "W-2,Widget two,amazon.com,W1-FBA,B00000000A,X00000000B,,2026-07-01\n"))
    rows = history(catalog, "W1-FBA")
    assert [(i.sku, i.fnsku, i.valid_from, i.valid_to) for i in rows] == [
        ("W-1", "X00000000A", date(2026, 1, 1), date(2026, 4, 30)),
        ("W-1", "X00000000B", date(2026, 5, 1), date(2026, 6, 30)),
        ("W-2", "X00000000B", date(2026, 7, 1), None)]
    assert in_force(rows, date(2025, 12, 31)) is None  # before the first identity: unknown, never guessed
    assert in_force(rows, date(2026, 6, 30)).sku == "W-1"


def test_history_only_grows_forward():
    catalog = imported(("a.csv", HEADER + "W-1,,amazon.com,M1,B00000000A,,,2026-01-01\n"
                                          "W-1,,amazon.com,M1,B00000000B,,,2026-03-01\n"))
    # a row agreeing with what the catalog says on its day changes nothing
    same = imported(("old.csv", HEADER + "W-1,,amazon.com,M1,B00000000A,,,2026-02-01\n"), catalog=catalog)
    assert history(same, "M1") == history(catalog, "M1")
    with pytest.raises(Invalid, match=r"late\.csv:2: MSKU M1 on amazon.com from 2026-02-01 says .*asin B00000000C.*"
                                      r"a change must start after 2026-03-01"):
        imported(("late.csv", HEADER + "W-1,,amazon.com,M1,B00000000C,,,2026-02-01\n"), catalog=catalog)
    # the time before the first identity, which nothing covered, may be filled
    earlier = imported(("early.csv", HEADER + "W-1,,amazon.com,M1,B00000000Z,,,2025-06-01\n"), catalog=catalog)
    assert [(i.asin, i.valid_from, i.valid_to) for i in history(earlier, "M1")] == [
        ("B00000000Z", date(2025, 6, 1), date(2025, 12, 31)), ("B00000000A", date(2026, 1, 1), date(2026, 2, 28)),
        ("B00000000B", date(2026, 3, 1), None)]


def test_two_rows_of_one_msku_and_day_must_agree():
    text = HEADER + "W-1,,amazon.com,M1,B00000000A,,,\nW-1,,amazon.com,M1,B00000000B,,,\n"
    with pytest.raises(Invalid, match=r"c\.csv:3: MSKU M1 .* differs from line 2"):
        imported(("c.csv", text))


def test_bundles_are_dated_compositions_of_catalog_items():
    catalog = imported(("items.csv", "sku,title\nW-1,Widget\nW-2,Gadget\n"))
    catalog = apply(catalog, parse_catalog_file(
        b"bundle_sku,component_sku,quantity,title\nKIT,W-1,2,Kit\nKIT,W-2,1,\n", "kit.csv"), 2)
    assert catalog.items["KIT"].is_bundle and catalog.items["KIT"].title == "Kit"
    assert catalog.composition("KIT") == {"W-1": 2, "W-2": 1}
    catalog = apply(catalog, parse_catalog_file(
        b"bundle_sku,component_sku,quantity,valid_from\nKIT,W-1,3,2026-06-01\n", "kit2.csv"), 3)
    assert catalog.composition("KIT", date(2026, 5, 31)) == {"W-1": 2, "W-2": 1}
    assert catalog.composition("KIT", date(2026, 6, 1)) == catalog.composition("KIT") == {"W-1": 3}
    later = apply(Catalog(dict(catalog.items)), parse_catalog_file(
        b"bundle_sku,component_sku,quantity,valid_from\nK2,W-1,1,2026-06-01\n", "k2.csv"), 4)
    earlier = apply(later, parse_catalog_file(  # the time before its first composition may be filled
        b"bundle_sku,component_sku,quantity,valid_from\nK2,W-2,2,2026-01-01\n", "k2-early.csv"), 5)
    assert earlier.composition("K2", date(2026, 5, 31)) == {"W-2": 2}
    assert earlier.composition("K2") == {"W-1": 1}
    for text, message in (
            ("KIT2,W-9,1\n", r"n\.csv:2: component W-9 of bundle KIT2 is not in the catalog"),
            ("KIT2,KIT,1\n", r"n\.csv:2: component KIT of bundle KIT2 is a bundle itself"),
            ("W-1,W-2,1\n", r"n\.csv:2: W-1 is a component of a bundle"),
            ("KIT,W-2,1,2026-01-01\n", r"n\.csv:2: bundle KIT from 2026-01-01 is 1 x W-2, but the catalog has "
                                       r"2 x W-1 \+ 1 x W-2 on that day; a change must start after 2026-06-01"),
            ("KIT3,W-1,1\nKIT3,W-1,2\n", r"n\.csv:3: component W-1 of bundle KIT3 from 1999-01-01 is already on "
                                         r"line 2")):
        header = "bundle_sku,component_sku,quantity" + (",valid_from\n" if text.count(",") == 3 else "\n")
        with pytest.raises(Invalid, match=message):
            apply(catalog, parse_catalog_file((header + text).encode(), "n.csv"), 4)


@pytest.mark.parametrize("text, message", [
    ("sku,fnksu\nA,X\n", r"f\.csv:1: unknown column 'fnksu'"),
    ("title\nA\n", r"f\.csv:1: not a catalog file"),
    (HEADER + "A,,amazon.com,M,NOTANASIN,,,\n", r"f\.csv:2: asin 'NOTANASIN' is not 10 letters or digits"),
    (HEADER + ",x,,,,,,\n", r"f\.csv:2: sku is empty"),
    (HEADER + "A,,,M1,,,,\n", r"f\.csv:2: msku given without a marketplace"),
    (HEADER + "A,,amazon.com,,,,,\n", r"f\.csv:2: marketplace amazon.com needs the seller SKU"),
    (HEADER + "A,,amazon.com,M,,,,2026-02-30\n", r"f\.csv:2: valid_from '2026-02-30'"),
    (HEADER + "A,,amazon.com,M,,,,2200-01-01\n", r"f\.csv:2: valid_from '2200-01-01': .*outside"),
    (HEADER + "A,,Amazon com,M,,,,\n", r"f\.csv:2: marketplace 'Amazon com' is not a marketplace domain"),
    (HEADER + "A\x00B,,,,,,,\n", r"f\.csv:2: sku contains a control character"),
    (HEADER + "USD,,,,,,,\n", r"f\.csv:2: SKU 'USD' is a currency code"),
    (HEADER + "A,Widget,,,,,,\nA,Gadget,,,,,,\n", r"f\.csv:3: SKU A is titled 'Gadget' here but 'Widget' on line 2"),
    (HEADER + "A,,,,,,,,extra\n", r"f\.csv:2: 9 cells for the 8 columns"),
    ("sku,title\n" + "A," + "x" * 2001 + "\n", r"f\.csv:2: title is 2001 characters long"),
    ("bundle_sku,component_sku,quantity\nK,A,0\n", r"f\.csv:2: quantity '0' is not a whole number"),
    ("bundle_sku,component_sku,quantity\nK,A,1.5\n", r"f\.csv:2: quantity '1.5'"),
    ("bundle_sku,quantity\nK,1\n", r"f\.csv:1: a bundles file needs the column component_sku"),
    ('sku,title\n"A,x\n', r"f\.csv:2: unreadable quoting"),
])
def test_bad_files_are_refused_naming_file_and_line(text, message):
    with pytest.raises(Invalid, match=message):
        parse_catalog_file(text.encode(), "f.csv")


def test_identifiers_stay_strings_with_their_leading_zeros():
    parsed = parse_catalog_file(('\ufeff' + HEADER + '="00123",,Amazon.COM,007-A,b00000000a,,,\n').encode(), "z.csv")
    (item,), (identity,) = parsed.items, parsed.identities
    assert item.sku == "00123"
    assert (identity.msku, identity.marketplace, dict(identity.stated)["asin"]) == ("007-A", "amazon.com",
                                                                                    "B00000000A")
    recorded = json.loads(canonical_json(parsed.as_payload()))
    assert ParsedImport.from_payload(recorded) == parsed  # what the event records folds back the same


MYI = ("sku\tfnsku\tasin\tproduct-name\tcondition\tyour-price\n"
       "0042\tX00000000A\tB00000000A\tBlue \"Widget\"\tNew\t19.99\n"
       "W-2\tX00000000B\tB00000000B\tGadget\tNew\t9.99\n")


def test_an_undated_amazon_report_maps_each_msku_to_itself_from_the_start():
    parsed = parse_amazon_report(MYI.encode(), "myi.txt", "amazon.com")
    assert parsed.format == AMAZON and parsed.key.endswith(":amazon.com:")
    catalog = apply(Catalog(), parsed, 1)
    (first,) = history(catalog, "0042")
    assert (first.sku, first.fnsku, first.asin, first.valid_from) == ("0042", "X00000000A", "B00000000A",
                                                                      limits.EARLIEST)
    assert catalog.items["0042"].title == 'Blue "Widget"'
    # a brand SKU already mapped stays mapped: the report states identifiers, not the SKU
    mapped = imported(("c.csv", HEADER + "BRAND-1,Widget,amazon.com,0042,B00000000A,X00000000A,,\n"))
    again = apply(mapped, parse_amazon_report(MYI.replace("X00000000A", "X00000000Z").encode(), "myi2.txt",
                                              "amazon.com", date(2026, 8, 1)), 2)
    assert [(i.sku, i.fnsku, i.valid_from) for i in history(again, "0042")] == [
        ("BRAND-1", "X00000000A", limits.EARLIEST), ("BRAND-1", "X00000000Z", date(2026, 8, 1))]


LEDGER = ('"Date","FNSKU","ASIN","MSKU","Title","Event Type","Reference ID","Quantity","Fulfillment Center",'
          '"Disposition"\n'
          '"07/10/2026","X00000000B","B00000000A","0042","Widget","Shipments","111-1","-1","PHX7","SELLABLE"\n'
          '"07/02/2026","X00000000A","B00000000A","0042","Widget","Shipments","111-2","-1","PHX7","SELLABLE"\n'
          '"07/20/2026","X00000000A","B00000000A","0042","Widget","Shipments","111-3","-1","PHX7","SELLABLE"\n')


def test_an_inventory_ledger_dates_each_identity_from_the_first_day_it_shows():
    catalog = apply(Catalog(), parse_amazon_report(LEDGER.encode(), "ledger.csv", "amazon.com"), 1)
    assert [(i.fnsku, i.valid_from, i.valid_to, i.line) for i in history(catalog, "0042")] == [
        ("X00000000A", limits.EARLIEST, date(2026, 7, 9), 3),  # new to the catalog: from the start
        ("X00000000B", date(2026, 7, 10), None, 2)]  # old labels still seen later do not flip it back
    with pytest.raises(Invalid, match="dates its rows"):
        parse_amazon_report(LEDGER.encode(), "ledger.csv", "amazon.com", date(2026, 1, 1))


@pytest.mark.parametrize("text, message", [
    ("sku\tcondition\nA\tNew\n", r"r\.txt:1: not an Amazon report with identity columns"),
    ("sku\tasin\nA\tB00000000A\nA\tB00000000B\n", r"r\.txt:3: MSKU A has other identifiers than on line 2"),
    ("sku\tasin\n\tB00000000A\n", r"r\.txt:2: msku is empty"),
    ("sku\tasin\nA\tBAD\n", r"r\.txt:2: asin 'BAD'"),
    ("date\tsku\tasin\n2026-13-01\tA\tB00000000A\n", r"r\.txt:2: Date '2026-13-01'"),
])
def test_bad_amazon_reports_are_refused_naming_file_and_line(text, message):
    with pytest.raises(Invalid, match=message):
        parse_amazon_report(text.encode(), "r.txt", "amazon.com")


def test_a_bundles_file_is_told_from_a_catalog_by_its_header():
    assert parse_catalog_file(b"Bundle SKU,Component-SKU,Quantity\nK,A,2\n", "b.csv").format == BUNDLES
