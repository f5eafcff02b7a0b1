"""The published JSON Schema of the mission file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ceasefire.mission.model import MissionFile, ZoneProperties

SCHEMA_FILE = Path(__file__).parent / "mission.schema.json"
SCHEMA_ID = "https://ceasefire.example/schemas/mission/v1"


def mission_schema() -> dict[str, Any]:
    schema = MissionFile.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = SCHEMA_ID
    schema["title"] = "ceasefire mission file (mission.toml)"
    schema.setdefault("$defs", {})["ZoneProperties"] = ZoneProperties.model_json_schema()
    return schema
