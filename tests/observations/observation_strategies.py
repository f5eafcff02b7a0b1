"""Hypothesis strategies and fixtures for observation records, shared by the intake tests.

Imported as ``observation_strategies`` (tests/intake/conftest.py puts this folder on the path).
"""

from __future__ import annotations

import copy
import hashlib
import os
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from ceasefire.observations import Observation, parse_observation
from ceasefire.observations.taxonomy import (
    CATEGORIES,
    LANGUAGES,
    PLATFORM_TYPES,
    SENSED_BY,
    QualifierSpec,
)

_EXAMPLES = os.environ.get("CEASEFIRE_FUZZ_EXAMPLES")
FAST = settings(
    database=None,
    deadline=None,
    max_examples=int(_EXAMPLES) if _EXAMPLES else 40,
    derandomize=not _EXAMPLES,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
"""Settings of the property tests: 40 examples (30 to 40 malformed records each, so well over
1,000 per format), the same examples on every run so that CI is not flaky. Set
CEASEFIRE_FUZZ_EXAMPLES=500 to explore more, with fresh random examples."""

GOOD: dict[str, Any] = {
    "id": "RU-0001",
    "contingent": "RU",
    "platform": {"id": "orlan-10-07", "type": "orlan-10"},
    "sortie": "RU-S-0042",
    "observed_at": "2021-02-01T10:32:00Z",
    "location": {"lat": 39.93, "lon": 46.83, "ce_m": 50},
    "category": "explosion",
    "qualifiers": {"explosion": "impact", "weapon": "mortar", "calibre_mm": 120},
    "count": 3,
    "count_approx": False,
    "sensed_by": "drone-eo",
    "evidence": [
        {"sha256": hashlib.sha256(b"clip").hexdigest(), "media_type": "video/mp4", "uri": "e/1.mp4"}
    ],
    "remarks": "Три разрыва, без пострадавших.",
    "lang": "ru",
}


def good_record(**changes: Any) -> dict[str, Any]:
    record = copy.deepcopy(GOOD)
    record.update(changes)
    return record


def good_observation(**changes: Any) -> Observation:
    return parse_observation(good_record(**changes))


identifiers = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,20}", fullmatch=True)
latitudes = st.floats(min_value=-89.0, max_value=89.0, allow_nan=False)
longitudes = st.floats(min_value=-179.0, max_value=179.0, allow_nan=False)
plain_text = st.text(
    alphabet=st.characters(
        codec="utf-8", exclude_categories=("Cc", "Cs"), exclude_characters="\u2028\u2029"
    ),
    min_size=1,
    max_size=60,
).filter(lambda t: t.strip() == t and t.strip() != "")


def _qualifier_value(spec: QualifierSpec) -> st.SearchStrategy[object]:
    if spec.kind == "enum":
        return st.sampled_from(spec.values)
    if spec.kind == "bearing":
        return st.floats(min_value=0, max_value=359.99, allow_nan=False)
    if spec.kind == "positive":
        return st.integers(min_value=1, max_value=500) | st.floats(
            min_value=0.1, max_value=500, allow_nan=False
        )
    if spec.kind == "non_negative":
        return st.floats(min_value=0, max_value=10_000, allow_nan=False)
    if spec.kind == "whole":
        return st.integers(min_value=0, max_value=50)
    if spec.kind == "flag":
        return st.booleans()
    return plain_text


@st.composite
def qualifiers_for(draw: st.DrawFn, category: str) -> dict[str, object]:
    spec = CATEGORIES[category]
    if spec.open_qualifiers:
        keys = draw(st.lists(st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True), max_size=3))
        return {k: draw(st.integers(0, 9) | plain_text | st.booleans()) for k in keys}
    names = draw(st.lists(st.sampled_from(sorted(spec.qualifiers)), unique=True, max_size=4))
    return {name: draw(_qualifier_value(spec.qualifiers[name])) for name in names}


times = st.datetimes(min_value=datetime(2020, 11, 10), max_value=datetime(2024, 1, 1)).map(
    lambda d: d.replace(tzinfo=UTC)
)
offsets = st.sampled_from(
    [UTC, timezone(timedelta(hours=3)), timezone(timedelta(hours=-4, minutes=-30))]
)


@st.composite
def records(draw: st.DrawFn) -> dict[str, Any]:
    """Valid observation records as JSON-like data, over every category and both place forms."""
    category = draw(st.sampled_from(sorted(CATEGORIES)))
    start = draw(times)
    record: dict[str, Any] = {
        "id": draw(identifiers),
        "contingent": draw(st.sampled_from(["RU", "TR", "OSC"])),
        "platform": {
            "id": draw(identifiers),
            "type": draw(st.sampled_from(PLATFORM_TYPES)),
        },
        "observed_at": start.astimezone(draw(offsets)).isoformat(),
        "category": category,
        "qualifiers": draw(qualifiers_for(category)),
        "count": draw(st.integers(min_value=1, max_value=1000)),
        "count_approx": draw(st.booleans()),
        "sensed_by": draw(st.sampled_from(SENSED_BY)),
    }
    if draw(st.booleans()):
        record["sortie"] = draw(identifiers)
    if draw(st.booleans()):
        duration = draw(st.integers(min_value=0, max_value=86_400))
        record["observed_until"] = (start + timedelta(seconds=duration)).isoformat()
    if draw(st.integers(0, 3)):
        record["location"] = {
            "lat": draw(latitudes),
            "lon": draw(longitudes),
            "ce_m": draw(st.floats(min_value=0, max_value=5000, allow_nan=False)),
        }
    else:
        low = draw(st.floats(min_value=0, max_value=20_000, allow_nan=False))
        high = draw(st.floats(min_value=max(low, 1.0), max_value=40_000, allow_nan=False))
        record["observer"] = {"lat": draw(latitudes), "lon": draw(longitudes)}
        record["bearing_deg"] = draw(st.floats(min_value=0, max_value=359.9, allow_nan=False))
        record["distance_m"] = [low, high]
    evidence = draw(st.lists(st.binary(min_size=1, max_size=8), max_size=2))
    if evidence:
        record["evidence"] = [
            {
                "sha256": hashlib.sha256(blob).hexdigest(),
                "media_type": draw(st.sampled_from(["video/mp4", "image/jpeg", "audio/ogg"])),
                **({"uri": f"evidence/{i}.bin"} if draw(st.booleans()) else {}),
            }
            for i, blob in enumerate(evidence)
        ]
    if draw(st.booleans()):
        record["remarks"] = draw(plain_text)
        record["lang"] = draw(st.sampled_from(LANGUAGES))
    return record


observations = records().map(parse_observation)
