"""`bench enrich`: our batch enrichment against GeoPandas used as a skilled user would.

The peer is vectorised GeoPandas from end to end: the points and the zones are built once
(``points_from_xy``), ``sjoin(points, zones, predicate="within")`` (an STRtree over the
zones, queried in bulk) filtered by each zone's validity with one boolean mask, the control
of each point by one assignment of the joined parties, ``to_crs`` once for all points,
``distance`` to the union of the lines of contact valid in each interval between two
handovers (one vectorised call per interval: a few), and ``sjoin_nearest`` to the
settlements in metres. No Python loop over points. Its answers come back as GeoPandas gives
them (the joined pairs, arrays); turning them into per-point sets for the comparison is done
after the clock stops. Both run on the same random points over the mission's area, with times
spread over the first 60 days (across the handovers).
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
    """What the peer found, as GeoPandas gives it."""

    point: npt.NDArray[np.int64]  # with `zone`: the (point, zone) pairs valid at its time
    zone: npt.NDArray[np.object_]
    controlled_by: npt.NDArray[np.object_]  # a party or None, by point
    distance_m: npt.NDArray[np.float64]  # unsigned; NaN where no line is valid
    settlement: npt.NDArray[np.int64]
    settlement_distance_m: npt.NDArray[np.float64]

    def zones(self, count: int) -> list[frozenset[str]]:
        """The zones of each of the first ``count`` points (for the comparison)."""
        found: list[set[str]] = [set() for _ in range(count)]
        for index, zone in zip(self.point.tolist(), self.zone.tolist(), strict=True):
            if index < count:
                found[index].add(zone)
        return [frozenset(z) for z in found]


def geopandas_enrich(
    mission: Mission,
    lat: npt.NDArray[np.float64],
    lon: npt.NDArray[np.float64],
    seconds: npt.NDArray[np.int64],
    crs: Any,
) -> PeerResult:
    """The peer: vectorised GeoPandas (see the module's notes)."""
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
    controlled = np.full(n, None, dtype=object)
    held = joined[joined["kind"] == "controlled_area"]
    controlled[held.index.to_numpy()] = held["party"].to_numpy()

    metric = points.to_crs(crs)
    lines = [z for z in mission.zones if z.kind == "line_of_contact"]
    distance = np.full(n, np.nan)
    moments = sorted(
        {_seconds(z.valid_from) for z in lines} | {_seconds(z.valid_until) for z in lines}
    )
    geometry = metric.geometry
    for lower, upper in itertools.pairwise(moments):
        valid = [
            z.geometry for z in lines if _seconds(z.valid_from) <= lower < _seconds(z.valid_until)
        ]
        mask = (seconds >= lower) & (seconds < upper)
        if valid and mask.any():
            line = gpd.GeoSeries([shapely.union_all(valid)], crs=4326).to_crs(crs).iloc[0]
            distance[mask] = geometry[mask].distance(line).to_numpy()

    places = gpd.GeoDataFrame(
        {"settlement": np.arange(len(mission.settlements))},
        geometry=gpd.points_from_xy(
            [s.lon for s in mission.settlements], [s.lat for s in mission.settlements]
        ),
        crs=4326,
    ).to_crs(crs)
    nearest = gpd.sjoin_nearest(metric[["geometry"]], places, distance_col="d")
    nearest = nearest[~nearest.index.duplicated(keep="first")].sort_index()
    return PeerResult(
        point=joined.index.to_numpy(),
        zone=joined["zone_id"].to_numpy(),
        controlled_by=controlled,
        distance_m=distance,
        settlement=nearest["settlement"].to_numpy(),
        settlement_distance_m=nearest["d"].to_numpy(),
    )


def compare(ours: Enrichment, peer: PeerResult, sample: int) -> dict[str, Any]:
    """How many of the first `sample` points get the same answers both ways."""
    checked = min(sample, len(ours))
    peer_zones = peer.zones(checked)
    differences: list[dict[str, Any]] = []
    agree = 0
    for i in range(checked):
        problems: list[tuple[str, Any, Any]] = []
        if frozenset(ours.zones_of(i)) != peer_zones[i]:
            problems.append(("zones", sorted(ours.zones_of(i)), sorted(peer_zones[i])))
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


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


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
        t0, c0 = time.perf_counter(), time.process_time()
        ours = enricher.enrich(lat[:points], lon[:points], seconds[:points])
        ours_s, ours_cpu = time.perf_counter() - t0, time.process_time() - c0
        rss = _peak_rss_mb()
        bar.update(task, description=f"geopandas: enriching {baseline_points:,} points")
        import geopandas  # noqa: F401  (loaded before the clock starts, as ours is)

        t0, c0 = time.perf_counter(), time.process_time()
        peer = geopandas_enrich(
            mission,
            lat[:baseline_points],
            lon[:baseline_points],
            seconds[:baseline_points],
            enricher.crs,
        )
        peer_s, peer_cpu = time.perf_counter() - t0, time.process_time() - c0
        bar.update(task, description="comparing answers")
        agreement = compare(ours, peer, min(sample, points, baseline_points))
    rate = points / ours_s
    baseline_rate = baseline_points / peer_s
    return {
        "name": "enrich",
        "points": points,
        "rate": rate,
        "baseline": f"geopandas {_version('geopandas')} vectorised (sjoin within, to_crs once, "
        "distance, sjoin_nearest)",
        "baseline_points": baseline_points,
        "baseline_rate": baseline_rate,
        "ratio": rate / baseline_rate,
        "peak_rss_mb": rss,
        "build_s": build_s,
        "seconds": ours_s,
        "baseline_seconds": peer_s,
        "cpu_seconds": ours_cpu,  # all threads: steadier than wall time on a loaded machine
        "baseline_cpu_seconds": peer_cpu,
        "agreement": agreement,
    }
