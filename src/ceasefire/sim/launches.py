"""Where the fire came from: launches paired with the impacts they caused.

Every impact of a mortar or an artillery piece was fired from somewhere on the firing
party's side. For each such impact the simulator draws that firing position (a distance the
weapon reaches, in a direction that keeps it on the firing party's side of the line valid at
the time) and, for a share of them (:attr:`Preset.launch_share`), makes the launch an event of
its own: the same shots, each leaving the firing position a flight time before it landed
(the distance over a mean speed the weapon's shells keep). A launch is a muzzle flash or an
explosion said to be ``outgoing`` (half each), sensed like any event: a drone that covers it,
a post that hears or sees it. Its ids are ``L-0001``, ``L-0002``, ... and the truth pairs it
with its impact (``launch_of`` on the launch, ``launches`` on the impact).

For another share (:attr:`Preset.direction_share`) of the impacts the direction the fire came
from is plain to a drone's crew (a crater's shape, the trail seen coming in): its drone reports
say it as ``direction_deg`` (the bearing from the impact to the firing position, with a normal
error), whether or not the launch itself was an event.

Monitoring only, after the fact: where fire came *from*, as a test bed for the relation the
center draws between an impact and a launch (``ceasefire.incidents.launches``). Nothing here
works out aiming or firing data: the impact is drawn first, as every event is, and the launch
placed behind it.

Launches and directions draw from streams of their own (``launches``, ``launch_sensing``), so
the other events of a seed and what was seen of them do not move.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from pyproj import Geod

from ceasefire.sim.events import PLACEMENT_TRIES, Event, Placer
from ceasefire.sim.sensing import Report

WEAPONS: Mapping[str, tuple[tuple[float, float], tuple[float, float]]] = {
    "mortar": ((1_500.0, 6_000.0), (150.0, 250.0)),
    "artillery": ((5_000.0, 20_000.0), (300.0, 500.0)),
}
"""Per weapon of an impact: how far from it its firing position is (m, uniform) and the mean
speed of its shells over the flight (m/s, uniform): 6-40 s of flight for a mortar, 10-67 s
for a gun."""
DIRECTION_SD_DEG = 10.0
"""The error of a direction a drone's crew gives (normal, degrees)."""

_GEOD = Geod(ellps="WGS84")


def fire_from(
    events: Sequence[Event],
    placer: Placer,
    rng: np.random.Generator,
    launch_share: float,
    direction_share: float,
    since: int,
) -> list[Event]:
    """Draw the firing position of every mortar and artillery impact among ``events`` (each
    gets ``fired_from_deg``, and ``direction_said`` for ``direction_share`` of them); return
    the launch events made for ``launch_share`` of them (none fired before ``since``, the
    period's start), in time order with ids ``L-0001``..."""
    projection = placer.book.projection
    launches: list[Event] = []
    for impact in events:
        q = impact.qualifiers
        if impact.kind != "explosion" or q.get("explosion") != "impact":
            continue
        weapon = q.get("weapon")
        if weapon not in WEAPONS or impact.party is None or impact.bursts is None:
            continue
        (near, far), (slow, fast) = WEAPONS[str(weapon)]
        side = placer.parties.index(impact.party)
        if placer.sides(np.array([impact.x0]), np.array([impact.y0]), impact.start)[0] == side:
            continue  # fire again at a place on the party's own side (a repeat): not paired
        place = None
        for _attempt in range(PLACEMENT_TRIES):
            angle = float(rng.uniform(0.0, 2 * math.pi))
            r = float(rng.uniform(near, far))
            x, y = impact.x0 + r * math.sin(angle), impact.y0 + r * math.cos(angle)
            if placer.sides(np.array([x]), np.array([y]), impact.start)[0] == side:
                place = (x, y, r)
                break
        if place is None:
            continue  # no firing position on the party's side within reach: none drawn
        x, y, r = place
        la, lo = projection.to_geo(x, y)
        lat, lon = round(float(la), 6), round(float(lo), 6)
        bearing, _back, _d = _GEOD.inv(impact.lon, impact.lat, lon, lat)
        impact.fired_from_deg = round(bearing % 360.0, 1)
        impact.direction_said = bool(rng.random() < direction_share)
        if rng.random() >= launch_share:
            continue
        flight = max(1, round(r / float(rng.uniform(slow, fast))))
        shots = impact.bursts - flight
        if shots[0] < since:
            continue
        muzzle = rng.random() < 0.5
        said: dict[str, object] = {"weapon": weapon}
        if "calibre_mm" in q:
            said["calibre_mm"] = q["calibre_mm"]
        if not muzzle:
            said = {"explosion": "outgoing", **said}
        category = "muzzle_flash" if muzzle else "explosion"
        launch = Event(
            id="",
            kind="launch",
            category=category,
            qualifiers=dict(said),
            count=impact.count,
            party=impact.party,
            violation=True,
            start=int(shots[0]),
            end=int(shots[-1]),
            x0=x,
            y0=y,
            x1=x,
            y1=y,
            lat=lat,
            lon=lon,
            bursts=shots,
            report_category=category,
            report_qualifiers=dict(said),
        )
        launch.launch_of = impact
        launches.append(launch)
    launches.sort(key=lambda e: (e.start, e.x0, e.y0))
    for number, launch in enumerate(launches, start=1):
        launch.id = f"L-{number:04d}"
        assert launch.launch_of is not None
        launch.launch_of.launches.append(launch)
    return launches


def say_directions(
    reports: list[Report], events: Sequence[Event], rng: np.random.Generator
) -> None:
    """The drones' reports of an impact whose direction was plain say where the fire came
    from (``direction_deg``, with an error of :data:`DIRECTION_SD_DEG`)."""
    said = {e.id: e.fired_from_deg for e in events if e.direction_said}
    for report in reports:
        deg = said.get(report.event_id)
        if report.source != "drone" or deg is None:
            continue
        noisy = (deg + float(rng.normal(0.0, DIRECTION_SD_DEG))) % 360.0
        report.record["qualifiers"]["direction_deg"] = round(noisy, 0) % 360.0
