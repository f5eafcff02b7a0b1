"""Malformed records for the intake tests: each breaks one known field of a good record."""

from __future__ import annotations

import copy
import math
from typing import Any

from hypothesis import strategies as st
from observation_strategies import GOOD

# (field path in the record, values that make it invalid)
RECORD_MUTATIONS: list[tuple[str, list[Any]]] = [
    ("id", ["", " x", "a b", "x" * 200, 5, None, "é"]),
    ("contingent", ["ru", "RUSS", "", 1, "R1", None]),
    ("platform.id", ["", "a b", 7]),
    ("platform.type", ["mig-29", "", 3, "Orlan-10"]),
    ("sortie", ["a b", "", 12]),
    (
        "observed_at",
        [
            "2021-02-01T10:32:00",
            "2021-02-01",
            "yesterday",
            "2021-13-01T00:00:00Z",
            20210201,
            "2021-02-30T10:00:00Z",
            None,
            "2021-02-01T10:32:00+25:00",
        ],
    ),
    ("observed_until", ["2021-01-01T00:00:00Z", "soon", 5]),
    ("location.lat", [90.0001, -90.5, 1e6, "39.9", True, None]),
    ("location.lon", [180.5, -181, "46", False]),
    ("location.ce_m", [-1, "50", 2e6, None]),
    ("category", ["shelling", "", 5, "Explosion"]),
    ("qualifiers.explosion", ["boom", 1, None]),
    ("qualifiers.calibre_mm", [0, -5, "120", True, 1e7]),
    ("qualifiers.weapon", ["slingshot", 3]),
    ("qualifiers.direction_deg", [360, -1, 400.5]),
    ("qualifiers.colour", ["red"]),
    ("count", [0, -1, 1.5, "3", True, 10**7]),
    ("count_approx", ["yes", 1, None]),
    ("sensed_by", ["radar", "", "Drone-EO"]),
    ("evidence[0].sha256", ["abc", "g" * 64, "a" * 65, 1]),
    ("evidence[0].media_type", ["video", "", "a b/c"]),
    ("evidence[0].uri", ["a b", ""]),
    ("remarks", ["bad\x00char", "x" * 5000, 3]),
    ("lang", ["xx", "english", 1]),
    ("colour", [1]),
]

NUMBERED: list[tuple[str, Any]] = [
    (field, value) for field, values in RECORD_MUTATIONS for value in values
]
"""Every (field, bad value) pair."""


def set_path(record: dict[str, Any], path: str, value: Any) -> None:
    """Set the field at ``path`` (dotted, ``[0]`` for a list's first item) to ``value``."""
    target: Any = record
    parts = path.replace("[0]", ".0").split(".")
    for part in parts[:-1]:
        target = target[int(part)] if part.isdigit() else target[part]
    last = parts[-1]
    if last.isdigit():
        target[int(last)] = value
    else:
        target[last] = value


def mutated(field: str, value: Any) -> dict[str, Any]:
    """A copy of the good record with one field set to a bad value."""
    record = copy.deepcopy(GOOD)
    set_path(record, field, value)
    return record


mutations = st.sampled_from(NUMBERED)
"""(field, value) pairs that make the good record invalid in exactly that field."""


def is_finite_json(value: Any) -> bool:
    return not (isinstance(value, float) and not math.isfinite(value))
