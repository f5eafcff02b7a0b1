"""Our fast canonical JSON is byte for byte the reference RFC 8785 implementation."""

from __future__ import annotations

import re

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from ceasefire.canonical import Unusual, canonical_json, text

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(), children, max_size=5)
    ),
    max_leaves=30,
)


@settings(max_examples=1000, deadline=None)
@given(json_values)
def test_same_bytes_as_the_reference(value: object) -> None:
    assert canonical_json(value) == rfc8785.dumps(value)


def test_rfc8785_examples() -> None:
    assert canonical_json({"b": 2, "a": [1.0, 0.5, "\u20ac"], "c": -0.0}) == (
        '{"a":[1,0.5,"\u20ac"],"b":2,"c":0}'.encode()
    )
    assert canonical_json({"\U0001f600": 1, "\ufb33": 2}) == rfc8785.dumps(
        {"\U0001f600": 1, "\ufb33": 2}
    )
    assert canonical_json(1e21) == b"1e+21"
    assert canonical_json(1e-7) == b"1e-7"


@settings(max_examples=1000, deadline=None)
@given(st.text(st.characters(codec=None, exclude_categories=())))
def test_text_refuses_exactly_what_goes_beyond_u_ffff(value: str) -> None:
    """The UTF-16 length test of :func:`text` finds what a search for such a character finds
    (lone surrogates included, which stay below U+FFFF)."""
    beyond = re.search("[\U00010000-\U0010ffff]", value) is not None
    for case in (value, value + "\ud800", "\u0436" + value):
        if beyond:
            with pytest.raises(Unusual):
                text(case)
        else:
            assert text(case) is case
