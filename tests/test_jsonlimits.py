"""Bounded JSON parsing: every way a document can be refused, and what still parses."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hoister import jsonlimits
from hoister.jsonlimits import BeyondLimits, InvalidJSON


@pytest.mark.parametrize(
    ("data", "error", "reason"),
    [
        (b"[" * 65 + b"]" * 65, BeyondLimits, "more than 64 levels"),
        (b"[" * 100_000, BeyondLimits, "nested too deeply"),
        (b'{"a": ' * 3000 + b"1" + b"}" * 3000, BeyondLimits, "nested too deeply"),
        (b"9" * 5000, BeyondLimits, "4300 digits"),
        (b'["\\udc00"]', BeyondLimits, "surrogate"),
        (b'{"\\ud800": 1}', BeyondLimits, "surrogate"),
        (b"NaN", InvalidJSON, "NaN"),
        (b"[-Infinity]", InvalidJSON, "-Infinity"),
        (b"\xff\xfe{", InvalidJSON, "not"),
        (b"{", InvalidJSON, "line 1 column 2"),
        ("caf\udcc3", InvalidJSON, "not UTF-8"),
    ],
)
def test_refused(data: bytes | str, error: type[InvalidJSON], reason: str) -> None:
    with pytest.raises(error, match=reason) as caught:
        jsonlimits.loads(data, what="the answer")
    assert str(caught.value).startswith("the answer ")
    assert isinstance(caught.value, ValueError)


def test_accepted_at_the_limit_and_surrogate_pairs() -> None:
    assert jsonlimits.depth(jsonlimits.loads(b"[" * 64 + b"]" * 64)) == 64
    assert jsonlimits.loads(b'"\\ud83d\\ude00"') == "\N{GRINNING FACE}"
    assert jsonlimits.loads(b"[" * 200 + b"]" * 200, max_depth=200) is not None
    assert jsonlimits.loads('  {"a": [1, 2.5, null, true]} ') == {"a": [1, 2.5, None, True]}


@settings(max_examples=200, deadline=None)
@given(
    st.recursive(
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
        max_leaves=30,
    )
)
def test_loads_agrees_with_json_within_the_limit(value: object) -> None:
    text = json.dumps(value)
    assert jsonlimits.loads(text) == json.loads(text)
    assert jsonlimits.depth(value) <= 64
