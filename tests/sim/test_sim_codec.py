"""The simulator's JSON codec must be exactly ``json``: same text, same decoded values, same refusals."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.backends.sim.codec import decode, encode

_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text()
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4)
    | st.tuples(inner, inner)
    | st.dictionaries(st.text(max_size=5) | st.integers(), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(_values)
def test_encode_is_byte_identical_to_json_dumps(value: Any) -> None:
    text = encode(value)
    assert text == json.dumps(value, separators=(",", ":"))
    assert repr(decode(text)) == repr(json.loads(text))


def test_json_semantics_tuples_int_keys_and_fresh_objects() -> None:
    inner = [1, 2]
    msg = {"t": (1, "a"), 7: "seven", "a": inner, "b": inner}
    got = decode(encode(msg))
    assert got == {"t": [1, "a"], "7": "seven", "a": [1, 2], "b": [1, 2]}
    assert got["a"] is not got["b"], "a shared object must arrive as two independent ones"
    assert decode(encode(msg)) is not got and decode(encode(msg))["a"] is not got["a"]


def test_refusals_match_json() -> None:
    with pytest.raises(TypeError, match="not JSON serializable"):
        encode({"x": object()})
    with pytest.raises(json.JSONDecodeError):
        decode("[1,")
    with pytest.raises(json.JSONDecodeError):
        decode("[1] trailing")
    assert decode(" [1] ") == [1]  # whitespace around a value is fine, as with json.loads
