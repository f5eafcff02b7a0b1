"""An incident: the observations of one event, fused, with what the rules and sources say."""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ceasefire.mission.model import SEVERITIES, Mission
from ceasefire.observations.record import BEARING_UNCERTAINTY_DEG

COMPLAINT = "party-complaint"
CORROBORATIONS = (
    "single_source",
    "several_platforms",
    "several_contingents",
    "both_contingents",
    "party_complaint_only",
)
"""What :func:`corroboration` says of an incident's sources, weakest first."""


@dataclass(slots=True)
class Member:
    """What correlation needs to know of one stored observation (read, never changed: not
    frozen only because a frozen dataclass costs several times as much to make, and
    correlation makes one per stored observation it looks at)."""

    key: int  # observations.id
    contingent: str
    source_id: str
    platform_id: str
    platform_type: str
    observed_at: datetime
    observed_until: datetime | None
    lat: float
    lon: float
    ce_m: float
    category: str
    count: int
    rules: tuple[str, ...]
    incident_id: str | None
    track: str | None = None  # the source's id of the moving object it saw
    # What else tells two events apart (correlate.Evidence): the qualifiers said, and for a
    # report by bearing and distance, the bearing and the CE across it.
    qualifiers: Mapping[str, Any] = field(default_factory=dict)
    bearing_deg: float | None = None
    across_m: float | None = None

    @property
    def ref(self) -> str:
        return f"{self.contingent}/{self.source_id}"

    def order(self) -> tuple[datetime, str, str]:
        return (self.observed_at, self.contingent, self.source_id)


def across_bearing_m(bearing_deg: Any, distance_m: Any) -> float | None:
    """For a report by bearing and distance band, its CE across the bearing: how far the
    bearing's error reaches at the band's far edge (the lateral part of :func:`locate`'s CE);
    None for a report of a place."""
    if bearing_deg is None or not distance_m:
        return None
    return float(distance_m[1]) * math.sin(math.radians(BEARING_UNCERTAINTY_DEG))


def incident_id(earliest: Member) -> str:
    """Stable: derived from the incident's earliest observation, whoever correlates it."""
    return "INC-" + hashlib.sha256(earliest.ref.encode()).hexdigest()[:12]


def corroboration(members: Sequence[Member], contingents: Sequence[str]) -> str:
    monitors = [m for m in members if m.platform_type != COMPLAINT]
    if not monitors:
        return "party_complaint_only"
    seen_by = {m.contingent for m in monitors}
    if len(seen_by) > 1:
        return "both_contingents" if seen_by >= set(contingents) else "several_contingents"
    if len({m.platform_id for m in monitors}) > 1:
        return "several_platforms"
    return "single_source"


def fuse(members: Sequence[Member]) -> tuple[float, float, float]:
    """Inverse-variance weighted position; CE covers both the estimate and the spread.

    Plain Python: incidents have a handful of members, where numpy's overhead dominates."""
    weights = [1.0 / max(m.ce_m, 1.0) ** 2 for m in members]
    total = sum(weights)
    lat = sum(w * m.lat for w, m in zip(weights, members, strict=True)) / total
    lon = sum(w * m.lon for w, m in zip(weights, members, strict=True)) / total
    # Spread of the members around the fused point, in metres (small-area approximation).
    scale = 111_320.0
    cos_lat = math.cos(math.radians(lat))
    spread = math.sqrt(
        sum(
            w * (((m.lat - lat) * scale) ** 2 + ((m.lon - lon) * scale * cos_lat) ** 2)
            for w, m in zip(weights, members, strict=True)
        )
        / total
    )
    precision = math.sqrt(1.0 / total)
    return lat, lon, round(max(precision, spread), 1)


def summary(mission: Mission, members: Sequence[Member]) -> dict[str, object]:
    """The incident's fields that follow from its members alone."""
    ordered = sorted(members, key=Member.order)
    lat, lon, ce = fuse(ordered)
    categories = Counter(m.category for m in ordered)
    rules = sorted({r for m in ordered for r in m.rules})
    severity_of = {rule.id: rule.severity for rule in mission.config.rules}
    severities = [severity_of[r] for r in rules if r in severity_of]
    ends = [m.observed_until or m.observed_at for m in ordered]
    by_category: dict[str, int] = {}
    for m in ordered:
        by_category[m.category] = max(by_category.get(m.category, 0), m.count)
    return {
        "id": incident_id(ordered[0]),
        # The most reported category; ties go to the one reported first.
        "category": max(categories, key=lambda c: (categories[c], -list(categories).index(c))),
        "categories": sorted(categories),
        "started_at": ordered[0].observed_at,
        "ended_at": max(ends),
        "lat": lat,
        "lon": lon,
        "ce_m": ce,
        # Sources report the same shells: the largest count per category, summed.
        "count": sum(by_category.values()),
        "observation_count": len(ordered),
        "contingents": sorted({m.contingent for m in ordered}),
        "platforms": sorted({m.platform_id for m in ordered}),
        "corroboration": corroboration(ordered, mission.contingent_ids()),
        "rules": rules,
        "severity": max(severities, key=SEVERITIES.index) if severities else None,
        "members": ordered,
    }
