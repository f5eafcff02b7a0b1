"""What each platform can do: the figures the simulator flies and senses with.

Every figure is a module constant so that a study can override it (``dataclasses.replace`` a
spec and pass it in, or edit the tables). The drone figures follow the public (weak) sources
in the mission's reference notes: Orlan-10 ~16 h endurance, cruise 90-150 km/h; Forpost
(licensed IAI Searcher II) ~18 h; Bayraktar TB2 ~24 h, ~130 km/h. Sensor footprints, detection
probabilities, position and time errors are *assumptions of this simulator*, chosen to be
plausible for the class of sensor, not measured values; docs/simulator.md lists them all.

Detection probability is the chance that an event *inside the footprint* during one pass is
noticed and reported, per category, by day (daylight camera) and by night (thermal camera):
a pair ``(day, night)``. ``ce_m`` is the CE90 of a reported position (90 % of reports lie
within it; the error is a circular normal with sigma = CE90 / 2.146). ``time_error_s`` is the
standard deviation of the reported time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

DetectionTable = Mapping[str, tuple[float, float]]

CE90_PER_SIGMA = 2.1460
"""CE90 / sigma of a circular normal error: sqrt(2 ln 10)."""

# A small tactical drone's daylight/thermal camera (Orlan-10 class): P(detect | in footprint).
BASE_DETECTION: DetectionTable = {
    "explosion": (0.85, 0.90),  # flash and smoke; the flash is plainer at night
    "muzzle_flash": (0.35, 0.75),
    "small_arms_fire": (0.30, 0.55),
    "movement_heavy_weapon": (0.80, 0.55),
    "movement_vehicle": (0.85, 0.60),
    "movement_personnel": (0.60, 0.45),
    "line_crossing": (0.75, 0.55),
    "fortification": (0.75, 0.35),
    "uav_flight": (0.30, 0.20),
    "other": (0.80, 0.90),  # fires: smoke by day, glow by night
}


def scaled(
    table: DetectionTable, factor: float, cap: float = 0.97
) -> dict[str, tuple[float, float]]:
    """A detection table for a better (factor > 1) or worse sensor, capped below certainty."""
    return {
        category: (round(min(cap, day * factor), 3), round(min(cap, night * factor), 3))
        for category, (day, night) in table.items()
    }


@dataclass(frozen=True)
class DroneSpec:
    """A drone type: how long and fast it flies and how well it sees."""

    type: str  # the platform type of the observation record
    name: str
    endurance_h: float
    cruise_kmh: float
    altitude_m: float  # height reported in track points (above the ellipsoid, nominal)
    footprint_m: float  # radius around the drone within which the sensor can see an event
    ce_m: float  # CE90 of a reported position
    time_error_s: float  # standard deviation of a reported time
    sortie_h: float  # planned sortie length (the rest of the endurance is reserve)
    turnaround_h: float  # on the ground between sorties
    patrol_km: float  # length of the stretch of line patrolled back and forth
    detection: DetectionTable

    def __post_init__(self) -> None:
        if self.sortie_h > self.endurance_h:
            raise ValueError(f"{self.type}: sortie {self.sortie_h} h > endurance")


ORLAN_10 = DroneSpec(
    type="orlan-10",
    name="Orlan-10",
    endurance_h=16.0,
    cruise_kmh=110.0,
    altitude_m=1500.0,
    footprint_m=3000.0,
    ce_m=80.0,
    time_error_s=20.0,
    sortie_h=8.0,
    turnaround_h=4.0,
    patrol_km=80.0,
    detection=dict(BASE_DETECTION),
)
FORPOST = DroneSpec(
    type="forpost",
    name="Forpost",
    endurance_h=18.0,
    cruise_kmh=150.0,
    altitude_m=3000.0,
    footprint_m=5000.0,
    ce_m=50.0,
    time_error_s=10.0,
    sortie_h=10.0,
    turnaround_h=6.0,
    patrol_km=120.0,
    detection=scaled(BASE_DETECTION, 1.08),
)
BAYRAKTAR_TB2 = DroneSpec(
    type="bayraktar-tb2",
    name="Bayraktar TB2",
    endurance_h=24.0,
    cruise_kmh=130.0,
    altitude_m=5000.0,
    footprint_m=6000.0,
    ce_m=30.0,
    time_error_s=5.0,
    sortie_h=12.0,
    turnaround_h=6.0,
    patrol_km=120.0,
    detection=scaled(BASE_DETECTION, 1.12),
)
DRONES: Mapping[str, DroneSpec] = {d.type: d for d in (ORLAN_10, FORPOST, BAYRAKTAR_TB2)}

TRACK_INTERVAL_S = 30
"""Seconds between a drone's position reports (CoT position events)."""

# -- ground observers: observation posts and patrols -------------------------------------------

Mode = Literal["heard", "seen"]


@dataclass(frozen=True)
class GroundSense:
    """How a ground observer perceives one category: by ear or by eye, and how far.

    The chance of noticing an event at distance d is ``p0 * (1 - (d / range) ** 2)`` inside the
    range (day or night), zero beyond it: near certain close by, falling off towards the edge.
    """

    mode: Mode
    range_day_m: float
    range_night_m: float
    p0: float


GROUND_SENSES: Mapping[str, GroundSense] = {
    "explosion": GroundSense("heard", 10_000, 10_000, 0.95),
    "small_arms_fire": GroundSense("heard", 3_000, 4_000, 0.85),  # sound carries at night
    "muzzle_flash": GroundSense("seen", 1_500, 6_000, 0.70),
    "movement_heavy_weapon": GroundSense("seen", 3_000, 800, 0.60),
    "movement_vehicle": GroundSense("seen", 3_000, 1_000, 0.60),
    "movement_personnel": GroundSense("seen", 1_500, 500, 0.50),
    "line_crossing": GroundSense("seen", 2_000, 600, 0.60),
    "fortification": GroundSense("seen", 2_000, 300, 0.50),
    "uav_flight": GroundSense("heard", 2_000, 2_000, 0.40),
    "other": GroundSense("seen", 8_000, 12_000, 0.80),  # smoke by day, glow by night
}


@dataclass(frozen=True)
class GroundSpec:
    """An observation post or a patrol: where it reports from and how well."""

    type: str  # the platform type: observation-post or patrol
    bearing_sd_deg: float  # standard deviation of the reported bearing
    distance_sd: float  # relative error of a distance estimate (log-normal sigma)
    time_error_s: float  # standard deviation of a reported time (then rounded to the minute)
    speed_kmh: float  # 0 for a fixed post
    senses: Mapping[str, GroundSense]


OBSERVATION_POST = GroundSpec(
    type="observation-post",
    bearing_sd_deg=3.0,
    distance_sd=0.25,
    time_error_s=60.0,
    speed_kmh=0.0,
    senses=GROUND_SENSES,
)
PATROL = GroundSpec(
    type="patrol",
    bearing_sd_deg=4.0,
    distance_sd=0.30,
    time_error_s=90.0,
    speed_kmh=20.0,
    senses=GROUND_SENSES,
)

DISTANCE_BANDS_M: tuple[tuple[float, float], ...] = (
    (0.0, 1_000.0),
    (1_000.0, 2_000.0),
    (2_000.0, 4_000.0),
    (4_000.0, 7_000.0),
    (7_000.0, 10_000.0),
    (10_000.0, 15_000.0),
    (15_000.0, 25_000.0),
)
"""The distance bands a ground observer reports (an estimate, not a measurement)."""

POSTS = 20
"""Observation posts along the line (alternating sides and contingents)."""
PATROLS_PER_DAY = 1
"""Daylight ground patrols per contingent and day."""
PATROL_HOURS = 5.0
PATROL_KM = 20.0

# -- party complaints --------------------------------------------------------------------------


@dataclass(frozen=True)
class ComplaintSpec:
    """How the parties complain: about which true violations, how precisely, how often falsely."""

    ce_m: float  # CE90 of the place a complaint gives
    time_error_s: float  # standard deviation of the time it gives (then rounded)
    round_s: int  # complaints give times to the nearest 5 minutes
    probability: Mapping[str, float]  # P(the other party complains | a violation of a category)
    false_per_day: float  # false complaints per party and 24 h


PARTY_COMPLAINT = ComplaintSpec(
    ce_m=3_000.0,
    time_error_s=1_200.0,
    round_s=300,
    probability={
        "explosion": 0.5,
        "small_arms_fire": 0.25,
        "muzzle_flash": 0.15,
        "movement_heavy_weapon": 0.3,
        "line_crossing": 0.4,
        "fortification": 0.3,
    },
    false_per_day=1.5,
)
