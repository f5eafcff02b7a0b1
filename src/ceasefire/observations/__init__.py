"""The canonical observation record, its taxonomy and its JSON Schema.

Everything that comes in (JSON Lines, CSV, GeoJSON, CoT, TAK, MISB 0601) becomes an
:class:`Observation`; drone positions become :class:`TrackPoint` and sensor aim points
:class:`PointOfInterest`. See DESIGN.md section 5 for the record's field names.
"""

from ceasefire.observations.record import (
    BEARING_UNCERTAINTY_DEG,
    Evidence,
    FieldProblem,
    Location,
    Observation,
    ObservationError,
    Observer,
    Platform,
    format_time,
    locate,
    parse_observation,
    parse_time,
)
from ceasefire.observations.taxonomy import (
    CATEGORIES,
    CATEGORY_NAMES,
    LANGUAGES,
    PLATFORM_TYPES,
    SENSED_BY,
    Category,
    PlatformType,
    SensedBy,
)
from ceasefire.observations.track import PointOfInterest, TrackPoint

__all__ = [
    "BEARING_UNCERTAINTY_DEG",
    "CATEGORIES",
    "CATEGORY_NAMES",
    "LANGUAGES",
    "PLATFORM_TYPES",
    "SENSED_BY",
    "Category",
    "Evidence",
    "FieldProblem",
    "Location",
    "Observation",
    "ObservationError",
    "Observer",
    "Platform",
    "PlatformType",
    "PointOfInterest",
    "SensedBy",
    "TrackPoint",
    "format_time",
    "locate",
    "parse_observation",
    "parse_time",
]
