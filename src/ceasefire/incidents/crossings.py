"""Crossings of the line of contact, from successive observations of one track.

A track is the source's id for one moving object (`track` on the record). Ordered by time, two
successive observations of a track on different sides of the line valid at their times are a
crossing: an incident of its own kind. Where it crossed is interpolated between them by their
distances to the line; which way it went is a fact of the observations (from one side to the
other), not an attribution to a party, which only a joint finding makes.
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class TrackPosition:
    key: int
    ref: str
    observed_at: datetime
    lat: float
    lon: float
    ce_m: float
    category: str
    platform_id: str
    line_side: str | None
    distance_to_line_m: float | None


@dataclass(frozen=True)
class Crossing:
    id: str
    before: TrackPosition
    after: TrackPosition
    lat: float
    lon: float
    ce_m: float

    @property
    def from_side(self) -> str:
        return self.before.line_side or ""

    @property
    def to_side(self) -> str:
        return self.after.line_side or ""


def crossing_id(before: TrackPosition, after: TrackPosition) -> str:
    return "LX-" + hashlib.sha256(f"{before.ref}>{after.ref}".encode()).hexdigest()[:12]


def crossings(track: list[TrackPosition]) -> list[Crossing]:
    """The crossings of one track (its positions in any order)."""
    ordered = sorted(track, key=lambda p: (p.observed_at, p.ref))
    found = []
    for before, after in itertools.pairwise(ordered):
        if not before.line_side or not after.line_side or before.line_side == after.line_side:
            continue
        da = abs(before.distance_to_line_m or 0.0)
        db = abs(after.distance_to_line_m or 0.0)
        f = da / (da + db) if da + db > 0 else 0.5
        found.append(
            Crossing(
                id=crossing_id(before, after),
                before=before,
                after=after,
                lat=before.lat + f * (after.lat - before.lat),
                lon=before.lon + f * (after.lon - before.lon),
                ce_m=max(before.ce_m, after.ce_m),
            )
        )
    return found
