"""Exports for GIS tools and analysts, read back by the clients that matter: GDAL (Debian's
ogr2ogr/ogrinfo) for the GeoPackage and KML, an XML parser for the KML, json and csv."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa
from defusedxml import ElementTree
from reports_support import BLIND_REMARK, World

from ceasefire.incidents.tables import incidents
from ceasefire.reports import acled
from ceasefire.reports.rows import Selection, incident_rows
from ceasefire.store.schema import observations

KML = "{http://www.opengis.net/kml/2.2}"
OGR2OGR = shutil.which("ogr2ogr")
needs_gdal = pytest.mark.skipif(OGR2OGR is None, reason="gdal-bin (scripts/services.sh)")


@pytest.fixture(scope="module")
def world(sqlite_world: World) -> World:
    """Commands run in this process open the database by URL and keep their connections: the
    exports are tested on SQLite here, the queries under them on both engines (test_rows.py)."""
    return sqlite_world


def db_url(world: World) -> str:
    return world.engine.url.render_as_string(hide_password=False)


def stored_incidents(world: World) -> set[str]:
    with world.engine.connect() as db:
        return set(
            db.execute(
                sa.select(incidents.c.id).where(incidents.c.status != "superseded")
            ).scalars()
        )


def read_with_gdal(path: Path) -> list[dict]:
    """Every feature of the file as GDAL reads it, through ogr2ogr to GeoJSON."""
    assert OGR2OGR is not None
    done = subprocess.run(
        [OGR2OGR, "-f", "GeoJSON", "/vsistdout/", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)["features"]


@needs_gdal
def test_geopackage_of_incidents_reads_in_gdal(cli, world: World, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "incidents.gpkg"
    result = cli(
        "export",
        "--collection",
        "incidents",
        "--format",
        "gpkg",
        "--out",
        str(out),
        "--db",
        db_url(world),
    )
    assert result.code == 0, result.err
    features = read_with_gdal(out)
    assert {f["properties"]["id"] for f in features} == stored_incidents(world)
    by_id = {f["properties"]["id"]: f for f in features}
    agreed = by_id[world.agreed]["properties"]
    assert (agreed["finding"], agreed["attribution"], agreed["violation"]) == (
        "finding",
        "AZ",
        "yes",
    )
    assert agreed["started_at"].startswith("2021-02-01")  # a DateTime field in the GeoPackage
    lon, lat = by_id[world.agreed]["geometry"]["coordinates"]
    assert 46 < lon < 47.5 and 39 < lat < 41
    info = subprocess.run(["ogrinfo", "-so", str(out), "incidents"], capture_output=True, text=True)
    assert "started_at: DateTime" in info.stdout and "Geometry: Point" in info.stdout
    assert "Warning" not in info.stderr


@needs_gdal
def test_kml_of_observations_parses(cli, world: World, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "observations.kml"
    result = cli(
        "export", "--format", "kml", "--out", str(out), "--lang", "ru", "--db", db_url(world)
    )
    assert result.code == 0, result.err
    document = ElementTree.parse(out).getroot()
    assert document.tag == f"{KML}kml"
    placemarks = document.findall(f".//{KML}Placemark")
    assert len(placemarks) == len(world.records)
    names = {p.findtext(f"{KML}name") for p in placemarks}
    assert names == {f"{r['contingent']}/{r['id']}" for r in world.records}
    first = next(p for p in placemarks if p.findtext(f"{KML}name") == "RU/RU-0001")
    lon, lat = (float(v) for v in first.findtext(f".//{KML}coordinates").split(",")[:2])
    assert (round(lat, 4), round(lon, 4)) == (39.9312, 46.8307)
    assert " км " in first.findtext(f"{KML}description")  # the place phrase, in Russian
    data = {d.get("name"): d.text for d in first.iter(f"{KML}SimpleData")}
    assert data["category"] == "explosion" and data["contingent"] == "RU"
    # and GDAL's KML driver reads the same placemarks
    assert len(read_with_gdal(out)) == len(world.records)


@pytest.mark.parametrize("fmt", ["geojson", "geojsonseq", "csv"])
def test_text_formats_hold_every_incident(cli, world: World, tmp_path: Path, fmt: str) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / f"incidents.{fmt}"
    result = cli(
        "export",
        "--collection",
        "incidents",
        "--format",
        fmt,
        "--out",
        str(out),
        "--db",
        db_url(world),
    )
    assert result.code == 0, result.err
    text = out.read_text(encoding="utf-8")
    if fmt == "geojson":
        ids = [f["id"] for f in json.loads(text)["features"]]
    elif fmt == "geojsonseq":
        assert text.startswith("\x1e") and text.endswith("\n")
        ids = [json.loads(part)["id"] for part in text.split("\x1e")[1:]]
    else:
        ids = [r["id"] for r in csv.DictReader(io.StringIO(text))]
    assert sorted(ids) == sorted(stored_incidents(world))
    assert f"{len(ids)} incidents exported" in result.err


def test_acled_columns_and_codes(cli, world: World, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "acled.csv"
    result = cli("export", "--format", "acled", "--out", str(out), "--db", db_url(world))
    assert result.code == 0, result.err
    reader = csv.DictReader(io.StringIO(out.read_text(encoding="utf-8")))
    assert tuple(reader.fieldnames or ()) == acled.COLUMNS
    found = {r["event_id_cnty"]: r for r in reader}
    assert set(found) == stored_incidents(world)
    agreed = found[world.agreed]
    assert agreed["event_type"] == "Explosions/Remote violence"
    assert agreed["sub_event_type"] == "Shelling/artillery/missile attack"
    assert agreed["actor1"] == "Military Forces of Azerbaijan" and agreed["inter1"] == "1"
    assert agreed["time_precision"] == "1" and agreed["geo_precision"] in {"1", "2", "3"}
    assert agreed["country"] == "Azerbaijan" and agreed["iso"] == "31"
    blind = found[world.blind]
    assert blind["actor1"] == "Unidentified Armed Group (Azerbaijan)"  # no joint finding yet
    kinds = {r["sub_event_type"] for r in found.values()}
    assert {"Remote explosive/landmine/IED", "Attack", "Other"} <= kinds
    casualties = [r for r in found.values() if r["event_type"] == "Violence against civilians"]
    assert casualties and all(r["actor2"] == "Civilians" for r in casualties)


def test_acled_event_types() -> None:
    assert acled.event_type("explosion", {"weapon": "uav_munition"}) == acled.DRONE
    assert acled.event_type("explosion", {"weapon": "mortar"}) == acled.SHELLING
    assert acled.event_type("small_arms_fire", {}) == acled.CLASH
    assert acled.event_type("monitoring_interference", {"interference": "fire_at_uav"}) == (
        acled.DISRUPTED
    )
    assert acled.event_type("movement_heavy_weapon", {}) == acled.OTHER
    assert [acled.geo_precision(d) for d in (None, 500, 10_000, 40_000)] == [3, 1, 2, 3]


@pytest.mark.parametrize("fmt", ["geojson", "csv", "acled", "gpkg", "kml"])
def test_no_export_shows_a_blind_assessment(cli, world: World, tmp_path: Path, fmt: str) -> None:  # type: ignore[no-untyped-def]
    if fmt in ("gpkg", "kml") and OGR2OGR is None:
        pytest.skip("gdal-bin")
    for collection in ("incidents", "observations"):
        out = tmp_path / f"{collection}.{fmt}"
        result = cli(
            "export",
            "--collection",
            collection,
            "--format",
            fmt,
            "--out",
            str(out),
            "--db",
            db_url(world),
        )
        assert result.code == 0, result.err
        assert BLIND_REMARK.encode() not in out.read_bytes()
    row = next(
        r
        for r in incident_rows(world.engine, world.mission, Selection(), "en")
        if r["id"] == world.blind
    )
    assert (row["finding"], row["attribution"], row["violation"]) == (None, None, None)


def test_a_party_exports_only_what_was_released_to_it(cli, world: World, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url = db_url(world)
    am = cli(
        "export",
        "--collection",
        "incidents",
        "--format",
        "geojson",
        "--as-user",
        "am-liaison",
        "--db",
        url,
    )
    assert am.code == 0, am.err
    assert [f["id"] for f in json.loads(am.out)["features"]] == [world.released]
    with world.engine.connect() as db:
        members = set(
            db.execute(
                sa.select(observations.c.source_id).where(
                    observations.c.incident_id == world.released
                )
            ).scalars()
        )
    seen = cli("export", "--as-user", "am-liaison", "--db", url)
    assert {json.loads(line)["id"] for line in seen.out.splitlines()} == members
    az = cli(
        "export",
        "--collection",
        "incidents",
        "--format",
        "csv",
        "--as-user",
        "az-liaison",
        "--db",
        url,
    )
    assert az.code == 0 and len(az.out.splitlines()) == 1  # the header only
    pk = cli("export", "--format", "csv", "--as-user", "pk-liaison", "--db", url)
    assert len(pk.out.strip().splitlines()) == len(world.records) + 1  # the force: every one


def test_bad_export_requests_name_the_option(cli, world: World) -> None:  # type: ignore[no-untyped-def]
    url = db_url(world)
    swapped = cli("export", "--bbox", "47.2,40.1,46.5,39.7", "--db", url)
    assert swapped.code == 1 and "--bbox" in swapped.err
    no_file = cli("export", "--format", "gpkg", "--db", url)
    assert no_file.code == 1 and "--out" in no_file.err
    cot = cli("export", "--collection", "incidents", "--format", "cot", "--db", url)
    assert cot.code == 1 and "--format" in cot.err
