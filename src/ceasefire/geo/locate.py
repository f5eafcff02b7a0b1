"""Describe one point at one time: zones, control, the line of contact and a phrase."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ceasefire.errors import InputError, Problem
from ceasefire.geo.engine import Enricher
from ceasefire.geo.phrase import direction_name, place_phrase
from ceasefire.i18n import _
from ceasefire.mission.model import Mission
from ceasefire.timeutil import iso


def check_in_period(
    mission: Mission, when: datetime, field: str = "time", source: str = ""
) -> None:
    period = mission.config.period
    if when < period.start or (period.end is not None and when >= period.end):
        end = iso(period.end) if period.end else _("open")
        raise InputError(
            Problem(
                file=source,
                field=field,
                reason=_("{when} is outside the mission's period ({start} to {end})").format(
                    when=iso(when), start=iso(period.start), end=end
                ),
            )
        )


def inside_area(mission: Mission, lat: float, lon: float) -> bool:
    """Whether a point lies in the mission's area of operations (its box, edges included)."""
    lon0, lat0, lon1, lat1 = mission.config.area
    return lon0 <= lon <= lon1 and lat0 <= lat <= lat1


def outside_area_reason(mission: Mission, lat: float, lon: float) -> str:
    lon0, lat0, lon1, lat1 = mission.config.area
    return _(
        "the place {lat:.5f}, {lon:.5f} is outside the mission's area of operations (latitude "
        "{lat0:g} to {lat1:g}, longitude {lon0:g} to {lon1:g}); were latitude and longitude "
        "swapped?"
    ).format(lat=lat, lon=lon, lat0=lat0, lat1=lat1, lon0=lon0, lon1=lon1)


def describe(
    enricher: Enricher, lat: float, lon: float, when: datetime, lang: str
) -> dict[str, Any]:
    """The `ceasefire where` answer for one point, as a JSON-ready dict."""
    mission = enricher.mission
    result = enricher.enrich([lat], [lon], [when])
    zones = [mission.zone(z) for z in result.zones_of(0)]
    distance = float(result.distance_to_line_m[0])
    has_line = distance == distance  # NaN when no line of contact is valid at that time
    side = int(result.line_side[0])
    near = mission.settlements[int(result.settlement[0])]
    near_name = mission.settlement_name(near, lang)
    near_distance = float(result.settlement_distance_m[0])
    near_bearing = float(result.settlement_bearing_deg[0])
    return {
        "lat": lat,
        "lon": lon,
        "at": iso(when),
        "mission": mission.id,
        "lang": lang,
        "zones": [z.id for z in zones],
        "zone_details": [
            {"id": z.id, "kind": z.kind, "name": z.names.get(lang, z.id), "party": z.party}
            for z in zones
        ],
        "controlled_by": result.party_of(0),
        "distance_to_line_m": round(distance, 1) if has_line else None,
        "line_side": result.parties[side] if has_line and side >= 0 else None,
        "bearing_to_line_deg": round(float(result.line_bearing_deg[0]), 1) if has_line else None,
        "direction_to_line": direction_name(float(result.line_bearing_deg[0]), lang)
        if has_line
        else None,
        "nearest_settlement": {
            "id": near.id,
            "name": near_name,
            "distance_m": round(near_distance, 1),
            "bearing_deg": round(near_bearing, 1),
        },
        "phrase": place_phrase(near_name, near_distance, near_bearing, lang),
        "disclaimer": mission.disclaimer(lang),
    }
