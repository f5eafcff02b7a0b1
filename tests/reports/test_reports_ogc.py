"""OGC API - Features: the documents, paging, filters, bad input and access, in process on both
engines; then GDAL (Debian's ogrinfo and ogr2ogr) against a real server, paging to the end
while observations are being added."""

from __future__ import annotations

import base64
import json
import shutil
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from reports_support import BLIND_REMARK, World, gdal, ingest, serving, token_for

from ceasefire.api.app import create_app
from ceasefire.incidents.tables import incidents
from ceasefire.reports import ogc
from ceasefire.store.schema import observations

OGC = "/api/v1/ogc"
needs_gdal = pytest.mark.skipif(shutil.which("ogrinfo") is None, reason="gdal-bin")


@pytest.fixture(scope="module")
def api(world: World, demo_enricher: Any) -> tuple[TestClient, dict[str, str]]:
    """The app over the module's world, and a token of each kind of reader."""
    client = TestClient(create_app(world.engine, world.mission, enricher=demo_enricher))
    names = ("ru-analyst", "tr-do", "am-liaison", "az-liaison", "pk-liaison", "auditor")
    return client, {n: token_for(world.engine, n) for n in names}


def forged_cursor(collection: str, key: Any) -> str:
    """A cursor of the server's form holding any key (the server only ever gives out its own)."""
    text = json.dumps({"c": collection, "k": key}, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def get(client: TestClient, path: str, token: str | None = None, **params: Any) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.get(path, params=params, headers=headers)


def page_through(client: TestClient, token: str, url: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    next_url: str | None = url
    while next_url is not None:
        answer = client.get(next_url, headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["numberReturned"] == len(body["features"])
        found += body["features"]
        next_url = next((k["href"] for k in body["links"] if k["rel"] == "next"), None)
    return found


def ids_in(world: World, table: sa.Table) -> set[str]:
    with world.engine.connect() as db:
        if table is incidents:
            query = sa.select(incidents.c.id).where(incidents.c.status != "superseded")
            return set(db.execute(query).scalars())
        rows = db.execute(sa.select(observations.c.contingent, observations.c.source_id))
        return {f"{c}/{s}" for c, s in rows}


def test_landing_conformance_and_collections(world: World, api: Any) -> None:
    client, tokens = api
    landing = get(client, OGC)
    assert landing.status_code == 200  # public, as is /conformance
    rels = {link["rel"]: link for link in landing.json()["links"]}
    assert {"self", "service-desc", "service-doc", "conformance", "data"} <= set(rels)
    assert rels["service-desc"]["href"].endswith("/api/v1/openapi.json")
    assert client.get(rels["service-desc"]["href"]).status_code == 200
    conformance = get(client, f"{OGC}/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in conformance
    assert get(client, f"{OGC}/collections").status_code == 401  # data needs a token
    listed = get(client, f"{OGC}/collections", tokens["ru-analyst"]).json()["collections"]
    assert [c["id"] for c in listed] == ["incidents", "observations", "zones"]
    one = get(client, f"{OGC}/collections/zones", tokens["ru-analyst"]).json()
    assert one["extent"]["spatial"]["bbox"] == [list(world.mission.config.area)]
    assert any(link["rel"] == "items" for link in one["links"])
    queryables = get(client, f"{OGC}/collections/incidents/queryables", tokens["ru-analyst"])
    assert "corroboration" in queryables.json()["properties"]


def test_paging_filters_and_items(world: World, api: Any) -> None:
    client, tokens = api
    token = tokens["ru-analyst"]
    for collection, table in (("incidents", incidents), ("observations", observations)):
        found = page_through(client, token, f"{OGC}/collections/{collection}/items?limit=4")
        ids = [f["id"] for f in found]
        assert len(ids) == len(set(ids)) and set(ids) == ids_in(world, table)
    zones = page_through(client, token, f"{OGC}/collections/zones/items?limit=7")
    assert sorted(f["id"] for f in zones) == sorted(z.id for z in world.mission.zones)
    box = "46.80,39.90,46.86,39.96"
    inside = page_through(client, token, f"{OGC}/collections/observations/items?bbox={box}")
    assert inside and all(
        46.80 <= f["geometry"]["coordinates"][0] <= 46.86
        and 39.90 <= f["geometry"]["coordinates"][1] <= 39.96
        for f in inside
    )
    day = page_through(
        client,
        token,
        f"{OGC}/collections/observations/items?datetime=2021-02-01T10:00:00Z/2021-02-01T11:00:00Z",
    )
    assert day and all(
        "2021-02-01T10:00:00Z" <= f["properties"]["observed_at"] <= "2021-02-01T11:00:00Z"
        for f in day
    )
    open_end = page_through(
        client, token, f"{OGC}/collections/observations/items?datetime=../2030-01-01T00:00:00Z"
    )
    assert len(open_end) == len(world.records)
    explosions = page_through(
        client, token, f"{OGC}/collections/incidents/items?category=explosion"
    )
    assert explosions and all(f["properties"]["category"] == "explosion" for f in explosions)
    one = get(client, f"{OGC}/collections/observations/items/RU/RU-0001", token).json()
    assert one["id"] == "RU/RU-0001" and one["properties"]["category"] == "explosion"
    agreed = get(client, f"{OGC}/collections/incidents/items/{world.agreed}", token).json()
    assert agreed["properties"]["attribution"] == "AZ"
    blind = get(client, f"{OGC}/collections/incidents/items/{world.blind}", token).json()
    assert blind["properties"]["attribution"] is None  # only RU has assessed
    assert get(client, f"{OGC}/collections/zones/items/pk-zone", token).status_code == 200


@pytest.mark.parametrize(
    ("path", "params", "status", "field"),
    [
        ("incidents/items", {"bbox": "47.2,40.1,46.5,39.7"}, 400, "bbox"),
        ("incidents/items", {"bbox": "46,39,47"}, 400, "bbox"),
        ("incidents/items", {"datetime": "yesterday"}, 400, "datetime"),
        (
            "incidents/items",
            {"datetime": "2021-02-02T00:00:00Z/2021-02-01T00:00:00Z"},
            400,
            "datetime",
        ),
        ("incidents/items", {"datetime": "2021-02-01T10:00:00"}, 400, "datetime"),
        ("observations/items", {"limit": "0"}, 400, "limit"),
        ("observations/items", {"limit": str(10**9)}, 400, "limit"),
        ("observations/items", {"limit": "ten"}, 400, "limit"),
        ("observations/items", {"cursor": "not-ours"}, 400, "cursor"),
        # beyond the calendar or the store's keys: refused, never a 500
        ("incidents/items", {"datetime": "0001-01-01T00:00:00+01:00"}, 400, "datetime"),
        ("observations/items", {"datetime": "9999-12-31T23:59:59-01:00"}, 400, "datetime"),
        ("observations/items", {"cursor": ogc.encode_cursor("observations", 2**63)}, 400, "cursor"),
        ("observations/items", {"cursor": ogc.encode_cursor("observations", -1)}, 400, "cursor"),
        (
            "incidents/items",
            {"cursor": forged_cursor("incidents", ["0001-01-01T00:00:00+05:00", "x"])},
            400,
            "cursor",
        ),
        ("observations/items", {"colour": "red"}, 400, "colour"),
        ("observations/items", {"f": "html"}, 400, "f"),
        ("nowhere/items", {}, 404, None),
        ("nowhere", {}, 404, None),
        ("observations/items/RU/NO-SUCH", {}, 404, None),
        ("incidents/items/INC-000000000000", {}, 404, None),
        ("zones/items/atlantis", {}, 404, None),
    ],
)
def test_bad_input_is_a_clear_problem(
    api: Any, path: str, params: dict[str, str], status: int, field: str | None
) -> None:
    client, tokens = api
    answer = get(client, f"{OGC}/collections/{path}", tokens["ru-analyst"], **params)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    body = answer.json()
    assert body["status"] == status and body["detail"]
    if field is not None:
        assert [e["field"] for e in body["errors"]] == [field]


@pytest.mark.parametrize(
    ("collection", "params"),
    [
        ("observations", {"datetime": "9999-12-31"}),
        ("incidents", {"datetime": "../9999-12-31"}),
        ("observations", {"datetime": "0001-01-01/.."}),
        ("incidents", {"datetime": "9999-12-31T23:59:59Z"}),
        ("observations", {"cursor": ogc.encode_cursor("observations", 2**63 - 1)}),
        (
            "incidents",
            {"cursor": ogc.encode_cursor("incidents", (datetime(9999, 12, 31, tzinfo=UTC), "x"))},
        ),
    ],
)
def test_ranges_at_the_ends_of_time_and_keys_are_answered(
    api: Any, collection: str, params: dict[str, str]
) -> None:
    """Past the last item or at the calendar's ends: a page (empty or not), as declared."""
    client, tokens = api
    answer = get(client, f"{OGC}/collections/{collection}/items", tokens["auditor"], **params)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["numberReturned"] == len(body["features"])
    assert not [k for k in body["links"] if k["rel"] == "next"] or body["features"]


def test_cursor_of_another_collection_is_refused(world: World, api: Any) -> None:
    client, tokens = api
    cursor = ogc.encode_cursor("zones", "pk-zone")
    answer = get(client, f"{OGC}/collections/observations/items", tokens["auditor"], cursor=cursor)
    assert answer.status_code == 400


def test_each_reader_sees_what_it_may(world: World, api: Any) -> None:
    client, tokens = api

    def ids(name: str, collection: str) -> set[str]:
        url = f"{OGC}/collections/{collection}/items?limit=100"
        return {f["id"] for f in page_through(client, tokens[name], url)}

    every_incident = ids_in(world, incidents)
    every_observation = ids_in(world, observations)
    for name in ("ru-analyst", "tr-do", "auditor"):
        assert ids(name, "incidents") == every_incident
        assert ids(name, "observations") == every_observation
    assert ids("am-liaison", "incidents") == {world.released}
    released = ids("am-liaison", "observations")
    assert released and released < every_observation
    assert ids("az-liaison", "incidents") == set() == ids("az-liaison", "observations")
    assert ids("pk-liaison", "observations") == every_observation
    assert ids("pk-liaison", "incidents") == set()
    hidden = next(iter(every_observation - released))
    answer = get(client, f"{OGC}/collections/observations/items/{hidden}", tokens["am-liaison"])
    assert answer.status_code == 404
    # blindness: nothing of the one assessment of the blind incident, whoever asks
    for name in tokens:
        for collection in ("incidents", "observations"):
            text = get(client, f"{OGC}/collections/{collection}/items", tokens[name]).text
            assert BLIND_REMARK not in text


@needs_gdal
def test_gdal_reads_every_collection(sqlite_world: World) -> None:
    world = sqlite_world
    token = token_for(world.engine, "ru-analyst")
    with serving(create_app(world.engine, world.mission)) as url:
        listed = gdal("ogrinfo", "-ro", "-q", f"OAPIF:{url}{OGC}", token=token).stdout
        assert "incidents" in listed and "observations" in listed and "zones" in listed
        for collection, expected in (
            ("incidents", ids_in(world, incidents)),
            ("observations", ids_in(world, observations)),
            ("zones", {z.id for z in world.mission.zones}),
        ):
            done = gdal(
                "ogr2ogr",
                "-oo",
                "PAGE_SIZE=5",
                "-f",
                "GeoJSON",
                "/vsistdout/",
                f"OAPIF:{url}{OGC}",
                collection,
                token=token,
            )
            found = [f["properties"]["id"] for f in json.loads(done.stdout)["features"]]
            assert len(found) == len(set(found)) and set(found) == expected, collection
        summary = gdal("ogrinfo", "-so", f"OAPIF:{url}{OGC}", "incidents", token=token).stdout
        assert "started_at: DateTime" in summary and "Geometry: Point" in summary


def _late_records(n: int) -> list[dict[str, Any]]:
    """Observations of their own (an hour apart, earlier than the sample, far from each other):
    each is a new incident that sorts before those already paged."""
    start = datetime(2021, 1, 20, tzinfo=UTC)
    return [
        {
            "id": f"RU-LATE-{i:04d}",
            "contingent": "RU",
            "platform": {"id": "orlan-10-01", "type": "orlan-10"},
            "observed_at": (start + timedelta(hours=i)).isoformat().replace("+00:00", "Z"),
            "location": {"lat": 39.5 + (i % 20) * 0.04, "lon": 46.2 + (i // 20) * 0.05, "ce_m": 50},
            "category": "explosion",
            "sensed_by": "drone-eo",
        }
        for i in range(n)
    ]


@needs_gdal
@pytest.mark.slow
def test_gdal_pages_to_the_end_while_rows_are_added(fresh_sqlite_world: World) -> None:
    world = fresh_sqlite_world
    token = token_for(world.engine, "ru-analyst")
    before = {"incidents": ids_in(world, incidents), "observations": ids_in(world, observations)}
    late = _late_records(120)
    stop = threading.Event()
    added: list[int] = []

    def keep_adding() -> None:
        for start in range(0, len(late), 2):
            if stop.is_set():
                return
            added.append(ingest(world.engine, world.mission, late[start : start + 2]))

    with serving(create_app(world.engine, world.mission)) as url:
        for collection in ("observations", "incidents"):
            stop.clear()
            writer = threading.Thread(target=keep_adding)
            writer.start()
            try:
                done = gdal(
                    "ogr2ogr",
                    "-oo",
                    "PAGE_SIZE=3",
                    "-f",
                    "GeoJSON",
                    "/vsistdout/",
                    f"OAPIF:{url}{OGC}",
                    collection,
                    token=token,
                )
            finally:
                stop.set()
                writer.join()
            found = [f["properties"]["id"] for f in json.loads(done.stdout)["features"]]
            assert len(found) == len(set(found)), f"{collection}: an item came twice"
            assert before[collection] <= set(found), f"{collection}: an item was lost"
            late = _late_records(240)[120:] if collection == "observations" else late
    assert sum(added) > 0  # rows were indeed added while GDAL paged
