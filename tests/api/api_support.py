"""Shared by the API tests: users of every role and their tokens, authenticated posting, one
incident both contingents saw, and problem details."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import anyio.from_thread
import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from ceasefire.mission import Mission
from ceasefire.workflow import roles
from ceasefire.workflow.roles import add_user, issue_token

API = "/api/v1"
PROBLEM = "application/problem+json"


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Light argon2 parameters, for the tests of a module or folder that imports this fixture:
    tests that make many password checks and count them (tests/api/test_login.py), or whose
    centers give passwords to a whole staff to test the pages (tests/web), not the hash's
    cost. A center of a module fixture, made before this runs, keeps the real ones."""
    monkeypatch.setattr(roles, "_hasher", PasswordHasher(time_cost=1, memory_cost=64))
    roles._dummy_hash.cache_clear()  # made with the hasher in use
    yield
    roles._dummy_hash.cache_clear()


@contextlib.contextmanager
def one_loop(client: TestClient) -> Iterator[TestClient]:
    """The client's requests in one event loop (a thread of its own), started once: outside
    ``with`` a TestClient starts one for each request, a few ms each, which tests that make
    a thousand requests pay in seconds. The app's lifespan is not run, as outside ``with``."""
    with anyio.from_thread.start_blocking_portal(**client.async_backend) as portal:
        client.portal = portal
        try:
            yield client
        finally:
            client.portal = None


def staff_of(mission: Mission) -> list[tuple[str, str, str]]:
    """(name, role, affiliation) of one user of every role of every affiliation."""
    force = mission.config.peacekeeping_force
    staff = [
        (f"{c.lower()}-{role.replace('_', '-')}", role, c)
        for c in mission.contingent_ids()
        for role in ("analyst", "duty_officer", "head")
    ]
    if force is not None:
        staff.append((f"{force.id.lower()}-liaison", "liaison", force.id))
    staff += [(f"{p.lower()}-liaison", "party_liaison", p) for p in mission.party_ids()]
    staff.append(("auditor", "auditor", ""))
    return staff


def add_staff(
    engine: Engine, mission: Mission, only: tuple[str, ...] | None = None
) -> dict[str, str]:
    """Users (without passwords) and an API token each: name -> token."""
    tokens = {}
    with engine.begin() as db:
        for name, role, affiliation in staff_of(mission):
            if only is None or name in only:
                add_user(db, mission, name, role, affiliation)
                tokens[name] = issue_token(db, name, "test")
    return tokens


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def duty_officer(contingent: str) -> str:
    return f"{contingent.lower()}-duty-officer"


def post_by_contingent(
    client: TestClient, records: list[dict[str, Any]], tokens: dict[str, str]
) -> int:
    """Post each contingent's records with its duty officer's token; how many were accepted."""
    accepted = 0
    for contingent in dict.fromkeys(r["contingent"] for r in records):
        mine = [r for r in records if r["contingent"] == contingent]
        response = client.post(
            f"{API}/observations", json=mine, headers=bearer(tokens[duty_officer(contingent)])
        )
        assert response.status_code == 200, response.text
        accepted += int(response.json()["accepted"])
    return accepted


def sighting(contingent: str, minutes: int) -> dict[str, Any]:
    """The same impact seen by ``contingent``'s drone ``minutes`` past ten (id ``RU-W001``, ...)."""
    return {
        "id": f"{contingent}-W001",
        "contingent": contingent,
        "platform": {"id": "p-07", "type": "orlan-10" if contingent == "RU" else "bayraktar-tb2"},
        "observed_at": f"2021-02-01T10:{minutes:02d}:00Z",
        "location": {"lat": 39.82, "lon": 46.70, "ce_m": 50},
        "category": "explosion",
        "qualifiers": {"explosion": "impact"},
        "sensed_by": "drone-eo",
    }


def post_both_saw(client: TestClient, tokens: dict[str, str]) -> dict[str, Any]:
    """RU's and TR's sightings of the same impact, each posted by its duty officer: the store
    then holds one incident both contingents saw, which is returned as RU's analyst lists it."""
    for contingent, minutes in (("RU", 0), ("TR", 2)):
        sent = client.post(
            f"{API}/observations",
            json=[sighting(contingent, minutes)],
            headers=bearer(tokens[f"{contingent.lower()}-duty-officer"]),
        )
        assert sent.json()["accepted"] == 1, sent.text
    listed = client.get(f"{API}/incidents", headers=bearer(tokens["ru-analyst"])).json()
    [incident] = listed["incidents"]
    return dict(incident)


def problem(response: Any, status: int) -> dict[str, Any]:
    """The body of a problem-details answer of that status (RFC 9457)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["detail"]
    return body
