"""Ground observers: fixed observation posts along the line and daylight patrols.

Ground observers do not fly and report no track: they report what they heard or saw as the
observer's position, a bearing and a distance band (see :mod:`ceasefire.sim.sensing`).

- Posts: :data:`~ceasefire.sim.platforms.POSTS` of them, evenly spaced along the line valid
  at the scenario's start, 800 m from it, on the parties' sides in turn; staffed by the
  contingents in turn (post 1 on the first party's side by the first contingent, post 2 on the
  second party's side by the first contingent, post 3 on the first party's side by the second
  contingent, ...), so that every contingent watches both sides. They watch round the clock.
- Patrols: each contingent sends :data:`~ceasefire.sim.platforms.PATROLS_PER_DAY` ground
  patrol a day, starting between 09:00 and 10:00 in the mission's time zone, driving back and
  forth for ``PATROL_HOURS`` along a ``PATROL_KM`` stretch of the line, 1.5 km off it on a
  side chosen at random.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from ceasefire.mission.model import Mission
from ceasefire.sim.flights import Path, choose_span, ping_pong, sample_route
from ceasefire.sim.lines import LineBook
from ceasefire.sim.platforms import (
    OBSERVATION_POST,
    PATROL,
    PATROL_HOURS,
    PATROL_KM,
    PATROLS_PER_DAY,
    POSTS,
    GroundSpec,
)

POST_OFFSET_M = 800.0
PATROL_OFFSET_M = 1_500.0
PATROL_STEP_S = 60


@dataclass(frozen=True)
class GroundObserver:
    """A post or a patrol: who staffs it and where it was when."""

    platform_id: str
    contingent: str
    spec: GroundSpec
    path: Path


def place_posts(mission: Mission, book: LineBook, start: int, end: int) -> list[GroundObserver]:
    line = book.at_seconds(start)
    if line is None:
        return []
    contingents, parties = mission.contingent_ids(), mission.party_ids()
    posts: list[GroundObserver] = []
    for i in range(POSTS):
        s = (i + 0.5) * line.length / POSTS
        party = parties[i % len(parties)]
        contingent = contingents[(i // len(parties)) % len(contingents)]
        x, y = line.toward(s, party, POST_OFFSET_M)
        lat, lon = book.projection.to_geo(x, y)
        path = Path(
            times=np.array([start, end], dtype=np.int64),
            x=np.array([x, x]),
            y=np.array([y, y]),
            lat=np.array([float(lat)] * 2),
            lon=np.array([float(lon)] * 2),
        )
        posts.append(GroundObserver(f"op-{i + 1:02d}", contingent, OBSERVATION_POST, path))
    return posts


def plan_patrols(
    mission: Mission, book: LineBook, start: int, end: int, rng: np.random.Generator
) -> list[GroundObserver]:
    zone = ZoneInfo(mission.config.timezone)
    first = datetime.fromtimestamp(start, zone).date() - timedelta(days=1)
    last = datetime.fromtimestamp(end, zone).date()
    patrols: list[GroundObserver] = []
    numbers: dict[str, int] = {}
    day = first
    while day <= last:
        for contingent in mission.contingent_ids():
            for _k in range(PATROLS_PER_DAY):
                begin = datetime.combine(day, time(9), zone).timestamp()
                t0 = int(begin + rng.uniform(0.0, 3600.0))
                line = book.at_seconds(t0)
                party = str(rng.choice(mission.party_ids()))
                if line is None:
                    continue
                s0, s1 = choose_span(line, PATROL_KM * 1000.0, rng)
                arcs = np.linspace(s0, s1, max(2, int((s1 - s0) / 500.0) + 1))
                points = [line.toward(float(s), party, PATROL_OFFSET_M) for s in arcs]
                sx = np.array([p[0] for p in points])
                sy = np.array([p[1] for p in points])
                speed = PATROL.speed_kmh / 3.6
                px, py = ping_pong(sx, sy, speed * PATROL_HOURS * 3600.0)
                path = sample_route(px, py, speed, t0, book.projection, PATROL_STEP_S)
                if path.times[-1] <= start or t0 >= end:
                    continue
                n = numbers[contingent] = numbers.get(contingent, 0) + 1
                patrols.append(
                    GroundObserver(f"{contingent.lower()}-patrol-{n:02d}", contingent, PATROL, path)
                )
        day += timedelta(days=1)
    return patrols
