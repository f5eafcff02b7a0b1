"""How busy a simulated period is: presets from a quiet day to a bad one.

``quiet`` is the simulator's default (about 50 events a day over the whole line, a quiet but
tense ceasefire). ``busy`` and ``bad-day`` have the rates of real missions on bad days (the
OSCE SMM counted 2,158 violations in one region in 48 hours in February 2022, about 45 an
hour): fire concentrated in a few hot areas, the same place shelled again hours later, an
explosion and small-arms fire within minutes and a kilometre or two of each other, columns of
heavy weapons that move for an hour, and reports re-sent under a new id. ``escalation`` goes
from a quiet to a bad rate over the period. docs/simulator.md lists the figures; every one of
them is an assumption of this simulator.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from ceasefire.sim.events import KINDS, KindSpec


@dataclass(frozen=True)
class Preset:
    """The rates and habits of one kind of period."""

    name: str
    kinds: Mapping[str, KindSpec]
    hotspots: int = 5  # hot areas per line
    hotspot_share: float = 0.7  # of the clustered kinds, the share around a hot area
    hotspot_sd_m: float = 4_000.0  # spread along the line around a hot area
    start_rate: float = 1.0  # the rate at the start relative to the end (rising between)
    repeat_share: float = 0.0  # of fire events, the share fired again at the same place
    repeat_hours: tuple[float, float] = (1.0, 4.0)  # how much later
    mixed_share: float = 0.0  # of explosions, the share with small-arms fire nearby
    mixed_km: tuple[float, float] = (0.5, 2.0)  # how far from the explosion
    mixed_min: float = 5.0  # within how many minutes of it
    duplicate_share: float = 0.0  # of drone reports, the share sent again under a new id
    column_kmh: tuple[float, float] = (15.0, 30.0)  # how fast heavy weapons move
    launch_share: float = 0.5  # of mortar and artillery impacts, the share whose launch is
    # an event of its own (ceasefire.sim.launches)
    direction_share: float = 0.3  # of those impacts, the share whose drones say where the
    # fire came from


def _scaled(
    rates: Mapping[str, float], longer: Mapping[str, tuple[float, float]]
) -> dict[str, KindSpec]:
    return {
        kind: replace(
            spec,
            per_day=spec.per_day * rates.get(kind, 1.0),
            duration_min=longer.get(kind, spec.duration_min),
        )
        for kind, spec in KINDS.items()
    }


FIRE = ("explosion", "muzzle_flash", "small_arms_fire")
HOUR_LONG_COLUMNS = {"heavy_weapon": (40.0, 90.0)}
"""Columns slower on a bad day's roads (8-15 km/h) and longer on the move."""

QUIET = Preset("quiet", KINDS)
BUSY = Preset(
    "busy",
    _scaled(
        {
            "explosion": 6.0,
            "muzzle_flash": 6.0,
            "small_arms_fire": 6.0,
            "heavy_weapon": 3.0,
            "line_crossing": 2.0,
            "fortification": 2.0,
            "civilian_traffic": 1.5,
            "uav_flight": 2.0,
        },
        HOUR_LONG_COLUMNS,
    ),
    hotspots=4,
    hotspot_share=0.8,
    hotspot_sd_m=3_000.0,
    repeat_share=0.1,
    mixed_share=0.2,
    duplicate_share=0.02,
    column_kmh=(8.0, 15.0),
)
BAD_DAY = Preset(
    "bad-day",
    _scaled(
        {
            "explosion": 38.0,
            "muzzle_flash": 32.0,
            "small_arms_fire": 38.0,
            "heavy_weapon": 5.0,
            "line_crossing": 3.0,
            "fortification": 3.0,
            "civilian_traffic": 2.0,
            "uav_flight": 3.0,
        },
        HOUR_LONG_COLUMNS,
    ),
    hotspots=4,
    hotspot_share=0.85,
    hotspot_sd_m=3_000.0,
    repeat_share=0.15,
    mixed_share=0.3,
    duplicate_share=0.03,
    column_kmh=(8.0, 15.0),
)
ESCALATION = replace(BAD_DAY, name="escalation", start_rate=0.05)
"""From a rate near the quiet one to a bad day's over the period, rising steadily (on average
about half a bad day's)."""

PRESETS: Mapping[str, Preset] = {p.name: p for p in (QUIET, BUSY, BAD_DAY, ESCALATION)}
