"""Migration 0017: a store made before holds gets one for every incident the workflow has a
record of (held since the earliest), and none for the others; 0020 then drops those of the
incidents still blind."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import command

from ceasefire.incidents.tables import incident_holds, incidents
from ceasefire.ledger.tables import ledger
from ceasefire.store.db import alembic_config, create, upgrade
from ceasefire.store.schema import missions
from ceasefire.workflow.tables import assessments, decisions, findings

T0 = datetime(2021, 2, 1, 10, 0, tzinfo=UTC)


def mission_key(db: sa.Connection) -> int:
    """A mission's row in a store at an older revision (its key)."""
    return int(
        db.execute(
            sa.insert(missions)
            .values(mission_id="m", version=1, digest="d", loaded_at=T0, source="s", note="")
            .returning(missions.c.id)
        ).scalar_one()
    )


def incident(incident_id: str, mission: int) -> dict[str, object]:
    return {
        "id": incident_id,
        "mission": mission,
        "status": "open",
        "kind": "event",
        "category": "explosion",
        "categories": json.dumps(["explosion"]),
        "started_at": T0,
        "ended_at": T0,
        "lat": 39.9,
        "lon": 46.8,
        "ce_m": 50.0,
        "count": 1,
        "observation_count": 1,
        "contingents": json.dumps(["RU"]),
        "platforms": json.dumps(["p"]),
        "corroboration": "single_source",
        "rules": "[]",
        "zones": "[]",
        "updated_at": T0,
    }


def test_holds_backfilled_from_the_workflows_records(database_url: str) -> None:
    engine = create(database_url)
    try:
        command.upgrade(alembic_config(engine), "0016")
        with engine.begin() as db:
            key = mission_key(db)
            for name in ("INC-A", "INC-D", "INC-L", "INC-NONE"):
                db.execute(sa.insert(incidents).values(incident(name, key)))
            for minutes in (5, 2):
                db.execute(
                    sa.insert(assessments).values(
                        incident_id="INC-A",
                        contingent="RU" if minutes == 5 else "TR",
                        version=1,
                        violation="no",
                        clauses="[]",
                        attribution="AZ",
                        remarks="",
                        submitted_by="x",
                        submitted_at=T0 + timedelta(minutes=minutes),
                        ledger_index=0,
                    )
                )
            db.execute(
                sa.insert(findings).values(
                    incident_id="INC-A",
                    version=1,
                    outcome="finding",
                    record="{}",
                    made_at=T0 + timedelta(minutes=6),
                    ledger_index=1,
                )
            )
            db.execute(
                sa.insert(decisions).values(
                    id="DEC-1",
                    incident_id="INC-D",
                    reaction="record_only",
                    tier="joint",
                    state="proposed",
                    proposed_by="x",
                    proposer_contingent="RU",
                    proposed_at=T0 + timedelta(minutes=9),
                    due_at=T0 + timedelta(hours=9),
                    updated_at=T0,
                    remarks="",
                )
            )
            for n, ref in enumerate(("INC-D/RU", "INC-L/RU", "INC-L/TR")):
                db.execute(
                    sa.insert(ledger).values(
                        index=10 + n,
                        kind="unblind",
                        ref=ref,
                        entry="{}",
                        leaf_hash=bytes(32),
                        appended_at=T0,
                    )
                )
            db.execute(
                sa.insert(decisions).values(
                    id="DEC-2",
                    incident_id="INC-L",
                    reaction="record_only",
                    tier="joint",
                    state="proposed",
                    proposed_by="x",
                    proposer_contingent="RU",
                    proposed_at=T0 + timedelta(minutes=7),
                    due_at=T0 + timedelta(hours=9),
                    updated_at=T0,
                    remarks="",
                )
            )
        command.upgrade(alembic_config(engine), "0019")
        with engine.connect() as db:
            held = {r.incident_id: r.held_at for r in db.execute(sa.select(incident_holds))}
        assert held == {
            "INC-A": T0 + timedelta(minutes=2),
            "INC-D": T0 + timedelta(minutes=9),
            "INC-L": T0 + timedelta(minutes=7),
        }
        # 0020: INC-D's decision was made while it was blind (nobody's finding, one head's key
        # of two): its hold goes; INC-A has a finding, both heads lifted INC-L's blind period.
        upgrade(engine)
        with engine.connect() as db:
            held = {r.incident_id: r.held_at for r in db.execute(sa.select(incident_holds))}
        assert held == {"INC-A": T0 + timedelta(minutes=2), "INC-L": T0 + timedelta(minutes=7)}
    finally:
        engine.dispose()
