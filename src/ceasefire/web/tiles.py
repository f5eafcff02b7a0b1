"""A local tile source for the map: raster tiles from an MBTiles file, served by the center.

MBTiles (https://github.com/mapbox/mbtiles-spec, 1.3) is one SQLite file: a ``metadata``
table (name, format, minzoom, maxzoom, bounds, attribution) and a ``tiles`` table whose rows
are counted from the south (TMS), while the map asks in XYZ order (from the north): row =
2^z - 1 - y. The file is opened read-only and never changed; nothing comes from outside.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ceasefire.errors import InputError, Problem
from ceasefire.i18n import _

MEDIA_TYPES = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp"}
URL = "/tiles/{z}/{x}/{y}"


@dataclass(frozen=True)
class TileSet:
    """What the map needs to know of the file (from its metadata)."""

    name: str
    media_type: str
    min_zoom: int
    max_zoom: int
    bounds: tuple[float, float, float, float] | None  # west, south, east, north
    attribution: str

    def config(self) -> dict[str, Any]:
        """For the page's script: where to ask, which zooms the file holds, whose data."""
        return {
            "url": URL,
            "minzoom": self.min_zoom,
            "maxzoom": self.max_zoom,
            "bounds": list(self.bounds) if self.bounds else None,
            "attribution": self.attribution or self.name,
        }


class MBTiles:
    """One MBTiles file, opened read-only for each read (cheap; nothing left open)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.tileset = self._read_metadata()

    def _connection(self) -> closing[sqlite3.Connection]:
        return closing(sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True))

    def _refuse(self, reason: str) -> InputError:
        return InputError(Problem(file=str(self.path), field="tiles", reason=reason))

    def _read_metadata(self) -> TileSet:
        if not self.path.is_file():
            raise self._refuse(_("no such file"))
        try:
            with self._connection() as db:
                rows = db.execute("SELECT name, value FROM metadata").fetchall()
                low, high = db.execute(
                    "SELECT min(zoom_level), max(zoom_level) FROM tiles"
                ).fetchone()
        except sqlite3.DatabaseError as error:
            raise self._refuse(
                _("not an MBTiles file (an SQLite file with metadata and tiles): {error}").format(
                    error=error
                )
            ) from None
        meta = {str(k): str(v) for k, v in rows}
        kind = meta.get("format", "png").lower()
        if kind not in MEDIA_TYPES:
            raise self._refuse(
                _("tiles of format {format} are not images the map can show ({known})").format(
                    format=kind, known=", ".join(sorted(MEDIA_TYPES))
                )
            )
        bounds = None
        try:
            west, south, east, north = (float(v) for v in meta["bounds"].split(","))
            bounds = (west, south, east, north)
        except (KeyError, ValueError):
            pass
        return TileSet(
            name=meta.get("name", self.path.stem),
            media_type=MEDIA_TYPES[kind],
            min_zoom=int(meta.get("minzoom", low if low is not None else 0)),
            max_zoom=int(meta.get("maxzoom", high if high is not None else 0)),
            bounds=bounds,
            attribution=meta.get("attribution", ""),
        )

    def tile(self, z: int, x: int, y: int) -> bytes | None:
        """The tile at z/x/y (XYZ, from the north), or None where the file has none."""
        if not (0 <= z <= 30 and 0 <= x < 2**z and 0 <= y < 2**z):
            return None
        with self._connection() as db:
            row = db.execute(
                "SELECT tile_data FROM tiles "
                "WHERE zoom_level = ? AND tile_column = ? AND tile_row = ?",
                (z, x, 2**z - 1 - y),
            ).fetchone()
        return None if row is None else bytes(row[0])


__all__ = ["URL", "MBTiles", "TileSet"]
