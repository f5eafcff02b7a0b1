"""Fixtures for the workflow: a database with the demo mission, one incident and a staff."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from workflow_support import STAFF, T0, Center, insert_incident

from ceasefire.mission import Mission
from ceasefire.store.schema import missions
from ceasefire.workflow.roles import add_user


@pytest.fixture
def center(engine: sa.Engine, demo_mission: Mission) -> Center:
    with engine.begin() as db:
        key = db.execute(
            sa.insert(missions).values(
                mission_id=demo_mission.id,
                version=1,
                digest=demo_mission.digest,
                loaded_at=T0,
                source="test",
                note="",
            )
        ).inserted_primary_key[0]  # type: ignore[index]
        insert_incident(db, "INC-1", key)
        staff = {
            name: add_user(db, demo_mission, name, role, aff, at=T0) for name, role, aff in STAFF
        }

    def new_incident(incident_id: str) -> str:
        with engine.begin() as db:
            insert_incident(db, incident_id, key)
        return incident_id

    return Center(engine, demo_mission, staff, new_incident)
