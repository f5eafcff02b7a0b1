"""The strict JSON parser: orjson where it gives what the json module with the strict hooks
gives, the strict parser wherever the two could differ."""

from __future__ import annotations

import json
import math
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ceasefire.intake import _common
from ceasefire.intake._common import JsonProblem, strict_json


def _strict(text: str | bytes) -> object:
    """The strict parser alone (the reference)."""
    if isinstance(text, bytes):
        text = text.decode(json.detect_encoding(text), "surrogatepass")
    return _common._decoder().decode(text)


def _same(a: Any, b: Any) -> bool:
    """Equal values of equal types all the way down (1 and 1.0 differ, -0.0 and 0.0 too)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float):
        return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)
    return bool(a == b)


@pytest.mark.parametrize(
    "text",
    [
        '{"a": 1, "a": 2}',
        '[{"x": {"k": "10:32", "k": "10:33"}}]',
        '{"a": {"b": 1}, "a": {"b": 1}}',
        # the dropped pair's colon made up for by an escaped colon elsewhere
        '{"a": 1, "a": 2, "t": "\\u003a"}',
        '{"a": 1, "b": "\\u003A", "a": 1}',
    ],
)
def test_a_key_given_twice_is_refused_wherever_it_is(text: str) -> None:
    with pytest.raises(JsonProblem, match="appears twice"):
        strict_json(text)
    with pytest.raises(JsonProblem, match="appears twice"):
        strict_json(text.encode())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # orjson reads an integer beyond 64 bits as a float: the strict parser keeps it whole
        ("18446744073709551616", 18446744073709551616),
        ('{"n": -99999999999999999999}', {"n": -99999999999999999999}),
        ('{"t": "10:32", "u": "\\u003a"}', {"t": "10:32", "u": ":"}),
        (
            '{"a": "x:y", "b": [1, 2.5, -0.0, true, null]}',
            {"a": "x:y", "b": [1, 2.5, -0.0, True, None]},
        ),
        ("\ufeff[1]", None),  # a BOM in text: refused, as before
    ],
)
def test_what_orjson_would_read_otherwise_is_read_as_the_strict_parser_reads_it(
    text: str, expected: object
) -> None:
    if expected is None:
        with pytest.raises(JsonProblem):
            strict_json(text)
        return
    assert _same(strict_json(text), expected)
    assert _same(strict_json(text.encode()), expected)


def test_a_utf8_byte_order_mark_and_other_encodings_are_decoded_as_before() -> None:
    assert strict_json(b"\xef\xbb\xbf[1]") == [1]
    assert strict_json('{"a": "\u0436"}'.encode("utf-16")) == {"a": "\u0436"}


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("[NaN]", "NaN"),
        ('{"x": Infinity}', "Infinity"),
        ("[1e400]", "too large"),
        ("[1,]", "not valid JSON"),
        ("[" * 5000 + "]" * 5000, "nested too deeply"),
    ],
)
def test_refusals_say_what_the_strict_parser_says(text: str, says: str) -> None:
    with pytest.raises(JsonProblem, match=says):
        strict_json(text)


def test_deep_nesting_that_orjson_reads_but_cannot_write_back_goes_to_the_strict_parser() -> None:
    text = "[" * 400 + "]" * 400
    assert _common._fast_json(text) is _common._SLOW
    assert strict_json(text) == _strict(text)


_leaves = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(alphabet=st.sampled_from('ab:"\\\u00e9\u0436\U0001f600 0123456789\n'), max_size=8)
)
_values = st.recursive(
    _leaves,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(
            st.tuples(st.text(alphabet=st.sampled_from("ab:c"), max_size=3), inner), max_size=4
        )
    ),
    max_leaves=20,
)


def _text(value: Any) -> str:
    """JSON text of a value where a list of pairs is an object (keys may repeat)."""
    if isinstance(value, list) and value and all(isinstance(v, tuple) for v in value):
        return "{" + ", ".join(f"{json.dumps(k)}: {_text(v)}" for k, v in value) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_text(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=bool(isinstance(value, str) and "\u0436" in value))


@settings(max_examples=400, deadline=None)
@given(_values)
def test_the_fast_path_gives_exactly_what_the_strict_parser_gives(value: Any) -> None:
    text = _text(value)
    try:
        expected: object = _strict(text)
    except JsonProblem as refused:
        with pytest.raises(JsonProblem) as error:
            strict_json(text)
        assert str(error.value) == str(refused)
        return
    assert _same(strict_json(text), expected)
    assert _same(strict_json(text.encode()), expected)
    try:
        written = orjson.dumps(expected)  # compact, as a client's encoder writes it
    except TypeError:  # an integer beyond 64 bits
        return
    assert _same(strict_json(written), expected)
