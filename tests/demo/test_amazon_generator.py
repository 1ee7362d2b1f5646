"""The demo Amazon generator: deterministic, parseable, reconciling to the cent, with exactly the planned unknowns."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal


import pytest

from ledger_service.demo.amazon_generator import HEADER, UNKNOWN_TRIPLES, generate
from ledger_service.demo.finances_pages import page_files
from ledger_service.mapping.loader import load_mapping
from ledger_service.settings import DEFAULT_ACCOUNTS_DIR
from ledger_service.sources.amazon import parse_document

ACCOUNTS = DEFAULT_ACCOUNTS_DIR


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    out = tmp_path_factory.mktemp("amazon")
    paths = generate(out)
    return out, paths, {p: parse_document(p.read_bytes(), p.name) for p in paths}


def test_same_seed_same_bytes(tmp_path, generated):
    out, paths, _ = generated
    again = generate(tmp_path / "again")
    assert [p.relative_to(tmp_path / "again") for p in again] == [p.relative_to(out) for p in paths]
    assert all(a.read_bytes() == b.read_bytes() for a, b in zip(again, paths))


def test_other_seed_differs(tmp_path, generated):
    _, paths, _ = generated
    other = generate(tmp_path / "other", seed=8)
    assert [p.read_bytes() for p in other] != [p.read_bytes() for p in paths]


def test_layout(generated):
    out, paths, _ = generated
    assert {p.parent.name for p in paths} == {"US", "UK"}
    for path in paths:
        lines = path.read_text().splitlines()
        assert tuple(lines[0].split("\t")) == HEADER
        assert all(len(line.split("\t")) == 24 for line in lines)
        settlement_id = path.stem.removeprefix("settlement_")
        assert len(settlement_id) == 11 and settlement_id.isdigit()
    assert len({p.stem for p in paths}) == len(paths)


def test_each_settlement_sums_exactly(generated):
    _, _, parsed = generated
    for path, doc in parsed.items():
        assert doc.format == "settlement-v2" and not doc.warnings
        assert len(doc.settlements) == 1
        summary = doc.settlements[0]
        assert summary.currency == {"US": "USD", "UK": "GBP"}[path.parent.name]
        total = Decimal("0")
        for amount in doc.amounts:
            assert isinstance(amount.amount, Decimal) and amount.settlement_id == summary.settlement_id
            total += amount.amount
        assert total == summary.total_amount, path


def test_a_negative_uk_settlement(generated):
    _, _, parsed = generated
    uk = [doc.settlements[0].total_amount for path, doc in parsed.items() if path.parent.name == "UK"]
    assert any(total < 0 for total in uk)


def test_reserve_carries_forward(generated):
    _, _, parsed = generated
    for sub in ("US", "UK"):
        docs = [doc for path, doc in parsed.items() if path.parent.name == sub]
        for before, after in zip(docs, docs[1:]):
            held = [a.amount for a in before.amounts if a.amount_description == "Current Reserve Amount"]
            released = [a.amount for a in after.amounts if a.amount_description == "Previous Reserve Amount Balance"]
            assert released == [-held[0]]


def test_unknown_triples_are_exactly_the_deliberate_ones(generated):
    _, _, parsed = generated
    for sub in ("US", "UK"):
        mapping = load_mapping(ACCOUNTS, sub)
        docs = [doc for path, doc in parsed.items() if path.parent.name == sub]
        triples = {(a.transaction_type, a.amount_type, a.amount_description) for doc in docs for a in doc.amounts}
        unknown = {t for t in triples if mapping.resolve("settlement", t) is None}
        assert unknown == set(UNKNOWN_TRIPLES), sub
        unknown_rows = sum(1 for doc in docs for a in doc.amounts
                           if (a.transaction_type, a.amount_type, a.amount_description) in unknown)
        assert unknown_rows == len(docs) // 2  # about one per two settlements


def _in_order(parsed, sub):
    return sorted((doc for path, doc in parsed.items() if path.parent.name == sub),
                  key=lambda doc: doc.settlements[0].start)


def test_a_negative_settlement_is_carried_into_the_next_and_charged(generated):
    """Not charged at its own deposit date: the next settlement opens with Payable to Amazon of exactly the negative
    total, then a Successful charge of the opposite amount a day or two after its start."""
    _, _, parsed = generated
    carried = 0
    for sub in ("US", "UK"):
        docs = _in_order(parsed, sub)
        for before, after in zip(docs, docs[1:]):
            owed = before.settlements[0].total_amount
            opening = [(a.triple, a.amount) for a in after.amounts[:2]]
            if owed >= 0:
                assert all(a.amount_description not in ("Payable to Amazon", "Successful charge") for a in after.amounts)
                continue
            carried += sub == "UK"
            assert opening == [(("other-transaction", "other-transaction", "Payable to Amazon"), owed),
                               (("other-transaction", "other-transaction", "Successful charge"), -owed)]
            charged = after.amounts[1].posted_at - after.settlements[0].start
            assert timedelta(days=1) <= charged <= timedelta(days=3)
    assert carried >= 1  # the UK stock-out settlement (test_a_negative_uk_settlement)


def test_the_open_group_pages_carry_the_debt_too(tmp_path):
    """finances=True: the carrying settlement's pages show the debt and the charge (DebtRecoveryEvent), so that a
    group's pages still sum to its total minus its reserve movements and deliberate unknowns."""
    paths = generate(tmp_path, finances=True)
    uk = sorted((p for p in paths if p.parent.name == "UK"), key=lambda p: p.read_text().split("\n")[1])
    docs = [parse_document(p.read_bytes(), p.name) for p in uk]
    [after] = [d for d in docs if any(a.amount_description == "Payable to Amazon" for a in d.amounts)]
    group = after.settlements[0].settlement_id
    pages = [p for p in page_files(tmp_path / "UK" / "finances") if p.name.startswith(f"{group}-")]
    amounts = [a for p in pages for a in parse_document(p.read_bytes(), p.name, group_id=group).amounts]
    debt = sorted((a.amount_description, a.amount) for a in amounts if a.transaction_type == "DebtRecoveryEvent")
    owed = next(a.amount for a in after.amounts if a.amount_description == "Payable to Amazon")
    assert debt == [("DebtAdjustment", owed), ("DebtPayment", -owed)]
    left_out = sum((a.amount for a in after.amounts if a.transaction_type == "Transfer" or a.triple in UNKNOWN_TRIPLES),
                   Decimal(0))
    assert sum((a.amount for a in amounts), Decimal(0)) == after.settlements[0].total_amount - left_out


def test_legacy_flag_adds_the_quarter_before_and_leaves_v2_alone(tmp_path, generated):
    out, paths, _ = generated
    both = generate(tmp_path, legacy=True)
    assert [p.relative_to(tmp_path) for p in both[:len(paths)]] == [p.relative_to(out) for p in paths]
    assert all(a.read_bytes() == b.read_bytes() for a, b in zip(both, paths))
    legacy = both[len(paths):]
    assert legacy and {p.parent.relative_to(tmp_path).as_posix() for p in legacy} == {"US/legacy", "CA/legacy"}
