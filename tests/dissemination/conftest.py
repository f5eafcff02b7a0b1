"""Fixtures for dissemination: the demo mission's center with one incident."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from dissemination_support import Center, make_center

from ceasefire.mission import Mission


@pytest.fixture
def center(engine: sa.Engine, demo_mission: Mission) -> Center:
    return make_center(engine, demo_mission)
