"""The HTTP intake takes its formats from the registry: JSON as documented, and a format a
mission's package registers for HTTP (its media type) read by that format's parser."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from api_support import API, add_staff, bearer, duty_officer
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from ceasefire.api import create_app
from ceasefire.intake import formats
from ceasefire.intake.formats import Format
from ceasefire.mission import Mission
from ceasefire.observations import Observation
from formats_support import install_format

SAMPLE = Path(__file__).parents[2] / "examples" / "observations-sample.jsonl"


def _record() -> dict[str, Any]:
    record: dict[str, Any] = json.loads(SAMPLE.read_text(encoding="utf-8").splitlines()[0])
    return record


def _semicolons(stream: Any, source: str, contingent: str | None) -> Iterator[Observation]:
    """``id`` a line, in the posting contingent's name."""
    for line in stream:
        yield Observation.model_validate(
            {**_record(), "id": line.decode().strip(), "contingent": contingent}
        )


@pytest.fixture
def semicolons(monkeypatch: pytest.MonkeyPatch) -> Iterator[Format]:
    mine = Format("semicolons", _semicolons, media_types=("text/x-semicolons",))
    install_format(monkeypatch, mine)
    yield mine
    formats.formats.cache_clear()


def test_a_registered_media_type_is_read_by_its_format(
    engine: Engine, demo_mission: Mission, demo_enricher: Any, semicolons: Format
) -> None:
    contingent = demo_mission.contingent_ids()[0]
    officer = duty_officer(contingent)
    tokens = add_staff(engine, demo_mission, (officer,))
    app = create_app(engine, demo_mission, enricher=demo_enricher)
    with TestClient(app, headers=bearer(tokens[officer])) as client:
        sent = client.post(
            f"{API}/observations",
            content=b"HTTP-SEMI-1\nHTTP-SEMI-2\n",
            headers={"Content-Type": "text/x-semicolons"},
        )
        assert sent.status_code == 200, sent.text
        body = sent.json()
        assert body["accepted"] == 2
        assert [r["id"] for r in body["results"]] == ["HTTP-SEMI-1", "HTTP-SEMI-2"]
        # JSON stays the documented batch; a type no format registers stays 415
        assert client.post(f"{API}/observations", json=[]).status_code == 200
        refused = client.post(
            f"{API}/observations", content=b"x", headers={"Content-Type": "text/csv"}
        )
        assert refused.status_code == 415
