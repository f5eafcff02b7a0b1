"""Where the fire that hit a place may have come from: an impact related to launches.

An impact and the launch that caused it are two events, seen at two places, and correlation
never merges them. For the monitoring of a ceasefire it matters which launch an impact may
have come from (whose side fired is a joint finding's question), so the incident of an impact
lists the launch incidents it is *consistent* with, and a launch the impacts that list it:

- the impact: an event incident with an explosion said to be an ``impact``;
- a launch: an event incident with a muzzle flash or an explosion said to be ``outgoing``;
  an explosion said to be neither (``undetermined``, or nothing said) may be either, and is
  listed after the launches said;
- in range: no farther from the impact than the weapon said reaches (:data:`RANGE_M`; a
  weapon said by neither: tube artillery's, :data:`UNSAID_M`), and no weapon said on both
  that differs (a mortar's impact is not a tank's muzzle flash);
- in time: the launch's reports (first to last) able to lead the impact's by a flight
  between :data:`FASTEST_MS` and :data:`SLOWEST_MS` over the distance, within
  :data:`SLACK_S` (the reports' time errors);
- in direction, when the impact's observers said where the fire came from
  (``direction_deg``): within :data:`DIRECTION_TOLERANCE_DEG` of the bearing to the launch.

Listed: those said to be launches first, then those whose reports allow a flight, then the
nearest. Worked out from the stored incidents when shown (never stored, so it follows every
merge, split and new id at once). It is a hypothesis for the analysts to verify, never a
finding, and it says where fire came *from*, after the fact: the center works out no firing
data of any kind.
"""

from __future__ import annotations

import json
from bisect import bisect_left, bisect_right
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pyproj import Geod
from sqlalchemy import Connection, Engine, select

from ceasefire.i18n import _, language
from ceasefire.incidents.rules import weapon_name, what
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
UNSAID_M = RANGE_M["artillery"]
"""The reach when neither end said the weapon: tube artillery's, the fire most often seen
near a line (a rocket's or a drone's longer reach only when said; docs/incidents.md has what
the longest reach gave on the bad-day preset)."""
SLOWEST_MS = 80.0
"""The slowest mean speed of a projectile over its flight (high-angle mortar fire is about
100-150 m/s): a launch longer ago than distance / this (plus the slack) is too early."""
FASTEST_MS = 1_000.0
"""The fastest mean speed of a shell or rocket over its flight."""
TYPICAL_MS = 250.0
"""A middling mean speed: the lead shown is the one the reports allow nearest a flight at it."""
SLACK_S = 180.0
"""The reports' time errors (posts round to the minute; a drone's pass starts late)."""
DIRECTION_TOLERANCE_DEG = 30.0
LAUNCH_CATEGORIES = ("muzzle_flash", "explosion")
MOST = 5
"""Launches listed per impact, the most consistent first."""
LONGEST_FIRE_S = 3_600.0
"""The longest a launch incident is looked for before its first report (fire incidents
last their window, 10 minutes by default: this leaves room for a mission's wider one)."""
CHUNK = 500
"""Incidents whose observations are read in one query."""

_GEOD = Geod(ellps="WGS84")


@dataclass(frozen=True)
class _Said:
    impact: bool  # an explosion said to be an impact (or, see _said, not said to be anything)
    launch: bool
    weapons: frozenset[str]
    directions: tuple[float, ...]
    unsaid: bool = False  # an explosion not said to be an impact or outgoing


def _said(records: list[dict[str, Any]]) -> _Said:
    impact = launch = unsaid = False
    weapons: set[str] = set()
    directions: list[float] = []
    for r in records:
        q = r.get("qualifiers") or {}
        if r.get("category") == "explosion" and q.get("explosion") == "impact":
            impact = True
        if r.get("category") == "explosion" and q.get("explosion") in (None, "undetermined"):
            unsaid = True
        if r.get("category") == "muzzle_flash" or (
            r.get("category") == "explosion" and q.get("explosion") == "outgoing"
        ):
            launch = True
        if isinstance(q.get("weapon"), str) and q["weapon"] != "unknown":
            weapons.add(q["weapon"])
        if r.get("category") == "explosion" and isinstance(q.get("direction_deg"), int | float):
            directions.append(float(q["direction_deg"]))
    unsaid = unsaid and not impact and not launch
    if unsaid:  # it may be either
        impact = launch = True
    return _Said(impact, launch, frozenset(weapons), tuple(directions), unsaid)


def _reach(weapons: frozenset[str]) -> float:
    known = [RANGE_M[w] for w in weapons if w in RANGE_M]
    return max(known) if known else UNSAID_M


def _angle(a: float, b: float) -> float:
    return abs((a - b + 180.0) % 360.0 - 180.0)


@dataclass(frozen=True)
class _Seen:
    """An event incident as the relation needs it: when and where, and what was said."""

    id: str
    category: str
    started_at: datetime
    ended_at: datetime
    lat: float
    lon: float
    said: _Said


def _window(impact: _Seen) -> tuple[datetime, datetime]:
    """When a launch of an impact can have been first seen: no earlier than the slowest
    flight over the longest reach and the longest span of fire allow, no later than the
    impact's last report and the reports' slack."""
    return (
        impact.started_at - timedelta(seconds=LONGEST_M / SLOWEST_MS + SLACK_S + LONGEST_FIRE_S),
        impact.ended_at + timedelta(seconds=SLACK_S),
    )


def _fits(impact: _Seen, candidates: list[_Seen], lang: str) -> list[dict[str, Any]]:
    """The candidates (event incidents near in time) the impact is consistent with, the
    most consistent first, at most :data:`MOST`."""
    found = []
    for launch in candidates:
        if launch.id == impact.id or not launch.said.launch:
            continue
        said = impact.said
        if said.weapons and launch.said.weapons and not said.weapons & launch.said.weapons:
            continue  # both said the weapon, and not the same one
        bearing, _back, distance = _GEOD.inv(impact.lon, impact.lat, launch.lon, launch.lat)
        bearing %= 360.0
        if distance > _reach(said.weapons | launch.said.weapons):
            continue
        # Fire lasts: each incident's first to last report. The launches seen lead the
        # impacts seen by a flight time, as far as their spans can tell.
        least = (impact.started_at - launch.ended_at).total_seconds()
        most = (impact.ended_at - launch.started_at).total_seconds()
        shortest, longest = distance / FASTEST_MS, distance / SLOWEST_MS
        off = max(0.0, shortest - most, least - longest)
        if off > SLACK_S:
            continue
        if said.directions and min(_angle(bearing, d) for d in said.directions) > (
            DIRECTION_TOLERANCE_DEG
        ):
            continue
        flight = distance / TYPICAL_MS
        before = min(max(flight, least), most)  # as near a typical flight as the spans allow
        found.append(_relation(impact, launch, distance, bearing, before, off, lang))
    # The most consistent first: those the spans allow a flight for, then the nearest.
    found.sort(
        key=lambda f: (not f["launch_said"], f["seconds_off"], f["distance_m"], f["incident"])
    )
    return found[:MOST]


def possible_launches(
    engine: Engine, incident: dict[str, Any], lang: str = "en"
) -> list[dict[str, Any]]:
    """The launch incidents an impact incident (from :func:`queries.get_incident`, with its
    observations) is consistent with, the closest in time to a plausible flight first; empty
    for an incident that is not an impact."""
    said = _said(incident.get("observations", []))
    if incident.get("kind", "event") != "event" or not said.impact:
        return []
    impact = _Seen(
        incident["id"],
        incident["category"],
        _moment(incident["started_at"]),
        _moment(incident["ended_at"]),
        incident["location"]["lat"],
        incident["location"]["lon"],
        said,
    )
    earliest, latest = _window(impact)
    with engine.connect() as db:
        candidates = _read(
            db,
            (incidents.c.started_at >= earliest) & (incidents.c.started_at <= latest),
            launches=True,
        )
    return _fits(impact, candidates, lang)


def possible_impacts(
    engine: Engine, incident: dict[str, Any], lang: str = "en"
) -> list[dict[str, Any]]:
    """The other end of the relation: the impact incidents that list a launch incident
    (from :func:`queries.get_incident`) among their :func:`possible_launches`, the nearest in
    time first; empty for an incident that is not a launch."""
    said = _said(incident.get("observations", []))
    if incident.get("kind", "event") != "event" or not said.launch:
        return []
    start = _moment(incident["started_at"])
    reach = timedelta(seconds=2 * (LONGEST_M / SLOWEST_MS + SLACK_S + LONGEST_FIRE_S))
    with engine.connect() as db:
        seen = _read(
            db,
            (incidents.c.started_at >= start - reach) & (incidents.c.started_at <= start + reach),
            launches=False,
        )
    found = []
    for impact_id, listed in _relations(seen, lang).items():
        mine = [f for f in listed if f["incident"] == incident["id"]]
        if not mine:
            continue
        impact = next(s for s in seen if s.id == impact_id)
        relation = mine[0]
        with language(lang):
            weapons = impact.said.weapons
            sentence = _(
                "{incident} ({what}), {km} km away, {seconds} s later: it lists this incident "
                "among its possible launches"
            ).format(
                incident=impact.id,
                what=what(
                    impact.category, {"weapon": sorted(weapons)[0]} if len(weapons) == 1 else {}
                ),
                km=f"{relation['distance_m'] / 1000:.1f}",
                seconds=f"{relation['seconds_before']:.0f}",
            )
        found.append(
            {
                "incident": impact.id,
                "category": impact.category,
                "distance_m": relation["distance_m"],
                "seconds_after": relation["seconds_before"],
                "rank": listed.index(relation) + 1,
                "sentence": sentence,
            }
        )
    found.sort(key=lambda f: (abs(f["seconds_after"]), f["incident"]))
    return found


def every_relation(engine: Engine, lang: str = "en") -> dict[str, list[dict[str, Any]]]:
    """Per impact incident of the store, its :func:`possible_launches` (only impacts that
    have some), worked out in one pass: the incidents with an explosion or a muzzle flash
    read once, the candidates of each impact found by its time window in the launches
    sorted by time (for ``ceasefire score``)."""
    with engine.connect() as db:
        seen = _read(db, None, launches=False)
    return _relations(seen, lang)


def _relations(seen: list[_Seen], lang: str) -> dict[str, list[dict[str, Any]]]:
    launches = sorted((s for s in seen if s.said.launch), key=lambda s: s.started_at)
    times = [s.started_at for s in launches]
    out: dict[str, list[dict[str, Any]]] = {}
    for impact in seen:
        if not impact.said.impact:
            continue
        earliest, latest = _window(impact)
        near = launches[bisect_left(times, earliest) : bisect_right(times, latest)]
        found = _fits(impact, near, lang)
        if found:
            out[impact.id] = found
    return out


def _read(db: Connection, when: Any, *, launches: bool) -> list[_Seen]:
    """The event incidents (not superseded) with an explosion or a muzzle flash, ``when``
    it says (None: all), with what their observations said; only launches if asked."""
    query = select(
        incidents.c.id,
        incidents.c.category,
        incidents.c.categories,
        incidents.c.started_at,
        incidents.c.ended_at,
        incidents.c.lat,
        incidents.c.lon,
    ).where(incidents.c.kind == "event", incidents.c.status != "superseded")
    if when is not None:
        query = query.where(when)
    rows = [r for r in db.execute(query) if set(json.loads(r.categories)) & set(LAUNCH_CATEGORIES)]
    records: dict[str, list[dict[str, Any]]] = {r.id: [] for r in rows}
    ids = sorted(records)
    for k in range(0, len(ids), CHUNK):
        for incident_id, record in db.execute(
            select(observations.c.incident_id, observations.c.record).where(
                observations.c.incident_id.in_(ids[k : k + CHUNK])
            )
        ):
            records[incident_id].append(json.loads(record))
    out = []
    for r in rows:
        said = _said(records[r.id])
        if launches and not said.launch:
            continue
        out.append(
            _Seen(
                r.id,
                r.category,
                _moment(r.started_at),
                _moment(r.ended_at),
                r.lat,
                r.lon,
                said,
            )
        )
    return out


def _relation(
    impact: _Seen,
    launch: _Seen,
    distance: float,
    bearing: float,
    before: float,
    off: float,
    lang: str,
) -> dict[str, Any]:
    weapons = launch.said.weapons
    weapon = sorted(weapons)[0] if len(weapons) == 1 else None
    reach = _reach(impact.said.weapons | weapons)
    with language(lang):
        kind = what(launch.category, {"weapon": weapon} if weapon else {})
        values = {
            "incident": launch.id,
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
        why = []
        said = sorted(impact.said.weapons | weapons)
        if said:
            why.append(
                _("within the reach of the weapon said ({weapon}: {km} km)").format(
                    weapon=", ".join(weapon_name(w) for w in said),
                    km=f"{reach / 1000:.0f}",
                )
            )
        else:
            why.append(
                _("within a gun's reach ({km} km): no weapon said").format(km=f"{reach / 1000:.0f}")
            )
        if off > 0:
            why.append(
                _("{seconds} s off any plausible flight, within the reports' time errors").format(
                    seconds=f"{off:.0f}"
                )
            )
        if impact.said.directions:
            angle = min(_angle(bearing, d) for d in impact.said.directions)
            why.append(
                _(
                    "where the impact's observers said the fire came from, within {deg} degrees"
                ).format(deg=f"{angle:.0f}")
            )
        if launch.said.unsaid:
            why.append(_("an explosion not said to be outgoing: it may be another impact"))
    return {
        "incident": launch.id,
        "category": launch.category,
        "weapon": weapon,
        "distance_m": round(distance, 1),
        "bearing_deg": round(bearing, 1),
        "seconds_before": round(before, 1),
        "seconds_off": round(off, 1),
        "launch_said": not launch.said.unsaid,
        "reach_m": reach,
        "sentence": sentence,
        "why": why,
    }


def _moment(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
