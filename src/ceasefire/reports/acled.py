"""Incidents as an ACLED-compatible CSV: ACLED's columns, event types and precision codes.

One row per incident (ACLED codes events, not sightings). The mapping from this project's
taxonomy to ACLED's event types and sub-event types (ACLED Codebook, 2023-2024):

- explosion, projectile, muzzle_flash: Explosions/Remote violence, Shelling/artillery/missile
  attack; an explosion with weapon ``uav_munition``: Air/drone strike; with weapon ``mine``,
  and mine_uxo: Remote explosive/landmine/IED;
- small_arms_fire: Battles, Armed clash;
- civilian_casualty, civilian_damage: Violence against civilians, Attack;
- monitoring_interference by fire at or downing of a drone: Strategic developments, Disrupted
  weapons use; every other category: Strategic developments, Other.

``disorder_type`` is "Political violence" for the first four event types, "Strategic
developments" for the last. Actors come only from a joint finding: ``actor1`` is the
attributed party's forces ("Military Forces of Armenia"); without a finding, or when the
center could not attribute the incident, "Unidentified Armed Group (<country>)". ACLED's
``inter1`` codes: 1 state forces, 3 unidentified (political militia as ACLED codes unknown
armed groups), 0 none. ``time_precision`` is 1 (the day is known: every incident has an
exact time). ``geo_precision`` is 1 when the incident lies within 2 km of its nearest
settlement (ACLED: the town itself), 2 within 25 km (near a town, part of a district), else 3.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import IO, Any

from ceasefire.mission.model import Mission

COLUMNS = (
    "event_id_cnty",
    "event_date",
    "year",
    "time_precision",
    "disorder_type",
    "event_type",
    "sub_event_type",
    "actor1",
    "assoc_actor_1",
    "inter1",
    "actor2",
    "assoc_actor_2",
    "inter2",
    "interaction",
    "civilian_targeting",
    "iso",
    "region",
    "country",
    "admin1",
    "admin2",
    "admin3",
    "location",
    "latitude",
    "longitude",
    "geo_precision",
    "source",
    "source_scale",
    "notes",
    "fatalities",
    "tags",
    "timestamp",
)
"""ACLED's export columns, in ACLED's order."""

SHELLING = ("Explosions/Remote violence", "Shelling/artillery/missile attack")
DRONE = ("Explosions/Remote violence", "Air/drone strike")
MINE = ("Explosions/Remote violence", "Remote explosive/landmine/IED")
CLASH = ("Battles", "Armed clash")
CIVILIANS = ("Violence against civilians", "Attack")
DISRUPTED = ("Strategic developments", "Disrupted weapons use")
OTHER = ("Strategic developments", "Other")

_BY_CATEGORY = {
    "explosion": SHELLING,
    "projectile": SHELLING,
    "muzzle_flash": SHELLING,
    "small_arms_fire": CLASH,
    "mine_uxo": MINE,
    "civilian_casualty": CIVILIANS,
    "civilian_damage": CIVILIANS,
}


def event_type(category: str, qualifiers: dict[str, Any]) -> tuple[str, str]:
    """ACLED's (event_type, sub_event_type) for one observation's category and qualifiers."""
    weapon = qualifiers.get("weapon")
    if category == "explosion" and weapon == "uav_munition":
        return DRONE
    if category == "explosion" and weapon == "mine":
        return MINE
    if category == "monitoring_interference" and qualifiers.get("interference") in (
        "fire_at_uav",
        "uav_downed",
    ):
        return DISRUPTED
    return _BY_CATEGORY.get(category, OTHER)


def disorder_type(event: str) -> str:
    return "Strategic developments" if event == "Strategic developments" else "Political violence"


def geo_precision(settlement_distance_m: float | None) -> int:
    if settlement_distance_m is None:
        return 3
    if settlement_distance_m <= 2000:
        return 1
    return 2 if settlement_distance_m <= 25_000 else 3


def acled_row(
    incident: dict[str, Any],
    qualifiers: dict[str, Any],
    fatalities: int,
    mission: Mission,
    settlement_distance_m: float | None,
    now: datetime,
) -> dict[str, Any]:
    """One ACLED row of an incident row (:func:`ceasefire.reports.rows.incident_row`, in
    English), the qualifiers of its main category and its civilians killed."""
    settings = mission.config.reports
    event, sub_event = event_type(incident["category"], qualifiers)
    parties = {p.id: p.names.get("en", p.id) for p in mission.config.parties}
    attribution = incident.get("attribution")
    country = settings.acled_country
    unknown = f"Unidentified Armed Group ({country})" if country else "Unidentified Armed Group"
    if event == "Strategic developments" or attribution is None:
        actor1, inter1 = ("", 0) if event == "Strategic developments" else (unknown, 3)
    elif attribution in parties:
        actor1, inter1 = f"Military Forces of {parties[attribution]}", 1
    else:
        actor1, inter1 = unknown, 3
    civilians = event == "Violence against civilians"
    inter2 = 7 if civilians else 0
    started: datetime = incident["started_at"]
    contingents = [c for c in (incident.get("contingents") or "").split(",") if c]
    names = {c.id: c.names.get("en", c.id) for c in mission.config.contingents}
    notes = (
        f"On {started.astimezone(UTC):%d %B %Y} at {started.astimezone(UTC):%H:%M} UTC, "
        f"{incident['categories'].replace('_', ' ').replace(',', ', ')}"
        f"{', ' + incident['phrase'] if incident.get('phrase') else ''}. "
        f"Observed by {', '.join(names.get(c, c) for c in contingents) or 'no contingent'}"
        f" ({incident['corroboration'].replace('_', ' ')}). "
        f"Joint finding: {incident.get('finding') or 'none yet'}. [{incident['id']}]"
    )
    return {
        "event_id_cnty": incident["id"],
        "event_date": f"{started.astimezone(UTC):%Y-%m-%d}",
        "year": started.astimezone(UTC).year,
        "time_precision": 1,
        "disorder_type": disorder_type(event),
        "event_type": event,
        "sub_event_type": sub_event,
        "actor1": actor1,
        "assoc_actor_1": "",
        "inter1": inter1,
        "actor2": "Civilians" if civilians else "",
        "assoc_actor_2": "",
        "inter2": inter2,
        "interaction": int(f"{inter1}{inter2}") if inter1 and inter2 else inter1 * 10,
        "civilian_targeting": "Civilian targeting" if civilians else "",
        "iso": settings.acled_iso if settings.acled_iso is not None else "",
        "region": settings.acled_region,
        "country": country,
        "admin1": "",
        "admin2": "",
        "admin3": "",
        "location": incident.get("settlement") or "",
        "latitude": round(incident["lat"], 4),
        "longitude": round(incident["lon"], 4),
        "geo_precision": geo_precision(settlement_distance_m),
        "source": mission.name("en"),
        "source_scale": "Other",
        "notes": notes,
        "fatalities": fatalities,
        "tags": incident["corroboration"],
        "timestamp": int(now.timestamp()),
    }


def write(rows: Iterable[dict[str, Any]], stream: IO[str]) -> int:
    """Write ACLED rows (from :func:`acled_row`) with the header; return how many."""
    writer = csv.DictWriter(stream, fieldnames=list(COLUMNS), lineterminator="\r\n")
    writer.writeheader()
    count = 0
    for row in rows:
        writer.writerow(row)
        count += 1
    return count


__all__ = ["COLUMNS", "acled_row", "disorder_type", "event_type", "geo_precision", "write"]
