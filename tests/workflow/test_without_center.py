"""The workflow driven by a process that never imports ``ceasefire.center`` (a script, a bench):
nothing it relies on may depend on which modules a process happened to import. Each test runs
its script with ``python -c`` in a fresh interpreter, so no earlier import wires anything."""

from __future__ import annotations

import subprocess
import sys
import textwrap

SETUP = """
import dataclasses, json, sys
from datetime import UTC, datetime, timedelta
from sqlalchemy import select
from ceasefire.geo import Enricher
from ceasefire.ingest.pipeline import Intake
from ceasefire.mission import load_mission
from ceasefire.observations import Observation
from ceasefire.store import open_database
from ceasefire.store.missions import mission_row, save_mission

T0 = datetime(2021, 2, 1, 10, 0, tzinfo=UTC)
engine = open_database(sys.argv[1])
mission = load_mission("karabakh-2020")


def obs(i, contingent, minutes):
    platform = {"RU": {"id": "orlan-10-07", "type": "orlan-10"},
                "TR": {"id": "tb2-03", "type": "bayraktar-tb2"}}[contingent]
    return Observation.model_validate({
        "id": f"{contingent}-{i:04d}", "contingent": contingent, "platform": platform,
        "observed_at": (T0 + timedelta(minutes=minutes)).isoformat(), "category": "explosion",
        "location": {"lat": 39.93, "lon": 46.83, "ce_m": 80}, "sensed_by": "drone-eo"})
"""

CHECK = """
assert "ceasefire.center" not in sys.modules, "the script imported the center"
engine.dispose()
print("ok")
"""


def run(script: str, url: str) -> str:
    """``script`` after :data:`SETUP`, in a fresh interpreter; its output (it must succeed)."""
    code = SETUP + textwrap.dedent(script) + CHECK
    done = subprocess.run(
        [sys.executable, "-c", code, url], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().endswith("ok")
    return done.stdout


def test_correlation_keeps_an_incident_the_workflow_took_up(database_url: str) -> None:
    # Two explosions 18 minutes apart (two incidents); the later one is assessed and has a
    # decision; a report between them links both under single linkage. The merged incident
    # keeps the id the workflow took up (its assessments and decision stay on it); without the
    # hold it would take the earlier incident's id and the taken-up one would give way.
    run(
        """
        from ceasefire.incidents.tables import incidents
        from ceasefire.workflow import decisions
        from ceasefire.workflow.assessments import submit
        from ceasefire.workflow.roles import add_user

        config = mission.config.correlation.model_copy(update={"linkage": "single"})
        m = dataclasses.replace(
            mission, config=mission.config.model_copy(update={"correlation": config}))
        stored, _ = save_mission(engine, m)
        intake = Intake(engine, m, mission_row(engine, stored), enricher=Enricher(m))
        intake.feed([obs(1, "RU", 0), obs(2, "RU", 18)], "first")
        with engine.connect() as db:
            first, second = db.execute(
                select(incidents.c.id).order_by("started_at")).scalars()
        with engine.begin() as db:
            ru = add_user(db, m, "ru-duty", "duty_officer", "RU")
            tr = add_user(db, m, "tr-duty", "duty_officer", "TR")
            for officer in (ru, tr):
                submit(db, m, officer, second, violation="no", clauses=[], attribution="AZ")
            decisions.propose(db, m, ru, second, "record_only")
        intake.feed([obs(3, "RU", 9)], "late")
        with engine.connect() as db:
            rows = {r.id: r for r in db.execute(select(incidents))}
        current = [i for i, r in rows.items() if r.status != "superseded"]
        assert current == [second], (first, second, current)
        assert rows[second].status == "finding" and rows[second].observation_count == 3
        assert json.loads(rows[first].detail)["superseded_by"] == second
        """,
        database_url,
    )
