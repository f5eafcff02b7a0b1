"""The line of contact as the simulator walks it: metric coordinates, arc length, sides.

The simulator places events, patrol routes and posts relative to the line of contact *valid at
the moment in question* (the mission's ``line_of_contact`` zones with their validity
intervals). :class:`LineBook` cuts time at every validity change and keeps one
:class:`ContactLine` per epoch: the valid lines' parts laid end to end in arc length, in the
metric projection of the geo engine (UTM of the mission area), with each part's left and right
party as digitised.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt
import shapely
from pyproj import CRS, Transformer

from ceasefire.mission.model import Mission, Zone

F64 = npt.NDArray[np.float64]


class Projection:
    """WGS84 <-> the mission's metric CRS (the geo engine's UTM zone)."""

    def __init__(self, crs: CRS) -> None:
        self.crs = crs
        self._fwd = Transformer.from_crs(4326, crs, always_xy=True)
        self._inv = Transformer.from_crs(crs, 4326, always_xy=True)

    def to_metric(self, lat: npt.ArrayLike, lon: npt.ArrayLike) -> tuple[F64, F64]:
        x, y = self._fwd.transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
        return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)

    def to_geo(self, x: npt.ArrayLike, y: npt.ArrayLike) -> tuple[F64, F64]:
        lon, lat = self._inv.transform(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
        return np.asarray(lat, dtype=np.float64), np.asarray(lon, dtype=np.float64)


@dataclass(frozen=True)
class LinePart:
    """One connected piece of a valid line: vertices in metres and cumulative length."""

    x: F64
    y: F64
    cum: F64  # cumulative length at each vertex, from 0
    left_party: str | None
    right_party: str | None
    zone_id: str

    @property
    def length(self) -> float:
        return float(self.cum[-1])


class ContactLine:
    """The line of contact of one epoch, its parts laid end to end in arc length."""

    def __init__(self, parts: list[LinePart]) -> None:
        self.parts = tuple(parts)
        lengths = np.array([p.length for p in parts], dtype=np.float64)
        self.offsets: F64 = np.concatenate([[0.0], np.cumsum(lengths)])
        self.length = float(self.offsets[-1])
        self.key = tuple(p.zone_id for p in parts)

    def locate(self, s: float) -> tuple[int, float]:
        """The part holding arc length ``s`` (clipped to the line) and the length within it."""
        s = min(max(s, 0.0), self.length)
        i = int(np.searchsorted(self.offsets, s, side="right")) - 1
        i = min(max(i, 0), len(self.parts) - 1)
        return i, s - float(self.offsets[i])

    def point(self, s: float) -> tuple[float, float, float, float, LinePart]:
        """Position (x, y), unit tangent (tx, ty) and part at arc length ``s``."""
        i, u = self.locate(s)
        part = self.parts[i]
        k = int(np.searchsorted(part.cum, u, side="right")) - 1
        k = min(max(k, 0), len(part.cum) - 2)
        dx, dy = part.x[k + 1] - part.x[k], part.y[k + 1] - part.y[k]
        seg = float(np.hypot(dx, dy)) or 1.0
        f = (u - part.cum[k]) / seg
        return (
            float(part.x[k] + f * dx),
            float(part.y[k] + f * dy),
            float(dx / seg),
            float(dy / seg),
            part,
        )

    def toward(self, s: float, party: str, distance_m: float) -> tuple[float, float]:
        """The point ``distance_m`` from the line at ``s``, on ``party``'s side (as digitised).

        The left normal of the tangent points to the part's ``left_party``. A party on neither
        side of this part gets the left side (the caller checks sides with the Enricher).
        """
        x, y, tx, ty, part = self.point(s)
        sign = -1.0 if party == part.right_party and party != part.left_party else 1.0
        return x - sign * ty * distance_m, y + sign * tx * distance_m

    def stretch(self, s0: float, s1: float) -> tuple[F64, F64]:
        """The polyline of the line between arc lengths ``s0 < s1`` within one part."""
        i, u0 = self.locate(s0)
        part = self.parts[i]
        u1 = min(s1 - float(self.offsets[i]), part.length)
        inner = (part.cum > u0) & (part.cum < u1)
        us = np.concatenate([[u0], part.cum[inner], [u1]])
        return np.interp(us, part.cum, part.x), np.interp(us, part.cum, part.y)

    def part_span(self, s: float) -> tuple[float, float]:
        """Arc lengths where the part holding ``s`` begins and ends."""
        i, _u = self.locate(s)
        return float(self.offsets[i]), float(self.offsets[i + 1])


def _seconds(moment: datetime | None) -> float:
    return np.inf if moment is None else moment.timestamp()


class LineBook:
    """The valid line of contact at any moment, one :class:`ContactLine` per epoch."""

    def __init__(self, mission: Mission, projection: Projection) -> None:
        self.projection = projection
        self._zones: list[Zone] = [z for z in mission.zones if z.kind == "line_of_contact"]
        breaks = sorted(
            {_seconds(z.valid_from) for z in self._zones}
            | {_seconds(z.valid_until) for z in self._zones}
        )
        self._breaks = np.array(breaks, dtype=np.float64)
        self._cache: dict[int, ContactLine | None] = {}

    def at_seconds(self, seconds: float) -> ContactLine | None:
        epoch = int(np.searchsorted(self._breaks, seconds, side="right"))
        if epoch not in self._cache:
            valid = [
                z
                for z in self._zones
                if _seconds(z.valid_from) <= seconds < _seconds(z.valid_until)
            ]
            parts: list[LinePart] = []
            for zone in sorted(valid, key=lambda z: z.id):
                for piece in shapely.get_parts(zone.geometry):
                    lon, lat = np.asarray(piece.coords)[:, :2].T
                    x, y = self.projection.to_metric(lat, lon)
                    step = np.hypot(np.diff(x), np.diff(y))
                    if len(x) < 2 or step.sum() < 1.0:
                        continue
                    parts.append(
                        LinePart(
                            x=x,
                            y=y,
                            cum=np.concatenate([[0.0], np.cumsum(step)]),
                            left_party=zone.left_party,
                            right_party=zone.right_party,
                            zone_id=zone.id,
                        )
                    )
            self._cache[epoch] = ContactLine(parts) if parts else None
        return self._cache[epoch]

    def at(self, moment: datetime) -> ContactLine | None:
        return self.at_seconds(moment.timestamp())
