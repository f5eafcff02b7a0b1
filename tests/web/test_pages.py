"""The pages without a browser: log-in with a session cookie and CSRF, languages, the map's data
for a box and a time, each role's reach."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from web_support import build_center, csrf_of, password, signed_in

from ceasefire.mission import Mission
from ceasefire.web import mapdata


@pytest.fixture
def center(engine: Engine, demo_mission: Mission, demo_enricher: Any) -> tuple[FastAPI, list[str]]:
    return build_center(engine, demo_mission, demo_enricher)


def test_log_in_sets_a_strict_cookie_and_a_wrong_password_is_told_beside_the_field(
    center: tuple[FastAPI, list[str]],
) -> None:
    app, _ids = center
    client = TestClient(app, base_url="https://testserver")
    assert client.get("/map", follow_redirects=False).headers["location"] == "/login?next=/map"
    page = client.get("/login")
    wrong = client.post(
        "/login",
        data={"name": "ru-head", "password": "nope", "csrf": csrf_of(page.text), "next": "/"},
    )
    assert wrong.status_code == 401
    assert 'aria-invalid="true"' in wrong.text and "Wrong user name or password." in wrong.text
    # no CSRF token: refused before the password is looked at
    bare = client.post("/login", data={"name": "ru-head", "password": password("ru-head")})
    assert bare.status_code == 403
    right = client.post(
        "/login",
        data={"name": "ru-head", "password": password("ru-head"), "csrf": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert right.status_code == 303 and right.headers["location"] == "/map"
    cookie = right.headers["set-cookie"].lower()
    assert "httponly" in cookie and "secure" in cookie and "samesite=strict" in cookie
    assert client.get("/map").status_code == 200


def test_the_log_in_form_counts_failures_with_the_api_and_stops_guessing(
    center: tuple[FastAPI, list[str]],
) -> None:
    """The form and POST /session share one limiter (api/login_limits.py): failures on either
    count for both, the name is then refused from this address (429, Retry-After) even with
    the right password, and another name from it is not."""
    app, _ids = center
    client = TestClient(app, base_url="https://testserver")
    csrf = csrf_of(client.get("/login").text)

    def form(name: str, secret: str) -> Any:
        sent = {"name": name, "password": secret, "csrf": csrf, "next": "/"}
        return client.post("/login", data=sent, follow_redirects=False)

    for _ in range(3):
        sent = {"name": "tr-head", "password": "guess"}
        assert client.post("/api/v1/session", json=sent).status_code == 401
    for _ in range(2):
        assert form("tr-head", "guess").status_code == 401
    stopped = form("tr-head", password("tr-head"))
    assert stopped.status_code == 429 and int(stopped.headers["retry-after"]) > 0
    assert "Too many failed log-ins from this address" in stopped.text
    right = {"name": "tr-head", "password": password("tr-head")}
    assert client.post("/api/v1/session", json=right).status_code == 429
    assert form("ru-head", password("ru-head")).status_code == 303


def test_the_session_cookie_is_the_api_s_session_token(center: tuple[FastAPI, list[str]]) -> None:
    app, _ids = center
    client = signed_in(app, "tr-analyst")
    token = client.cookies.get("cf_session")
    assert token is not None and token.startswith("cf_")
    api = TestClient(app).get("/api/v1/incidents", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 200


def test_the_map_asks_for_a_box_and_a_time(center: tuple[FastAPI, list[str]]) -> None:
    app, ids = center
    client = signed_in(app, "ru-duty-officer")
    day = client.get("/map/incidents.json?at=2021-02-01T23:00:00Z&hours=24").json()
    assert day["columns"][:5] == ["id", "lon", "lat", "status", "corroboration"]
    assert {r[0] for r in day["rows"]} == set(ids[:2])
    assert sorted(r[4] for r in day["rows"]) == ["both_contingents", "single_source"]
    # a box around Aghdam only
    box = client.get("/map/incidents.json?at=2021-02-01T23:00:00Z&bbox=46.8,39.9,47.0,40.1")
    assert [r[0] for r in box.json()["rows"]] == [ids[0]]
    # Aghdam's district before and after its handover on 2020-11-20
    before = client.get("/map/zones.json?at=2020-11-15T12:00:00Z").json()
    after = client.get("/map/zones.json?at=2020-11-25T12:00:00Z").json()
    assert "am-aghdam" in {f["id"] for f in before["features"]}
    assert "az-aghdam" in {f["id"] for f in after["features"]}
    assert "am-aghdam" not in {f["id"] for f in after["features"]}


def test_a_box_the_map_cannot_draw_is_a_clear_400(center: tuple[FastAPI, list[str]]) -> None:
    app, ids = center
    client = signed_in(app, "ru-duty-officer")
    bad_boxes = ("nan,39.9,47,40.1", "46.8,inf,47,40.1", "46.8,39.9,47", "a,b,c,d", "0,41,1,40")
    for bad in bad_boxes:
        for route in ("incidents", "observations"):
            answer = client.get(f"/map/{route}.json?at=2021-02-01T23:00:00Z&bbox={bad}")
            assert answer.status_code == 400, (route, bad, answer.text)
            assert "bbox" in answer.json()["detail"]
    # across the antimeridian (west larger than east) is a box, not an error: none there
    across = client.get("/map/incidents.json?at=2021-02-01T23:00:00Z&bbox=179,39,-179,41")
    assert across.status_code == 200 and across.json()["rows"] == []
    # the whole world as the page asks for it zoomed out (unwrapped, padded past the poles)
    world = client.get("/map/incidents.json?at=2021-02-01T23:00:00Z&bbox=-200,-102,200,102")
    assert {r[0] for r in world.json()["rows"]} == set(ids[:2])


def test_languages_and_the_disclaimer(center: tuple[FastAPI, list[str]]) -> None:
    app, _ids = center
    client = signed_in(app, "tr-head")
    page = client.get("/map")
    for lang, word in (("ru", "ИЛЛЮСТРАТИВНО"), ("tr", "TEMSİLİDİR"), ("hy", "ՕՐԻՆԱԿ")):
        switched = client.post(
            "/language", data={"lang": lang, "next": "/map", "csrf": csrf_of(page.text)}
        )
        assert switched.status_code == 200
        assert f'<html lang="{lang}">' in switched.text and word in switched.text
        page = switched


def test_a_party_liaison_reads_no_incidents(center: tuple[FastAPI, list[str]]) -> None:
    app, _ids = center
    client = signed_in(app, "am-liaison")
    assert client.get("/map/incidents.json").status_code == 403


def test_coverage_of_the_line_is_drawn_from_the_library_s_answer(
    center: tuple[FastAPI, list[str]],
) -> None:
    app, _ids = center
    client = signed_in(app, "ru-analyst")
    data = client.get("/map/coverage.json?at=2021-02-01T23:00:00Z&hours=24").json()
    assert set(data["contingents"]) == {"RU", "TR"}
    for side in data["contingents"].values():
        # no drone flew in this center: the whole line is one unwatched stretch per part
        assert side["covered_share"] == 0.0
        assert side["gaps"]["type"] == "MultiLineString" and side["gaps"]["coordinates"]
        lon, lat = side["gaps"]["coordinates"][0][0]
        assert 45.5 < lon < 47.5 and 39.2 < lat < 40.6


def test_a_map_layer_sends_no_more_than_its_cap_and_says_so(
    center: tuple[FastAPI, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    app, _ids = center
    client = signed_in(app, "ru-analyst")
    window = "at=2021-02-01T23:00:00Z&hours=24"
    whole = client.get(f"/map/observations.json?{window}").json()
    incidents = client.get(f"/map/incidents.json?{window}").json()
    assert len(whole["features"]) == 3 and not whole["truncated"]
    assert len(incidents["rows"]) == 2 and not incidents["truncated"]
    monkeypatch.setattr(mapdata, "MAX_OBSERVATIONS", 2)
    monkeypatch.setattr(mapdata, "MAX_INCIDENTS", 1)
    capped = client.get(f"/map/observations.json?{window}").json()
    assert len(capped["features"]) == 2 and capped["truncated"]
    newest = sorted(f["properties"]["observed_at"] for f in whole["features"])[-2:]
    assert sorted(f["properties"]["observed_at"] for f in capped["features"]) == newest
    one = client.get(f"/map/incidents.json?{window}").json()
    assert len(one["rows"]) == 1 and one["truncated"]
