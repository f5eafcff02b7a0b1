"""Where the fire that hit a place may have come from: an impact related to launches.

An impact and the launch that caused it are two events, seen at two places, and correlation
never merges them. For the monitoring of a ceasefire it matters which launch an impact may
have come from (whose side fired is a joint finding's question), so the incident of an impact
lists the launch incidents it is *consistent* with:

- the impact: an event incident with an explosion said to be an ``impact``;
- a launch: an event incident with a muzzle flash or an explosion said to be ``outgoing``;
- in range: no farther from the impact than the weapon said reaches (:data:`RANGE_M`; a
  weapon not said or unknown: the longest of the table), and no weapon said on both that
  differs (a mortar's impact is not a tank's muzzle flash);
- in time: the launch no later than the impact (within :data:`SLACK_S`, the reports' time
  errors), and no earlier than the slowest flight over that distance allows
  (:data:`SLOWEST_MS`, plus the slack);
- in direction, when the impact's observers said where the fire came from
  (``direction_deg``): within :data:`DIRECTION_TOLERANCE_DEG` of the bearing to the launch.

It is a hypothesis for the analysts to verify, never a finding, and it says where fire came
*from*, after the fact: the center works out no firing data of any kind.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pyproj import Geod
from sqlalchemy import Engine, select

from ceasefire.i18n import _, language
from ceasefire.incidents.rules import what
from ceasefire.incidents.tables import incidents
from ceasefire.store.schema import observations

RANGE_M: Mapping[str, float] = {
    "small_arms": 1_500.0,
    "heavy_machine_gun": 2_000.0,
    "automatic_grenade_launcher": 2_200.0,
    "recoilless_gun": 1_500.0,
    "anti_tank_weapon": 5_000.0,
    "tank": 5_000.0,
    "mortar": 8_000.0,
    "artillery": 40_000.0,
    "mlrs": 70_000.0,
    "uav_munition": 100_000.0,
}
"""How far each weapon reaches (about: the longest of its common kinds)."""
LONGEST_M = max(RANGE_M.values())
SLOWEST_MS = 80.0
"""The slowest mean speed of a projectile over its flight (high-angle mortar fire is about
100-150 m/s): a launch longer ago than distance / this (plus the slack) is too early."""
SLACK_S = 180.0
"""The reports' time errors (posts round to the minute; a drone's pass starts late)."""
DIRECTION_TOLERANCE_DEG = 30.0
LAUNCH_CATEGORIES = ("muzzle_flash", "explosion")
MOST = 5
"""Launches listed per impact, the most consistent first."""

_GEOD = Geod(ellps="WGS84")


@dataclass(frozen=True)
class _Said:
    impact: bool
    launch: bool
    weapons: frozenset[str]
    directions: tuple[float, ...]


def _said(records: list[dict[str, Any]]) -> _Said:
    impact = launch = False
    weapons: set[str] = set()
    directions: list[float] = []
    for r in records:
        q = r.get("qualifiers") or {}
        if r.get("category") == "explosion" and q.get("explosion") == "impact":
            impact = True
        if r.get("category") == "muzzle_flash" or (
            r.get("category") == "explosion" and q.get("explosion") == "outgoing"
        ):
            launch = True
        if isinstance(q.get("weapon"), str) and q["weapon"] != "unknown":
            weapons.add(q["weapon"])
        if r.get("category") == "explosion" and isinstance(q.get("direction_deg"), int | float):
            directions.append(float(q["direction_deg"]))
    return _Said(impact, launch, frozenset(weapons), tuple(directions))


def _reach(weapons: frozenset[str]) -> float:
    known = [RANGE_M[w] for w in weapons if w in RANGE_M]
    return max(known) if known else LONGEST_M


def _angle(a: float, b: float) -> float:
    return abs((a - b + 180.0) % 360.0 - 180.0)


def possible_launches(
    engine: Engine, incident: dict[str, Any], lang: str = "en"
) -> list[dict[str, Any]]:
    """The launch incidents an impact incident (from :func:`queries.get_incident`, with its
    observations) is consistent with, the closest in time to a plausible flight first; empty
    for an incident that is not an impact."""
    impact = _said(incident.get("observations", []))
    if incident.get("kind", "event") != "event" or not impact.impact:
        return []
    start = _moment(incident["started_at"])
    longest = LONGEST_M / SLOWEST_MS + SLACK_S
    with engine.connect() as db:
        rows = db.execute(
            select(incidents).where(
                incidents.c.kind == "event",
                incidents.c.id != incident["id"],
                incidents.c.status != "superseded",
                incidents.c.started_at >= start - timedelta(seconds=longest),
                incidents.c.started_at <= start + timedelta(seconds=SLACK_S),
            )
        ).all()
        rows = [r for r in rows if set(json.loads(r.categories)) & set(LAUNCH_CATEGORIES)]
        records: dict[str, list[dict[str, Any]]] = {r.id: [] for r in rows}
        if records:
            for incident_id, record in db.execute(
                select(observations.c.incident_id, observations.c.record).where(
                    observations.c.incident_id.in_(sorted(records))
                )
            ):
                records[incident_id].append(json.loads(record))
    lat, lon = incident["location"]["lat"], incident["location"]["lon"]
    found = []
    for row in rows:
        launch = _said(records[row.id])
        if not launch.launch:
            continue
        if impact.weapons and launch.weapons and not impact.weapons & launch.weapons:
            continue  # both said the weapon, and not the same one
        bearing, _back, distance = _GEOD.inv(lon, lat, row.lon, row.lat)
        bearing %= 360.0
        if distance > _reach(impact.weapons | launch.weapons):
            continue
        before = (start - row.started_at).total_seconds()
        if before < -SLACK_S or before > distance / SLOWEST_MS + SLACK_S:
            continue
        if impact.directions and min(_angle(bearing, d) for d in impact.directions) > (
            DIRECTION_TOLERANCE_DEG
        ):
            continue
        found.append(_relation(row, launch, distance, bearing, before, lang))
    # The most consistent first: the launch whose time best fits a flight of middling speed.
    found.sort(key=lambda f: abs(f["seconds_before"] - f["distance_m"] / 250.0))
    return found[:MOST]


def _relation(
    row: Any, launch: _Said, distance: float, bearing: float, before: float, lang: str
) -> dict[str, Any]:
    weapon = sorted(launch.weapons)[0] if len(launch.weapons) == 1 else None
    with language(lang):
        kind = what(row.category, {"weapon": weapon} if weapon else {})
        values = {
            "incident": row.id,
            "what": kind,
            "km": f"{distance / 1000:.1f}",
            "bearing": f"{bearing:.0f}",
            "seconds": f"{abs(before):.0f}",
        }
        if before >= 0:
            sentence = _(
                "{incident} ({what}), {km} km away at a bearing of {bearing} degrees, "
                "{seconds} s before the impact"
            ).format(**values)
        else:
            sentence = _(
                "{incident} ({what}), {km} km away at a bearing of {bearing} degrees, "
                "{seconds} s after the impact (within the reports' time errors)"
            ).format(**values)
    return {
        "incident": row.id,
        "category": row.category,
        "weapon": weapon,
        "distance_m": round(distance, 1),
        "bearing_deg": round(bearing, 1),
        "seconds_before": round(before, 1),
        "sentence": sentence,
    }


def _moment(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
