"""What the map draws, as GeoJSON: the zones valid at a time, settlements in a language, and the
incidents, observations and drone tracks of a box and a time window.

The page asks only for what it shows (the visible box and the chosen time), so a store of
years stays quick to look at; the answers are lean (only what a marker or a line needs).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from math import cos, floor, log2, radians
from typing import Any

import numpy as np
import orjson
import shapely
from pyproj import Transformer
from shapely.geometry import mapping
from shapely.ops import substring
from sqlalchemy import (
    BigInteger,
    Connection,
    Engine,
    Float,
    Integer,
    Numeric,
    case,
    cast,
    extract,
    func,
    select,
)

from ceasefire.geo.engine import Enricher
from ceasefire.incidents.queries import IncidentFilter, conditions
from ceasefire.incidents.tables import incidents
from ceasefire.ledger.tables import ledger
from ceasefire.mission.model import Mission
from ceasefire.reports.scope import Scope
from ceasefire.store.observations import in_box
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


def _newest(db: Connection, column: Any, condition: Any) -> Any:
    query = select(func.max(column))
    return db.execute(query if condition is None else query.where(condition)).scalar()


def extent(db: Connection, mission: Mission, scope: Scope) -> tuple[datetime, datetime]:
    """The map's time range for a reader of ``scope`` (:func:`ceasefire.reports.scope.
    scope_for`): from the mission's start to the latest incident it may see (and, for a reader
    who may not see every incident, the latest observation it may see), or the end of the
    current hour with none. A
    liaison's range never follows an incident not released to it: its end would tell when
    the newest of them happened."""
    first = mission.config.period.start.astimezone(UTC)
    found = [_newest(db, incidents.c.ended_at, scope.incident_condition())]
    if scope.incidents is not None:
        found.append(_newest(db, observations.c.observed_at, scope.observation_condition()))
    known = [t if t.tzinfo is not None else t.replace(tzinfo=UTC) for t in found if t is not None]
    # with none: the end of the current hour (a time that tells nothing, and stays put)
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    last = max(known) if known else now
    return first, max(first + timedelta(days=1), last)


def stamp(db: Connection, scope: Scope) -> list[Any]:
    """What moves when something new is there (the live events of ``/events``), for a reader
    of ``scope``: the log's size and the latest incident change for a reader of every record;
    for a liaison, the newest of the observations and the incidents it may see only (the log's
    growth, or another incident's change, would tell it of records not released to it)."""
    if scope.observations is None and scope.incidents is None:
        size = _newest(db, ledger.c.index, None)
    else:
        size = _newest(db, observations.c.ledger_index, scope.observation_condition())
    changed = _newest(db, incidents.c.updated_at, scope.incident_condition())
    return [size, iso(changed) if changed is not None else None]


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
    return [] if box is None else in_box(table.c.lat, table.c.lon, box)


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
MAP_STATUSES = ("open", "assessing", "finding", "disputed")
"""The statuses the map draws and filters by (superseded incidents are the workflow's only)."""

# A view of more incidents than CLUSTER_ABOVE is answered with clusters made by the database:
# one per cell of a grid of CELL_PX-wide cells on the screen at the view's zoom, fixed to the
# globe (so a cluster stays put when the map is panned). From INDIVIDUAL_ZOOM on (streets),
# incidents always come one by one (at most MAX_INCIDENTS).
CLUSTER_ABOVE = 2_000
INDIVIDUAL_ZOOM = 15
CELL_PX = 64
TILE_PX = 256
WIDTH_PX = 1280
"""The width assumed for a view whose zoom is not given (a program's, not the page's)."""


def _incident_rows(db: Connection, where: list[Any], limit: int) -> list[tuple[Any, ...]]:
    """Rows of :data:`INCIDENT_COLUMNS` for the incidents meeting ``where``, newest first."""
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
        .where(*where)
        .order_by(c.started_at.desc())
        .limit(limit)
    ).all()
    return [tuple(r) for r in rows]  # the times are whole seconds already


def _filter(box: Box | None, where: IncidentFilter) -> list[Any]:
    """The list's conditions (``incidents.queries.conditions``: superseded incidents left out,
    the window, status and category as ``GET /incidents`` applies them) and the box."""
    return [*conditions(where), *_in_box(incidents, box)]


def incidents_in(db: Connection, box: Box | None, where: IncidentFilter) -> dict[str, Any]:
    """Incidents in the box that the incident list shows for ``where``, newest first: what a
    marker needs, as rows of :data:`INCIDENT_COLUMNS` (``t``: the start in seconds since
    1970), a tenth of the bytes of GeoJSON for 10,000 markers."""
    rows = _incident_rows(db, _filter(box, where), MAX_INCIDENTS + 1)
    truncated = len(rows) > MAX_INCIDENTS
    rows = rows[:MAX_INCIDENTS]
    return {
        "columns": INCIDENT_COLUMNS,
        "rows": rows,
        "truncated": truncated,
        "clusters": [],
        "count": len(rows),
    }


def zoom_for(box: Box | None, width_px: int = WIDTH_PX) -> int:
    """The whole zoom level at which ``box`` is ``width_px`` wide on the screen (Web Mercator,
    as Leaflet's)."""
    if box is None:
        return 0
    span = max(box[2] - box[0] + (360 if box[2] < box[0] else 0), 1e-9)  # the antimeridian
    return max(0, min(INDIVIDUAL_ZOOM, floor(log2(width_px * 360 / (TILE_PX * span)))))


def cell_size(zoom: int, lat: float) -> tuple[float, float]:
    """A grid cell's width and height in degrees at ``zoom``: :data:`CELL_PX` on the screen
    each way at latitude ``lat`` (a degree of latitude is drawn 1/cos(lat) as tall as one of
    longitude)."""
    width = CELL_PX * 360 / (TILE_PX * 2**zoom)
    return width, width * cos(radians(lat))


def _cell(db: Connection, column: Any, origin: float, size: float) -> Any:
    """The grid cell of a coordinate, counted from ``-origin`` (so always >= 0)."""
    shifted = (column + origin) / size
    if db.dialect.name == "sqlite":  # CAST truncates, which is floor for numbers >= 0
        return cast(shifted, Integer)
    return cast(func.floor(shifted), Integer)  # PostgreSQL's CAST rounds


def incident_view(
    db: Connection, box: Box | None, where: IncidentFilter, zoom: int, lat: float
) -> dict[str, Any]:
    """What the map draws for a view: the incidents one by one (:func:`incidents_in`) when
    there are at most :data:`CLUSTER_ABOVE` of them or from :data:`INDIVIDUAL_ZOOM` on, else
    clusters (:func:`clusters_in`). ``count`` is how many incidents the answer stands for;
    ``lat`` is the latitude at which the grid's cells are square (the mission area's)."""
    if zoom < INDIVIDUAL_ZOOM:
        some = (
            select(incidents.c.id).where(*_filter(box, where)).limit(CLUSTER_ABOVE + 1).subquery()
        )
        if db.execute(select(func.count()).select_from(some)).scalar_one() > CLUSTER_ABOVE:
            return clusters_in(db, box, where, cell_size(zoom, lat))
    return incidents_in(db, box, where)


def clusters_in(
    db: Connection, box: Box | None, where: IncidentFilter, cell: tuple[float, float]
) -> dict[str, Any]:
    """The incidents of :func:`incidents_in` counted by the database per grid cell of
    ``cell`` (width, height in degrees): one cluster a cell, with its count, its statuses and
    categories (the incident's main category, as its marker names it), how many both
    contingents saw, where its incidents lie (``bounds``: west, south, east, north) and their
    mean position, where the cluster is drawn. A cell with a single incident comes as that
    incident's row. Every incident in the box is counted: nothing is truncated."""
    c = incidents.c
    both = case((c.corroboration == "both_contingents", 1), else_=0)
    inner = (
        select(
            _cell(db, c.lon, 180.0, cell[0]).label("gx"),
            _cell(db, c.lat, 90.0, cell[1]).label("gy"),
            c.status,
            c.category,
            c.lon,
            c.lat,
            both.label("both"),
            c.id,
        )
        .where(*_filter(box, where))
        .subquery()
    )
    i = inner.c
    groups = db.execute(
        select(
            i.gx,
            i.gy,
            i.status,
            i.category,
            func.count(),
            func.min(i.lon),
            func.min(i.lat),
            func.max(i.lon),
            func.max(i.lat),
            func.sum(i.lon),
            func.sum(i.lat),
            func.sum(i.both),
            func.min(i.id),
        ).group_by(i.gx, i.gy, i.status, i.category)
    ).all()
    cells: dict[tuple[int, int], dict[str, Any]] = {}
    for gx, gy, status, category, n, w, s, e, north, lon_sum, lat_sum, seen, first in groups:
        found = cells.get((gx, gy))
        if found is None:
            found = cells[(gx, gy)] = {
                "count": 0,
                "bounds": [w, s, e, north],
                "sum": [0.0, 0.0],
                "statuses": {},
                "categories": {},
                "both": 0,
                "id": first,
            }
        found["count"] += n
        b = found["bounds"]
        b[0], b[1], b[2], b[3] = min(b[0], w), min(b[1], s), max(b[2], e), max(b[3], north)
        found["sum"][0] += lon_sum
        found["sum"][1] += lat_sum
        found["statuses"][status] = found["statuses"].get(status, 0) + n
        found["categories"][category] = found["categories"].get(category, 0) + n
        found["both"] += int(seen)
    single = sorted(f["id"] for f in cells.values() if f["count"] == 1)
    rows: list[tuple[Any, ...]] = []
    for start in range(0, len(single), 500):
        rows += _incident_rows(db, [c.id.in_(single[start : start + 500])], 500)
    rows.sort(key=lambda r: (-r[7], r[0]))  # newest first, as incidents_in
    clusters = [
        {
            "lon": round(f["sum"][0] / f["count"], 5),
            "lat": round(f["sum"][1] / f["count"], 5),
            "count": f["count"],
            "bounds": [round(v, 5) for v in f["bounds"]],
            "statuses": f["statuses"],
            "categories": f["categories"],
            "both": f["both"],
        }
        for _key, f in sorted(cells.items(), key=lambda kv: (-kv[1]["count"], kv[0]))
        if f["count"] > 1
    ]
    return {
        "columns": INCIDENT_COLUMNS,
        "rows": rows,
        "truncated": False,
        "clusters": clusters,
        "count": sum(f["count"] for f in cells.values()),
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
