"""Ground truth: what really happened near the line, when, where, and by whom.

Events are drawn per kind (:data:`KINDS`) as a Poisson number per 24 hours, at times weighted
by day and night (firing mostly after dark, work and traffic by day), and placed near the line
of contact valid at their time: at an arc position along the line (a share of the violations
around a few *hotspots* per line, the rest uniform) and a distance off it on the side of the
party concerned. Every place is checked with the geo engine (:class:`~ceasefire.geo.Enricher`)
and drawn again if it is on the wrong side: a moving object stays on its side for its whole
path, except a line crossing, which starts on its party's side and ends on the other, crossing
once. Everything comes from one seeded generator in a fixed order, so a seed gives the same
events.

Violations: explosions (impact on the receiving side, outgoing on the firing side; ``party``
is the firing party in both cases), muzzle flashes, small-arms fire, heavy weapons near the
line (moving or in position), line crossings (a vehicle or a group on foot), fortification
work. Benign activity: civilian traffic, agricultural fires (category ``other``), UAV flights
on a party's own side. Monitoring only: the simulator knows where things happened, never where
anything was aimed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ceasefire.geo import Enricher
from ceasefire.sim.daylight import is_day
from ceasefire.sim.lines import ContactLine, LineBook

if TYPE_CHECKING:
    from ceasefire.sim.presets import Preset

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


@dataclass(frozen=True)
class KindSpec:
    """One kind of event and how often, when and where it happens."""

    per_day: float  # expected events per 24 h
    violation: bool
    night_weight: float  # rate at night relative to the rate by day
    offset_km: tuple[float, float]  # distance from the line, uniform in this range
    clustered: bool  # drawn around the hotspots (HOTSPOT_SHARE of the time)
    duration_min: tuple[float, float]  # how long it lasts (moving: how long it moves)


KINDS: Mapping[str, KindSpec] = {
    "explosion": KindSpec(8.0, True, 2.0, (0.3, 6.0), True, (1.0, 20.0)),
    "muzzle_flash": KindSpec(4.0, True, 2.5, (0.3, 5.0), True, (1.0, 10.0)),
    "small_arms_fire": KindSpec(12.0, True, 2.0, (0.1, 2.0), True, (5.0, 40.0)),
    "heavy_weapon": KindSpec(4.0, True, 0.7, (1.0, 15.0), True, (15.0, 45.0)),
    "line_crossing": KindSpec(2.0, True, 1.5, (1.0, 3.0), True, (0.0, 0.0)),
    "fortification": KindSpec(4.0, True, 0.2, (0.2, 3.0), True, (120.0, 480.0)),
    "civilian_traffic": KindSpec(12.0, False, 0.3, (0.5, 8.0), False, (5.0, 20.0)),
    "agricultural_fire": KindSpec(3.0, False, 0.3, (1.0, 10.0), False, (60.0, 240.0)),
    "uav_flight": KindSpec(3.0, False, 0.5, (2.0, 10.0), False, (10.0, 40.0)),
}
"""Rates are per 24 h over the whole line: tens of events a day, as in a quiet but tense
ceasefire (the OSCE SMM counted hundreds a day in bad weeks in Donbas; see docs/simulator.md)."""

HOTSPOTS = 5
HOTSPOT_SHARE = 0.7
HOTSPOT_SD_M = 4_000.0
PLACEMENT_TRIES = 40
STATIONARY_HEAVY_SHARE = 0.5
"""Half the heavy-weapon events are weapons in position for hours, half a moving column."""
STATIONARY_HEAVY_MIN = (60.0, 360.0)
CALIBRES_MM: Mapping[str, tuple[float, ...]] = {
    "mortar": (82.0, 120.0),
    "artillery": (122.0, 152.0),
    "mlrs": (122.0,),
}


@dataclass
class Event:
    """One true event. Positions are metric (the mission's UTM); ``lat``/``lon`` its place.

    For a moving object (``heading_deg`` set) the position moves linearly from (x0, y0) at
    ``start`` to (x1, y1) at ``end``; ``lat``/``lon`` is then where a line crossing crosses
    the line, or the middle of the path of any other moving object. Instantaneous kinds
    (explosions, flashes, bursts of fire) carry the times of their single shots in
    ``bursts``; ``count`` is their number.
    """

    id: str
    kind: str
    category: str
    qualifiers: dict[str, Any]
    count: int
    party: str | None
    violation: bool
    start: int
    end: int
    x0: float
    y0: float
    x1: float
    y1: float
    lat: float = 0.0
    lon: float = 0.0
    path: list[tuple[int, float, float]] = field(default_factory=list)
    bursts: I64 | None = None
    heading_deg: float | None = None
    crossing_xy: tuple[float, float] | None = None
    real: bool = True  # False: a claim of a false complaint, which did not happen
    repeat_of: Event | None = None  # fired again at the place of an earlier event
    near: Event | None = None  # fire of another kind within minutes of this one
    claimed_by: str | None = None  # the complaining party, for a false claim
    report_category: str = ""
    report_qualifiers: dict[str, Any] = field(default_factory=dict)
    fired_from_deg: float | None = None  # an impact: the bearing to where it was fired from
    direction_said: bool = False  # an impact: its drones' reports say fired_from_deg
    launch_of: Event | None = None  # a launch: the impact it caused (ceasefire.sim.launches)
    launches: list[Event] = field(default_factory=list)  # an impact: its launch, if an event

    @property
    def moving(self) -> bool:
        return self.heading_deg is not None

    def at(self, t: npt.ArrayLike) -> tuple[F64, F64]:
        """Metric position at times ``t`` (clamped to the event's span)."""
        tt = np.asarray(t, dtype=np.float64)
        if not self.moving or self.end <= self.start:
            return np.full(tt.shape, self.x0), np.full(tt.shape, self.y0)
        f = np.clip((tt - self.start) / (self.end - self.start), 0.0, 1.0)
        return self.x0 + f * (self.x1 - self.x0), self.y0 + f * (self.y1 - self.y0)

    def moments(self, lo: float, hi: float, step: int) -> I64:
        """When the event could be sensed within [lo, hi): its shots, or every ``step`` s."""
        if self.bursts is not None:
            b = self.bursts
            return b[(b >= lo) & (b < hi)]
        a, z = max(self.start, lo), min(self.end, hi - 1)
        if z < a:
            return np.empty(0, dtype=np.int64)
        first = self.start + math.ceil((a - self.start) / step) * step
        return np.append(np.arange(first, z, step, dtype=np.int64), int(z))


@dataclass(frozen=True)
class _Draft:
    """What kind of thing, before it is placed."""

    kind: str
    category: str
    qualifiers: dict[str, Any]
    count: int
    party: str | None
    side: str  # the party on whose side it is (or starts)
    duration_s: int
    speed_mps: float  # 0: stationary
    shots: int  # > 0: instantaneous shots spread over the duration
    report_category: str
    report_qualifiers: dict[str, Any]


def _pick(rng: np.random.Generator, options: Mapping[str, float]) -> str:
    names = list(options)
    weights = np.array([options[n] for n in names], dtype=np.float64)
    return names[int(rng.choice(len(names), p=weights / weights.sum()))]


def _minutes(rng: np.random.Generator, spec: KindSpec) -> int:
    low, high = spec.duration_min
    return round(float(rng.uniform(low, high)) * 60.0)


def draft(
    kind: str,
    party: str,
    other: str,
    rng: np.random.Generator,
    column_kmh: tuple[float, float] = (15.0, 30.0),
    spec: KindSpec | None = None,
) -> _Draft:
    """Draw what one event of a kind is: qualifiers, count, duration, speed, side."""
    spec = spec or KINDS[kind]
    duration = _minutes(rng, spec)
    if kind == "explosion":
        weapon = _pick(
            rng,
            {"mortar": 0.5, "artillery": 0.25, "automatic_grenade_launcher": 0.1, "unknown": 0.15},
        )
        kind_of = "impact" if rng.random() < 0.6 else "outgoing"
        q: dict[str, Any] = {"explosion": kind_of, "weapon": weapon}
        calibre = CALIBRES_MM.get(weapon)
        if calibre:
            q["calibre_mm"] = float(rng.choice(calibre))
        shots = 1 + int(rng.poisson(2.0))
        side = other if kind_of == "impact" else party
        return _Draft(
            kind, "explosion", q, shots, party, side, duration, 0.0, shots, "explosion", dict(q)
        )
    if kind == "muzzle_flash":
        weapon = _pick(
            rng, {"heavy_machine_gun": 0.4, "tank": 0.2, "artillery": 0.2, "mortar": 0.2}
        )
        q = {"weapon": weapon}
        shots = 1 + int(rng.poisson(1.5))
        return _Draft(
            kind,
            "muzzle_flash",
            q,
            shots,
            party,
            party,
            duration,
            0.0,
            shots,
            "muzzle_flash",
            dict(q),
        )
    if kind == "small_arms_fire":
        q = {
            "fire": _pick(rng, {"bursts": 0.5, "shots": 0.2, "mixed": 0.3}),
            "weapon": _pick(rng, {"small_arms": 0.7, "heavy_machine_gun": 0.3}),
        }
        shots = 1 + int(rng.poisson(5.0))
        return _Draft(
            kind,
            "small_arms_fire",
            q,
            shots,
            party,
            party,
            duration,
            0.0,
            shots,
            "small_arms_fire",
            dict(q),
        )
    if kind == "heavy_weapon":
        weapon = _pick(
            rng, {"artillery": 0.3, "mlrs": 0.15, "mortar": 0.2, "tank": 0.25, "air_defence": 0.1}
        )
        q = {"weapon": weapon}
        calibre = CALIBRES_MM.get(weapon)
        if calibre:
            q["calibre_mm"] = float(rng.choice(calibre))
        count = min(8, 1 + int(rng.poisson(1.5)))
        if rng.random() < STATIONARY_HEAVY_SHARE:
            low, high = STATIONARY_HEAVY_MIN
            duration, speed = int(float(rng.uniform(low, high)) * 60.0), 0.0
        else:
            speed = float(rng.uniform(*column_kmh)) / 3.6
        return _Draft(
            kind,
            "movement_heavy_weapon",
            q,
            count,
            party,
            party,
            duration,
            speed,
            0,
            "movement_heavy_weapon",
            dict(q),
        )
    if kind == "line_crossing":
        on_foot = rng.random() < 0.4
        if on_foot:
            count, speed = 2 + int(rng.poisson(3.0)), float(rng.uniform(3.0, 5.0)) / 3.6
            report: tuple[str, dict[str, Any]] = ("movement_personnel", {"armed": True})
        else:  # slowly, off-road through the positions
            count, speed = 1 + int(rng.poisson(0.7)), float(rng.uniform(5.0, 15.0)) / 3.6
            vehicle = _pick(rng, {"truck": 0.4, "apc": 0.3, "car": 0.3})
            report = ("movement_vehicle", {"vehicle": vehicle, "military": vehicle != "car"})
        q = {"crossing": "personnel" if on_foot else "vehicle"}
        return _Draft(kind, "line_crossing", q, count, party, party, 0, speed, 0, *report)
    if kind == "fortification":
        q = {
            "work": _pick(
                rng, {"trench": 0.4, "firing_position": 0.25, "bunker": 0.15, "barrier": 0.2}
            ),
            "machinery": bool(rng.random() < 0.5),
        }
        return _Draft(
            kind, "fortification", q, 1, party, party, duration, 0.0, 0, "fortification", dict(q)
        )
    if kind == "civilian_traffic":
        q = {"vehicle": _pick(rng, {"car": 0.6, "truck": 0.4}), "military": False}
        count = 1 + int(rng.poisson(0.8))
        speed = float(rng.uniform(30.0, 50.0)) / 3.6
        return _Draft(
            kind,
            "movement_vehicle",
            q,
            count,
            None,
            party,
            duration,
            speed,
            0,
            "movement_vehicle",
            dict(q),
        )
    if kind == "agricultural_fire":
        q = {"activity": "agricultural_fire"}
        return _Draft(kind, "other", q, 1, None, party, duration, 0.0, 0, "other", dict(q))
    if kind == "uav_flight":
        q = {
            "uav": _pick(rng, {"quadcopter": 0.6, "fixed-wing": 0.4}),
            "altitude_m": float(round(float(rng.uniform(100.0, 800.0)), -1)),
        }
        # A loitering UAV: it stays over one place (on its party's own side).
        return _Draft(
            kind, "uav_flight", q, 1, party, party, duration, 0.0, 0, "uav_flight", dict(q)
        )
    raise ValueError(f"unknown kind of event: {kind}")


def sample_times(
    rng: np.random.Generator,
    n: int,
    start: int,
    end: int,
    night_weight: float,
    lat: float,
    lon: float,
    start_rate: float = 1.0,
) -> I64:
    """``n`` sorted times in [start, end), weighted 1 by day and ``night_weight`` by night,
    and rising steadily from ``start_rate`` at the start to 1 at the end."""
    minutes = np.arange(start, end, 60, dtype=np.int64)
    if n == 0 or len(minutes) == 0:
        return np.empty(0, dtype=np.int64)
    weights = np.where(is_day(lat, lon, minutes), 1.0, night_weight)
    if start_rate != 1.0:
        weights = weights * np.linspace(start_rate, 1.0, len(minutes))
    chosen = rng.choice(len(minutes), size=n, p=weights / weights.sum())
    seconds = rng.integers(0, 60, size=n)
    return np.asarray(np.sort(np.minimum(minutes[chosen] + seconds, end - 1)), dtype=np.int64)


class Placer:
    """Places things near the line valid at a time, on a given side, checked by the Enricher."""

    def __init__(
        self,
        book: LineBook,
        enricher: Enricher,
        rng: np.random.Generator,
        hotspots: int = HOTSPOTS,
        hotspot_share: float = HOTSPOT_SHARE,
        hotspot_sd_m: float = HOTSPOT_SD_M,
    ) -> None:
        self.book = book
        self.enricher = enricher
        self.rng = rng
        self.hotspots = hotspots
        self.hotspot_share = hotspot_share
        self.hotspot_sd_m = hotspot_sd_m
        self.parties = enricher.parties
        self._hotspots: dict[tuple[str, ...], F64] = {}

    def line(self, t: int) -> ContactLine:
        line = self.book.at_seconds(t)
        if line is None:
            raise ValueError("no line of contact is valid at the scenario's time")
        return line

    def arc(self, line: ContactLine, clustered: bool) -> float:
        """An arc position along the line: around a hotspot or anywhere."""
        if line.key not in self._hotspots:
            self._hotspots[line.key] = self.rng.uniform(0.0, line.length, size=self.hotspots)
        if clustered and self.rng.random() < self.hotspot_share:
            centre = float(self.rng.choice(self._hotspots[line.key]))
            s = centre + float(self.rng.normal(0.0, self.hotspot_sd_m))
        else:
            s = float(self.rng.uniform(0.0, line.length))
        return min(max(s, 0.0), line.length)

    def sides(self, x: F64, y: F64, t: npt.ArrayLike) -> npt.NDArray[np.int16]:
        """The party index on each point's side of the line valid at ``t`` (-1: none)."""
        lat, lon = self.book.projection.to_geo(x, y)
        seconds = np.broadcast_to(np.asarray(t, dtype=np.int64), lat.shape)
        return self.enricher.enrich(lat, lon, seconds).line_side

    def place(self, d: _Draft, start: int, spec: KindSpec) -> Event | None:
        """Put a drafted event on the ground, or None if no valid place was found."""
        rng = self.rng
        side = self.parties.index(d.side)
        for attempt in range(PLACEMENT_TRIES):
            line = self.line(start)
            s = self.arc(line, spec.clustered)
            off = float(rng.uniform(*spec.offset_km)) * 1000.0
            if d.kind == "line_crossing":
                event = self._crossing(d, start, line, s, off, rng)
            else:
                x0, y0 = line.toward(s, d.side, off)
                x1, y1, heading, duration = x0, y0, None, d.duration_s
                if d.speed_mps > 0:
                    _x, _y, tx, ty, _part = line.point(s)
                    # Roughly along the line, either way, shorter on every retry.
                    angle = math.atan2(tx, ty) + float(rng.normal(0.0, 0.4))
                    if rng.random() < 0.5:
                        angle += math.pi
                    duration = max(120, int(d.duration_s * (1.0 - attempt / PLACEMENT_TRIES)))
                    x1 = x0 + math.sin(angle) * d.speed_mps * duration
                    y1 = y0 + math.cos(angle) * d.speed_mps * duration
                    heading = math.degrees(angle) % 360.0
                event = self._event(d, start, start + duration, x0, y0, x1, y1, heading)
            if event is None:
                continue
            samples = np.linspace(0.0, 1.0, 9)
            xs = event.x0 + samples * (event.x1 - event.x0)
            ys = event.y0 + samples * (event.y1 - event.y0)
            ts = event.start + samples * (event.end - event.start)
            found = self.sides(xs, ys, ts.astype(np.int64))
            if d.kind == "line_crossing":
                other = [i for i in range(len(self.parties)) if i != side]
                changes = int(np.count_nonzero(np.diff(found)))
                if found[0] == side and found[-1] in other and changes == 1:
                    return event
            elif np.all(found == side):
                return event
        return None

    def place_near(
        self, d: _Draft, start: int, x: float, y: float, distance_m: tuple[float, float]
    ) -> Event | None:
        """Put a drafted stationary event at a distance from (x, y), on its side, or None."""
        side = self.parties.index(d.side)
        for _attempt in range(PLACEMENT_TRIES):
            angle = float(self.rng.uniform(0.0, 2 * math.pi))
            r = float(self.rng.uniform(*distance_m))
            px, py = x + r * math.sin(angle), y + r * math.cos(angle)
            if self.sides(np.array([px]), np.array([py]), start)[0] == side:
                return self._event(d, start, start + d.duration_s, px, py, px, py, None)
        return None

    def _crossing(
        self,
        d: _Draft,
        start: int,
        line: ContactLine,
        s: float,
        off: float,
        rng: np.random.Generator,
    ) -> Event:
        cx, cy, tx, ty, part = line.point(s)
        # The unit normal towards the crossing party's own side, then turned by up to ~25 deg.
        nx, ny = (-ty, tx) if d.side != part.right_party else (ty, -tx)
        turn = float(rng.normal(0.0, 0.25))
        ux = -(nx * math.cos(turn) - ny * math.sin(turn))  # towards the other side
        uy = -(nx * math.sin(turn) + ny * math.cos(turn))
        beyond = float(rng.uniform(*KINDS["line_crossing"].offset_km)) * 1000.0
        x0, y0 = cx - ux * off, cy - uy * off
        x1, y1 = cx + ux * beyond, cy + uy * beyond
        duration = int((off + beyond) / d.speed_mps)
        heading = math.degrees(math.atan2(ux, uy)) % 360.0
        event = self._event(d, start, start + duration, x0, y0, x1, y1, heading)
        event.crossing_xy = (cx, cy)
        return event

    def _event(
        self,
        d: _Draft,
        start: int,
        end: int,
        x0: float,
        y0: float,
        x1: float,
        y1: float,
        heading: float | None,
    ) -> Event:
        bursts = None
        if d.shots > 0:
            spread = self.rng.uniform(0.0, max(1, end - start), size=d.shots - 1)
            bursts = np.sort(np.append(start, start + spread.astype(np.int64)))
            end = int(bursts[-1])
        qualifiers = dict(d.qualifiers)
        report = dict(d.report_qualifiers)
        if heading is not None:
            qualifiers["direction_deg"] = round(heading, 1)
            report["direction_deg"] = round(heading, 1)
        return Event(
            id="",
            kind=d.kind,
            category=d.category,
            qualifiers=qualifiers,
            count=d.count,
            party=d.party,
            violation=KINDS[d.kind].violation,
            start=start,
            end=end,
            x0=x0,
            y0=y0,
            x1=x1,
            y1=y1,
            bursts=bursts,
            heading_deg=heading,
            report_category=d.report_category,
            report_qualifiers=report,
        )


def generate_events(
    placer: Placer,
    parties: list[str],
    start: int,
    end: int,
    rng: np.random.Generator,
    preset: Preset | None = None,
) -> list[Event]:
    """The true events of [start, end), in time order with ids ``E-0001``, ``E-0002``, ...

    ``preset`` (default: quiet) gives the rates, and how often fire comes again at the same
    place hours later or with fire of another kind nearby within minutes."""
    from ceasefire.sim.presets import QUIET

    preset = preset or QUIET
    kinds = preset.kinds
    hours = (end - start) / 3600.0
    line = placer.line(start)
    cx, cy, _tx, _ty, _part = line.point(line.length / 2)
    lat, lon = placer.book.projection.to_geo(cx, cy)
    mean_rate = (1.0 + preset.start_rate) / 2.0
    events: list[Event] = []
    for kind, spec in kinds.items():
        n = int(rng.poisson(spec.per_day * hours / 24.0 * mean_rate))
        times = sample_times(
            rng, n, start, end, spec.night_weight, float(lat), float(lon), preset.start_rate
        )
        for t in times:
            party = str(rng.choice(parties))
            other = str(rng.choice([p for p in parties if p != party]))
            # For civilian kinds ``party`` only picks the side; the event's party stays empty.
            d = draft(kind, party, other, rng, preset.column_kmh, spec)
            event = placer.place(d, int(t), spec)
            if event is not None:
                events.append(event)
    events += _follow_ups(events, placer, parties, start, end, rng, preset)
    events.sort(key=lambda e: (e.start, list(kinds).index(e.kind), e.x0, e.y0))
    projection = placer.book.projection
    for number, event in enumerate(events, start=1):
        event.id = f"E-{number:04d}"
        if event.moving:
            mx, my = event.crossing_xy or ((event.x0 + event.x1) / 2, (event.y0 + event.y1) / 2)
            (la, lo) = projection.to_geo(
                np.array([event.x0, mx, event.x1]), np.array([event.y0, my, event.y1])
            )
            event.lat, event.lon = round(float(la[1]), 6), round(float(lo[1]), 6)
            event.path = [
                (event.start, round(float(la[0]), 6), round(float(lo[0]), 6)),
                (event.end, round(float(la[2]), 6), round(float(lo[2]), 6)),
            ]
        else:
            la1, lo1 = projection.to_geo(event.x0, event.y0)
            event.lat, event.lon = round(float(la1), 6), round(float(lo1), 6)
    return events


REPEAT_SPREAD_M = (0.0, 150.0)
"""A place fired at again: within this distance of the first time's."""


def _follow_ups(
    events: list[Event],
    placer: Placer,
    parties: list[str],
    start: int,
    end: int,
    rng: np.random.Generator,
    preset: Preset,
) -> list[Event]:
    """Fire at the same place hours later, and small-arms fire near an explosion."""
    more: list[Event] = []
    if not preset.repeat_share and not preset.mixed_share:
        return more
    for event in events:
        if event.kind not in ("explosion", "muzzle_flash", "small_arms_fire"):
            continue
        party = event.party or parties[0]
        other = next(p for p in parties if p != party)
        if rng.random() < preset.repeat_share:
            later = event.start + round(float(rng.uniform(*preset.repeat_hours)) * 3600)
            d = draft(event.kind, party, other, rng)
            # The same side as the first time (an impact lands where the last one did).
            side = _side_of(placer, event)
            if later < end and side >= 0:
                d = replace(d, side=placer.parties[side])
                again = placer.place_near(d, later, event.x0, event.y0, REPEAT_SPREAD_M)
                if again is not None:
                    again.repeat_of = event
                    more.append(again)
        if event.kind == "explosion" and rng.random() < preset.mixed_share:
            at = event.start + round(float(rng.uniform(-1.0, 1.0)) * preset.mixed_min * 60)
            d = draft("small_arms_fire", party, other, rng)
            km = preset.mixed_km
            near = placer.place_near(
                d, max(at, start), event.x0, event.y0, (km[0] * 1000.0, km[1] * 1000.0)
            )
            if near is not None and near.start < end:
                near.near = event
                more.append(near)
    return more


def _side_of(placer: Placer, event: Event) -> int:
    return int(placer.sides(np.array([event.x0]), np.array([event.y0]), event.start)[0])
