"""Who saw what: drone passes, posts and patrols, and the parties' complaints.

Drones. An event can only be seen while a drone is airborne and the event lies within its
sensor footprint (a circle of ``footprint_m`` around the drone). The moments an event could be
seen (its single shots, or every :data:`SENSE_STEP_S` seconds while it lasts) are tested
against the drone's true path; consecutive covered moments form a *pass* (a gap over
:data:`PASS_GAP_S` starts a new one). Each pass is noticed with the platform's detection
probability for the category, by day or night at the event. A noticed pass becomes one report
(a burst of fire: the shots within the pass; a lasting event: from the first to the last
covered moment), or for a moving object one report every :data:`MOVING_REPORT_S` seconds of
the pass: successive positions of one track, with the same ``sortie`` and a remark naming the
track. Positions get a circular normal error of the platform's CE90, times a normal error.

Posts and patrols hear or see an event within a range by day or night, with a chance that
falls with distance, and report once per event: the observer's position, a bearing (with its
error) and the distance band of an estimated distance, at a time rounded to the minute.

Complaints. A party complains about some of the other party's true violations (a chance per
category), with a place 3 km CE90 off and a time off by ~20 minutes; and makes some false
complaints about things that never happened. A complaint reaches the center through one
contingent's duty officer: complaints are split between the contingents by the parity of the
event's number (even: the mission's first contingent, odd: the second; with N contingents the
number modulo N), never by which party complains.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from pyproj import Geod

from ceasefire.observations.record import format_time
from ceasefire.sim.daylight import is_day
from ceasefire.sim.events import Event, KindSpec, Placer, draft, sample_times
from ceasefire.sim.flights import Sortie
from ceasefire.sim.lines import Projection
from ceasefire.sim.platforms import (
    CE90_PER_SIGMA,
    DISTANCE_BANDS_M,
    PARTY_COMPLAINT,
    ComplaintSpec,
)
from ceasefire.sim.posts import GroundObserver
from ceasefire.sim.presets import Preset

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

SENSE_STEP_S = 10
PASS_GAP_S = 120
MOVING_REPORT_S = 60
GROUND_STEP_S = 60
APPROX_ABOVE = 3
"""Counts above this are estimates (``count_approx``) drawn within +-30 % of the truth."""

_GEOD = Geod(ellps="WGS84")
Source = Literal["drone", "post", "patrol", "complaint"]
SOURCES: tuple[Source, ...] = ("drone", "post", "patrol", "complaint")


@dataclass
class Sighting:
    """One report's link to the truth: who sensed which event when, from where."""

    event_id: str
    contingent: str
    platform_id: str
    platform_type: str
    sortie: str | None
    seen_at: int  # the true time of the sighting (Unix seconds)
    lat: float  # the event's true position then
    lon: float
    sensor_lat: float
    sensor_lon: float
    observation_id: str = ""
    resent: bool = False  # a report sent again under a new id (a duplicate)

    def to_json_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "observation": self.observation_id,
            "contingent": self.contingent,
            "platform": self.platform_id,
            "platform_type": self.platform_type,
            "seen_at": _iso(self.seen_at),
            "lat": self.lat,
            "lon": self.lon,
            "sensor_lat": self.sensor_lat,
            "sensor_lon": self.sensor_lon,
        }
        if self.sortie is not None:
            data["sortie"] = self.sortie
        if self.resent:
            data["resent"] = True
        return data


@dataclass
class Report:
    """An observation record waiting for its id (ids are given per contingent in time order)."""

    contingent: str
    source: Source
    event_id: str
    observed_at: int
    record: dict[str, Any]
    sighting: Sighting | None = None
    order: tuple[Any, ...] = field(default_factory=tuple)


def _iso(seconds: float) -> str:
    return format_time(datetime.fromtimestamp(int(seconds), UTC))


def _place(
    projection: Projection, x: float, y: float, ce_m: float, rng: np.random.Generator
) -> dict[str, float]:
    """A reported location: the true one plus a circular normal error of CE90 ``ce_m``."""
    sigma = ce_m / CE90_PER_SIGMA
    lat, lon = projection.to_geo(x + rng.normal(0.0, sigma), y + rng.normal(0.0, sigma))
    return {"lat": round(float(lat), 6), "lon": round(float(lon), 6), "ce_m": float(ce_m)}


def _count(count: int, rng: np.random.Generator) -> tuple[int, bool]:
    if count <= APPROX_ABOVE:
        return count, False
    return max(1, round(count * float(rng.uniform(0.7, 1.3)))), True


def assess(
    qualifiers: dict[str, Any],
    rng: np.random.Generator,
    *,
    undetermined: float,
    drop_weapon: float,
    drop_calibre: float,
    direction_sd: float | None,
) -> dict[str, Any]:
    """What an observer can tell of the true qualifiers: some lost, some blurred."""
    out = dict(qualifiers)
    if "explosion" in out and rng.random() < undetermined:
        out["explosion"] = "undetermined"
    if "weapon" in out and rng.random() < drop_weapon:
        out.pop("weapon")
        out.pop("calibre_mm", None)
    if "calibre_mm" in out and rng.random() < drop_calibre:
        out.pop("calibre_mm")
    if "direction_deg" in out:
        if direction_sd is None:
            out.pop("direction_deg")
        else:
            noisy = (out["direction_deg"] + float(rng.normal(0.0, direction_sd))) % 360.0
            out["direction_deg"] = round(noisy, 0) % 360.0
    return out


def _passes(moments: I64) -> list[I64]:
    if len(moments) == 0:
        return []
    cuts = np.flatnonzero(np.diff(moments) > PASS_GAP_S) + 1
    return list(np.split(moments, cuts))


def sense_drones(
    events: Sequence[Event],
    sorties: Sequence[Sortie],
    projection: Projection,
    lo: int,
    hi: int,
    rng: np.random.Generator,
) -> list[Report]:
    """The reports of every drone pass over an event that was noticed."""
    reports: list[Report] = []
    takeoff = np.array([s.takeoff for s in sorties], dtype=np.int64)
    landing = np.array([s.landing for s in sorties], dtype=np.int64)
    tracks: dict[tuple[str, str], list[int]] = {}  # (sortie, event) -> [track, positions]
    for event in events:
        # Only sorties airborne during the event can see it.
        for k in np.flatnonzero((takeoff <= event.end) & (landing >= event.start)):
            sortie = sorties[int(k)]
            a = max(event.start, sortie.takeoff, lo)
            b = min(event.end + 1, sortie.landing + 1, hi)
            moments = event.moments(a, b, SENSE_STEP_S)
            if len(moments) == 0:
                continue
            dx, dy, airborne = sortie.path.at(moments)
            ex, ey = event.at(moments)
            covered = airborne & (np.hypot(dx - ex, dy - ey) <= sortie.spec.footprint_m)
            for seen in _passes(moments[covered]):
                day = bool(is_day(event.lat, event.lon, seen[0]))
                p_day, p_night = sortie.spec.detection.get(event.category, (0.0, 0.0))
                if rng.random() >= (p_day if day else p_night):
                    continue
                reports += _drone_reports(event, sortie, seen, day, projection, rng, tracks)
    return reports


def _drone_reports(
    event: Event,
    sortie: Sortie,
    seen: I64,
    day: bool,
    projection: Projection,
    rng: np.random.Generator,
    tracks: dict[tuple[str, str], list[int]],
) -> list[Report]:
    spec = sortie.spec
    base: dict[str, Any] = {
        "contingent": sortie.contingent,
        "platform": {"id": sortie.platform_id, "type": spec.type},
        "sortie": sortie.id,
        "category": event.report_category,
        "sensed_by": "drone-eo" if day else "drone-ir",
    }
    qualifiers = assess(
        event.report_qualifiers,
        rng,
        undetermined=0.2,
        drop_weapon=0.4,
        drop_calibre=0.5,
        direction_sd=10.0,
    )
    if event.moving:
        # Successive positions of one track, one a minute while in view. The sortie's crew
        # knows an object it sees again on a later pass: the track number stays.
        key = (sortie.id, event.id)
        if key not in tracks:
            tracks[key] = [1 + sum(1 for k in tracks if k[0] == sortie.id), 0]
        track = tracks[key]
        step = max(1, MOVING_REPORT_S // SENSE_STEP_S)
        count, approx = _count(event.count, rng)
        out = []
        for t in seen[::step]:
            track[1] += 1
            record = dict(
                base,
                qualifiers=dict(qualifiers),
                count=count,
                count_approx=approx,
                track=f"{sortie.id}-T{track[0]}",
                remarks=f"track {sortie.id}/{track[0]}, position {track[1]}",
                lang="en",
            )
            out.append(_with_place(record, event, sortie, int(t), None, projection, rng))
        return out
    if event.bursts is not None:
        count, approx = len(seen), False
    else:
        count, approx = _count(event.count, rng)
    record = dict(base, qualifiers=qualifiers, count=count, count_approx=approx)
    until = int(seen[-1]) if seen[-1] > seen[0] else None
    return [_with_place(record, event, sortie, int(seen[0]), until, projection, rng)]


def _with_place(
    record: dict[str, Any],
    event: Event,
    sortie: Sortie,
    t: int,
    until: int | None,
    projection: Projection,
    rng: np.random.Generator,
) -> Report:
    spec = sortie.spec
    ex, ey = event.at(t)
    record["location"] = _place(projection, float(ex), float(ey), spec.ce_m, rng)
    observed = t + round(float(rng.normal(0.0, spec.time_error_s)))
    record["observed_at"] = _iso(observed)
    if until is not None:
        end = max(observed, until + round(float(rng.normal(0.0, spec.time_error_s))))
        record["observed_until"] = _iso(end)
    elat, elon = projection.to_geo(ex, ey)
    sx, sy, _airborne = sortie.path.at(t)
    slat, slon = projection.to_geo(sx, sy)
    sighting = Sighting(
        event.id,
        sortie.contingent,
        sortie.platform_id,
        spec.type,
        sortie.id,
        t,
        round(float(elat), 6),
        round(float(elon), 6),
        round(float(slat), 6),
        round(float(slon), 6),
    )
    return Report(sortie.contingent, "drone", event.id, observed, record, sighting)


def sense_ground(
    events: Sequence[Event],
    observers: Sequence[GroundObserver],
    projection: Projection,
    lo: int,
    hi: int,
    rng: np.random.Generator,
) -> list[Report]:
    """What posts and patrols heard or saw: one report per event and observer."""
    reports: list[Report] = []
    for event in events:
        for observer in observers:
            path = observer.path
            a = max(event.start, int(path.times[0]), lo)
            b = min(event.end + 1, int(path.times[-1]) + 1, hi)
            moments = event.moments(a, b, GROUND_STEP_S)
            sense = observer.spec.senses.get(event.category)
            if len(moments) == 0 or sense is None:
                continue
            ox, oy, _present = path.at(moments)
            ex, ey = event.at(moments)
            distance = np.hypot(ex - ox, ey - oy)
            day = is_day(event.lat, event.lon, moments)
            reach = np.where(day, sense.range_day_m, sense.range_night_m)
            near = distance < reach
            if not near.any():
                continue
            falloff = 1.0 - (distance / reach) ** 2
            chance = float(np.max(np.where(near, sense.p0 * falloff, 0.0)))
            if rng.random() >= chance:
                continue
            heard = moments[near]
            first = int(heard[0])
            i = int(np.flatnonzero(near)[0])
            reports.append(
                _ground_report(
                    event,
                    observer,
                    sense.mode,
                    first,
                    int(heard[-1]),
                    len(heard),
                    float(ox[i]),
                    float(oy[i]),
                    float(ex[i]),
                    float(ey[i]),
                    projection,
                    rng,
                )
            )
    return reports


def _minute(seconds: float) -> int:
    return round(seconds / 60.0) * 60


def _ground_report(
    event: Event,
    observer: GroundObserver,
    mode: str,
    first: int,
    last: int,
    heard: int,
    ox: float,
    oy: float,
    ex: float,
    ey: float,
    projection: Projection,
    rng: np.random.Generator,
) -> Report:
    spec = observer.spec
    (olat, elat), (olon, elon) = projection.to_geo(np.array([ox, ex]), np.array([oy, ey]))
    azimuth, _back, distance = _GEOD.inv(float(olon), float(olat), float(elon), float(elat))
    bearing = round((azimuth + float(rng.normal(0.0, spec.bearing_sd_deg))) % 360.0, 0) % 360.0
    estimate = distance * math.exp(float(rng.normal(0.0, spec.distance_sd)))
    band = next((b for b in DISTANCE_BANDS_M if estimate < b[1]), DISTANCE_BANDS_M[-1])
    if mode == "heard":
        qualifiers = assess(
            event.qualifiers,
            rng,
            undetermined=0.6,
            drop_weapon=0.7,
            drop_calibre=1.0,
            direction_sd=None,
        )
    else:
        qualifiers = assess(
            event.qualifiers,
            rng,
            undetermined=0.3,
            drop_weapon=0.5,
            drop_calibre=1.0,
            direction_sd=20.0,
        )
    count, approx = (heard, False) if event.bursts is not None else _count(event.count, rng)
    observed = _minute(first + float(rng.normal(0.0, spec.time_error_s)))
    is_post = spec.type == "observation-post"
    record: dict[str, Any] = {
        "contingent": observer.contingent,
        "platform": {"id": observer.platform_id, "type": spec.type},
        "observed_at": _iso(observed),
        "observer": {"lat": round(float(olat), 6), "lon": round(float(olon), 6)},
        "bearing_deg": float(bearing),
        "distance_m": [band[0], band[1]],
        "category": event.category,
        "qualifiers": qualifiers,
        "count": count,
        "count_approx": approx,
        "sensed_by": "post" if is_post else f"patrol-{mode}",
        "remarks": mode,
        "lang": "en",
    }
    if last - first >= 120:
        record["observed_until"] = _iso(max(observed, _minute(last)))
    sighting = Sighting(
        event.id,
        observer.contingent,
        observer.platform_id,
        spec.type,
        None,
        first,
        round(float(elat), 6),
        round(float(elon), 6),
        round(float(olat), 6),
        round(float(olon), 6),
    )
    source: Source = "post" if is_post else "patrol"
    return Report(observer.contingent, source, event.id, observed, record, sighting)


def resent(reports: Sequence[Report], preset: Preset, rng: np.random.Generator) -> list[Report]:
    """Drone reports sent again under a new id (a link that dropped, a duty officer who
    re-entered one): the same record, a duplicate the center must not count twice."""
    again = []
    for report in reports:
        if report.source == "drone" and rng.random() < preset.duplicate_share:
            sighting = replace(report.sighting, resent=True) if report.sighting else None
            again.append(replace(report, record=copy.deepcopy(report.record), sighting=sighting))
    return again


def complaints(
    events: Sequence[Event],
    placer: Placer,
    parties: Sequence[str],
    contingents: Sequence[str],
    lo: int,
    hi: int,
    rng: np.random.Generator,
    spec: ComplaintSpec = PARTY_COMPLAINT,
) -> tuple[list[Report], list[Event]]:
    """Complaints about true violations and false complaints (with the claims they make)."""
    projection = placer.book.projection
    reports: list[Report] = []
    for event in events:
        p = spec.probability.get(event.category, 0.0)
        if not event.violation or event.party is None or rng.random() >= p:
            continue
        claimant = str(rng.choice([q for q in parties if q != event.party]))
        x, y = event.crossing_xy or event.at((event.start + event.end) / 2)
        reports.append(
            _complaint(
                event,
                claimant,
                event.party,
                float(x),
                float(y),
                contingents,
                spec,
                projection,
                lo,
                hi,
                rng,
            )
        )
    claims: list[Event] = []
    hours = (hi - lo) / 3600.0
    line = placer.line(lo)
    cx, cy, _tx, _ty, _part = line.point(line.length / 2)
    clat, clon = projection.to_geo(cx, cy)
    for claimant in parties:
        n = int(rng.poisson(spec.false_per_day * hours / 24.0))
        times = sample_times(rng, n, lo, hi, 1.5, float(clat), float(clon))
        for t in times:
            accused = str(rng.choice([q for q in parties if q != claimant]))
            kind = str(rng.choice(["explosion", "small_arms_fire", "fortification"]))
            d = draft(kind, accused, claimant, rng)
            kind_spec = KindSpec(0.0, True, 1.0, (0.5, 5.0), False, (1.0, 10.0))
            claim = placer.place(d, int(t), kind_spec)
            if claim is None:
                continue
            claim.real, claim.claimed_by, claim.violation = False, claimant, False
            claims.append(claim)
    claims.sort(key=lambda c: (c.start, c.claimed_by or "", c.x0))
    for number, claim in enumerate(claims, start=1):
        claim.id = f"F-{number:04d}"
        lat, lon = projection.to_geo(claim.x0, claim.y0)
        claim.lat, claim.lon = round(float(lat), 6), round(float(lon), 6)
        reports.append(
            _complaint(
                claim,
                claim.claimed_by or "",
                claim.party or "",
                claim.x0,
                claim.y0,
                contingents,
                spec,
                projection,
                lo,
                hi,
                rng,
            )
        )
    return reports, claims


def _complaint(
    event: Event,
    claimant: str,
    accused: str,
    x: float,
    y: float,
    contingents: Sequence[str],
    spec: ComplaintSpec,
    projection: Projection,
    lo: int,
    hi: int,
    rng: np.random.Generator,
) -> Report:
    # Received by the duty officer of one contingent: by the event's number, not by party.
    contingent = contingents[int(event.id[2:]) % len(contingents)]
    said = event.start + float(rng.normal(0.0, spec.time_error_s))
    observed = round(said / spec.round_s) * spec.round_s
    qualifiers = assess(
        event.qualifiers,
        rng,
        undetermined=0.0,
        drop_weapon=0.5,
        drop_calibre=0.5,
        direction_sd=None,
    )
    count = max(1, round(event.count * float(rng.uniform(0.5, 2.0))))
    record: dict[str, Any] = {
        "contingent": contingent,
        "platform": {"id": f"complaint-{claimant.lower()}", "type": "party-complaint"},
        "observed_at": _iso(observed),
        "location": _place(projection, x, y, spec.ce_m, rng),
        "category": event.category,
        "qualifiers": qualifiers,
        "count": count,
        "count_approx": True,
        "sensed_by": "party-complaint",
        "remarks": f"Complaint from {claimant}; it attributes this to {accused}.",
        "lang": "en",
    }
    return Report(contingent, "complaint", event.id, observed, record)
