"""Shared by the web tests: a center with staff of every role (password "<name> secret"), a few
incidents both contingents or one saw, and a signed-in browser-like client."""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from api.api_support import add_staff, bearer, staff_of
from ceasefire.api import create_app
from ceasefire.mission import Mission
from ceasefire.workflow.roles import set_password

API = "/api/v1"
# near Aghdam (handed over on 2020-11-20) and near Khankendi / Stepanakert
PLACES = {"aghdam": (39.99, 46.93), "khankendi": (39.82, 46.70)}


def password(name: str) -> str:
    return f"{name} secret"


def sighting(contingent: str, number: int, at: str, place: str) -> dict[str, Any]:
    lat, lon = PLACES[place]
    return {
        "id": f"{contingent}-W{number:03d}",
        "contingent": contingent,
        "platform": {"id": "p-07", "type": "orlan-10" if contingent == "RU" else "bayraktar-tb2"},
        "observed_at": at,
        "location": {"lat": lat, "lon": lon, "ce_m": 50},
        "category": "explosion",
        "qualifiers": {"explosion": "impact"},
        "sensed_by": "drone-eo",
    }


def build_center(engine: Engine, mission: Mission, enricher: Any) -> tuple[FastAPI, list[str]]:
    """The app (API + pages) with staff and three incidents: one both contingents saw on
    2021-02-01, one only RU saw that day, one both saw near Aghdam on 2020-11-15. Their ids,
    newest first."""
    tokens = add_staff(engine, mission)
    with engine.begin() as db:
        for name, _role, _affiliation in staff_of(mission):
            set_password(db, name, password(name))
    app = create_app(engine, mission, enricher=enricher)  # the pages are a capability
    client = TestClient(app)
    batches = {
        "RU": [
            sighting("RU", 1, "2021-02-01T10:00:00Z", "khankendi"),
            sighting("RU", 2, "2021-02-01T13:00:00Z", "aghdam"),
            sighting("RU", 3, "2020-11-15T10:00:00Z", "aghdam"),
        ],
        "TR": [
            sighting("TR", 1, "2021-02-01T10:02:00Z", "khankendi"),
            sighting("TR", 3, "2020-11-15T10:02:00Z", "aghdam"),
        ],
    }
    for contingent, records in batches.items():
        sent = client.post(
            f"{API}/observations",
            json=records,
            headers=bearer(tokens[f"{contingent.lower()}-duty-officer"]),
        )
        assert sent.json()["accepted"] == len(records), sent.text
    listed = client.get(f"{API}/incidents", headers=bearer(tokens["ru-analyst"])).json()
    ids = [i["id"] for i in sorted(listed["incidents"], key=lambda i: i["started_at"])]
    assert len(ids) == 3, listed
    return app, ids[::-1]


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


def signed_in(app: FastAPI, name: str) -> TestClient:
    """A client that logged in through the log-in form (the session cookie needs https)."""
    client = TestClient(app, base_url="https://testserver")
    page = client.get("/login")
    answer = client.post(
        "/login",
        data={"name": name, "password": password(name), "csrf": csrf_of(page.text), "next": "/"},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return client
