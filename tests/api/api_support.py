"""Shared by the API tests: users of every role and their tokens, and authenticated posting."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from ceasefire.mission import Mission
from ceasefire.workflow.roles import add_user, issue_token

API = "/api/v1"


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
