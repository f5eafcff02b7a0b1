"""Incidents and coverage over HTTP, on SQLite and PostgreSQL: the CLI's queries, paged, as JSON
or GeoJSON, with the rules' sentences in the caller's language; bad parameters are problems."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from api_support import add_staff, bearer, duty_officer, post_by_contingent
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from ceasefire.api import create_app
from ceasefire.incidents.coverage import coverage
from ceasefire.incidents.queries import IncidentFilter, get_incident, list_incidents
from ceasefire.mission import Mission
from ceasefire.observations import TrackPoint
from ceasefire.store.observations import encode_cursor
from centers import intake_of

API = "/api/v1"
PROBLEM = "application/problem+json"
GEOJSON = "application/geo+json"
T0 = datetime(2021, 2, 1, 0, 0, tzinfo=UTC)
EVENTS = 12
INCIDENTS = EVENTS + 1  # and a twin of the first event: as early, 25 km away
CATEGORIES = ("explosion", "small_arms_fire", "uav_flight")
QUALIFIERS: dict[str, dict[str, Any]] = {
    "explosion": {"explosion": "impact", "weapon": "mortar", "calibre_mm": 120},
    "small_arms_fire": {},
    "uav_flight": {},
}
PLATFORMS = {
    "RU": {"id": "orlan-10-07", "type": "orlan-10"},
    "TR": {"id": "tb2-03", "type": "bayraktar-tb2"},
}


def sighting(event: int, contingent: str, minutes: float = 0, metres: float = 0) -> dict[str, Any]:
    """Event ``event`` (three hours after the one before, a few km apart) as a contingent saw it."""
    category = CATEGORIES[event % len(CATEGORIES)]
    return {
        "id": f"{contingent}-E{event:03d}",
        "contingent": contingent,
        "platform": PLATFORMS[contingent],
        "observed_at": (T0 + timedelta(hours=3 * event, minutes=minutes)).isoformat(),
        "location": {
            "lat": 39.82 + (event % 4) * 0.04 + metres / 111_000,
            "lon": 46.70 + (event % 3) * 0.06,
            "ce_m": 50,
        },
        "category": category,
        "qualifiers": QUALIFIERS[category],
        "sensed_by": "drone-eo",
    }


@pytest.fixture
def client(engine: Engine, demo_mission: Mission, demo_enricher: Any) -> Iterator[TestClient]:
    """The API over a store of 13 incidents; every even event was seen by both contingents."""
    twin = {
        **sighting(0, "RU"),
        "id": "RU-TWIN",
        "location": {"lat": 39.7, "lon": 46.95, "ce_m": 50},
    }
    records = [sighting(e, "RU") for e in range(EVENTS)] + [twin]
    records += [sighting(e, "TR", minutes=2, metres=100) for e in range(0, EVENTS, 2)]
    tokens = add_staff(engine, demo_mission, (duty_officer("RU"), duty_officer("TR")))
    app = create_app(engine, demo_mission, enricher=demo_enricher)
    with TestClient(app, headers=bearer(tokens[duty_officer("RU")])) as test_client:
        assert post_by_contingent(test_client, records, tokens) == len(records)
        yield test_client


def assert_problem(response: Any, status: int, *fields: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["type"] and body["title"] and body["detail"]
    if fields:
        assert [e["field"] for e in body["errors"]] == list(fields), body
        assert all(e["reason"] and e["in"] == "query" for e in body["errors"])
    return body


def page_through(client: TestClient, query: dict[str, Any], key: str = "incidents") -> list[Any]:
    """Every item of every page, following ``next`` (or, in GeoJSON, the rel=next link)."""
    items: list[Any] = []
    response = client.get(f"{API}/incidents", params=query)
    for _page in range(100):
        assert response.status_code == 200, response.text
        body = response.json()
        items += body[key]
        if key == "incidents":
            url = body["next"]
        else:
            url = next((link["href"] for link in body["links"] if link["rel"] == "next"), None)
        if url is None:
            return items
        assert len(body[key]) == query["limit"]
        response = client.get(url)
    raise AssertionError("paging did not end")


def test_filters_and_paging_return_each_incident_once(
    client: TestClient, engine: Engine, demo_mission: Mission
) -> None:
    everything = page_through(client, {"limit": 5})
    ids = [i["id"] for i in everything]
    assert len(ids) == len(set(ids)) == INCIDENTS
    assert everything[0]["started_at"] == everything[1]["started_at"]  # the twins
    one_by_one = page_through(client, {"limit": 1})  # a page boundary between the twins
    assert [i["id"] for i in one_by_one] == ids
    # the same records, in the same order, as `ceasefire incidents --format json`
    assert everything == list_incidents(engine, demo_mission, IncidentFilter())
    both = [i for i in everything if i["contingents"] == ["RU", "TR"]]
    assert len(both) == EVENTS // 2 and all(len(i["observation_ids"]) == 2 for i in both)
    assert all(i["status"] == "open" for i in everything)

    since, until = T0 + timedelta(hours=6), T0 + timedelta(hours=20)
    cases: list[tuple[dict[str, Any], IncidentFilter]] = [
        ({"category": "explosion"}, IncidentFilter(category="explosion")),
        (
            {"status": "open", "category": "uav_flight"},
            IncidentFilter(status="open", category="uav_flight"),
        ),
        (
            {"since": "2021-02-01T06:00:00Z", "until": "2021-02-01T22:00:00+02:00"},
            IncidentFilter(since=since, until=until),
        ),
    ]
    for query, where in cases:
        expected = [i["id"] for i in list_incidents(engine, demo_mission, where)]
        assert expected, query  # each case selects something, and not everything
        assert len(expected) < INCIDENTS, query
        found = [i["id"] for i in page_through(client, {**query, "limit": 2})]
        assert found == expected, query
    closed = client.get(f"{API}/incidents", params={"status": "finding"}).json()
    assert closed == {"incidents": [], "next": None}


def test_geojson_feature_collection_by_parameter_or_accept(client: TestClient) -> None:
    listed = {i["id"]: i for i in client.get(f"{API}/incidents").json()["incidents"]}
    by_parameter = client.get(f"{API}/incidents", params={"format": "geojson"})
    by_accept = client.get(
        f"{API}/incidents", headers={"Accept": "application/geo+json, application/json;q=0.5"}
    )
    for response in (by_parameter, by_accept):
        assert response.status_code == 200
        assert response.headers["content-type"] == GEOJSON
        assert "Accept" in response.headers["vary"]
        collection = response.json()
        assert collection["type"] == "FeatureCollection"
        assert collection["links"] == []
        assert len(collection["features"]) == INCIDENTS
        for feature in collection["features"]:
            assert feature["type"] == "Feature"
            assert set(feature) >= {"type", "id", "geometry", "properties"}
            geometry = feature["geometry"]
            assert geometry["type"] == "Point" and len(geometry["coordinates"]) == 2
            lon, lat = geometry["coordinates"]
            record = listed[feature["id"]]
            assert (lon, lat) == (record["location"]["lon"], record["location"]["lat"])
            assert -180 <= lon <= 180 and -90 <= lat <= 90
            assert 46 < lon < 48 and 39 < lat < 41  # lon first (RFC 7946 section 3.1.1)
            assert feature["properties"]["category"] == record["category"]
            assert feature["properties"]["ce_m"] == record["location"]["ce_m"]
    # JSON stays the default; asking for JSON explicitly wins over Accept
    assert client.get(f"{API}/incidents").headers["content-type"] == "application/json"
    wins = client.get(f"{API}/incidents", params={"format": "json"}, headers={"Accept": GEOJSON})
    assert "incidents" in wins.json()
    # GeoJSON pages link to the next page as GeoJSON, whatever the Accept of the next request
    features = page_through(client, {"format": "geojson", "limit": 5}, key="features")
    assert [f["id"] for f in features] == list(listed)
    first = client.get(f"{API}/incidents", params={"limit": 5}, headers={"Accept": GEOJSON})
    href = first.json()["links"][0]["href"]
    assert "format=geojson" in href and client.get(href).headers["content-type"] == GEOJSON


def test_one_incident_with_why_in_the_callers_language(
    client: TestClient, engine: Engine, demo_mission: Mission
) -> None:
    explosion = client.get(f"{API}/incidents", params={"category": "explosion"}).json()
    incident = next(i for i in explosion["incidents"] if len(i["observation_ids"]) == 2)
    url = f"{API}/incidents/{incident['id']}"
    english = client.get(url).json()
    assert {k: english[k] for k in incident} == incident
    assert [f"{o['contingent']}/{o['id']}" for o in english["observations"]] == incident[
        "observation_ids"
    ]
    stored = get_incident(engine, demo_mission, incident["id"])
    assert stored is not None
    assert [o["id"] for o in english["observations"]] == [o["id"] for o in stored["observations"]]
    fire = next(r for r in demo_mission.config.rules if r.id == "fire")
    for observation in english["observations"]:
        assert observation["rules"] == ["fire"]
        assert observation["qualifiers"]["weapon"] == "mortar"
        [sentence] = observation["why"]
        assert "120 mm mortar" in sentence and fire.explanation["en"] in sentence

    russian = client.get(url, headers={"Accept-Language": "ru-RU,ru;q=0.9"})
    assert russian.headers["content-language"] == "ru"
    for observation in russian.json()["observations"]:
        [sentence] = observation["why"]
        assert fire.explanation["ru"] in sentence
        assert "миномёт" in sentence and "mortar" not in sentence
    if english["phrase"]:
        assert russian.json()["phrase"] != english["phrase"]

    quiet = next(i for i in client.get(f"{API}/incidents").json()["incidents"] if not i["rules"])
    detail = client.get(f"{API}/incidents/{quiet['id']}").json()
    assert all(o["why"] == [] for o in detail["observations"])

    body = assert_problem(client.get(f"{API}/incidents/INC-000000000000"), 404)
    assert body["type"].endswith("not-found") and "INC-000000000000" in body["detail"]


def test_bad_incident_parameters_are_problem_details(client: TestClient) -> None:
    url = f"{API}/incidents"
    for query, field in [
        ({"since": "yesterday"}, "since"),
        ({"until": "2021-02-01T10:00:00"}, "until"),  # no offset
        ({"since": "2021-02-02T00:00:00Z", "until": "2021-02-01T00:00:00Z"}, "until"),
        ({"category": "dragons"}, "category"),
        ({"category": "explosion,uav_flight"}, "category"),  # one category, as in the CLI
        ({"format": "kml"}, "format"),
        ({"cursor": "bm90LWEtY3Vyc29y"}, "cursor"),
        ({"cursor": encode_cursor(3)}, "cursor"),  # a cursor of the observations
        ({"limit": "0"}, "limit"),
        ({"limit": "1001"}, "limit"),
        ({"status": "x" * 17}, "status"),
    ]:
        body = assert_problem(client.get(url, params=query), 422, field)
        assert body["type"].endswith("invalid-parameter"), query
    both = assert_problem(
        client.get(url, params={"since": "x", "format": "xml"}), 422, "since", "format"
    )
    assert both["detail"]
    russian = client.get(url, params={"category": "dragons"}, headers={"Accept-Language": "ru"})
    assert russian.headers["content-language"] == "ru"


def test_coverage_is_the_json_of_the_cli(
    engine: Engine, demo_mission: Mission, demo_enricher: Any
) -> None:
    intake = intake_of(engine, demo_mission, demo_enricher)
    line = next(z for z in demo_mission.zones if z.id == "loc-2020-11-20").geometry
    start = datetime(2021, 2, 1, 6, 0, tzinfo=UTC)
    # an Orlan-10 along the first fifth of the line for an hour, a point a minute
    points = [line.interpolate(f / 300, normalized=True) for f in range(60)]
    intake.feed(
        [
            TrackPoint(
                "orlan-10-07",
                start + timedelta(minutes=i),
                p.y,
                p.x,
                contingent="RU",
                platform_type="orlan-10",
            )
            for i, p in enumerate(points)
        ],
        "tracks",
    )
    tokens = add_staff(engine, demo_mission, ("auditor",))
    app = create_app(engine, demo_mission, enricher=demo_enricher)
    client = TestClient(app, headers=bearer(tokens["auditor"]))
    url = f"{API}/coverage"
    query = {"since": "2021-02-01T06:00:00Z", "until": "2021-02-01T12:00:00Z", "gap_hours": "2"}
    response = client.get(url, params=query)
    assert response.status_code == 200, response.text
    found = response.json()
    expected = coverage(
        engine, demo_mission, start, start + timedelta(hours=6), timedelta(hours=2), demo_enricher
    )
    assert found == expected
    assert set(found) == {
        "since",
        "until",
        "line_km",
        "piece_km",
        "gap_threshold_h",
        "contingents",
        "covered_share_any",
        "covered_share_all",
        "gaps",
    }
    assert set(found["contingents"]) == set(demo_mission.contingent_ids())
    assert set(found["contingents"]["RU"]) == {"covered_share", "gaps"}
    assert 0 < found["contingents"]["RU"]["covered_share"] < 1
    assert found["contingents"]["TR"]["covered_share"] == 0
    assert set(found["gaps"][0]) == {"from_km", "to_km", "length_km", "longest_gap_h"}
    assert (found["since"], found["until"]) == ("2021-02-01T06:00:00Z", "2021-02-01T12:00:00Z")

    # until defaults to a day after since, and gap_hours to 6, as in the CLI
    day = client.get(url, params={"since": "2021-02-01T06:00:00Z"}).json()
    assert (day["until"], day["gap_threshold_h"]) == ("2021-02-02T06:00:00Z", 6.0)

    for params, fields in [
        ({}, ["since"]),
        ({"until": "2021-02-01T12:00:00Z"}, ["since"]),
        ({"since": "tomorrow"}, ["since"]),
        ({"since": "2021-02-01T06:00:00"}, ["since"]),  # no offset
        ({"since": "2021-02-01T06:00:00Z", "until": "2021-13-01T00:00:00Z"}, ["until"]),
        ({"since": "2021-02-01T06:00:00Z", "until": "2021-02-01T06:00:00Z"}, ["until"]),
        ({"since": "2021-02-01T06:00:00Z", "until": "2021-04-01T00:00:00Z"}, ["until"]),
        ({"since": "2021-02-01T06:00:00Z", "gap_hours": "0"}, ["gap_hours"]),
        ({"since": "2021-02-01T06:00:00Z", "gap_hours": "nan"}, ["gap_hours"]),
        ({"since": "2021-02-01T06:00:00Z", "gap_hours": "soon"}, ["gap_hours"]),
        ({"since": "x", "until": "y"}, ["since", "until"]),
    ]:
        assert_problem(client.get(url, params=params), 422, *fields)


def test_an_impacts_possible_launches_are_the_same_for_every_reader(
    engine: Engine, demo_mission: Mission, demo_enricher: Any
) -> None:
    """An impact's record carries the launches it fits (as ``ceasefire incident ID``); the
    same for both contingents before and after one side's blind view of the launch (parity,
    blindness); a party's liaison does not read incidents here."""
    from ceasefire.incidents.launches import possible_launches
    from ceasefire.workflow import assessments
    from ceasefire.workflow.roles import get_user

    def said(n: int, seconds: float, north_km: float, category: str, **q: Any) -> dict[str, Any]:
        at = T0 + timedelta(days=20, seconds=seconds)
        return {
            **sighting(0, "TR"),
            "id": f"TR-L{n}",
            "observed_at": at.isoformat(),
            "location": {"lat": 39.85 + north_km / 111.32, "lon": 46.85, "ce_m": 30},
            "category": category,
            "qualifiers": q,
        }

    tokens = add_staff(engine, demo_mission)
    readers = ["ru-analyst", "tr-analyst", "tr-head", "auditor"]
    with TestClient(create_app(engine, demo_mission, enricher=demo_enricher)) as client:
        records = [
            said(1, 0, 0, "explosion", explosion="impact", weapon="mortar"),
            said(2, -40, 5, "muzzle_flash", weapon="mortar"),
        ]
        assert post_by_contingent(client, records, tokens) == 2
        found = list_incidents(engine, demo_mission, IncidentFilter())
        [impact] = [i["id"] for i in found if i["observation_ids"] == ["TR/TR-L1"]]
        [launch] = [i["id"] for i in found if i["observation_ids"] == ["TR/TR-L2"]]

        def seen(reader: str) -> Any:
            got = client.get(f"{API}/incidents/{impact}", headers=bearer(tokens[reader]))
            assert got.status_code == 200, got.text
            return got.json()

        before = {r: seen(r) for r in readers}
        [relation] = before["tr-analyst"]["possible_launches"]
        assert relation["incident"] == launch and relation["seconds_before"] == 40
        assert "40 s before the impact" in relation["sentence"]
        stored = get_incident(engine, demo_mission, impact)
        assert stored is not None
        assert before["ru-analyst"]["possible_launches"] == possible_launches(engine, stored)
        assert all(before[r] == before["tr-analyst"] for r in readers)  # parity
        assert relation["why"] and relation["launch_said"] and relation["seconds_off"] == 0
        # The other end: the launch's record names the impact, alike for every reader.
        ends = [
            client.get(f"{API}/incidents/{launch}", headers=bearer(tokens[r])).json()
            for r in readers
        ]
        assert [i["incident"] for i in ends[0]["possible_impacts"]] == [impact]
        assert ends[0]["possible_impacts"][0]["rank"] == 1
        assert all(e == ends[0] for e in ends) and ends[0]["possible_launches"] == []
        with engine.begin() as db:  # TR's view of the launch, blind to RU until RU's
            assessments.submit(
                db, demo_mission, get_user(db, "tr-duty-officer"), launch, violation="yes",
                clauses=["1"], attribution="AZ", severity="high", remarks="x",
            )  # fmt: skip
        assert {r: seen(r) for r in readers} == before
        for liaison in ("az-liaison", "am-liaison"):
            got = client.get(f"{API}/incidents/{impact}", headers=bearer(tokens[liaison]))
            assert got.status_code == 403, got.text
