"""The intake tests share the observation strategies of tests/observations, and the intake the
listeners take."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from ceasefire.ingest.pipeline import Intake
from ceasefire.mission import Mission
from centers import center_of

_STRATEGIES = str(Path(__file__).parents[1] / "observations")
if _STRATEGIES not in sys.path:
    sys.path.insert(0, _STRATEGIES)


@pytest.fixture
def make_intake(engine: Engine, demo_mission: Mission, demo_enricher: Any) -> Callable[[], Intake]:
    """A new intake of the test's center each call (what the listeners take); the mission is
    stored at once."""
    center = center_of(engine, demo_mission, demo_enricher)
    center.mission_row  # noqa: B018 (stored now, not in a listener's thread)
    return center.intake
