"""The set-up the tests share: a center over a test's database and mission, and its intake."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from ceasefire.center import Center
from ceasefire.geo import Enricher
from ceasefire.ingest.pipeline import Intake
from ceasefire.mission import Mission


def center_of(engine: Engine, mission: Mission, enricher: Enricher | None = None) -> Center:
    """The center over ``engine`` (migrated) and ``mission``; the engine stays the test's."""
    return Center(mission=mission, engine=engine, enricher=enricher)


def intake_of(
    engine: Engine, mission: Mission, enricher: Enricher | None = None, **options: Any
) -> Intake:
    """A new intake of that center (the mission stored first); ``options`` are those of
    :meth:`Center.intake` (contingent, correlate, keep_outcomes, on_reject, batch_size)."""
    return center_of(engine, mission, enricher).intake(**options)
