"""What the reports tests share: a center with the sample observations, incidents, a joint
finding, an incident still blind, and a release to one party."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import uvicorn

from ceasefire.geo import Enricher
from ceasefire.incidents.tables import incidents
from ceasefire.ingest.pipeline import Intake
from ceasefire.ledger.keys import init_keys, load_keys, origin_of
from ceasefire.ledger.release import write_release
from ceasefire.mission import Mission
from ceasefire.observations import parse_observation
from ceasefire.served import listening
from ceasefire.store.missions import mission_row, save_mission
from ceasefire.workflow import assessments
from ceasefire.workflow.releases import incident_selections
from ceasefire.workflow.roles import User, add_user, issue_token

SAMPLE = Path(__file__).parents[2] / "examples" / "observations-sample.jsonl"
T_ASSESS = datetime(2021, 2, 2, 9, 0, tzinfo=UTC)
BLIND_REMARK = "RU-ONLY-VIEW-0b7f"
"""The remarks of the one assessment of the blind incident: no read path may show them."""

STAFF = [
    ("ru-do", "duty_officer", "RU"),
    ("tr-do", "duty_officer", "TR"),
    ("ru-head", "head", "RU"),
    ("tr-head", "head", "TR"),
    ("ru-analyst", "analyst", "RU"),
    ("pk-liaison", "liaison", "PK"),
    ("am-liaison", "party_liaison", "AM"),
    ("az-liaison", "party_liaison", "AZ"),
    ("auditor", "auditor", ""),
]


@dataclass
class World:
    engine: sa.Engine
    mission: Mission
    users: dict[str, User]
    agreed: str
    """An incident both contingents assessed alike: a joint finding, attributed to AZ."""
    blind: str
    """An incident only RU assessed (attribution AM): still blind."""
    released: str
    """The incident released to AM (the agreed one)."""
    records: list[dict]
    keys: Path
    """The key directory: the center's and every contingent's keys."""


def ingest(engine: sa.Engine, mission: Mission, records: list[dict]) -> int:
    stored, _new = save_mission(engine, mission)
    intake = Intake(engine, mission, mission_row(engine, stored), Enricher(mission))
    for n, r in enumerate(records, start=1):
        intake.add(parse_observation(r), "test", n)
    intake.flush()
    return intake.result.accepted


def build_world(engine: sa.Engine, mission: Mission, keys: Path) -> World:
    records = [json.loads(line) for line in SAMPLE.read_text().splitlines() if line.strip()]
    assert ingest(engine, mission, records) == len(records)
    with engine.begin() as db:
        users = {n: add_user(db, mission, n, role, aff) for n, role, aff in STAFF}
        rows = db.execute(
            sa.select(incidents.c.id, incidents.c.contingents)
            .where(incidents.c.category == "explosion")
            .order_by(incidents.c.started_at, incidents.c.id)
        ).all()
    agreed, blind = rows[0].id, rows[1].id
    with engine.begin() as db:
        for name in ("ru-do", "tr-do"):
            assessments.submit(
                db,
                mission,
                users[name],
                agreed,
                violation="yes",
                clauses=["1"],
                attribution="AZ",
                severity="high",
                at=T_ASSESS,
            )
        assessments.submit(
            db,
            mission,
            users["ru-do"],
            blind,
            violation="yes",
            clauses=["1"],
            attribution="AM",
            remarks=BLIND_REMARK,
            at=T_ASSESS,
        )
    origin = origin_of(mission.id)
    init_keys(keys, origin, mission.contingent_ids())
    ring = load_keys(keys, origin, mission.contingent_ids())
    write_release(engine, ring, keys / "release-AM.json", "AM", incident_selections(engine, agreed))
    return World(engine, mission, users, agreed, blind, agreed, records, keys)


@contextlib.contextmanager
def serving(app: Any) -> Iterator[str]:
    """A real uvicorn server of ``app`` on 127.0.0.1, on a port the system picks; its URL."""
    sock = listening()  # TCP_NODELAY on its connections (served.listening)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def token_for(engine: sa.Engine, name: str) -> str:
    with engine.begin() as db:
        return issue_token(db, name, "test")


def gdal(*args: str, token: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a GDAL tool with the bearer token on every request."""
    env = {**os.environ, "GDAL_HTTP_HEADERS": f"Authorization: Bearer {token}"}
    return subprocess.run(args, capture_output=True, text=True, env=env, check=check, timeout=120)
