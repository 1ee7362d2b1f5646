"""Fuzzing every parser: random bytes and mutations of the public samples (truncated, wrong columns, bad dates and
numbers, other encodings, gzip) never crash. A document either parses or is refused with a ParseError naming it;
through ingest, a refused document posts nothing."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import func, select

from ledger_service.errors import LedgerError
from ledger_service.ingest.service import ingest_bytes
from ledger_service.sources.amazon import parse_document
from ledger_service.sources.model import ParseError
from ledger_service.store.tables import events
from tests.support.samples import SAMPLES

DATA = Path(__file__).resolve().parents[1] / "data" / "amazon"
SEEDS = sorted([*SAMPLES.glob("*.txt"), *SAMPLES.glob("spapi_*.json"),
                *(p for p in DATA.iterdir() if p.suffix in (".txt", ".gz"))])
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def parse_or_refuse(data: bytes, name: str) -> None:
    """The only acceptable outcomes: a parsed document, or a ParseError that names the document."""
    try:
        parse_document(data, name)
    except ParseError as exc:
        assert str(exc).startswith(name), str(exc)


@st.composite
def mutated(draw) -> bytes:
    data = draw(st.sampled_from(SEEDS)).read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["truncate", "flip", "insert", "tab", "date", "number", "encode", "line"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "truncate":
            data = data[:at]
        elif kind == "flip":
            data = data[:at] + bytes([draw(st.integers(0, 255))]) + data[at + 1:]
        elif kind == "insert":
            data = data[:at] + draw(st.binary(max_size=16)) + data[at:]
        elif kind == "tab":  # a column more or less
            data = data[:at] + b"\t" + data[at:] if draw(st.booleans()) else data.replace(b"\t", b"", 1)
        elif kind == "date":
            data = data.replace(b"2", draw(st.sampled_from([b"9999-12-31", b"13/45/2020", b"31.02.2019", b""])), 1)
        elif kind == "number":
            data = data.replace(b".", draw(st.sampled_from([b",", b"e400", b"..", b"NaN", b"1" * 30])), 1)
        elif kind == "encode":
            data = data.decode("utf-8", "replace").encode(draw(st.sampled_from(["cp1252", "utf-16", "shift_jis"])),
                                                          "replace")
        else:  # a line duplicated or dropped
            lines = data.split(b"\n")
            i = at % max(len(lines), 1)
            lines = lines[:i] + lines[i:i + 1] * draw(st.integers(0, 2)) + lines[i + 1:]
            data = b"\n".join(lines)
    if draw(st.booleans()):
        data = gzip.compress(data)
    return data


@FUZZ
@given(st.binary(max_size=2048))
def test_random_bytes_never_crash_a_parser(data):
    parse_or_refuse(data, "random.bin")


@FUZZ
@given(mutated())
def test_mutated_samples_never_crash_a_parser(data):
    parse_or_refuse(data, "mutated.txt")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mutated())
def test_a_refused_mutation_posts_nothing(engine, data):
    with engine.connect() as conn:
        before = conn.execute(select(func.count()).select_from(events)).scalar()
    try:
        ingest_bytes(engine, data, "mutated.txt", "US")
    except (ParseError, LedgerError):
        with engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(events)).scalar() == before


@pytest.mark.parametrize("seed", SEEDS, ids=lambda p: p.name)
def test_every_seed_parses_or_is_refused_by_name(seed):
    parse_or_refuse(seed.read_bytes(), seed.name)
