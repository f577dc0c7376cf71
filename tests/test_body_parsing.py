"""`parse_json`, the strict body parser both the mock and the proxy use: its cheap pre-checks (bracket
count before the depth walk, `\\u` escapes before the surrogate check) must refuse exactly what the full
checks refuse."""
from __future__ import annotations

import json

import pytest

from capillary_contract.requests import Refusal, parse_json


def _nested(levels: int) -> bytes:
    """A value `levels` deep as the depth check counts (a scalar inside `levels - 1` containers)."""
    text = "1"
    for i in range(levels - 1):
        text = f"[{text}]" if i % 2 else f'{{"k":{text}}}'
    return text.encode()


@pytest.mark.parametrize("limit", [2, 3, 8, 64])
def test_a_body_exactly_at_the_depth_limit_is_accepted_and_one_level_more_refused(limit: int) -> None:
    assert parse_json(_nested(limit), limit) is not None
    with pytest.raises(Refusal) as refused:
        parse_json(_nested(limit + 1), limit)
    assert refused.value.status == 400 and "deeper than" in refused.value.problems[0].detail


def test_brackets_inside_strings_do_not_hide_a_deep_body() -> None:
    assert parse_json(json.dumps({"text": "[" * 100}).encode(), 8) == {"text": "[" * 100}
    with pytest.raises(Refusal):
        parse_json(json.dumps({"text": "{{", "deep": [[[[[[[[1]]]]]]]]}).encode(), 8)


@pytest.mark.parametrize("raw", [b'"\\ud800"', b'{"\\uDC00": 1}', b'["x", "\\udbff"]'])
def test_a_lone_surrogate_escape_is_refused(raw: bytes) -> None:
    with pytest.raises(Refusal) as refused:
        parse_json(raw)
    assert refused.value.status == 400


@pytest.mark.parametrize("raw, value", [(b'"\\ud83d\\ude00"', "\U0001F600"), (b'"\\\\ud800"', "\\ud800"),
                                        ('"\u00e9\u6f22"'.encode(), "\u00e9\u6f22")])
def test_paired_surrogates_escaped_backslashes_and_plain_utf8_are_accepted(raw: bytes, value: str) -> None:
    assert parse_json(raw) == value
