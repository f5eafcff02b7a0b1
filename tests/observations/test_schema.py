"""The JSON Schema of the record: committed, generated, and agreeing with the model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given
from observation_strategies import FAST, good_record, records

from ceasefire.observations import schema

SAMPLE = Path(__file__).parents[2] / "examples" / "observations-sample.jsonl"


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    document = schema.observation_schema()
    jsonschema.Draft202012Validator.check_schema(document)
    return jsonschema.Draft202012Validator(document)


def test_committed_schema_is_up_to_date() -> None:
    committed = schema.SCHEMA_PATH.read_text(encoding="utf-8")
    assert committed == schema.schema_text(), (
        "regenerate with: python -m ceasefire.observations.schema"
    )
    document = json.loads(committed)
    assert document["$id"] == schema.SCHEMA_ID == "https://ceasefire.example/schemas/observation/v1"
    assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_write_schema(tmp_path: Path) -> None:
    path = schema.write_schema(tmp_path / "o.json")
    assert json.loads(path.read_text(encoding="utf-8")) == schema.observation_schema()


def test_sample_file_matches_the_schema(validator: jsonschema.Draft202012Validator) -> None:
    for line in SAMPLE.read_text(encoding="utf-8").splitlines():
        assert not list(validator.iter_errors(json.loads(line)))


@pytest.mark.parametrize(
    "record",
    [
        good_record(category="bombing"),
        good_record(qualifiers={"explosion": "boom"}),
        good_record(qualifiers={"colour": "red"}),
        good_record(qualifiers={"calibre_mm": -1}),
        good_record(location={"lat": 91, "lon": 0, "ce_m": 1}),
        good_record(observer={"lat": 1, "lon": 1}, bearing_deg=1, distance_m=[1, 2]),
        good_record(lang="xx"),
        good_record(count=0),
        good_record(observed_at="2021-02-01T10:00:00"),
        good_record(evidence=[{"sha256": "abc", "media_type": "a/b"}]),
        good_record(extra=1),
    ],
)
def test_schema_refuses_what_the_model_refuses(
    validator: jsonschema.Draft202012Validator, record: dict[str, Any]
) -> None:
    assert list(validator.iter_errors(record))


@FAST
@given(records())
def test_schema_accepts_what_the_model_writes(record: dict[str, Any]) -> None:
    from ceasefire.observations import parse_observation

    document = schema.observation_schema()
    data = parse_observation(record).to_json_dict()
    assert not list(jsonschema.Draft202012Validator(document).iter_errors(data))
