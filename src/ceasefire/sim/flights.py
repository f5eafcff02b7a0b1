"""Drone sorties: take off from a base on the contingent's side, patrol the line, come back.

Each contingent has a fleet of airframes at a base (:data:`FLEETS`; per DESIGN.md the Russian
contingent flies Orlan-10 and Forpost, the Turkish one Bayraktar TB2). Every airframe flies a
rota: a sortie of about ``sortie_h`` hours, ``turnaround_h`` on the ground, the next sortie. The
rota's phase is random, so some drones are already airborne when the scenario starts.

A sortie flies straight from the base to one end of a stretch of the line of contact *valid at
take-off* (a stretch of ``patrol_km`` within one part of the line, chosen at random weighted by
length), flies back and forth along it, and leaves in time to be back at the base within the
planned sortie length, which is within the platform's endurance. The drone's true position is
the linear interpolation of its position reports every :data:`TRACK_INTERVAL_S` seconds: the
same points written to ``tracks.cot``, so that coverage computed from the files agrees with
what the simulator sensed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

from ceasefire.mission.model import Mission
from ceasefire.observations import TrackPoint
from ceasefire.sim.lines import ContactLine, LineBook, Projection
from ceasefire.sim.platforms import (
    BAYRAKTAR_TB2,
    FORPOST,
    ORLAN_10,
    TRACK_INTERVAL_S,
    DroneSpec,
)

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

RESERVE = 0.05
"""Share of the endurance never planned (fuel reserve): a sortie is at most 95 % of it."""


@dataclass(frozen=True)
class Base:
    """Where a contingent's drones take off and land."""

    name: str
    lat: float
    lon: float


@dataclass(frozen=True)
class Fleet:
    """A contingent's drones: a base and how many airframes of each type."""

    base: Base
    airframes: tuple[tuple[DroneSpec, int], ...]


FLEETS: Mapping[str, Fleet] = {
    # Stepanakert / Khankendi airfield (Khojaly), in the Russian peacekeepers' area.
    "RU": Fleet(Base("khankendi-airfield", 39.9014, 46.7869), ((ORLAN_10, 2), (FORPOST, 1))),
    # The Joint Monitoring Center near Marzili, Aghdam district (the mission's "jmc" site).
    "TR": Fleet(Base("jmc-marzili", 39.9325, 47.0617), ((BAYRAKTAR_TB2, 2),)),
}
"""The demo mission's fleets. Another mission's contingents take these fleets in turn, with a
base 8 km from the middle of the line on a party's side (see :func:`fleets_for`)."""


@dataclass(frozen=True)
class Airframe:
    platform_id: str
    spec: DroneSpec
    contingent: str
    base: Base


@dataclass(frozen=True)
class Path:
    """Where something was over time: samples (Unix seconds) linearly interpolated."""

    times: I64
    x: F64
    y: F64
    lat: F64
    lon: F64

    def at(self, t: npt.ArrayLike) -> tuple[F64, F64, npt.NDArray[np.bool_]]:
        """Metric position at times ``t`` and whether it existed then (within the samples)."""
        tt = np.asarray(t, dtype=np.float64)
        inside = (tt >= self.times[0]) & (tt <= self.times[-1])
        x = np.interp(tt, self.times, self.x)
        y = np.interp(tt, self.times, self.y)
        return x, y, np.asarray(inside, dtype=np.bool_)


@dataclass(frozen=True)
class Sortie:
    """One flight of one drone, with its true path."""

    id: str
    contingent: str
    platform_id: str
    spec: DroneSpec
    base: Base
    takeoff: int  # Unix seconds
    landing: int
    path: Path

    @property
    def hours(self) -> float:
        return (self.landing - self.takeoff) / 3600.0

    def track_points(self, lo: int, hi: int) -> list[TrackPoint]:
        """The position reports between ``lo`` and ``hi`` (the scenario's window)."""
        p = self.path
        keep = np.flatnonzero((p.times >= lo) & (p.times < hi))
        return [
            TrackPoint(
                platform_id=self.platform_id,
                time=datetime.fromtimestamp(int(p.times[i]), UTC),
                lat=round(float(p.lat[i]), 6),
                lon=round(float(p.lon[i]), 6),
                alt_m=self.spec.altitude_m,
                sortie=self.id,
                contingent=self.contingent,
                platform_type=self.spec.type,
            )
            for i in keep
        ]


def sample_route(
    rx: F64,
    ry: F64,
    speed_mps: float,
    start: int,
    projection: Projection,
    step_s: int = TRACK_INTERVAL_S,
) -> Path:
    """Positions every ``step_s`` seconds (and at the end) along a polyline at constant speed."""
    cum = np.concatenate([[0.0], np.cumsum(np.hypot(np.diff(rx), np.diff(ry)))])
    duration = math.ceil(cum[-1] / speed_mps)
    offsets = np.arange(0, duration, step_s, dtype=np.int64)
    offsets = np.append(offsets, duration)
    along = np.minimum(offsets * speed_mps, cum[-1])
    x = np.interp(along, cum, rx)
    y = np.interp(along, cum, ry)
    lat, lon = projection.to_geo(x, y)
    return Path(times=start + offsets, x=x, y=y, lat=lat, lon=lon)


def ping_pong(sx: F64, sy: F64, distance_m: float) -> tuple[F64, F64]:
    """Back and forth along a polyline for ``distance_m`` metres, ending wherever that is."""
    back_x, back_y = sx[::-1][1:], sy[::-1][1:]
    fwd_x, fwd_y = sx[1:], sy[1:]
    length = float(np.hypot(np.diff(sx), np.diff(sy)).sum())
    legs = max(1, math.ceil(distance_m / max(length, 1.0)))
    xs, ys = [sx[:1]], [sy[:1]]
    for leg in range(legs):
        xs.append(back_x if leg % 2 else fwd_x)
        ys.append(back_y if leg % 2 else fwd_y)
    x, y = np.concatenate(xs), np.concatenate(ys)
    cum = np.concatenate([[0.0], np.cumsum(np.hypot(np.diff(x), np.diff(y)))])
    keep = cum < distance_m
    end_x = float(np.interp(distance_m, cum, x))
    end_y = float(np.interp(distance_m, cum, y))
    return np.append(x[keep], end_x), np.append(y[keep], end_y)


def choose_span(
    line: ContactLine, length_m: float, rng: np.random.Generator
) -> tuple[float, float]:
    """Arc lengths of a stretch within one part, the part chosen with probability ~ length."""
    a, b = line.part_span(float(rng.uniform(0.0, line.length)))
    span = min(length_m, b - a)
    s0 = float(rng.uniform(a, b - span)) if b - a > span else a
    return s0, s0 + span


def choose_stretch(line: ContactLine, length_m: float, rng: np.random.Generator) -> tuple[F64, F64]:
    """The polyline of a random stretch of the line (see :func:`choose_span`), either way."""
    s0, s1 = choose_span(line, length_m, rng)
    sx, sy = line.stretch(s0, s1)
    if rng.random() < 0.5:  # either end first
        sx, sy = sx[::-1], sy[::-1]
    return sx, sy


def fleets_for(mission: Mission, book: LineBook, start: datetime) -> list[Airframe]:
    """The airframes of each contingent: :data:`FLEETS` for the demo, else the same in turn."""
    contingents = mission.contingent_ids()
    parties = mission.party_ids()
    demo = all(c in FLEETS for c in contingents)
    templates = list(FLEETS.values())
    airframes: list[Airframe] = []
    for i, contingent in enumerate(contingents):
        fleet = FLEETS[contingent] if demo else templates[i % len(templates)]
        base = fleet.base if demo else _generic_base(book, start, parties[i % len(parties)], i)
        for spec, count in fleet.airframes:
            for n in range(1, count + 1):
                platform_id = f"{contingent.lower()}-{spec.type}-{n:02d}"
                airframes.append(Airframe(platform_id, spec, contingent, base))
    return airframes


def _generic_base(book: LineBook, start: datetime, party: str, i: int) -> Base:
    line = book.at(start)
    if line is None:
        raise ValueError("no line of contact is valid at the scenario's start")
    x, y = line.toward(line.length / 2, party, 8_000.0)
    lat, lon = book.projection.to_geo(x, y)
    return Base(f"base-{i + 1}", round(float(lat), 6), round(float(lon), 6))


def plan_sorties(
    airframes: Sequence[Airframe],
    book: LineBook,
    start: int,
    end: int,
    rng: np.random.Generator,
) -> list[Sortie]:
    """Every sortie airborne at some time in [start, end), with sortie ids per contingent."""
    planned: list[tuple[int, str, Airframe, Path]] = []
    projection = book.projection
    fleet_size: dict[str, int] = {}
    for airframe in airframes:
        fleet_size[airframe.contingent] = fleet_size.get(airframe.contingent, 0) + 1
    rank: dict[str, int] = {}
    for airframe in airframes:
        k = rank[airframe.contingent] = rank.get(airframe.contingent, -1) + 1
        spec = airframe.spec
        speed = spec.cruise_kmh / 3.6
        bx, by = projection.to_metric(airframe.base.lat, airframe.base.lon)
        base_x, base_y = float(bx), float(by)
        cycle_s = (spec.sortie_h + spec.turnaround_h) * 3600.0
        # Staggered rotas: a contingent keeps its drones' sorties apart, not all up at once.
        phase = (k + float(rng.uniform(0.0, 1.0))) / fleet_size[airframe.contingent]
        t = start - int(phase * cycle_s)
        while t < end:
            planned_s = min(
                spec.sortie_h * 3600.0 * float(rng.uniform(0.85, 1.1)),
                spec.endurance_h * 3600.0 * (1.0 - RESERVE),
            )
            line = book.at_seconds(t) or book.at_seconds(start)
            if line is None:
                raise ValueError("no line of contact is valid at the scenario's start")
            sx, sy = choose_stretch(line, spec.patrol_km * 1000.0, rng)
            out_m = float(np.hypot(sx[0] - base_x, sy[0] - base_y))
            # The way home is at most the farthest point of the stretch from the base.
            home_m = float(np.hypot(sx - base_x, sy - base_y).max())
            patrol_m = max(0.0, planned_s * speed - out_m - home_m)
            px, py = ping_pong(sx, sy, patrol_m) if patrol_m > 0 else (sx[:1], sy[:1])
            rx = np.concatenate([[base_x], px, [base_x]])
            ry = np.concatenate([[base_y], py, [base_y]])
            path = sample_route(rx, ry, speed, t, projection)
            landing = int(path.times[-1])
            if landing > start:
                planned.append((t, airframe.platform_id, airframe, path))
            t = landing + int(spec.turnaround_h * 3600.0 * float(rng.uniform(0.8, 1.2)))
    planned.sort(key=lambda p: (p[0], p[1]))
    numbers: dict[str, int] = {}
    sorties: list[Sortie] = []
    for takeoff, _pid, airframe, path in planned:
        n = numbers[airframe.contingent] = numbers.get(airframe.contingent, 0) + 1
        sorties.append(
            Sortie(
                id=f"{airframe.contingent}-S-{n:04d}",
                contingent=airframe.contingent,
                platform_id=airframe.platform_id,
                spec=airframe.spec,
                base=airframe.base,
                takeoff=takeoff,
                landing=int(path.times[-1]),
                path=path,
            )
        )
    return sorties
