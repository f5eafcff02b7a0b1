"""What every adapter promises: no exception on any input, rejections that read well."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from observation_strategies import FAST

from ceasefire.errors import Problem
from ceasefire.intake import Rejection, cot, csv_, geojson_, jsonl, klv
from ceasefire.intake.errors import RAW_LIMIT, raw_text
from ceasefire.observations import Observation, PointOfInterest, TrackPoint

Parser = Callable[[io.BytesIO, str], Iterator[object]]
PARSERS: dict[str, Parser] = {
    "jsonl": jsonl.parse,
    "csv": csv_.parse,
    "geojson": geojson_.parse,
    "cot": cot.parse,
    "klv": klv.parse,
}
try:
    from ceasefire.intake import tak

    PARSERS["tak"] = tak.parse_stream
except ImportError:  # pragma: no cover
    pass

ITEM_TYPES = (Observation, TrackPoint, PointOfInterest, Rejection)

prefixes = st.sampled_from(
    [
        b"",
        b"{",
        b'{"type": "FeatureCollection", "features": [',
        b"<event>",
        b"\xbf",
        klv.UNIVERSAL_KEY,
        b"id,contingent\n",
    ]
)


@pytest.mark.parametrize("name", sorted(PARSERS))
@settings(FAST, max_examples=max(150, FAST.max_examples))
@given(prefix=prefixes, data=st.binary(max_size=300))
def test_no_input_makes_an_adapter_raise(name: str, prefix: bytes, data: bytes) -> None:
    for item in PARSERS[name](io.BytesIO(prefix + data), "fuzz"):
        assert isinstance(item, ITEM_TYPES)
        if isinstance(item, Rejection):
            assert item.source == "fuzz" and item.reason
            assert len(item.raw) <= RAW_LIMIT + 1


def test_rejection_reads_as_a_sentence_and_converts_to_a_problem() -> None:
    rejection = Rejection("a.csv", 12, "lat", "The field lat must be at most 90.", "x", "line")
    assert str(rejection) == "a.csv, line 12, lat: The field lat must be at most 90."
    assert rejection.to_problem() == Problem(
        file="a.csv", field="lat", reason="The field lat must be at most 90.", record="12"
    )
    whole = Rejection("b.geojson", 0, "type", "Not a collection.", "", "feature")
    assert str(whole) == "b.geojson, type: Not a collection."
    assert whole.to_problem().record is None
    assert str(Rejection("c", 3, "", "Bad.", "", "packet")) == "c, packet 3: Bad."


def test_raw_text_is_truncated() -> None:
    assert raw_text("abc") == "abc"
    assert raw_text("x" * 500) == "x" * RAW_LIMIT + "…"
    assert raw_text(b"\xff" + b"y" * 1000).startswith("\\xff")
    assert len(raw_text(b"y" * 5000)) == RAW_LIMIT + 1
