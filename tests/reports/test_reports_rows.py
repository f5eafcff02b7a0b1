"""The rows under every export and the OGC API, on SQLite and PostgreSQL: chunks, filters,
and who sees what."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from reports_support import World

from ceasefire.incidents.tables import incidents
from ceasefire.reports import rows
from ceasefire.reports.rows import Selection, incident_rows, observation_rows
from ceasefire.reports.scope import scope_for


def stored_incidents(world: World) -> set[str]:
    with world.engine.connect() as db:
        return set(
            db.execute(
                sa.select(incidents.c.id).where(incidents.c.status != "superseded")
            ).scalars()
        )


def test_filters_and_chunks(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    everything = list(observation_rows(world.engine, world.mission, Selection(), "en"))
    monkeypatch.setattr(rows, "CHUNK", 4)  # many chunks: none lost or repeated at the seams
    keys = [r["key"] for r in observation_rows(world.engine, world.mission, Selection(), "en")]
    assert keys == sorted(keys) == sorted(r["key"] for r in everything)
    assert len(keys) == len(world.records)
    chunked = [r["id"] for r in incident_rows(world.engine, world.mission, Selection(), "en")]
    assert len(chunked) == len(set(chunked)) == len(stored_incidents(world))
    box = (46.80, 39.90, 46.86, 39.96)
    inside = list(observation_rows(world.engine, world.mission, Selection(bbox=box), "en"))
    assert inside and all(
        box[0] <= r["lon"] <= box[2] and box[1] <= r["lat"] <= box[3] for r in inside
    )
    assert len(inside) == sum(
        1 for r in everything if box[0] <= r["lon"] <= box[2] and box[1] <= r["lat"] <= box[3]
    )
    first = min(r["observed_at"] for r in everything)
    later = list(observation_rows(world.engine, world.mission, Selection(since=first), "en"))
    assert len(later) == len(everything)
    scope = scope_for(world.engine, world.mission, world.users["am-liaison"])
    assert [
        r["id"] for r in incident_rows(world.engine, world.mission, Selection(), "en", scope)
    ] == [world.released]
