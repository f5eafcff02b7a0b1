"""Observation records of the demo mission the tests submit, made in one place."""

from __future__ import annotations

from typing import Any

CATEGORIES = ("explosion", "small_arms_fire", "uav_flight")
QUALIFIERS: dict[str, dict[str, Any]] = {
    "explosion": {"explosion": "impact"},
    "small_arms_fire": {},
    "uav_flight": {},
}


def varied(
    i: int, contingent: str = "RU", series: str = "A", minute: int | None = 32, /, **changes: Any
) -> dict[str, Any]:
    """Record ``i`` of a series spread over places, days and categories (ids ``RU-A00000``,
    ...); observed at ``minute`` past ten, or, with None, at minute ``i % 60``. ``changes``
    replace fields (the contingent's too, the id staying as made)."""
    category = CATEGORIES[i % len(CATEGORIES)]
    at = i % 60 if minute is None else minute
    base: dict[str, Any] = {
        "id": f"{contingent}-{series}{i:05d}",
        "contingent": contingent,
        "platform": {"id": "orlan-10-07", "type": "orlan-10"},
        "observed_at": f"2021-02-{1 + i % 20:02d}T10:{at:02d}:00Z",
        "location": {"lat": 39.80 + (i % 10) * 0.03, "lon": 46.60 + (i % 7) * 0.05, "ce_m": 50},
        "category": category,
        "qualifiers": QUALIFIERS[category],
        "sensed_by": "drone-eo",
    }
    base.update(changes)
    return base


def explosion(
    i: int, contingent: str = "RU", series: str = "T", step: float = 1e-4, /, **changes: Any
) -> dict[str, Any]:
    """Record ``i`` of a series of impacts at one time, ``step`` degrees apart northwards
    (ids ``RU-T00000``, ...)."""
    base: dict[str, Any] = {
        "id": f"{contingent}-{series}{i:05d}",
        "contingent": contingent,
        "platform": {"id": "orlan-10-07", "type": "orlan-10"},
        "observed_at": "2021-02-01T10:32:00Z",
        "location": {"lat": 39.93 + i * step, "lon": 46.83, "ce_m": 50},
        "category": "explosion",
        "qualifiers": {"explosion": "impact"},
        "sensed_by": "drone-eo",
    }
    base.update(changes)
    return base
