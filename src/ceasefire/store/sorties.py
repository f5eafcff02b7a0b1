"""Sorties: a platform's track points grouped into flights.

A sortie is the run of one platform's track points that share a sortie id, or, where the
source gave none, that follow each other with no gap longer than `GAP`. Its id is the source's
id, else ``<platform>@<start time>``. Observations name their sortie when they have one; one
without a sortie belongs to the sortie of its platform that was airborne at its time.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pyproj import Geod
from sqlalchemy import Engine, select

from ceasefire.store.schema import track_points
from ceasefire.timeutil import iso

GAP = timedelta(minutes=30)
_GEOD = Geod(ellps="WGS84")


@dataclass
class Sortie:
    id: str
    platform_id: str
    platform_type: str | None
    contingent: str | None
    start: datetime
    end: datetime
    track: list[tuple[datetime, float, float]] = field(default_factory=list, repr=False)

    @property
    def length_km(self) -> float:
        if len(self.track) < 2:
            return 0.0
        lons = [p[2] for p in self.track]
        lats = [p[1] for p in self.track]
        return float(_GEOD.line_length(lons, lats)) / 1000

    def as_dict(self, with_track: bool = False) -> dict[str, object]:
        data: dict[str, object] = {
            "id": self.id,
            "platform": {"id": self.platform_id, "type": self.platform_type},
            "contingent": self.contingent,
            "start": iso(self.start),
            "end": iso(self.end),
            "points": len(self.track),
            "length_km": round(self.length_km, 1),
        }
        if with_track:
            data["track"] = [[iso(t), lat, lon] for t, lat, lon in self.track]
        return data


def sorties(
    engine: Engine, since: datetime | None = None, until: datetime | None = None
) -> Iterator[Sortie]:
    """The sorties with track points in [since, until), platform by platform, in time order."""
    query = select(track_points).order_by(track_points.c.platform_id, track_points.c.time)
    if since is not None:
        query = query.where(track_points.c.time >= since)
    if until is not None:
        query = query.where(track_points.c.time < until)
    current: Sortie | None = None
    with engine.connect() as db:
        for row in db.execute(query):
            starts_new = (
                current is None
                or row.platform_id != current.platform_id
                or (row.sortie or None) != _given_id(current)
                or (row.sortie is None and row.time - current.end > GAP)
            )
            if starts_new:
                if current is not None:
                    yield current
                current = Sortie(
                    id=row.sortie or f"{row.platform_id}@{iso(row.time)}",
                    platform_id=row.platform_id,
                    platform_type=row.platform_type,
                    contingent=row.contingent,
                    start=row.time,
                    end=row.time,
                )
            assert current is not None
            current.end = row.time
            current.track.append((row.time, row.lat, row.lon))
    if current is not None:
        yield current


def _given_id(sortie: Sortie) -> str | None:
    return (
        None if "@" in sortie.id and sortie.id.startswith(sortie.platform_id + "@") else sortie.id
    )


def sortie_at(sorties_: list[Sortie], platform_id: str, when: datetime) -> Sortie | None:
    """The sortie of a platform that was flying at a time, if any."""
    for sortie in sorties_:
        if sortie.platform_id == platform_id and sortie.start <= when <= sortie.end:
            return sortie
    return None
