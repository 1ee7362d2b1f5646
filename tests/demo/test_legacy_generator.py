"""The legacy-layout generator: deterministic, parseable, reconciling to the cent, chained, negatives carried."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import datetime
from decimal import Decimal

import pytest

from ledger_service.demo.amazon_generator import generate
from ledger_service.demo.legacy_generator import HEADER, ID_RANGE, MONEY_COLUMNS, generate_legacy
from ledger_service.sources.amazon import parse_document
from ledger_service.sources.amazon import settlement_legacy

CURRENCY = {"US": "USD", "CA": "CAD"}
MARKETPLACE = {"US": "Amazon.com", "CA": "Amazon.ca"}


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    out = tmp_path_factory.mktemp("legacy")
    paths = generate_legacy(out)
    return out, paths, {p: parse_document(p.read_bytes(), p.name) for p in paths}


def market(path) -> str:
    return path.parent.parent.name


def in_order(parsed, code):
    return sorted((doc for path, doc in parsed.items() if market(path) == code), key=lambda d: d.settlements[0].start)


def test_same_seed_same_bytes(tmp_path, generated):
    out, paths, _ = generated
    again = generate_legacy(tmp_path)
    assert [p.relative_to(tmp_path) for p in again] == [p.relative_to(out) for p in paths]
    assert all(a.read_bytes() == b.read_bytes() for a, b in zip(again, paths))
    assert [p.read_bytes() for p in generate_legacy(tmp_path / "other", seed=8)] != [p.read_bytes() for p in paths]


def test_layout(generated):
    out, paths, _ = generated
    assert {p.parent.relative_to(out).as_posix() for p in paths} == {"US/legacy", "CA/legacy"}
    assert set(MONEY_COLUMNS) == set(settlement_legacy.AMOUNT_NAMES)
    documented = settlement_legacy.__doc__.split("Layout. The 36-column header, in order, is")[1].split("Sources")[0]
    assert HEADER == tuple(documented.split()) and len(HEADER) == 36
    for path in paths:
        lines = path.read_text(encoding="ascii").split("\n")[:-1]
        assert tuple(lines[0].split("\t")) == HEADER
        assert all(len(line.split("\t")) == 36 for line in lines)
        summary = dict(zip(HEADER, lines[1].split("\t")))
        assert [k for k, v in summary.items() if v] == ["settlement-id", "settlement-start-date",
                                                        "settlement-end-date", "deposit-date", "total-amount",
                                                        "currency"]
        cells = [dict(zip(HEADER, line.split("\t"))) for line in lines[2:]]
        money = [row[c] for row in cells for c in MONEY_COLUMNS if row[c]]
        assert all(re.fullmatch(r"-?\d+\.\d\d ?", m) for m in money)  # two decimals, some with a trailing space
        dates = {row["posted-date"] for row in cells}
        style = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00" if market(path) == "US" else r"\d\d\.\d\d\.\d{4}"
        assert all(re.fullmatch(style, d) for d in dates), path
    assert any(m.endswith(" ") for p in paths for m in re.findall(r"-?\d+\.\d\d ?(?=\t|\n)", p.read_text()))


def test_every_file_parses_as_legacy_and_sums_exactly(generated):
    _, _, parsed = generated
    for path, doc in parsed.items():
        assert doc.format == "settlement-legacy" and not doc.warnings, path
        [summary] = doc.settlements
        assert summary.currency == CURRENCY[market(path)]
        assert all(isinstance(a.amount, Decimal) for a in doc.amounts)
        assert sum((a.amount for a in doc.amounts), Decimal(0)) == summary.total_amount, path


def test_settlements_chain_and_end_where_v2_begins(tmp_path, generated):
    _, _, parsed = generated
    for code in CURRENCY:
        summaries = [doc.settlements[0] for doc in in_order(parsed, code)]
        assert summaries[0].start == datetime(2026, 4, 1)
        for before, after in zip(summaries, summaries[1:]):
            assert after.start == before.end
        assert summaries[-1].end == datetime(2026, 7, 1)
    v2 = [p for p in generate(tmp_path) if p.parent.name == "US"]
    first = min((parse_document(p.read_bytes(), p.name).settlements[0] for p in v2), key=lambda s: s.start)
    assert first.start == in_order(parsed, "US")[-1].settlements[0].end


def test_ids_never_collide_with_the_v2_demo(tmp_path):
    for seed in (0, 7, 99):
        legacy = {p.stem for p in generate_legacy(tmp_path / f"l{seed}", orders=20, seed=seed)}
        v2 = {p.stem for p in generate(tmp_path / f"v{seed}", orders=20, seed=seed)}
        assert not legacy & v2
        assert all(ID_RANGE[0] <= int(s.removeprefix("settlement_")) < ID_RANGE[1] + 10_000 for s in legacy)


def carried(doc) -> dict[str, list[Decimal]]:
    out = defaultdict(list)
    for a in doc.amounts:
        if a.transaction_type in ("Payable to Amazon", "Successful charge", "Current Reserve Amount",
                                  "Previous Reserve Amount Balance"):
            out[a.transaction_type].append(a.amount)
    return out


def test_negative_settlements_are_carried_forward(generated):
    """US: the next settlement opens with Payable to Amazon of exactly the negative total and the card is charged
    for it. CA: Payable to Amazon, no charge, and the next settlement's sales absorb it."""
    _, _, parsed = generated
    for code in CURRENCY:
        docs = in_order(parsed, code)
        negatives = 0
        for before, after in zip(docs, docs[1:]):
            owed, rows = before.settlements[0].total_amount, carried(after)
            if owed >= 0:
                assert not rows["Payable to Amazon"] and not rows["Successful charge"]
                continue
            negatives += 1
            assert after.amounts[0].transaction_type == "Payable to Amazon" and after.amounts[0].amount == owed
            assert rows["Payable to Amazon"] == [owed]
            if code == "US":
                assert rows["Successful charge"] == [-owed]
            else:
                assert rows["Successful charge"] == [] and after.settlements[0].total_amount > 0
        assert negatives >= 1, code
        assert docs[-1].settlements[0].total_amount > 0  # nothing left to carry past the quarter


def test_a_negative_settlement_holds_a_reserve_released_next(generated):
    _, _, parsed = generated
    docs = in_order(parsed, "US")
    pairs = [(b, a) for b, a in zip(docs, docs[1:]) if b.settlements[0].total_amount < 0]
    assert pairs
    for before, after in pairs:
        [held] = carried(before)["Current Reserve Amount"]
        assert held < 0 and carried(after)["Previous Reserve Amount Balance"] == [-held]


def test_legacy_vocabulary(generated):
    _, _, parsed = generated
    seen = defaultdict(set)
    for path, doc in parsed.items():
        code = market(path)
        for a in doc.amounts:
            seen[code].add((a.transaction_type, a.amount_type, a.amount_description))
        orders = defaultdict(lambda: defaultdict(Decimal))
        for a in doc.amounts:
            if a.transaction_type == "Order":
                orders[(a.order_id, a.posted_at)][(a.amount_type, a.amount_description)] += a.amount
                assert a.marketplace == MARKETPLACE[code]
        for amounts in orders.values():
            tax, withheld = amounts[("ItemPrice", "Tax")], ("ItemFees", "MarketplaceFacilitatorTax-Principal")
            if code == "US":  # facilitator tax collected and withheld: nets to zero per order
                assert tax > 0 and amounts[withheld] == -tax
            else:  # HST 13% on principal
                assert tax == (amounts[("ItemPrice", "Principal")] * Decimal("0.13")).quantize(Decimal("0.01"))
                assert withheld not in amounts
        by_line = defaultdict(dict)
        for a in doc.amounts:
            if a.transaction_type == "ServiceFee":
                by_line[a.source.line][a.amount_description] = a.amount
        assert by_line
        for ad in by_line.values():
            assert ad["Cost of Advertising"] < 0
            if code == "CA":  # Amazon's HST on its own ad fee, on the same row
                assert ad["TaxAmount"] == (ad["Cost of Advertising"] * Decimal("0.13")).quantize(Decimal("0.01"))
            else:
                assert "TaxAmount" not in ad
    for code in CURRENCY:
        assert {("Order", "Shipment-Fees", "FBA transportation fee"), ("Order", "ItemPrice", "Principal"),
                ("Order", "ItemFees", "Commission"), ("Order", "ItemFees", "FBAPerUnitFulfillmentFee"),
                ("Order", "Promotion", "Principal"), ("Refund", "ItemPrice", "Principal"),
                ("Refund", "ItemFees", "Commission"), ("Refund", "ItemFees", "RefundCommission"),
                ("Storage Fee", "other-transaction", "Other"), ("WAREHOUSE_DAMAGE", "other-transaction", "Other"),
                ("Payable to Amazon", "other-transaction", "Other")} <= seen[code], code
    micro = [a.amount for doc in in_order(parsed, "CA") for a in doc.amounts if a.transaction_type == "Micro Deposit"]
    assert micro == [Decimal("-0.12")]
    assert ("Successful charge", "other-transaction", "Other") in seen["US"]
