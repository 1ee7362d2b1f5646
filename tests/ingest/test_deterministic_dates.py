"""Amounts that carry no date take their document's date, never the clock: the same documents ingested on two
different days post the same entries.

Documents:
  (i)  a V2 flat file, settlement 7301 (2026-03-01 to 2026-03-14 23:59:59, deposited 03-16):
         line 3-5  Order 111-0000051-0000051 on 03-03: Principal 100.00, Commission -15.00, FBA fee -5.00 = 80.00
         line 6    ServiceFee / other-transaction / Storage Fee -12.00, posted-date and posted-date-time blank
       total 80.00 - 12.00 = 68.00. The undated storage fee takes the settlement's end: 2026-03-14 23:59:59.
  (ii) the demo's Finances v0 view of the open US group (generate(orders=20, days=14, seed=3, finances=True)):
       its group record (FinancialEventGroupStart 2026-07-01T00:00:00Z, open, so no end) and its pages, whose
       ServiceFeeEvents have no PostedDate (faithful to the model): they take the group's start, 2026-07-01.
What legitimately differs by day is when the events were recorded (recorded_at) and so the chain hashes; neither
is compared.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from freezegun import freeze_time
from sqlalchemy import func, select

from ledger_service.balances.integrity import verify
from ledger_service.demo.amazon_generator import generate
from ledger_service.demo.finances_pages import page_files, to_json
from ledger_service.errors import Invalid
from ledger_service.ingest.service import ingest_bytes, ingest_file
from ledger_service.sources.amazon.text import parse_datetime
from ledger_service.sources.model import ParseError
from ledger_service.store.engine import make_engine
from ledger_service.store.tables import accounts, entries, events, postings
from tests.support.settlement_files import other, sale, v2

FLAT_FILE = v2("7301", "2026-03-01", "2026-03-14", "2026-03-16", "68.00", [
    *sale("111-0000051-0000051", "2026-03-03"),
    other("ServiceFee", "Storage Fee", "-12.00", None)])  # line 6: no posted date at all
DAYS = ("2027-01-05", "2030-06-30")


@contextmanager
def ingested_on(day: str):
    """The clock frozen at `day`, with the date parser's memo (lru_cache) emptied on both sides: datetimes parsed
    while frozen are freezegun's FakeDatetime, and one outliving the freeze in the memo would reach later tests,
    where PostgreSQL's COPY (store.bulk, exact datetime/date types only) refuses it; a real datetime memoised
    before the freeze is refused the same way inside it."""
    parse_datetime.cache_clear()
    try:
        with freeze_time(day):
            yield
    finally:
        parse_datetime.cache_clear()


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    """The demo's US Finances folder: one open group's record and its pages."""
    out = tmp_path_factory.mktemp("demo-dates")
    generate(out, orders=20, days=14, seed=3, finances=True)
    return out / "US" / "finances"


@pytest.fixture
def second_engine(template, tmp_path):
    """A second fresh ledger on the same engine as `engine` (dropped with the others at the end of the session)."""
    fresh, _ = template
    eng = make_engine(fresh(tmp_path))
    yield eng
    eng.dispose()


def ingest_documents(engine, tmp_path: Path, demo: Path) -> None:
    flat = tmp_path / "settlement_7301.txt"
    flat.write_bytes(FLAT_FILE)
    assert ingest_file(engine, flat, "US").warnings == []
    for page in page_files(demo):
        if page.stem.endswith("-group"):  # listFinancialEventGroups: the group's dates, no money
            assert ingest_bytes(engine, page.read_bytes(), page.name, "US").entries == 0
            continue
        group, _, number = page.stem.rpartition("-page")
        ingest_bytes(engine, page.read_bytes(), page.name, "US", group_id=group, group_final=False,
                     operation="listFinancialEventsByGroupId", page_number=int(number))


def posted(engine) -> list[tuple]:
    """Every event in order with what it posted; never recorded_at, seq or hashes (they say when)."""
    with engine.connect() as conn:
        lines: dict[int, list] = {}
        for row in conn.execute(
                select(postings.c.entry_id, accounts.c.name, postings.c.commodity, postings.c.quantity,
                       postings.c.amount, postings.c.functional_amount, postings.c.marketplace,
                       postings.c.settlement_id, postings.c.order_id, postings.c.sku, postings.c.location,
                       postings.c.dimensions, postings.c.source_line)
                .join(accounts, accounts.c.id == postings.c.account_id).order_by(postings.c.id)):
            lines.setdefault(row[0], []).append(tuple(row[1:]))
        by_event: dict[int, list] = {}
        for entry_id, event_id, *fields in conn.execute(
                select(entries.c.id, entries.c.event_id, entries.c.effective_date, entries.c.currency,
                       entries.c.description, entries.c.state).order_by(entries.c.id)):
            by_event.setdefault(event_id, []).append((*fields, lines.get(entry_id, [])))
        return [(kind, key, occurred_at, input_hash, by_event.get(event_id, []))
                for event_id, kind, key, occurred_at, input_hash in conn.execute(
                    select(events.c.id, events.c.kind, events.c.idempotency_key, events.c.occurred_at,
                           events.c.input_hash).order_by(events.c.id))]


def recorded_days(engine) -> set[date]:
    with engine.connect() as conn:
        return {r.date() for r in conn.execute(select(events.c.recorded_at)).scalars()}


def test_the_same_documents_on_two_days_post_the_same_entries(engine, second_engine, tmp_path, demo):
    for day, ledger in zip(DAYS, (engine, second_engine)):
        with ingested_on(day):
            ingest_documents(ledger, tmp_path, demo)
    # The clock really differed (so the equality below is about dates taken from the documents)...
    assert recorded_days(engine) == {date(2027, 1, 5)}
    assert recorded_days(second_engine) == {date(2030, 6, 30)}
    first, second = posted(engine), posted(second_engine)
    assert first == second
    assert len(first) > 10 and sum(len(e) for *_, e in first) > 10  # a real comparison, not of two empty logs
    for ledger in (engine, second_engine):
        with ledger.connect() as conn:
            assert verify(conn).ok


def test_an_undated_flat_file_row_takes_the_settlement_end(engine, tmp_path, demo):
    with ingested_on(DAYS[0]):
        ingest_documents(engine, tmp_path, demo)
    [fee] = [e for e in posted(engine) if e[1] == "settlement:7301:row:4"]  # the 4th amount, line 6
    kind, _, occurred_at, _, [(effective_date, currency, description, state, lines)] = fee
    assert (kind, occurred_at, effective_date, currency, description, state) == (
        "amazon_amount", datetime(2026, 3, 14, 23, 59, 59), date(2026, 3, 14), "USD",
        "ServiceFee / other-transaction / Storage Fee", "posted")
    # Clearing debited -12.00 (Amazon's sign), the storage expense debited 12.00, both from line 6.
    assert [(account, amount, line) for account, _, _, amount, *_, line in lines] == [
        ("Assets:Amazon:Clearing", -1200, None), ("Expenses:Amazon:Fees:Storage", 1200, 6)]


def test_undated_service_fees_of_an_open_group_take_the_group_start(engine, tmp_path, demo):
    [group_file] = [p for p in page_files(demo) if p.stem.endswith("-group")]
    [group] = json.loads(group_file.read_text())["payload"]["FinancialEventGroupList"]
    assert (group["ProcessingStatus"], group["FinancialEventGroupStart"]) == ("Open", "2026-07-01T00:00:00Z")
    fees_in_pages = sum(len(json.loads(p.read_text())["payload"]["FinancialEvents"]["ServiceFeeEventList"])
                        for p in page_files(demo) if not p.stem.endswith("-group"))
    assert fees_in_pages >= 1 and all("PostedDate" not in e for e in _service_fees(demo))

    with ingested_on(DAYS[1]):
        ingest_documents(engine, tmp_path, demo)
    with engine.connect() as conn:
        dated = conn.execute(
            select(events.c.occurred_at, entries.c.effective_date, entries.c.state)
            .join(entries, entries.c.event_id == events.c.id)
            .where(events.c.kind == "amazon_amount_provisional",
                   events.c.idempotency_key.like(f"finances:{group['FinancialEventGroupId']}:ServiceFeeEvent:%"))
        ).all()
    # One amount per fee (each has one FeeList entry), each dated at the group's start and pending (open group).
    assert len(dated) == fees_in_pages
    assert set(dated) == {(datetime(2026, 7, 1), date(2026, 7, 1), "pending")}


def _service_fees(demo: Path) -> list[dict]:
    return [e for p in page_files(demo) if not p.stem.endswith("-group")
            for e in json.loads(p.read_text())["payload"]["FinancialEvents"]["ServiceFeeEventList"]]


# --- (iii) no date anywhere: refused ---------------------------------------------------------------------------------

def _money(amount: str) -> dict:
    return {"CurrencyCode": "USD", "CurrencyAmount": Decimal(amount)}  # written as a JSON number (to_json)


SERVICE_FEE = {"FeeDescription": "Subscription Fee Amazon.com 2026-09-14",
               "FeeList": [{"FeeType": "Subscription", "FeeAmount": _money("-39.99")}]}
SHIPMENT = {"AmazonOrderId": "111-0000061-0000061", "MarketplaceName": "Amazon.com",
            "PostedDate": "2026-09-03T10:00:00Z",
            "ShipmentItemList": [{"OrderItemId": "61", "SellerSKU": "SKU-A", "QuantityShipped": 1,
                                  "ItemChargeList": [{"ChargeType": "Principal", "ChargeAmount": _money("100.00")}]}]}

UNDATED_CASES = {
    # A page of group G-NEW (passed by the caller) holding only an undated fee; no record of G-NEW was ingested.
    "by-group": ({"ServiceFeeEventList": [SERVICE_FEE]},
                 dict(group_id="G-NEW", group_final=False, operation="listFinancialEventsByGroupId"),
                 "listFinancialEventsByGroupId page 1"),
    # A date-range page: a dated shipment of group G-DATED and an undated fee of group G-UNDATED. The shipment's
    # date is another group's, so the fee has none; the shipment, posted first, must be rolled back with it.
    "mixed-groups": ({"ShipmentEventList": [SHIPMENT | {"FinancialEventGroupId": "G-DATED"}],
                      "ServiceFeeEventList": [SERVICE_FEE | {"FinancialEventGroupId": "G-UNDATED"}]},
                     dict(operation="listFinancialEvents"),
                     "listFinancialEvents page 1"),
}


def counts(engine) -> tuple[int, int]:
    with engine.connect() as conn:
        return (conn.execute(select(func.count()).select_from(events)).scalar_one(),
                conn.execute(select(func.count()).select_from(entries)).scalar_one())


@pytest.mark.parametrize("case", UNDATED_CASES)
def test_an_undated_event_whose_document_gives_no_date_is_refused(engine, tmp_path, demo, case):
    lists, kwargs, page = UNDATED_CASES[case]
    ingest_documents(engine, tmp_path, demo)  # other groups' dates are in the ledger: none of them may be borrowed
    before = counts(engine)
    assert before[0] > 0
    data = to_json({"payload": {"FinancialEvents": lists}}).encode()
    with pytest.raises((ParseError, Invalid)) as refused:
        ingest_bytes(engine, data, "undated-fees.json", "US", **kwargs)
    assert f"undated-fees.json:{page}:" in str(refused.value)
    assert "no posted date" in str(refused.value)
    assert counts(engine) == before  # nothing posted, not even the dated shipment
    with engine.connect() as conn:
        assert verify(conn).ok
