"""`bench enrich`: our batch enrichment against the obvious GeoPandas way.

The peer does what a GIS analyst would write: `sjoin(points, zones, predicate="within")`
filtered by each zone's validity, `distance` to the union of the lines of contact valid at each
point's time (in UTM), and `sjoin_nearest` to the settlements. Both run on the same random
points over the mission's area, with times spread over the first 60 days (across the handovers).
"""

from __future__ import annotations

import itertools
import resource
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from ceasefire.geo.engine import Enricher, Enrichment, _seconds
from ceasefire.mission.model import LINE_KINDS, POINT_KINDS, Mission

TOLERANCE_M = 0.05
"""Our metric coordinates come from grid interpolation; answers must agree within 5 cm."""


def random_points(
    mission: Mission, n: int, seed: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    rng = np.random.default_rng(seed)
    lon0, lat0, lon1, lat1 = mission.config.area
    start = int(mission.config.period.start.timestamp())
    lat = rng.uniform(lat0, lat1, n)
    lon = rng.uniform(lon0, lon1, n)
    seconds = rng.integers(start, start + 60 * 86400, n)
    return lat, lon, seconds


@dataclass
class PeerResult:
    zones: list[frozenset[str]]
    controlled_by: list[str | None]
    distance_m: npt.NDArray[np.float64]  # unsigned; NaN where no line is valid
    settlement: npt.NDArray[np.int64]
    settlement_distance_m: npt.NDArray[np.float64]


def geopandas_enrich(
    mission: Mission,
    lat: npt.NDArray[np.float64],
    lon: npt.NDArray[np.float64],
    seconds: npt.NDArray[np.int64],
    crs: Any,
) -> PeerResult:
    """The peer: plain GeoPandas, as the documentation shows it."""
    import geopandas as gpd

    n = len(lat)
    points = gpd.GeoDataFrame({"t": seconds}, geometry=gpd.points_from_xy(lon, lat), crs=4326)
    areal = [z for z in mission.zones if z.kind not in LINE_KINDS and z.kind not in POINT_KINDS]
    zones = gpd.GeoDataFrame(
        {
            "zone_id": [z.id for z in areal],
            "kind": [z.kind for z in areal],
            "party": [z.party for z in areal],
            "start": [_seconds(z.valid_from) for z in areal],
            "end": [_seconds(z.valid_until) for z in areal],
        },
        geometry=[z.geometry for z in areal],
        crs=4326,
    )
    joined = gpd.sjoin(points, zones, predicate="within", how="inner")
    joined = joined[(joined["t"] >= joined["start"]) & (joined["t"] < joined["end"])]
    zone_sets: list[frozenset[str]] = [frozenset()] * n
    for index, group in joined.groupby(level=0)["zone_id"]:
        zone_sets[int(index)] = frozenset(group)
    controlled: list[str | None] = [None] * n
    held = joined[joined["kind"] == "controlled_area"]
    for index, party in zip(held.index, held["party"], strict=True):
        controlled[int(index)] = party

    metric = points.to_crs(crs)
    lines = [z for z in mission.zones if z.kind == "line_of_contact"]
    distance = np.full(n, np.nan)
    moments = sorted(
        {_seconds(z.valid_from) for z in lines} | {_seconds(z.valid_until) for z in lines}
    )
    for lower, upper in itertools.pairwise(moments):
        valid = [
            z.geometry for z in lines if _seconds(z.valid_from) <= lower < _seconds(z.valid_until)
        ]
        mask = (seconds >= lower) & (seconds < upper)
        if valid and mask.any():
            line = gpd.GeoSeries([shapely.union_all(valid)], crs=4326).to_crs(crs).iloc[0]
            distance[mask] = metric[mask].distance(line).to_numpy()

    places = gpd.GeoDataFrame(
        {"settlement": np.arange(len(mission.settlements))},
        geometry=gpd.points_from_xy(
            [s.lon for s in mission.settlements], [s.lat for s in mission.settlements]
        ),
        crs=4326,
    ).to_crs(crs)
    nearest = gpd.sjoin_nearest(metric, places, distance_col="d")
    nearest = nearest[~nearest.index.duplicated(keep="first")].sort_index()
    return PeerResult(
        zones=zone_sets,
        controlled_by=controlled,
        distance_m=distance,
        settlement=nearest["settlement"].to_numpy(),
        settlement_distance_m=nearest["d"].to_numpy(),
    )


def compare(ours: Enrichment, peer: PeerResult, sample: int) -> dict[str, Any]:
    """How many of the first `sample` points get the same answers both ways."""
    checked = min(sample, len(ours))
    differences: list[dict[str, Any]] = []
    agree = 0
    for i in range(checked):
        problems: list[tuple[str, Any, Any]] = []
        if frozenset(ours.zones_of(i)) != peer.zones[i]:
            problems.append(("zones", sorted(ours.zones_of(i)), sorted(peer.zones[i])))
        if ours.party_of(i) != peer.controlled_by[i]:
            problems.append(("controlled_by", ours.party_of(i), peer.controlled_by[i]))
        a, b = abs(ours.distance_to_line_m[i]), peer.distance_m[i]
        if not ((np.isnan(a) and np.isnan(b)) or abs(a - b) <= TOLERANCE_M):
            problems.append(("distance_to_line_m", float(a), float(b)))
        da, db = ours.settlement_distance_m[i], peer.settlement_distance_m[i]
        if abs(da - db) > TOLERANCE_M:
            problems.append(("settlement_distance_m", float(da), float(db)))
        elif ours.settlement[i] != peer.settlement[i] and abs(da - db) > 1e-6:
            problems.append(("settlement", int(ours.settlement[i]), int(peer.settlement[i])))
        if problems:
            differences.append({"point": i, "differences": problems})
        else:
            agree += 1
    return {"checked": checked, "agree": agree, "examples": differences[:5]}


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(
    mission: Mission,
    points: int,
    baseline_points: int,
    seed: int,
    progress: Console | None = None,
    sample: int = 20_000,
) -> dict[str, Any]:
    lat, lon, seconds = random_points(mission, max(points, baseline_points), seed)
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=progress,
        disable=progress is None,
        transient=True,
    ) as bar:
        task = bar.add_task("building the engine", total=None)
        t0 = time.perf_counter()
        enricher = Enricher(mission)
        build_s = time.perf_counter() - t0
        bar.update(task, description=f"ceasefire: enriching {points:,} points")
        t0 = time.perf_counter()
        ours = enricher.enrich(lat[:points], lon[:points], seconds[:points])
        ours_s = time.perf_counter() - t0
        rss = _peak_rss_mb()
        bar.update(task, description=f"geopandas: enriching {baseline_points:,} points")
        t0 = time.perf_counter()
        peer = geopandas_enrich(
            mission,
            lat[:baseline_points],
            lon[:baseline_points],
            seconds[:baseline_points],
            enricher.crs,
        )
        peer_s = time.perf_counter() - t0
        bar.update(task, description="comparing answers")
        agreement = compare(ours, peer, min(sample, points, baseline_points))
    rate = points / ours_s
    baseline_rate = baseline_points / peer_s
    return {
        "name": "enrich",
        "points": points,
        "rate": rate,
        "baseline": "geopandas (sjoin + distance + sjoin_nearest)",
        "baseline_points": baseline_points,
        "baseline_rate": baseline_rate,
        "ratio": rate / baseline_rate,
        "peak_rss_mb": rss,
        "build_s": build_s,
        "seconds": ours_s,
        "baseline_seconds": peer_s,
        "agreement": agreement,
    }
