"""ceasefire: a joint ceasefire monitoring center.

Observations of a ceasefire line go in; incidents, joint findings, decisions, notices and a
record that neither contingent can rewrite come out. The library comes first: the command line
and the web layer are thin shells over it.

The public API is small::

    from ceasefire import Center, Settings, load_settings, Observation, InputError

    with Center(load_settings()) as center:          # the settings file, CEASEFIRE_*, options
        result = center.ingest(items, "upload.jsonl")

Everything else is reached through its room (``ceasefire.intake.formats``,
``ceasefire.ledger`` ...; see docs/architecture.md). The names below are imported when first
used, so ``import ceasefire`` stays light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_PUBLIC = {
    "Center": "ceasefire.center",
    "Settings": "ceasefire.center",
    "load_settings": "ceasefire.center",
    "Observation": "ceasefire.observations",
    "TrackPoint": "ceasefire.observations",
    "PointOfInterest": "ceasefire.observations",
    "Rejection": "ceasefire.intake",
    "IntakeResult": "ceasefire.ingest",
    "Problem": "ceasefire.errors",
    "CeasefireError": "ceasefire.errors",
    "InputError": "ceasefire.errors",
}

if TYPE_CHECKING:
    from ceasefire.center import Center, Settings, load_settings
    from ceasefire.errors import CeasefireError, InputError, Problem
    from ceasefire.ingest import IntakeResult
    from ceasefire.intake import Rejection
    from ceasefire.observations import Observation, PointOfInterest, TrackPoint


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'ceasefire' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_PUBLIC])


__all__ = [
    "CeasefireError",
    "Center",
    "InputError",
    "IntakeResult",
    "Observation",
    "PointOfInterest",
    "Problem",
    "Rejection",
    "Settings",
    "TrackPoint",
    "__version__",
    "load_settings",
]
