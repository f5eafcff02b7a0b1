"""One strict JSON parser for every JSON endpoint, and right ``Allow`` headers (issues 18, 19)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from api_support import add_staff, bearer
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from ceasefire.api import create_app
from ceasefire.mission import Mission


@pytest.fixture(scope="module")
def client(
    tmp_path_factory: pytest.TempPathFactory, demo_mission: Mission, demo_enricher: Any
) -> Iterator[TestClient]:
    from ceasefire.store import open_database

    engine: Engine = open_database(f"sqlite:///{tmp_path_factory.mktemp('json') / 'c.db'}")
    tokens = add_staff(engine, demo_mission, ("ru-head",))
    app = create_app(engine, demo_mission, enricher=demo_enricher)
    with TestClient(app, headers=bearer(tokens["ru-head"])) as test_client:
        yield test_client
    engine.dispose()


def _body_endpoints(client: TestClient) -> list[tuple[str, str]]:
    """(method, concrete path) of every operation that takes a request body."""
    found = []
    for path, operations in client.get("/api/v1/openapi.json").json()["paths"].items():
        for method, operation in operations.items():
            if "requestBody" in operation:
                found.append((method.upper(), re.sub(r"\{[^}]+\}", "X-1", path)))
    return sorted(found)


def test_every_body_endpoint_is_covered(client: TestClient) -> None:
    endpoints = _body_endpoints(client)
    # the workflow, users, shifts, log-in and intake: all of them, not a chosen few
    assert len(endpoints) >= 12, endpoints
    assert ("POST", "/api/v1/incidents/X-1/assessments") in endpoints
    assert ("POST", "/api/v1/session") in endpoints


BOUNDED = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
keys = st.text(st.characters(codec="utf-8", exclude_characters='"\\'), min_size=1, max_size=8)
values = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=8))
objects = st.dictionaries(keys, values, min_size=1, max_size=4)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data(), obj=objects)
def test_a_duplicated_key_is_refused_on_every_endpoint(
    client: TestClient, data: st.DataObject, obj: dict[str, Any]
) -> None:
    method, path = data.draw(st.sampled_from(_body_endpoints(client)))
    key = data.draw(st.sampled_from(sorted(obj)))
    text = json.dumps(obj)
    twice = text[:-1] + ", " + json.dumps(key) + ": " + json.dumps(obj[key]) + "}"
    answer = client.request(method, path, content=twice, headers=_json_type())
    assert answer.status_code == 400, (method, path, twice, answer.text)
    problem = answer.json()
    assert problem["type"] == "urn:ceasefire:problem:invalid-json"
    assert "appears twice" in problem["detail"]


malformed = st.one_of(
    st.sampled_from(['{"violation": "yes",}', "{", "[1, 2", '{"a": NaN}', '{"a": 1e999}', "nul"]),
    st.text(max_size=20).filter(lambda t: t.strip() and not _parses(t)),
)


def _parses(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data(), body=malformed)
def test_malformed_json_is_a_clear_400_on_every_endpoint(
    client: TestClient, data: st.DataObject, body: str
) -> None:
    method, path = data.draw(st.sampled_from(_body_endpoints(client)))
    answer = client.request(method, path, content=body.encode(), headers=_json_type())
    assert answer.status_code == 400, (method, path, body, answer.text)
    assert answer.json()["type"] == "urn:ceasefire:problem:invalid-json"
    assert answer.headers["content-type"] == "application/problem+json"


def _json_type() -> dict[str, str]:
    return {"Content-Type": "application/json"}


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/api/v1/session", "DELETE, POST"),
        ("/api/v1/users", "GET, HEAD, POST"),
        ("/api/v1/shifts", "GET, HEAD, POST"),
        ("/api/v1/incidents/X-1/assessments", "GET, HEAD, POST"),
        ("/api/v1/observations", "GET, HEAD, POST"),
    ],
)
def test_allow_names_every_method_of_a_path(client: TestClient, path: str, allowed: str) -> None:
    answer = client.request("PUT", path)
    assert answer.status_code == 405
    assert answer.headers["allow"] == allowed
