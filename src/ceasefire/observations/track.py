"""Where the sensors were and where they looked: drone track points and points of interest.

These are not observations: a drone's position says where monitoring was possible (coverage),
and the centre of a camera's frame says where it looked. CoT and TAK position events of drones
become :class:`TrackPoint`; each MISB ST 0601 packet gives a :class:`TrackPoint` (the platform)
and :class:`PointOfInterest` values (the frame centre, and the target location if present).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from ceasefire.observations.record import format_time

PointKind = Literal["frame_center", "target"]


def _check_position(lat: float, lon: float) -> None:
    if not (math.isfinite(lat) and -90.0 <= lat <= 90.0):
        raise ValueError(f"latitude {lat!r} is not within -90..90")
    if not (math.isfinite(lon) and -180.0 <= lon <= 180.0):
        raise ValueError(f"longitude {lon!r} is not within -180..180")


def _check_time(time: datetime) -> None:
    if time.tzinfo is None or time.utcoffset() is None:
        raise ValueError("time must be timezone-aware")


@dataclass(frozen=True)
class TrackPoint:
    """One position of a platform (drone) at one time.

    ``alt_m`` is the altitude in metres as the source gives it: height above the WGS84
    ellipsoid for CoT (``hae``), true altitude above mean sea level for MISB 0601 (tag 15).
    """

    platform_id: str
    time: datetime
    lat: float
    lon: float
    alt_m: float | None = None
    sortie: str | None = None
    contingent: str | None = None
    platform_type: str | None = None

    def __post_init__(self) -> None:
        _check_time(self.time)
        _check_position(self.lat, self.lon)

    def to_json_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "platform_id": self.platform_id,
            "time": format_time(self.time),
            "lat": self.lat,
            "lon": self.lon,
        }
        for name in ("alt_m", "sortie", "contingent", "platform_type"):
            value = getattr(self, name)
            if value is not None:
                data[name] = value
        return data


@dataclass(frozen=True)
class PointOfInterest:
    """A point a sensor looked at: the centre of its frame, or a target location it computed.

    ``ce_m`` and ``le_m`` are the circular and linear errors (90 %) where the source gives them
    (MISB 0601 tags 45 and 46, for the target location only).
    """

    kind: PointKind
    platform_id: str
    time: datetime
    lat: float
    lon: float
    elevation_m: float | None = None
    ce_m: float | None = None
    le_m: float | None = None
    sortie: str | None = None

    def __post_init__(self) -> None:
        _check_time(self.time)
        _check_position(self.lat, self.lon)

    def to_json_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "kind": self.kind,
            "platform_id": self.platform_id,
            "time": format_time(self.time),
            "lat": self.lat,
            "lon": self.lon,
        }
        for name in ("elevation_m", "ce_m", "le_m", "sortie"):
            value = getattr(self, name)
            if value is not None:
                data[name] = value
        return data
