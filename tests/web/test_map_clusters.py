"""The map's incidents in a wide view: clusters made by the database (one per grid cell), which
count exactly what the incident list shows for the same window, status and category, for
every reader who may list incidents and for nobody else."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert, select
from web_support import build_center, signed_in

from api.api_support import staff_of
from ceasefire.incidents.tables import incidents
from ceasefire.mission import Mission
from ceasefire.web import mapdata
from ceasefire.web.bench import END, sample_incidents

WINDOW = f"at={END:%Y-%m-%dT%H:%M:%SZ}&hours=720"  # the 30 days the sample spreads over
SINCE, UNTIL = "2021-01-02T00:00:00Z", f"{END:%Y-%m-%dT%H:%M:%SZ}"
BOX = (46.0, 39.4, 47.2, 40.3)
SAMPLE = 600


@pytest.fixture
def center(
    engine: Engine, demo_mission: Mission, demo_enricher: Any, monkeypatch: pytest.MonkeyPatch
) -> FastAPI:
    """The web tests' center and 600 incidents near the line of contact over the 30 days
    before END, every 25th superseded; a view of more than 100 incidents is clustered."""
    app, _ids = build_center(engine, demo_mission, demo_enricher)
    with engine.begin() as db:
        row = db.execute(select(incidents.c.mission).limit(1)).scalar_one()
        made = sample_incidents(demo_mission, row, SAMPLE, seed=5)
        for n, incident in enumerate(made):
            if n % 25 == 0:
                incident["status"] = "superseded"
        db.execute(insert(incidents), made)
    monkeypatch.setattr(mapdata, "CLUSTER_ABOVE", 100)
    return app


def listed(client: TestClient, **filters: str) -> list[dict[str, Any]]:
    """What GET /api/v1/incidents lists for the map's window and these filters, in BOX."""
    token = client.cookies.get("cf_session")
    found: list[dict[str, Any]] = []
    params: dict[str, Any] = {"since": SINCE, "until": UNTIL, "limit": 1000, **filters}
    url: str | None = "/api/v1/incidents"
    while url is not None:
        page = client.get(url, params=params, headers={"Authorization": f"Bearer {token}"})
        assert page.status_code == 200, page.text
        found += page.json()["incidents"]
        url, params = page.json()["next"], {}
    west, south, east, north = BOX
    inside = []
    for i in found:
        lon, lat = i["location"]["lon"], i["location"]["lat"]
        # the list rounds to 6 decimals: no incident may sit that close to the box's edge
        assert min(abs(lon - west), abs(lon - east), abs(lat - south), abs(lat - north)) > 1e-5
        if west <= lon <= east and south <= lat <= north:
            inside.append(i)
    return inside


def view(client: TestClient, box: tuple[float, ...] = BOX, **query: Any) -> dict[str, Any]:
    extra = "".join(f"&{k}={v}" for k, v in query.items())
    answer = client.get(f"/map/incidents.json?bbox={','.join(map(str, box))}&{WINDOW}{extra}")
    assert answer.status_code == 200, answer.text
    data: dict[str, Any] = answer.json()
    return data


@pytest.mark.parametrize(
    "filters",
    [
        {},
        {"status": "open"},
        {"category": "explosion"},
        {"status": "disputed", "category": "uav_flight"},
    ],
    ids=["all", "open", "explosion", "disputed-uav"],
)
def test_clusters_count_what_the_incident_list_shows(
    center: FastAPI, filters: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    client = signed_in(center, "tr-duty-officer")
    expected = listed(client, **filters)
    assert len(expected) >= 20
    monkeypatch.setattr(mapdata, "CLUSTER_ABOVE", len(expected) // 3)
    data = view(client, zoom=7, **filters)
    assert data["clusters"], "a view of more than CLUSTER_ABOVE incidents is clustered"
    assert (
        data["count"]
        == len(expected)
        == sum(c["count"] for c in data["clusters"]) + len(data["rows"])
    )
    # the breakdowns add up to the list's, singles included
    statuses = Counter(r[3] for r in data["rows"])
    categories = Counter(r[5] for r in data["rows"])
    for cluster in data["clusters"]:
        assert cluster["count"] > 1
        assert sum(cluster["statuses"].values()) == cluster["count"]
        assert sum(cluster["categories"].values()) == cluster["count"]
        statuses.update(cluster["statuses"])
        categories.update(cluster["categories"])
        west, south, east, north = cluster["bounds"]
        assert BOX[0] <= west <= cluster["lon"] <= east <= BOX[2]
        assert BOX[1] <= south <= cluster["lat"] <= north <= BOX[3]
    assert statuses == Counter(i["status"] for i in expected)
    assert categories == Counter(i["category"] for i in expected)
    assert "superseded" not in statuses
    assert sum(c["both"] for c in data["clusters"]) + sum(
        r[4] == "both_contingents" for r in data["rows"]
    ) == sum(i["corroboration"] == "both_contingents" for i in expected)
    # a cell of one incident comes as that incident
    assert {r[0] for r in data["rows"]} <= {i["id"] for i in expected}


def test_a_view_of_few_incidents_or_at_street_level_gets_them_one_by_one(
    center: FastAPI,
) -> None:
    client = signed_in(center, "ru-analyst")
    expected = listed(client)
    # at street level, however many
    close = view(client, zoom=mapdata.INDIVIDUAL_ZOOM)
    assert close["clusters"] == [] and not close["truncated"]
    assert sorted(r[0] for r in close["rows"]) == sorted(i["id"] for i in expected)
    # a box of few incidents, at any zoom
    west, south, _east, north = BOX
    lons = sorted(i["location"]["lon"] for i in expected)
    small = (west, south, (lons[29] + lons[30]) / 2, north)  # the 30 westernmost
    few = [i for i in expected if i["location"]["lon"] <= small[2]]
    assert len(few) == 30 <= mapdata.CLUSTER_ABOVE
    answer = view(client, box=small, zoom=6)
    assert answer["clusters"] == [] and answer["count"] == len(few)
    assert sorted(r[0] for r in answer["rows"]) == sorted(i["id"] for i in few)
    # without a zoom the box's width decides it (a program's request): the same counts
    assert view(client)["count"] == len(expected)


def test_every_reader_sees_the_same_clusters_and_a_party_none(
    center: FastAPI, demo_mission: Mission
) -> None:
    """Parity: every contingent's roles and the auditor get the same answer; a liaison, who may
    not list incidents (GET /api/v1/incidents refuses it), gets no cluster and no count."""
    seen: dict[str, Any] = {}
    for name, role, _affiliation in staff_of(demo_mission):
        client = signed_in(center, name)
        token = client.cookies.get("cf_session")
        listing = TestClient(center).get(
            "/api/v1/incidents", headers={"Authorization": f"Bearer {token}"}
        )
        for query in ("", "&zoom=7", "&zoom=7&status=open"):
            answer = client.get(
                f"/map/incidents.json?bbox={','.join(map(str, BOX))}&{WINDOW}{query}"
            )
            if role in ("liaison", "party_liaison"):
                assert listing.status_code == answer.status_code == 403, name
                assert "count" not in answer.text and "clusters" not in answer.text
            else:
                assert listing.status_code == answer.status_code == 200, name
                seen.setdefault(query, answer.json())
                assert answer.json() == seen[query], name
    assert seen["&zoom=7"]["clusters"]


def test_a_liaisons_map_tells_nothing_of_incidents_not_released_to_it(
    center: FastAPI, engine: Engine, demo_mission: Mission
) -> None:
    """A party's or the force's liaison may list no incident it was not released: its map's
    time range (the page's latest moment, which the zones follow too) and the stamp of its live
    events (``/events``: what moved) stay put when an incident it was not sent comes in, or
    changes; the auditor's move (each stamp as ``mapdata.stamp`` makes it for that reader)."""
    import html
    import json
    import re
    from datetime import datetime, timedelta

    from sqlalchemy import func, update

    from ceasefire.reports.scope import scope_for
    from ceasefire.workflow.roles import get_user

    names = ("am-liaison", "az-liaison", "pk-liaison", "auditor")
    clients = {name: signed_in(center, name) for name in names}

    def seen() -> dict[str, Any]:
        found: dict[str, Any] = {}
        for name, client in clients.items():
            page = client.get("/map").text
            config = re.search(
                r'<script type="application/json" id="map-config">(.*?)</script>', page, re.S
            )
            assert config is not None, name
            shown = json.loads(html.unescape(config.group(1)))
            found[f"{name} map"] = [shown["at"], shown["first"], shown["last"]]
            found[f"{name} zones"] = client.get("/map/zones.json").text
            with engine.connect() as db:
                user = get_user(db, name)
            scope = scope_for(engine, demo_mission, user)
            with engine.connect() as db:
                found[f"{name} events"] = json.dumps(mapdata.stamp(db, scope), default=str)
        return found

    before = seen()
    with engine.begin() as db:  # the newest incident ends a day later, and changes
        newest = db.execute(
            select(incidents.c.id).order_by(incidents.c.ended_at.desc()).limit(1)
        ).scalar_one()
        ended = db.execute(select(incidents.c.ended_at).where(incidents.c.id == newest)).scalar()
        changed = db.execute(select(func.max(incidents.c.updated_at))).scalar()
        assert isinstance(ended, datetime) and isinstance(changed, datetime)
        db.execute(
            update(incidents)
            .where(incidents.c.id == newest)
            .values(ended_at=ended + timedelta(days=1), updated_at=changed + timedelta(days=1))
        )
    after = seen()
    moved = sorted(k for k in before if before[k] != after[k])
    assert moved == ["auditor events", "auditor map"], moved


@pytest.mark.parametrize("released, other", [("AM", "AZ"), ("AZ", "AM")])
def test_a_release_moves_its_partys_map_and_not_the_other_partys(
    engine: Engine,
    demo_mission: Mission,
    demo_enricher: Any,
    tmp_path: Any,
    released: str,
    other: str,
) -> None:
    """Mirrored, each party in turn: a release to one party widens what its liaison's map
    follows (the time range and the live events' stamp) and leaves the other party's as it
    was; neither is refused what the other is given."""
    import html
    import json
    import re

    from ceasefire.ledger.keys import init_keys, load_keys, origin_of
    from ceasefire.ledger.release import write_release
    from ceasefire.reports.scope import scope_for
    from ceasefire.workflow.releases import incident_selections
    from ceasefire.workflow.roles import get_user

    app, ids = build_center(engine, demo_mission, demo_enricher)
    clients = {p: signed_in(app, f"{p.lower()}-liaison") for p in ("AM", "AZ")}

    def seen(party: str) -> list[Any]:
        page = clients[party].get("/map").text
        config = re.search(
            r'<script type="application/json" id="map-config">(.*?)</script>', page, re.S
        )
        assert config is not None, party
        shown = json.loads(html.unescape(config.group(1)))
        with engine.connect() as db:
            user = get_user(db, f"{party.lower()}-liaison")
        scope = scope_for(engine, demo_mission, user)
        with engine.connect() as db:
            stamp = mapdata.stamp(db, scope)
        return [shown["last"], json.dumps(stamp, default=str)]

    before = {p: seen(p) for p in ("AM", "AZ")}
    assert before["AM"] == before["AZ"]  # nothing released yet: the same for both
    origin = origin_of(demo_mission.id)
    init_keys(tmp_path / "keys", origin, demo_mission.contingent_ids())
    ring = load_keys(tmp_path / "keys", origin, demo_mission.contingent_ids())
    newest = ids[0]
    selections = incident_selections(engine, newest)
    write_release(
        engine, ring, tmp_path / f"{released}.json", released, selections, incidents=[newest]
    )
    after = {p: seen(p) for p in ("AM", "AZ")}
    assert after[other] == before[other], other
    assert after[released][0] != before[released][0], after  # its range reaches the incident
    assert after[released][1] != before[released][1], after  # and its events moved
