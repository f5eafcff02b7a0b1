"""What the map draws, as GeoJSON: the zones valid at a time, settlements in a language, and the
incidents, observations and drone tracks of a box and a time window.

The page asks only for what it shows (the visible box and the chosen time), so a store of
years stays quick to look at; the answers are lean (only what a marker or a line needs).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import orjson
import shapely
from pyproj import Transformer
from shapely.geometry import mapping
from shapely.ops import substring
from sqlalchemy import BigInteger, Connection, Engine, Float, Numeric, cast, extract, func, select

from ceasefire.geo.engine import Enricher
from ceasefire.incidents.tables import incidents
from ceasefire.mission.model import Mission
from ceasefire.store.schema import observations, track_points
from ceasefire.timeutil import iso

# The most a map layer sends (the newest first); an answer that reached its cap says so
# ("truncated": true) and the map tells the user that only the newest are shown.
MAX_INCIDENTS = 20_000
MAX_OBSERVATIONS = 5_000
MAX_TRACK_POINTS = 20_000
Box = tuple[float, float, float, float]


def zones_at(mission: Mission, at: datetime, lang: str) -> dict[str, Any]:
    """The mission's zones and lines valid at ``at``, named in ``lang``."""
    features = [
        {
            "type": "Feature",
            "id": zone.id,
            "geometry": mapping(zone.geometry),
            "properties": {
                "kind": zone.kind,
                "name": zone.names.get(lang) or zone.names.get("en") or zone.id,
                "party": zone.party,
                "valid_from": iso(zone.valid_from),
                "valid_until": iso(zone.valid_until) if zone.valid_until else None,
                "illustrative": zone.illustrative,
            },
        }
        for zone in mission.zones
        if zone.valid_at(at)
    ]
    return {"type": "FeatureCollection", "features": features}


def settlements(mission: Mission, lang: str) -> list[dict[str, Any]]:
    return [
        {
            "name": mission.settlement_name(s, lang),
            "lat": s.lat,
            "lon": s.lon,
            "population": s.population,
        }
        for s in mission.settlements
    ]


def _in_box(table: Any, box: Box | None) -> list[Any]:
    if box is None:
        return []
    min_lon, min_lat, max_lon, max_lat = box
    return [table.c.lat.between(min_lat, max_lat), table.c.lon.between(min_lon, max_lon)]


def _epoch_seconds(db: Connection, column: Any) -> Any:
    """A time column as whole seconds since 1970, computed by the database: converting
    thousands of SQLite's text times to datetimes in Python was half of a map view's time."""
    if db.dialect.name == "sqlite":  # stored as UTC text without an offset
        return cast(func.strftime("%s", column), BigInteger)
    return cast(func.floor(extract("epoch", column)), BigInteger)


def _rounded(db: Connection, column: Any, digits: int = 5) -> Any:
    """A coordinate to ``digits`` decimals (about a metre), by the database: Python's round()
    on every coordinate was a third of what was left of a map view's time."""
    if db.dialect.name == "sqlite":
        return func.round(column, digits)
    return cast(func.round(cast(column, Numeric), digits), Float)


INCIDENT_COLUMNS = ("id", "lon", "lat", "status", "corroboration", "category", "severity", "t")


def incidents_in(
    db: Connection, box: Box | None, since: datetime, until: datetime
) -> dict[str, Any]:
    """Incidents that overlap the window in the box, newest first: what a marker needs, as
    rows of :data:`INCIDENT_COLUMNS` (``t``: the start in seconds since 1970), a tenth of the
    bytes of GeoJSON for 10,000 markers."""
    c = incidents.c
    rows = db.execute(
        select(
            c.id,
            _rounded(db, c.lon),
            _rounded(db, c.lat),
            c.status,
            c.corroboration,
            c.category,
            c.severity,
            _epoch_seconds(db, c.started_at),
        )
        .where(
            c.status != "superseded",
            c.started_at < until,
            c.ended_at >= since,
            *_in_box(incidents, box),
        )
        .order_by(c.started_at.desc())
        .limit(MAX_INCIDENTS + 1)
    ).all()
    truncated = len(rows) > MAX_INCIDENTS
    rows = rows[:MAX_INCIDENTS]
    return {
        "columns": INCIDENT_COLUMNS,
        "rows": [tuple(r) for r in rows],  # the times are whole seconds already
        "truncated": truncated,
    }


def observations_in(
    db: Connection, box: Box | None, since: datetime, until: datetime
) -> dict[str, Any]:
    c = observations.c
    rows = db.execute(
        select(c.contingent, c.source_id, c.lat, c.lon, c.category, c.observed_at, c.incident_id)
        .where(c.observed_at >= since, c.observed_at < until, *_in_box(observations, box))
        .order_by(c.observed_at.desc())
        .limit(MAX_OBSERVATIONS + 1)
    ).all()
    truncated = len(rows) > MAX_OBSERVATIONS
    rows = rows[:MAX_OBSERVATIONS]
    return {
        "type": "FeatureCollection",
        "truncated": truncated,
        "features": [
            {
                "type": "Feature",
                "id": f"{r.contingent}/{r.source_id}",
                "geometry": {"type": "Point", "coordinates": [r.lon, r.lat]},
                "properties": {
                    "contingent": r.contingent,
                    "category": r.category,
                    "observed_at": iso(r.observed_at),
                    "incident": r.incident_id,
                },
            }
            for r in rows
        ],
    }


def tracks_in(db: Connection, since: datetime, until: datetime) -> dict[str, Any]:
    """Drone tracks of the window: one line per platform and sortie, from the newest
    :data:`MAX_TRACK_POINTS` points (``truncated`` when there were more)."""
    c = track_points.c
    newest = (
        select(c.platform_id, c.contingent, c.sortie, c.lat, c.lon, c.time)
        .where(c.time >= since, c.time < until)
        .order_by(c.time.desc())
        .limit(MAX_TRACK_POINTS + 1)
    ).subquery()
    n = newest.c
    rows = list(
        db.execute(
            select(n.platform_id, n.contingent, n.sortie, n.lat, n.lon, n.time).order_by(
                n.platform_id, n.sortie, n.time
            )
        ).all()
    )
    truncated = len(rows) > MAX_TRACK_POINTS
    if truncated:  # the one beyond the cap is the oldest
        rows.remove(min(rows, key=lambda r: r.time))
    lines: dict[tuple[str, str | None], dict[str, Any]] = {}
    for r in rows:
        key = (r.platform_id, r.sortie)
        line = lines.setdefault(
            key,
            {
                "type": "Feature",
                "geometry": {"type": "LineString", "coordinates": []},
                "properties": {"platform": r.platform_id, "contingent": r.contingent},
            },
        )
        line["geometry"]["coordinates"].append([round(r.lon, 5), round(r.lat, 5)])
    features = [f for f in lines.values() if len(f["geometry"]["coordinates"]) > 1]
    return {"type": "FeatureCollection", "truncated": truncated, "features": features}


def dumps(data: Any) -> bytes:
    return orjson.dumps(data)


def coverage_gaps(
    engine: Engine, mission: Mission, enricher: Enricher, since: datetime, until: datetime
) -> dict[str, Any]:
    """Each contingent's share of the line of contact watched in the window, and the stretches
    it left unwatched longer than the threshold, as lines to draw
    (:func:`ceasefire.incidents.coverage.coverage` measures; this only draws its answer)."""
    from ceasefire.incidents.coverage import coverage  # scipy: only when coverage is asked for

    found = coverage(engine, mission, since, until, enricher=enricher)
    back = Transformer.from_crs(enricher.crs, 4326, always_xy=True)
    # the line's parts in the order coverage() walks them, in metres
    lines = [z.geometry for z in mission.zones if z.kind == "line_of_contact" and z.valid_at(since)]
    parts = []
    offset = 0.0
    for part in (p for line in lines for p in shapely.get_parts(line)):
        coords = np.asarray(part.coords)[:, :2]
        x, y = enricher.to_metric(coords[:, 0], coords[:, 1])
        metric = shapely.LineString(np.column_stack([x, y]))
        parts.append((offset, metric))
        offset += metric.length

    def drawn(gaps: list[dict[str, Any]]) -> dict[str, Any]:
        pieces = []
        for gap in gaps:
            start, end = gap["from_km"] * 1000, gap["to_km"] * 1000
            for at, metric in parts:
                lo, hi = max(start - at, 0.0), min(end - at, metric.length)
                if hi <= lo:
                    continue
                cut = np.asarray(substring(metric, lo, hi).coords)
                lon, lat = back.transform(cut[:, 0], cut[:, 1])
                pieces.append(
                    [
                        [round(float(a), 5), round(float(b), 5)]
                        for a, b in zip(lon, lat, strict=True)
                    ]
                )
        return {"type": "MultiLineString", "coordinates": pieces}

    return {
        "line_km": found["line_km"],
        "gap_threshold_h": found["gap_threshold_h"],
        "contingents": {
            c: {"covered_share": float(v["covered_share"]), "gaps": drawn(v["gaps"])}
            for c, v in found["contingents"].items()
        },
        "covered_share_all": float(found["covered_share_all"]),
    }
