"""What the workflow tests share: the clock, the staff, a center with one incident."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from ceasefire.incidents.tables import incidents
from ceasefire.mission import Mission
from ceasefire.workflow import User, assessments

T0 = datetime(2021, 2, 1, 10, 0, tzinfo=UTC)
STAFF = [
    ("ru-do", "duty_officer", "RU"),
    ("ru-do2", "duty_officer", "RU"),
    ("ru-head", "head", "RU"),
    ("ru-head2", "head", "RU"),
    ("ru-analyst", "analyst", "RU"),
    ("tr-do", "duty_officer", "TR"),
    ("tr-head", "head", "TR"),
    ("tr-analyst", "analyst", "TR"),
    ("pk-liaison", "liaison", "PK"),
    ("am-liaison", "party_liaison", "AM"),
    ("az-liaison", "party_liaison", "AZ"),
    ("auditor", "auditor", ""),
]


def insert_incident(db: sa.Connection, incident_id: str, mission_key: int) -> None:
    db.execute(
        sa.insert(incidents).values(
            id=incident_id,
            mission=mission_key,
            status="open",
            kind="event",
            category="explosion",
            categories=json.dumps(["explosion"]),
            started_at=T0,
            ended_at=T0,
            lat=39.93,
            lon=46.83,
            ce_m=50.0,
            count=1,
            observation_count=1,
            contingents=json.dumps(["RU"]),
            platforms=json.dumps(["orlan-10-07"]),
            corroboration="single_source",
            rules=json.dumps([]),
            zones=json.dumps([]),
            updated_at=T0,
        )
    )


@dataclass
class Center:
    engine: sa.Engine
    mission: Mission
    users: dict[str, User]
    new_incident: Callable[[str], str]


def assess_both(center: Center, incident_id: str) -> None:
    """Both contingents assess the incident, so it is no longer blind."""
    view = {"violation": "yes", "clauses": ["1"], "attribution": "AZ"}
    with center.engine.begin() as db:
        for name in ("ru-do", "tr-do"):
            assessments.submit(db, center.mission, center.users[name], incident_id, at=T0, **view)
