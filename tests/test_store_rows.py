"""Stored JSON (store/rows.py `dumps`): orjson's text, `json.dumps`'s for what orjson refuses, read back unchanged.

The documents a create stores are written by orjson for speed; the text must still read back as the
value written, whatever JSON a maker sent, and for everything but floats it is the very text
`json.dumps` wrote before (compact, non-ASCII as itself), so rows written by either read the same.
"""
from __future__ import annotations

import json

import pytest
from hypothesis import given, settings, strategies as st

from mock_support import Client, body_for, call_of
from mockserver.store.rows import dumps

INT64 = st.integers(min_value=-(2 ** 63), max_value=2 ** 63 - 1)
TEXT = st.text(st.characters(exclude_categories=("Cs",)))  # lone surrogates: the fallback's case, below
SCALARS = st.none() | st.booleans() | INT64 | TEXT
FLOATS = st.floats(allow_nan=False, allow_infinity=False)


def _json(leaves: st.SearchStrategy) -> st.SearchStrategy:
    return st.recursive(leaves, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
                        max_leaves=20)


def _before(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@settings(max_examples=300, deadline=None)
@given(_json(SCALARS))
def test_without_floats_the_text_is_what_json_dumps_wrote(value) -> None:
    assert dumps(value) == _before(value)


@settings(max_examples=300, deadline=None)
@given(_json(SCALARS | FLOATS))
def test_every_value_reads_back_as_written(value) -> None:
    assert json.loads(dumps(value)) == value


@pytest.mark.parametrize("value", [
    {"points": 2 ** 70}, [-(2 ** 64)],  # beyond 64 bits
    {1: "a", None: "b"},                # keys that are not strings
    {"name": "\ud800"},                 # a lone surrogate
], ids=["big-int", "big-negative", "non-string-keys", "lone-surrogate"])
def test_what_orjson_refuses_is_written_as_before(value) -> None:
    assert dumps(value) == _before(value)


@pytest.mark.parametrize("odd", [
    {"small": 1e-05, "large": 1.5e300, "text": "é\u2028\x7f\"\\", "nested": [{"k": -0.5}]},  # orjson writes it
    {"big": 2 ** 70, "small": 1e-05},  # orjson refuses the whole document: json.dumps writes it
], ids=["orjson", "fallback"])
def test_a_stored_request_reads_back_as_sent(live_mock, odd) -> None:
    """End to end on each store: the wrapped call a maker sent comes back as sent."""
    client = Client(live_mock.base_url)
    body = body_for("CUSTOMER-STATUS-CHANGE")  # its wrapped call's body admits any further member
    call_of(body)["body"]["extra"] = odd
    created = client.create("CUSTOMER-STATUS-CHANGE", body)
    assert created.status_code == 200, created.text
    got = client.get(created.json()["data"]["requestId"])
    assert got.status_code == 200, got.text
    assert got.json()["data"]["details"]["IntouchAPITask-Payload"]["body"]["extra"] == odd
