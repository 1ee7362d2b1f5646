"""Bulk writes: the COPY text is what the csv module would write, and awkward values come back as they went in."""

import csv
import io
from datetime import date, datetime
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Column, Date, DateTime, Integer, MetaData, Table, Text, select

from ledger_service.store.bulk import csv_text, prepare_rows, write_rows

cells = st.one_of(st.integers(-(2**62), 2**62), st.text(st.characters(blacklist_characters="\x00")))


@given(st.lists(st.lists(cells, min_size=1, max_size=6), max_size=8))
def test_csv_text_is_what_the_csv_module_writes(rows):
    buffer = io.StringIO()
    csv.writer(buffer, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n").writerows(rows)
    assert csv_text(rows) == buffer.getvalue()


def test_none_is_the_unquoted_empty_field_that_copy_reads_as_null():
    # (the csv module writes None as a quoted empty string, which COPY would store as "")
    assert csv_text([(None, 1, "", None)]) == ',1,"",\n'


def test_csv_text_of_dates_decimals_and_booleans():
    rows = [(date(2026, 1, 31), datetime(2026, 1, 31, 23, 59, 58, 7), Decimal("1E+2"), Decimal("-0.50"), True, False)]
    assert csv_text(rows) == "2026-01-31,2026-01-31T23:59:58.000007,100,-0.50,true,false\n"


AWKWARD = ["", '"', '""', "a,b", "line\nbreak", "cr\rlf\r\n", "back\\slash", "\\N", "NULL", "tab\tx", "Größe 日本",
           '{"raw":"a\\"b"}', None]


def test_awkward_values_round_trip_through_the_database(engine):
    table = Table("bulk_round_trip", MetaData(), Column("id", Integer, primary_key=True),
                  Column("label", Text, nullable=False), Column("note", Text),
                  Column("day", Date), Column("at", DateTime))
    rows = [(i, value if value is not None else "-", value, date(2026, 2, i + 1), datetime(2026, 2, 1, 12, 0, i))
            for i, value in enumerate(AWKWARD)]
    with engine.begin() as conn:
        table.create(conn)
        write_rows(conn, prepare_rows(conn, table, ("id", "label", "note", "day", "at"), rows))
        got = [tuple(r) for r in conn.execute(select(table).order_by(table.c.id))]
        table.drop(conn)
    assert got == rows  # "" and NULL stay apart on both engines
