"""The canonical observation record: validation, messages, normalisation, derived points."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from observation_strategies import FAST, GOOD, good_record, observations, records
from pyproj import Geod

from ceasefire.observations import (
    BEARING_UNCERTAINTY_DEG,
    Observation,
    ObservationError,
    locate,
    parse_observation,
)
from ceasefire.observations.record import parse_time

SAMPLE = Path(__file__).parents[2] / "examples" / "observations-sample.jsonl"


def problems(record: object) -> dict[str, str]:
    with pytest.raises(ObservationError) as caught:
        parse_observation(record)
    found = {p.field: p.message for p in caught.value.problems}
    assert found, "a refused record names at least one problem"
    return found


def test_the_design_example_is_valid_and_normalised_to_utc() -> None:
    record = good_record(observed_at="2021-02-01T13:32:00+03:00")
    observation = parse_observation(record)
    assert observation.observed_at == datetime(2021, 2, 1, 10, 32, tzinfo=UTC)
    data = observation.to_json_dict()
    assert data["observed_at"] == "2021-02-01T10:32:00Z"
    assert data["qualifiers"] == {"explosion": "impact", "weapon": "mortar", "calibre_mm": 120}
    assert parse_observation(json.loads(observation.to_json())) == observation


def test_field_names_are_the_designs_minimum() -> None:
    names = set(Observation.model_fields)
    assert names >= {
        "id",
        "contingent",
        "platform",
        "sortie",
        "observed_at",
        "observed_until",
        "location",
        "observer",
        "bearing_deg",
        "distance_m",
        "category",
        "qualifiers",
        "count",
        "count_approx",
        "sensed_by",
        "evidence",
        "remarks",
        "lang",
    }


BAD: list[tuple[dict[str, Any], str, str]] = [
    (good_record(location={"lat": 90.5, "lon": 46.8, "ce_m": 5}), "location.lat", "at most 90"),
    (good_record(location={"lat": -91, "lon": 46.8, "ce_m": 5}), "location.lat", "at least -90"),
    (good_record(location={"lat": 39, "lon": 180.01, "ce_m": 5}), "location.lon", "180"),
    (good_record(location={"lat": 39, "lon": -181, "ce_m": 5}), "location.lon", "-180"),
    (good_record(location={"lat": math.nan, "lon": 46, "ce_m": 5}), "location.lat", "finite"),
    (good_record(location={"lat": 39, "lon": math.inf, "ce_m": 5}), "location.lon", "finite"),
    (good_record(location={"lat": 39, "lon": 46, "ce_m": -1}), "location.ce_m", "at least 0"),
    (good_record(location={"lat": "39", "lon": 46, "ce_m": 1}), "location.lat", "number"),
    (good_record(observed_at="2021-02-01T10:32:00"), "observed_at", "offset"),
    (good_record(observed_at="2021-02-01"), "observed_at", "ISO 8601"),
    (good_record(observed_at="2021-02-30T10:00:00Z"), "observed_at", "not a valid"),
    (good_record(observed_at=1612175520), "observed_at", "text"),
    (good_record(observed_until="2021-02-01T10:31:59Z"), "observed_until", "earlier"),
    (good_record(category="shelling"), "category", "one of"),
    (good_record(qualifiers={"explosion": "boom"}), "qualifiers.explosion", "impact"),
    (good_record(qualifiers={"calibre_mm": 0}), "qualifiers.calibre_mm", "greater than 0"),
    (good_record(qualifiers={"calibre_mm": "120"}), "qualifiers.calibre_mm", "number"),
    (good_record(qualifiers={"weapon": "slingshot"}), "qualifiers.weapon", "mortar"),
    (good_record(qualifiers={"direction_deg": 360}), "qualifiers.direction_deg", "bearing"),
    (good_record(qualifiers={"colour": "white"}), "qualifiers.colour", "not a qualifier"),
    (good_record(qualifiers=["impact"]), "qualifiers", "object"),
    (
        good_record(evidence=[{"sha256": "ab" * 31, "media_type": "video/mp4"}]),
        "evidence[0].sha256",
        "64 hexadecimal",
    ),
    (
        good_record(evidence=[{"sha256": "g" * 64, "media_type": "video/mp4"}]),
        "evidence[0].sha256",
        "64 hexadecimal",
    ),
    (
        good_record(evidence=[{"sha256": "a" * 64, "media_type": "mp4"}]),
        "evidence[0].media_type",
        "media type",
    ),
    (
        good_record(evidence=[{"sha256": "a" * 64, "media_type": "a/b", "uri": "a b"}]),
        "evidence[0].uri",
        "URI",
    ),
    (good_record(count=0), "count", "at least 1"),
    (good_record(count=2.0), "count", "whole number"),
    (good_record(count="2"), "count", "whole number"),
    (good_record(count=True), "count", "whole number"),
    (good_record(count_approx="yes"), "count_approx", "true or false"),
    (good_record(lang="xx"), "lang", "language"),
    (good_record(sensed_by="radar"), "sensed_by", "one of"),
    (good_record(contingent="ru"), "contingent", "capital letters"),
    (good_record(platform={"id": "x", "type": "mig-29"}), "platform.type", "one of"),
    (good_record(platform="orlan"), "platform", "object"),
    (good_record(id="has space"), "id", "wrong form"),
    (good_record(remarks="bell\x07"), "remarks", "control"),
    (good_record(remarks="x" * 4001), "remarks", "4000"),
    (good_record(colour="red"), "colour", "not part of"),
    (good_record(observer={"lat": 39.9, "lon": 46.8}), "observer", "together with location"),
]


@pytest.mark.parametrize(("record", "field", "words"), BAD, ids=[f"{f}:{w}" for _, f, w in BAD])
def test_each_rule_names_its_field(record: dict[str, Any], field: str, words: str) -> None:
    found = problems(record)
    assert field in found, found
    message = found[field]
    assert field in message or field.split(".")[0] in message, message
    assert words.lower() in message.lower(), message
    assert message.endswith("."), "messages are sentences"


def test_missing_required_fields_are_named() -> None:
    for name in ("id", "contingent", "platform", "observed_at", "category", "sensed_by"):
        record = good_record()
        del record[name]
        assert f"The field {name} is required." in problems(record).values()


def test_place_must_be_given_one_way() -> None:
    record = good_record()
    del record["location"]
    assert "location" in problems(record)
    record.update(observer={"lat": 39.9, "lon": 46.8}, bearing_deg=90.0)
    assert "distance_m" in problems(record)
    record["distance_m"] = [5000, 3000]
    assert "distance_m" in problems(record)
    record["distance_m"] = [3000, 5000]
    record["bearing_deg"] = 360.0
    assert "bearing_deg" in problems(record)
    record["bearing_deg"] = 359.9
    assert parse_observation(record).location is None


def test_not_an_object() -> None:
    for data in ([], "x", 3, None):
        assert problems(data) == {"": "The observation must be a JSON object."}


def test_times_are_normalised_and_serialised_with_z() -> None:
    observation = parse_observation(
        good_record(observed_at="2021-02-01T10:32:00.250-02:30", observed_until=None)
    )
    assert observation.observed_at == datetime(2021, 2, 1, 13, 2, 0, 250000, tzinfo=UTC)
    assert observation.to_json_dict()["observed_at"] == "2021-02-01T13:02:00.250000Z"
    aware = parse_observation(good_record(observed_at=datetime(2021, 2, 1, tzinfo=UTC)))
    assert aware.observed_at.tzinfo is UTC
    assert "observed_at" in problems(good_record(observed_at=datetime(2021, 2, 1)))


@pytest.mark.parametrize(
    "text",
    [
        "2021-02-01T10:32:00Z",
        "2000-02-29T23:59:59Z",
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59Z",
    ],
)
def test_the_usual_time_is_read_as_the_long_way_reads_it(text: str) -> None:
    # "...Z" of 20 characters is read at once (fromisoformat); the same time in UTC as the
    # pattern, upper() and astimezone give
    moment = parse_time(text, "observed_at")
    assert moment == datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
    assert moment.tzinfo is UTC
    assert parse_time(text.lower().replace("t", "T"), "observed_at") == moment  # long way


@pytest.mark.parametrize(
    "text",
    [
        "2021-13-01T10:32:00Z",
        "2021-02-30T10:32:00Z",
        "2021-02-01T24:00:00Z",
        "2021-02-01T10:60:00Z",
        "\uff12021-02-01T10:32:00Z",  # a digit beyond ASCII, 20 characters
        "2021-02-01T10:32:0+Z",
    ],
)
def test_a_bad_time_of_the_usual_shape_is_named_as_before(text: str) -> None:
    found = problems(good_record(observed_at=text))
    assert list(found) == ["observed_at"]
    assert found["observed_at"].startswith("The field observed_at ")


def test_locate_puts_the_point_on_the_bearing_in_the_middle_of_the_band() -> None:
    geod = Geod(ellps="WGS84")
    point = locate(39.94, 46.79, 110.0, (2000.0, 4000.0))
    azimuth, _back, distance = geod.inv(46.79, 39.94, point.lon, point.lat)
    assert distance == pytest.approx(3000.0, abs=0.01)
    assert azimuth == pytest.approx(110.0, abs=1e-6)
    lateral = 4000.0 * math.sin(math.radians(BEARING_UNCERTAINTY_DEG))
    assert point.ce_m == pytest.approx(1000.0 + lateral, abs=0.1)
    # the CE covers every corner of the band-and-bearing sector
    for bearing in (110.0 - BEARING_UNCERTAINTY_DEG, 110.0 + BEARING_UNCERTAINTY_DEG):
        for reach in (2000.0, 4000.0):
            lon, lat, _ = geod.fwd(46.79, 39.94, bearing, reach)
            assert geod.inv(point.lon, point.lat, lon, lat)[2] <= point.ce_m


def test_observation_point_uses_locate_for_bearing_reports() -> None:
    record = good_record(
        observer={"lat": 39.94, "lon": 46.79}, bearing_deg=110, distance_m=[2000, 4000]
    )
    del record["location"]
    observation = parse_observation(record)
    assert observation.point() == locate(39.94, 46.79, 110.0, (2000.0, 4000.0))
    assert parse_observation(GOOD).point() == parse_observation(GOOD).location


@FAST
@given(records())
def test_valid_records_survive_json(record: dict[str, Any]) -> None:
    observation = parse_observation(record)
    again = parse_observation(json.loads(observation.to_json()))
    assert again == observation
    assert again.to_json() == observation.to_json()


@FAST
@given(observations)
def test_every_point_is_on_the_globe(observation: Observation) -> None:
    point = observation.point()
    assert -90 <= point.lat <= 90 and -180 <= point.lon <= 180
    assert math.isfinite(point.ce_m) and point.ce_m >= 0


def test_the_sample_file_is_valid_and_realistic() -> None:
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    assert 25 <= len(lines) <= 40
    found = [parse_observation(json.loads(line)) for line in lines]
    assert {o.contingent for o in found} == {"RU", "TR"}
    assert {"orlan-10", "forpost", "bayraktar-tb2"} <= {o.platform.type for o in found}
    assert len({o.category for o in found}) >= 10
    assert len({(o.contingent, o.id) for o in found}) == len(found)
    for observation in found:
        point = observation.point()
        assert 39.5 <= point.lat <= 40.3 and 46.4 <= point.lon <= 47.2, observation.id
        assert observation.observed_at.year == 2021 and observation.observed_at.month == 2
        assert observation.to_json() in lines


@settings(FAST, max_examples=400)
@given(observations)
def test_the_canonical_record_is_the_reference_rfc8785_text(observation: Observation) -> None:
    # What is hashed and logged must never change for a record already stored: a different
    # text would make its re-submission "a different record with this id".
    assert observation.canonical() == rfc8785.dumps(observation.to_json_dict())


@pytest.mark.parametrize(
    "changes",
    [
        {"observed_at": "2021-02-01T10:32:00.000001+03:00"},
        {"location": {"lat": -0.0, "lon": 46.0, "ce_m": 0.0}},
        {"location": {"lat": 1e-7, "lon": 46.0, "ce_m": 5e-5}},
        {"remarks": "\U0001f4a5 two impacts", "qualifiers": {"explosion": "impact"}},
        {"qualifiers": {"calibre_mm": 120.0, "explosion": "impact"}},
        {"evidence": [], "sortie": None, "remarks": None, "lang": None},
    ],
)
def test_the_canonical_record_outside_the_fast_path(changes: dict[str, Any]) -> None:
    observation = parse_observation(good_record(**changes))
    assert observation.canonical() == rfc8785.dumps(observation.to_json_dict())


def test_the_canonical_record_names_every_field() -> None:
    # The fast path lists the fields by hand: a field added to the model and not to it would
    # silently drop out of what is hashed and logged.
    by_location = good_record(track="T-1", observed_until="2021-02-01T10:40:00Z", count_approx=True)
    by_bearing = good_record(
        observer={"lat": 39.94, "lon": 46.79}, bearing_deg=110.5, distance_m=[2000, 4000]
    )
    del by_bearing["location"]
    named: set[str] = set()
    for record in (by_location, by_bearing):
        observation = parse_observation(record)
        data = json.loads(observation.canonical())
        assert data == observation.to_json_dict()
        named |= set(data)
    assert named == set(Observation.model_fields)
