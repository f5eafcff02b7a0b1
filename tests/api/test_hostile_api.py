"""Hostile input over HTTP: every answer agrees with what was committed, no 5xx (issue 19)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from api_support import add_staff, bearer
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, update

import records
from ceasefire.api import create_app
from ceasefire.incidents.follow import Follower
from ceasefire.mission import Mission
from ceasefire.store.missions import mission_row, save_mission
from ceasefire.store.schema import observations

API = "/api/v1"


def record(i: int, **changes: Any) -> dict[str, Any]:
    return records.explosion(i, "RU", "H", 1e-3, **changes)


@pytest.fixture
def tokens(engine: Engine, demo_mission: Mission) -> dict[str, str]:
    return add_staff(engine, demo_mission)


@pytest.fixture
def client(
    engine: Engine, demo_mission: Mission, demo_enricher: Any, tokens: dict[str, str]
) -> Iterator[TestClient]:
    app = create_app(engine, demo_mission, enricher=demo_enricher)
    with TestClient(
        app, headers=bearer(tokens["ru-duty-officer"]), raise_server_exceptions=False
    ) as test_client:
        yield test_client


def _stored(engine: Engine) -> int:
    with engine.connect() as db:
        return int(db.execute(select(func.count()).select_from(observations)).scalar_one())


def test_the_poison_record_is_refused_over_http(client: TestClient, engine: Engine) -> None:
    batch = [record(1, observed_at="9999-12-31T23:45:00Z"), record(2)]
    answer = client.post(f"{API}/observations", json=batch)
    assert answer.status_code == 200, answer.text
    first, second = answer.json()["results"]
    assert (first["status"], first["field"]) == ("rejected", "observed_at")
    assert "future" in first["reason"]
    assert second["status"] == "accepted"
    far = record(3, location={"lat": 10.0, "lon": 10.0, "ce_m": 5})
    [third] = client.post(f"{API}/observations", json=[far]).json()["results"]
    assert (third["status"], third["field"]) == ("rejected", "location")
    assert _stored(engine) == 1


@pytest.mark.parametrize(
    "bad",
    [
        {"id": "RU-\ud800"},  # a lone surrogate in the id echoed back
        {"\udcff": 1},  # ... in a key named in the reason
        {"remarks": "\ud83d"},  # ... in text
        {"contingent": "\udfff"},
    ],
)
def test_a_lone_surrogate_cannot_fail_the_answer_after_the_commit(
    client: TestClient, engine: Engine, bad: dict[str, Any]
) -> None:
    body = ("[" + ",".join(_json(r) for r in (record(1), record(2, **bad))) + "]").encode()
    answer = client.post(
        f"{API}/observations", content=body, headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert [r["status"] for r in results] == ["accepted", "rejected"]
    assert _stored(engine) == 1
    # sent again until acknowledged: the same answer, the valid record now a duplicate
    again = client.post(
        f"{API}/observations", content=body, headers={"Content-Type": "application/json"}
    )
    assert [r["status"] for r in again.json()["results"]] == ["duplicate", "rejected"]


def _json(data: dict[str, Any]) -> str:
    import json

    # ensure_ascii writes a lone surrogate as the escape \\udxxx, as a hostile client would
    return json.dumps(data, ensure_ascii=True)


@pytest.mark.parametrize("release", ["9223372036854775808", "99999999999999999999999", "-1", "0"])
def test_huge_release_ids_are_refused_not_crashed_on(client: TestClient, release: str) -> None:
    answer = client.get(f"{API}/releases/{release}")
    assert 400 <= answer.status_code < 500, answer.text
    assert answer.headers["content-type"] == "application/problem+json"


def test_health_is_degraded_and_duty_officers_see_the_quarantine(
    client: TestClient,
    engine: Engine,
    demo_mission: Mission,
    demo_enricher: Any,
    tokens: dict[str, str],
) -> None:
    client.post(f"{API}/observations", json=[record(1), record(2)])
    with engine.begin() as db:
        o = observations.c
        db.execute(update(observations).where(o.source_id == "RU-H00001").values(category="x"))
    assert client.get(f"{API}/health").json()["status"] == "ok"
    stored, _ = save_mission(engine, demo_mission)
    follower = Follower(engine, demo_mission, mission_row(engine, stored), demo_enricher)
    with engine.begin() as db:  # the inline correlation already did these: do them again
        db.execute(update(observations.metadata.tables["correlation_cursor"]).values(observation=0))
    follower.catch_up()
    health = client.get(f"{API}/health").json()
    assert health["status"] == "degraded" and health["counts"]["quarantined"] == 1
    for officer in ("ru-duty-officer", "tr-duty-officer"):
        answer = client.get(f"{API}/quarantine", headers=bearer(tokens[officer]))
        assert answer.status_code == 200, answer.text
        assert [q["id"] for q in answer.json()["quarantined"]] == ["RU-H00001"]
    assert client.get(f"{API}/quarantine", headers={"Authorization": ""}).status_code == 401
