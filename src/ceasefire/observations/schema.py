"""The JSON Schema of the observation record, generated from :class:`Observation`.

The model's own schema is completed with what Pydantic cannot see: the qualifiers allowed per
category (from the taxonomy), the choice between ``location`` and ``observer`` + ``bearing_deg``
+ ``distance_m``, the language codes and the distance band's limits. One check stays outside
the schema: ``observed_until`` must not be earlier than ``observed_at``.

The schema is committed as ``observation.schema.json`` next to this module; regenerate it with
``python -m ceasefire.observations.schema`` after changing the record (a test compares them).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from ceasefire.observations.record import MAX_DISTANCE_M, Observation
from ceasefire.observations.taxonomy import (
    CATEGORIES,
    LANGUAGES,
    MAX_QUALIFIERS,
    QualifierSpec,
)

SCHEMA_ID = "https://ceasefire.example/schemas/observation/v1"
SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_PATH = Path(__file__).with_name("observation.schema.json")


def _qualifier_schema(spec: QualifierSpec) -> dict[str, Any]:
    schema: dict[str, Any]
    if spec.kind == "enum":
        schema = {"type": "string", "enum": list(spec.values)}
    elif spec.kind == "bearing":
        schema = {"type": "number", "minimum": 0, "exclusiveMaximum": 360}
    elif spec.kind == "positive":
        schema = {"type": "number", "exclusiveMinimum": 0, "maximum": 1_000_000}
    elif spec.kind == "non_negative":
        schema = {"type": "number", "minimum": 0, "maximum": 1_000_000}
    elif spec.kind == "whole":
        schema = {"type": "integer", "minimum": 0, "maximum": 1_000_000}
    elif spec.kind == "text":
        schema = {"type": "string", "minLength": 1, "maxLength": spec.max_length}
    else:
        schema = {"type": "boolean"}
    schema["description"] = spec.description
    return schema


def _category_rules() -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = []
    for name, spec in CATEGORIES.items():
        qualifiers: dict[str, Any] = {"type": "object", "maxProperties": MAX_QUALIFIERS}
        if spec.open_qualifiers:
            qualifiers["propertyNames"] = {"pattern": "^[a-z][a-z0-9_]{0,63}$"}
            qualifiers["additionalProperties"] = {
                "anyOf": [
                    {"type": "string", "maxLength": 200},
                    {"type": "number"},
                    {"type": "boolean"},
                ]
            }
        else:
            qualifiers["properties"] = {
                key: _qualifier_schema(q) for key, q in spec.qualifiers.items()
            }
            qualifiers["additionalProperties"] = False
        rules.append(
            {
                "if": {"properties": {"category": {"const": name}}, "required": ["category"]},
                "then": {"properties": {"qualifiers": qualifiers}},
            }
        )
    return rules


def observation_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the canonical observation record."""
    generated = Observation.model_json_schema(mode="validation")
    schema: dict[str, Any] = {
        "$schema": SCHEMA_DIALECT,
        "$id": SCHEMA_ID,
        "title": "Observation",
        "description": (
            "The canonical observation record of ceasefire (JSON Lines, one per line). "
            "Times are ISO 8601 with an offset or Z; observed_until must not be earlier "
            "than observed_at."
        ),
    }
    schema.update({k: v for k, v in generated.items() if k not in {"title", "description"}})
    properties = schema["properties"]
    properties["lang"] = {
        "anyOf": [{"type": "string", "enum": list(LANGUAGES)}, {"type": "null"}],
        "default": None,
        "description": "ISO 639-1 code of the remarks' language",
    }
    band = properties["distance_m"]["anyOf"][0]
    for item in band["prefixItems"]:
        item.update({"minimum": 0, "maximum": MAX_DISTANCE_M})
    schema["oneOf"] = [
        {
            "title": "located",
            "required": ["location"],
            "properties": {
                "location": {"type": "object"},
                "observer": {"type": "null"},
                "bearing_deg": {"type": "null"},
                "distance_m": {"type": "null"},
            },
        },
        {
            "title": "by bearing and distance",
            "required": ["observer", "bearing_deg", "distance_m"],
            "properties": {
                "location": {"type": "null"},
                "observer": {"type": "object"},
                "bearing_deg": {"type": "number"},
                "distance_m": {"type": "array"},
            },
        },
    ]
    schema["allOf"] = _category_rules()
    return schema


def schema_text() -> str:
    """The schema as committed: indented JSON with a final newline."""
    return json.dumps(observation_schema(), indent=2, ensure_ascii=False) + "\n"


def write_schema(path: Path | str = SCHEMA_PATH) -> Path:
    """Write the schema to ``path`` (default: next to this module) and return the path."""
    target = Path(path)
    target.write_text(schema_text(), encoding="utf-8")
    return target


if __name__ == "__main__":  # pragma: no cover - a maintenance command
    print(write_schema(sys.argv[1] if len(sys.argv) > 1 else SCHEMA_PATH))
