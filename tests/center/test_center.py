"""The composition root: one Center owns the parts, its verbs work, capabilities plug in."""

from __future__ import annotations

import asyncio
import io
import threading
from typing import Any

from fastapi import APIRouter
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from ceasefire.api import access
from ceasefire.api.app import center_app
from ceasefire.center import Center, Settings
from ceasefire.errors import InputError
from ceasefire.incidents import follow
from ceasefire.incidents.tables import incidents
from ceasefire.intake import jsonl
from ceasefire.mission import Mission
from ceasefire.store.schema import missions

RECORDS = b"".join(
    b'{"id": "%s-C1", "contingent": "%s", "platform": {"id": "post-3", "type": '
    b'"observation-post"}, "observed_at": "2021-02-01T10:32:00Z", "location": {"lat": 39.93, '
    b'"lon": 46.83, "ce_m": 200}, "category": "small_arms_fire", "sensed_by": "post"}\n' % (c, c)
    for c in (b"RU", b"TR")
)


def count(engine: Engine, table: Any) -> int:
    with engine.connect() as db:
        return int(db.execute(select(func.count()).select_from(table)).scalar_one())


def test_the_mission_is_stored_once_and_only_when_needed(
    engine: Engine, demo_mission: Mission, demo_enricher: Any
) -> None:
    center = Center(mission=demo_mission, engine=engine, enricher=demo_enricher)
    assert count(engine, missions) == 0  # reading needs no stored mission
    row = center.mission_row
    again = Center(mission=demo_mission, engine=engine, enricher=demo_enricher)
    assert again.mission_row == row and count(engine, missions) == 1
    assert center.enricher is demo_enricher


def test_ingest_and_correlate_are_the_centers_verbs(
    engine: Engine, demo_mission: Mission, demo_enricher: Any
) -> None:
    center = Center(mission=demo_mission, engine=engine, enricher=demo_enricher)
    result = center.ingest(jsonl.parse(io.BytesIO(RECORDS), "c.jsonl"), "c.jsonl")
    assert (result.accepted, result.rejected) == (2, 0)
    assert count(engine, incidents) == 1  # streaming: correlated as stored
    assert center.correlate() == 1
    # while a follower gives signs of life, a second writer of incidents is refused
    follow._set_alive(engine, follow.datetime.now(follow.UTC))
    try:
        assert center.follower_alive()
        try:
            center.correlate()
        except InputError as refused:
            assert "correlation follower is alive" in str(refused)
        else:
            raise AssertionError("correlate ran beside a live follower")
    finally:
        follow._set_alive(engine, None)


class Recorder:
    def __init__(self, log: list[str], name: str) -> None:
        self.log, self.name = log, name

    def start(self) -> None:
        self.log.append(f"start {self.name}")

    async def stop(self) -> None:
        self.log.append(f"stop {self.name}")


LOG: list[str] = []


def plug(center: Center) -> None:
    """A capability as one would be written: two jobs (and one with nothing to run), a route."""
    center.add_job(lambda c: Recorder(LOG, "a"))
    center.add_job(lambda c: None)
    center.add_job(lambda c: Recorder(LOG, "b"))

    def router(c: Center) -> APIRouter:
        routes = APIRouter()

        @routes.get("/api/v1/plugged")
        def plugged() -> dict[str, str]:
            return {"mission": c.mission.id}

        return routes

    center.add_router(router)


def test_capabilities_plug_in_jobs_and_routes(
    engine: Engine, demo_mission: Mission, demo_enricher: Any, monkeypatch: Any
) -> None:
    LOG.clear()
    monkeypatch.setitem(access.ENDPOINTS, ("GET", "/plugged"), access.PUBLIC)
    monkeypatch.setattr("ceasefire.center.core.CAPABILITIES", (f"{__name__}:plug",))
    center = Center(Settings(), mission=demo_mission, engine=engine, enricher=demo_enricher)

    async def serve_briefly() -> None:
        async with center.jobs() as running:
            assert len(running) == 2
            LOG.append("serving")

    asyncio.run(serve_briefly())
    assert LOG == ["start a", "start b", "serving", "stop b", "stop a"]
    with TestClient(center_app(center)) as client:
        answer = client.get("/api/v1/plugged")
        assert answer.status_code == 200 and answer.json() == {"mission": demo_mission.id}
        health = client.get("/api/v1/health").json()
        assert health["mission"] == demo_mission.id and health["counts"]["observations"] == 0
    # without the line in CAPABILITIES, nothing of it is there
    monkeypatch.setattr("ceasefire.center.core.CAPABILITIES", ())
    bare = Center(Settings(), mission=demo_mission, engine=engine, enricher=demo_enricher)
    assert bare.routers() == []


def test_the_escalation_scheduler_shares_the_centers_lock(
    engine: Engine, demo_mission: Mission, demo_enricher: Any
) -> None:
    lock = threading.Lock()
    center = Center(
        Settings(escalate_every=7),
        mission=demo_mission,
        engine=engine,
        enricher=demo_enricher,
        lock=lock,
    )
    scheduler = center.escalation()
    assert scheduler.lock is lock and scheduler.interval == 7
    assert scheduler.run_once() == []
