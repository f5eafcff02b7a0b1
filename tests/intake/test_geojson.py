"""GeoJSON intake: a streamed FeatureCollection of Points, malformed features refused."""

from __future__ import annotations

import copy
import io
import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from intake_mutations import NUMBERED, set_path
from observation_strategies import FAST, GOOD, good_record, observations

from ceasefire.intake import Rejection, geojson_
from ceasefire.observations import Observation, parse_observation

GOOD_OBSERVATION = parse_observation(GOOD)
GOOD_FEATURE = geojson_.observation_to_feature(GOOD_OBSERVATION)
LIMIT = 20_000


def _feature_with(field: str, value: Any) -> tuple[str, str]:
    feature = copy.deepcopy(GOOD_FEATURE)
    if field == "location.lat":
        feature["geometry"]["coordinates"][1] = value
        return json.dumps(feature), "geometry.coordinates[1]"
    if field == "location.lon":
        feature["geometry"]["coordinates"][0] = value
        return json.dumps(feature), "geometry.coordinates[0]"
    if field == "location.ce_m":
        feature["properties"]["ce_m"] = value
        return json.dumps(feature), "properties.ce_m"
    set_path(feature["properties"], field, value)
    return json.dumps(feature), "properties." + field


STRUCTURAL: list[tuple[str, str]] = [
    ("5", ""),
    ('"a feature"', ""),
    ("[1, 2]", ""),
    ("null", ""),
    ('{"type": "Feature", "properties": {"a": NaN}}', ""),
    ('{"type": "Feature", "type": "Feature"}', ""),
    ('{"type": "Point", "coordinates": [1, 2]}', "type"),
    (json.dumps({**GOOD_FEATURE, "properties": None}), "properties"),
    (json.dumps({**GOOD_FEATURE, "geometry": None}), "geometry"),
    (
        json.dumps(
            {**GOOD_FEATURE, "geometry": {"type": "LineString", "coordinates": [[1, 2], [3, 4]]}}
        ),
        "geometry",
    ),
    (
        json.dumps({**GOOD_FEATURE, "geometry": {"type": "Point", "coordinates": [1]}}),
        "geometry.coordinates",
    ),
    (
        json.dumps(
            {
                **GOOD_FEATURE,
                "properties": {
                    **GOOD_FEATURE["properties"],
                    "location": {"lat": 1, "lon": 2, "ce_m": 3},
                },
            }
        ),
        "properties.location",
    ),
    (
        json.dumps(
            {
                **GOOD_FEATURE,
                "properties": {**GOOD_FEATURE["properties"], "remarks": "x" * (LIMIT + 5)},
            }
        ),
        "",
    ),
]

bad_features = st.one_of(
    st.sampled_from(NUMBERED).map(lambda fv: _feature_with(*fv)),
    st.sampled_from(STRUCTURAL),
)


def _collection(features: list[str], extra: str = "") -> str:
    return (
        '{"type": "FeatureCollection", "name": {"odd": "]}[{\\""},'
        + extra
        + ' "features": [\n'
        + ",\n".join(features)
        + "\n]}"
    )


@FAST
@given(st.lists(bad_features, min_size=30, max_size=40))
def test_malformed_features_are_refused_and_good_ones_kept(bad: list[tuple[str, str]]) -> None:
    texts: list[str] = []
    expected: list[str | None] = []
    good_text = json.dumps(GOOD_FEATURE, ensure_ascii=False)
    for index, (text, field) in enumerate(bad):
        if index % 3 == 0:
            texts.append(good_text)
            expected.append(None)
        texts.append(text)
        expected.append(field)
    texts.append(good_text)
    expected.append(None)
    data = _collection(texts).encode()
    items = list(geojson_.parse(io.BytesIO(data), "t.geojson", max_feature_chars=LIMIT))
    assert len(items) == len(expected)
    for number, (item, field) in enumerate(zip(items, expected, strict=True), start=1):
        if field is None:
            assert item == GOOD_OBSERVATION
        else:
            assert isinstance(item, Rejection), (item, field)
            assert (item.record, item.field, item.unit) == (number, field, "feature"), item
            assert item.reason


def test_observer_form_with_a_derived_or_null_geometry() -> None:
    record = good_record(
        observer={"lat": 39.94, "lon": 46.79}, bearing_deg=110.0, distance_m=[2000.0, 4000.0]
    )
    del record["location"]
    observation = parse_observation(record)
    feature = geojson_.observation_to_feature(observation)
    point = observation.point()
    assert feature["geometry"]["coordinates"] == [point.lon, point.lat]
    nulled = {**feature, "geometry": None}
    for version in (feature, nulled):
        items = list(geojson_.parse(io.StringIO(_collection([json.dumps(version)])), "o.geojson"))
        assert items == [observation]


def test_feature_id_is_used_when_properties_lack_one() -> None:
    feature = copy.deepcopy(GOOD_FEATURE)
    del feature["properties"]["id"]
    items = list(geojson_.parse(io.StringIO(_collection([json.dumps(feature)])), "i.geojson"))
    assert items == [GOOD_OBSERVATION]


def test_files_that_are_not_feature_collections() -> None:
    cases = {
        '{"type": "Feature", "features": []}': "type",
        '{"features": []}': "type",
        "[]": "",
        "": "",
        '{"type": "FeatureCollection", "features": [] } trailing': "",
        '{"type": "FeatureCollection" "features": []}': "",
        b"\xff\xfe": "",
    }
    for text, field in cases.items():
        stream = io.BytesIO(text) if isinstance(text, bytes) else io.StringIO(text)
        items = list(geojson_.parse(stream, "x.geojson"))
        assert len(items) == 1 and isinstance(items[0], Rejection), (text, items)
        assert (items[0].record, items[0].field) == (0, field)


def test_truncated_file_keeps_the_features_before_the_cut() -> None:
    good_text = json.dumps(GOOD_FEATURE)
    text = _collection([good_text, good_text])
    items = list(geojson_.parse(io.StringIO(text[: -len(good_text) // 2]), "cut.geojson"))
    assert items[0] == GOOD_OBSERVATION
    assert isinstance(items[1], Rejection) and "ends inside" in items[1].reason


def test_oversized_feature_is_skipped_without_holding_it() -> None:
    huge = json.dumps({**GOOD_FEATURE, "properties": {"remarks": "y" * (3 * 1024 * 1024)}})
    text = _collection([json.dumps(GOOD_FEATURE), huge, json.dumps(GOOD_FEATURE)])
    items = list(geojson_.parse(io.BytesIO(text.encode()), "big.geojson"))
    assert items[0] == items[2] == GOOD_OBSERVATION
    assert isinstance(items[1], Rejection) and "larger than" in items[1].reason
    assert len(items[1].raw) <= 200


@FAST
@given(st.lists(observations, max_size=5))
def test_write_then_parse(found: list[Observation]) -> None:
    out = io.StringIO()
    assert geojson_.write(found, out) == len(found)
    assert json.loads(out.getvalue())["type"] == "FeatureCollection"
    assert list(geojson_.parse(io.StringIO(out.getvalue()), "w.geojson")) == found
