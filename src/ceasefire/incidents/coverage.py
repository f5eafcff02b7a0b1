"""Coverage of the line of contact: which stretches each contingent's sensors saw, and when not.

The line valid at the start of the period is cut into pieces of `PIECE_M`. A drone's track
point covers every piece whose middle lies within the platform's sensor footprint radius, for
the time until its next track point (at most `MAX_STEP`). Per piece and contingent this gives
the times it was watched; the share of the line watched at all, and the stretches left unwatched
longer than a threshold, follow.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import shapely
from sqlalchemy import Engine, select

from ceasefire.geo.engine import Enricher
from ceasefire.mission.model import Mission
from ceasefire.store.schema import track_points
from ceasefire.timeutil import iso

PIECE_M = 1000.0
MAX_STEP = timedelta(minutes=5)
# Radius on the ground within which a platform's sensors are taken to see (documented
# assumptions of the demo; a mission can know better).
FOOTPRINT_M = {"orlan-10": 5000.0, "forpost": 8000.0, "bayraktar-tb2": 10000.0}
DEFAULT_FOOTPRINT_M = 3000.0


@dataclass(frozen=True)
class Gap:
    from_km: float
    to_km: float
    longest_s: float

    def as_dict(self) -> dict[str, float]:
        return {
            "from_km": max(0.0, round(self.from_km, 1)),
            "to_km": round(self.to_km, 1),
            "length_km": round(self.to_km - self.from_km, 1),
            "longest_gap_h": round(self.longest_s / 3600, 1),
        }


def _pieces(mission: Mission, enricher: Enricher, at: datetime) -> tuple[Any, Any]:
    """Middles of the line's pieces in metres, and their distance along the line in km."""
    lines = [z.geometry for z in mission.zones if z.kind == "line_of_contact" and z.valid_at(at)]
    middles: list[tuple[float, float]] = []
    along: list[float] = []
    offset = 0.0
    for part in (p for line in lines for p in shapely.get_parts(line)):
        coords = np.asarray(part.coords)[:, :2]
        x, y = enricher.to_metric(coords[:, 0], coords[:, 1])
        metric = shapely.LineString(np.column_stack([x, y]))
        count = max(1, int(np.ceil(metric.length / PIECE_M)))
        for k in range(count):
            distance = (k + 0.5) * metric.length / count
            point = metric.interpolate(distance)
            middles.append((point.x, point.y))
            along.append((offset + distance) / 1000)
        offset += metric.length
    return np.array(middles).reshape(-1, 2), np.array(along)


def coverage(
    engine: Engine,
    mission: Mission,
    since: datetime,
    until: datetime,
    gap_threshold: timedelta = timedelta(hours=6),
    enricher: Enricher | None = None,
) -> dict[str, Any]:
    from scipy.spatial import cKDTree  # when first asked, as in correlate._labels

    enricher = enricher or Enricher(mission)
    middles, along = _pieces(mission, enricher, since)
    contingents = mission.contingent_ids()
    period = (until - since).total_seconds()
    watched: dict[str, list[list[tuple[float, float]]]] = {
        c: [[] for _ in range(len(middles))] for c in contingents
    }
    tree = cKDTree(middles) if len(middles) else None
    with engine.connect() as db:
        rows = db.execute(
            select(track_points)
            .where(track_points.c.time >= since, track_points.c.time < until)
            .order_by(track_points.c.platform_id, track_points.c.time)
        ).all()
    if tree is not None and rows:
        lat = np.array([r.lat for r in rows])
        lon = np.array([r.lon for r in rows])
        x, y = enricher.to_metric(lon, lat)
        for i, row in enumerate(rows):
            if row.contingent not in watched:
                continue
            nxt = rows[i + 1] if i + 1 < len(rows) else None
            step = MAX_STEP
            if nxt is not None and nxt.platform_id == row.platform_id:
                step = min(MAX_STEP, nxt.time - row.time)
            start = (row.time - since).total_seconds()
            radius = FOOTPRINT_M.get(row.platform_type or "", DEFAULT_FOOTPRINT_M)
            for piece in tree.query_ball_point((x[i], y[i]), radius):
                watched[row.contingent][piece].append((start, start + step.total_seconds()))
    line_km = float(along[-1] + PIECE_M / 2000) if len(along) else 0.0
    result: dict[str, Any] = {
        "since": iso(since),
        "until": iso(until),
        "line_km": round(line_km, 1),
        "piece_km": PIECE_M / 1000,
        "gap_threshold_h": gap_threshold.total_seconds() / 3600,
        "contingents": {},
    }
    longest_any = np.full(len(middles), period)
    seen_by: dict[str, np.ndarray[Any, Any]] = {}
    for contingent in contingents:
        longest = np.array([_longest_gap(w, period) for w in watched[contingent]])
        seen = longest < period
        seen_by[contingent] = seen
        result["contingents"][contingent] = {
            "covered_share": round(float(seen.mean()) if len(seen) else 0.0, 3),
            "gaps": [g.as_dict() for g in _stretches(longest, along, gap_threshold)],
        }
    merged = [[iv for c in contingents for iv in watched[c][p]] for p in range(len(middles))]
    longest_any = np.array([_longest_gap(w, period) for w in merged])
    both = np.logical_and.reduce([seen_by[c] for c in contingents]) if contingents else np.array([])
    result["covered_share_any"] = (
        round(float((longest_any < period).mean()), 3) if len(middles) else 0.0
    )
    result["covered_share_all"] = round(float(both.mean()), 3) if len(both) else 0.0
    result["gaps"] = [g.as_dict() for g in _stretches(longest_any, along, gap_threshold)]
    return result


def _longest_gap(intervals: list[tuple[float, float]], period: float) -> float:
    """The longest time in [0, period] not covered by any of the intervals."""
    if not intervals:
        return period
    longest, reach = 0.0, 0.0
    for start, end in sorted(intervals):
        longest = max(longest, start - reach)
        reach = max(reach, end)
    return max(longest, period - reach)


def _stretches(longest: Any, along: Any, threshold: timedelta) -> list[Gap]:
    """Runs of consecutive pieces whose longest gap exceeds the threshold."""
    gaps: list[Gap] = []
    limit = threshold.total_seconds()
    half = PIECE_M / 2000
    run_start: int | None = None
    for i in range(len(longest) + 1):
        bad = i < len(longest) and longest[i] > limit
        if bad and run_start is None:
            run_start = i
        elif not bad and run_start is not None:
            gaps.append(
                Gap(
                    float(along[run_start] - half),
                    float(along[i - 1] + half),
                    float(longest[run_start:i].max()),
                )
            )
            run_start = None
    return gaps
