"""The canonical JSON behind input hashes and the chain is orjson's; it must be the text json.dumps writes.

Independent method: the standard library's encoder with the same conventions (sorted keys, no whitespace,
non-ASCII kept, decimals and datetimes through the same conversion). Any difference would change every hash
that verify recomputes.
"""

import json
from datetime import date, datetime, timezone
from decimal import Decimal

from hypothesis import given, settings, strategies as st

from ledger_service.eventlog.model import _default, canonical_bytes, canonical_json, chain_hash

REFERENCE = json.JSONEncoder(default=_default, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.text(),  # any code point, control characters and quotes included
    st.decimals(allow_nan=False, allow_infinity=False, places=4),
    st.datetimes(timezones=st.sampled_from([None, timezone.utc])), st.dates(),
)
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.tuples(inner, inner), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=20)


@settings(max_examples=400, deadline=None)
@given(values)
def test_orjson_writes_what_json_writes(value):
    assert canonical_json(value) == REFERENCE.encode(value)
    assert canonical_bytes(value) == REFERENCE.encode(value).encode("utf-8")


def test_known_forms():
    record = {"b": Decimal("-0.50"), "a": datetime(2026, 1, 2, 3, 4, 5), "d": date(2026, 1, 2), "t": "Zürich\t\"x\""}
    assert canonical_json(record) == ('{"a":"2026-01-02T03:04:05.000000","b":"-0.50","d":"2026-01-02",'
                                      '"t":"Zürich\\t\\"x\\""}')
    # The chain hashes the previous hash followed by the canonical record, as bytes.
    import hashlib
    assert chain_hash("0" * 64, record) == hashlib.sha256(("0" * 64 + canonical_json(record)).encode()).hexdigest()
