"""What the dissemination tests share: a center on the demo mission with one incident near
Shusha / Shushi seen by both contingents, its staff, and a decision made to take effect."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from ceasefire.incidents.tables import incidents
from ceasefire.mission import Mission
from ceasefire.store.schema import missions
from ceasefire.workflow import User, assessments, decisions
from ceasefire.workflow.roles import add_user

T0 = datetime(2021, 2, 1, 10, 0, tzinfo=UTC)
STAFF = [
    ("ru-do", "duty_officer", "RU"),
    ("ru-head", "head", "RU"),
    ("tr-do", "duty_officer", "TR"),
    ("tr-head", "head", "TR"),
    ("pk-liaison", "liaison", "PK"),
    ("am-liaison", "party_liaison", "AM"),
    ("az-liaison", "party_liaison", "AZ"),
]


@dataclass
class Center:
    engine: sa.Engine
    mission: Mission
    users: dict[str, User]
    key: int

    def incident(self, incident_id: str) -> str:
        with self.engine.begin() as db:
            db.execute(
                sa.insert(incidents).values(
                    id=incident_id,
                    mission=self.key,
                    status="open",
                    kind="event",
                    category="explosion",
                    categories=json.dumps(["explosion"]),
                    started_at=T0,
                    ended_at=T0 + timedelta(minutes=4),
                    lat=39.78,
                    lon=46.73,
                    ce_m=150.0,
                    count=2,
                    observation_count=2,
                    contingents=json.dumps(["RU", "TR"]),
                    platforms=json.dumps(["orlan-10-07", "tb2-03"]),
                    corroboration="both_contingents",
                    rules=json.dumps([]),
                    zones=json.dumps([]),
                    settlement_id="shusha-shushi",
                    settlement_distance_m=2600.0,
                    settlement_bearing_deg=320.0,
                    updated_at=T0,
                )
            )
        return incident_id

    def assess(self, incident_id: str, agree: bool = True) -> None:
        with self.engine.begin() as db:
            for name, attribution in (("ru-do", "AZ"), ("tr-do", "AZ" if agree else "AM")):
                assessments.submit(
                    db,
                    self.mission,
                    self.users[name],
                    incident_id,
                    violation="yes",
                    clauses=["1"],
                    attribution=attribution,
                    severity="high",
                    at=T0 + timedelta(minutes=30),
                )

    def decide(
        self,
        incident_id: str,
        reaction: str,
        *,
        party: str | None = None,
        contingent: str | None = None,
        at: datetime | None = None,
    ) -> decisions.Decision:
        """Make ``reaction`` take effect: two keys, or taken urgently."""
        when = at or T0 + timedelta(hours=1)
        m, u = self.mission, self.users
        with self.engine.begin() as db:
            if reaction in m.config.policy.urgent:
                return decisions.propose(
                    db,
                    m,
                    u["ru-do"],
                    incident_id,
                    reaction,
                    contingent=contingent,
                    urgent=True,
                    at=when,
                )
            heads = reaction in m.config.policy.two_key or reaction == "request_explanation"
            first, second = ("ru-head", "tr-head") if heads else ("ru-do", "tr-do")
            d = decisions.propose(
                db,
                m,
                u[first],
                incident_id,
                reaction,
                party=party,
                contingent=contingent,
                at=when,
            )
            return decisions.approve(db, m, u[second], d.id, at=when)


def make_center(engine: sa.Engine, mission: Mission) -> Center:
    with engine.begin() as db:
        key = db.execute(
            sa.insert(missions).values(
                mission_id=mission.id,
                version=1,
                digest=mission.digest,
                loaded_at=T0,
                source="test",
                note="",
            )
        ).inserted_primary_key[0]  # type: ignore[index]
        staff = {name: add_user(db, mission, name, role, aff, at=T0) for name, role, aff in STAFF}
    return Center(engine, mission, staff, int(key))
