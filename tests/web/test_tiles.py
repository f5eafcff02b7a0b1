"""The local tile source: an MBTiles file (made here, nothing downloaded) named by the `tiles`
setting, served by the center at /tiles/{z}/{x}/{y}, and drawn by the map in Chromium with
nothing asked of any other host."""

from __future__ import annotations

import math
import sqlite3
import struct
import zlib
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from web_support import password, signed_in

from api.api_support import add_staff, staff_of
from ceasefire.api.app import center_app
from ceasefire.center import Center
from ceasefire.center.settings import Settings
from ceasefire.errors import InputError
from ceasefire.geo import Enricher
from ceasefire.mission import Mission, load_mission
from ceasefire.store import open_database
from ceasefire.workflow.roles import set_password
from web.browser import chromium, log_in, serving, shot

ZOOMS = range(5, 9)
COLOUR = (40, 120, 90)


def png(rgb: tuple[int, int, int], size: int = 256) -> bytes:
    """A plain PNG of one colour (zlib and struct only)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + bytes(rgb) * size for _ in range(size))
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def xyz(lat: float, lon: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def make_mbtiles(path: Path, area: list[float]) -> dict[tuple[int, int, int], bytes]:
    """Tiles over the mission's area at a few zooms, each its own tile (TMS rows, as the
    specification stores them); the tiles by XYZ address."""
    west, south, east, north = area
    made: dict[tuple[int, int, int], bytes] = {}
    with closing(sqlite3.connect(path)) as db, db:
        db.execute("CREATE TABLE metadata (name TEXT, value TEXT)")
        db.execute(
            "CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, "
            "tile_data BLOB)"
        )
        meta = {
            "name": "test relief",
            "format": "png",
            "minzoom": str(ZOOMS[0]),
            "maxzoom": str(ZOOMS[-1]),
            "bounds": f"{west},{south},{east},{north}",
            "attribution": "test tiles, made in the test",
        }
        db.executemany("INSERT INTO metadata VALUES (?, ?)", meta.items())
        for z in ZOOMS:
            x0, y0 = xyz(north, west, z)
            x1, y1 = xyz(south, east, z)
            for x in range(x0, x1 + 1):
                for y in range(y0, y1 + 1):
                    # one colour shade per tile, so a tile served for another is told
                    data = png((COLOUR[0], COLOUR[1], (x * 7 + y * 13 + z) % 256), 256)
                    db.execute("INSERT INTO tiles VALUES (?, ?, ?, ?)", (z, x, 2**z - 1 - y, data))
                    made[(z, x, y)] = data
    return made


def tiled_app(engine: Engine, mission: Mission, enricher: Any, tiles: Path) -> FastAPI:
    add_staff(engine, mission)
    with engine.begin() as db:
        for name, _role, _affiliation in staff_of(mission):
            set_password(db, name, password(name))
    center = Center(Settings(tiles=tiles), mission=mission, engine=engine, enricher=enricher)
    return center_app(center)


def test_the_center_serves_its_tiles_to_signed_in_users(
    engine: Engine, demo_mission: Mission, demo_enricher: Any, tmp_path: Path
) -> None:
    made = make_mbtiles(tmp_path / "relief.mbtiles", list(demo_mission.config.area))
    app = tiled_app(engine, demo_mission, demo_enricher, tmp_path / "relief.mbtiles")
    client = signed_in(app, "tr-analyst")
    for (z, x, y), data in list(made.items())[:: max(1, len(made) // 6)]:
        got = client.get(f"/tiles/{z}/{x}/{y}")
        assert got.status_code == 200 and got.headers["content-type"] == "image/png"
        assert got.content == data, (z, x, y)  # XYZ asked, the TMS row read
    (z, x, y) = next(iter(made))
    assert client.get(f"/tiles/{z}/{x + 500}/{y}").status_code == 404  # none there
    assert client.get("/tiles/3/9/1").status_code == 404  # outside the zoom's grid
    assert client.get("/tiles/-1/0/0").status_code == 404
    anyone = TestClient(app).get(f"/tiles/{z}/{x}/{y}", follow_redirects=False)
    assert anyone.status_code == 303  # to the log-in
    page = client.get("/map").text
    assert '"url": "/tiles/{z}/{x}/{y}"' in page and '"maxzoom": 8' in page


def test_without_the_setting_the_map_has_no_tiles(
    engine: Engine, demo_mission: Mission, demo_enricher: Any
) -> None:
    center = Center(mission=demo_mission, engine=engine, enricher=demo_enricher)
    app = center_app(center)
    add_staff(engine, demo_mission, only=("auditor",))
    with engine.begin() as db:
        set_password(db, "auditor", password("auditor"))
    client = signed_in(app, "auditor")
    assert (
        '<script type="application/json" id="tiles-config">null</script>' in client.get("/map").text
    )
    assert client.get("/tiles/5/1/1").status_code == 404


def test_a_file_that_is_not_mbtiles_is_told_at_start(
    engine: Engine, demo_mission: Mission, tmp_path: Path
) -> None:
    for name, content in (("missing.mbtiles", None), ("text.mbtiles", b"not a database")):
        path = tmp_path / name
        if content is not None:
            path.write_bytes(content)
        center = Center(Settings(tiles=path), mission=demo_mission, engine=engine)
        with pytest.raises(InputError, match=name):
            center_app(center)


@pytest.fixture(scope="module")
def live_tiled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any]]:
    mission = load_mission("karabakh-2020")
    folder = tmp_path_factory.mktemp("tiles")
    make_mbtiles(folder / "relief.mbtiles", list(mission.config.area))
    engine = open_database(f"sqlite:///{folder / 'center.db'}")
    app = tiled_app(engine, mission, Enricher(mission), folder / "relief.mbtiles")
    with serving(app) as base, chromium() as browser:
        yield base, browser
    engine.dispose()


@pytest.mark.slow
def test_the_map_asks_for_the_local_tiles_and_shows_them(
    live_tiled: tuple[str, Any],
) -> None:
    base, browser = live_tiled
    context = browser.new_context(viewport={"width": 1200, "height": 800}, locale="en-GB")
    try:
        page = context.new_page()
        asked: list[str] = []
        page.on("request", lambda r: asked.append(r.url))
        log_in(page, base, "ru-duty-officer", password("ru-duty-officer"))
        page.goto(f"{base}/map")
        page.wait_for_function(
            "document.querySelectorAll('.local-tiles img.leaflet-tile-loaded').length >= 2"
        )
        shown = page.evaluate(
            "[...document.querySelectorAll('.local-tiles img.leaflet-tile-loaded')]"
            ".map((i) => [i.src, i.naturalWidth])"
        )
        assert all("/tiles/" in src and width == 256 for src, width in shown), shown
        # the colour of a tile as drawn: the test's tiles, not a blank
        colour = page.evaluate(
            """() => {
              const img = document.querySelector('.local-tiles img.leaflet-tile-loaded');
              const c = document.createElement('canvas'); c.width = c.height = 1;
              const g = c.getContext('2d'); g.drawImage(img, 0, 0, 1, 1);
              return Array.from(g.getImageData(0, 0, 1, 1).data.slice(0, 2));
            }"""
        )
        assert colour == list(COLOUR[:2])
        shot(page, "map-local-tiles")
        assert any("/tiles/" in url for url in asked)
        assert [url for url in asked if not url.startswith(base)] == []  # nothing from outside
    finally:
        context.close()
