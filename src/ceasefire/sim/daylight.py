"""Day or night at a place and time: what a sensor can see depends on it.

The sun's elevation from the usual low-precision formulas (declination from the day of the
year, hour angle from the mean solar time at the longitude; no equation of time, error < 1
degree and a few minutes, plenty for choosing between a day and a night sensor). It counts as
day while the sun is above :data:`TWILIGHT_DEG` (civil twilight: enough light for a
daylight camera).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]

TWILIGHT_DEG = -6.0


def sun_elevation_deg(lat: npt.ArrayLike, lon: npt.ArrayLike, seconds: npt.ArrayLike) -> F64:
    """The sun's elevation in degrees at (lat, lon) at Unix times ``seconds``."""
    t = np.asarray(seconds, dtype=np.float64)
    # Unix day 0 is 1 Jan 1970: days since then modulo the tropical year is the day of the
    # year to within a day (leap years drift it back and forth by less than one).
    day_of_year = (t / 86400.0) % 365.2422
    declination = np.radians(23.44) * np.sin(2 * np.pi * (day_of_year + 284.0) / 365.0)
    solar_hours = (t % 86400.0) / 3600.0 + np.asarray(lon, dtype=np.float64) / 15.0
    hour_angle = np.radians(15.0 * (solar_hours - 12.0))
    phi = np.radians(np.asarray(lat, dtype=np.float64))
    sin_elevation = np.sin(phi) * np.sin(declination) + np.cos(phi) * np.cos(declination) * np.cos(
        hour_angle
    )
    return np.asarray(np.degrees(np.arcsin(np.clip(sin_elevation, -1.0, 1.0))), dtype=np.float64)


def is_day(lat: npt.ArrayLike, lon: npt.ArrayLike, seconds: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """True where the sun is above civil twilight."""
    return np.asarray(sun_elevation_deg(lat, lon, seconds) > TWILIGHT_DEG, dtype=np.bool_)
