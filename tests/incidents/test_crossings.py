"""A track that changes sides of the line is a crossing incident, whatever the arrival order."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select

from ceasefire.geo import Enricher
from ceasefire.incidents.queries import get_incident
from ceasefire.incidents.service import Correlator
from ceasefire.incidents.tables import incidents
from ceasefire.mission import Mission
from ceasefire.observations import Observation
from centers import intake_of

T0 = datetime(2021, 1, 15, 10, 0, tzinfo=UTC)


def position(i: int, lon: float, track: str = "RU-S-1-T1") -> Observation:
    return Observation.model_validate(
        {
            "id": f"RU-{track}-{i}",
            "contingent": "XX",
            "platform": {"id": "orlan-10-07", "type": "orlan-10"},
            "track": track,
            "observed_at": (T0 + timedelta(minutes=i)).isoformat(),
            "location": {"lat": 45.1, "lon": lon, "ce_m": 30},
            "category": "movement_vehicle",
            "qualifiers": {"vehicle": "apc", "military": True},
            "sensed_by": "drone-eo",
        }
    )


def crossing_rows(engine: Engine, status: str = "current") -> list[Any]:
    """The crossings correlation makes now (or those it has replaced: ``superseded``)."""
    superseded = incidents.c.status == "superseded"
    with engine.connect() as db:
        return list(
            db.execute(
                select(incidents).where(
                    incidents.c.kind == "line_crossing",
                    superseded if status == "superseded" else ~superseded,
                )
            )
        )


def test_a_track_across_the_line(engine: Engine, mini_mission: Mission) -> None:
    enricher = Enricher(mini_mission)
    intake = intake_of(engine, mini_mission, enricher, batch_size=1)
    key = intake.mission_row
    # West of the line (AA's side), then east (BB's side); fed out of order, one at a time.
    track = [position(0, 20.10), position(1, 20.15), position(2, 20.24), position(3, 20.30)]
    intake.feed([track[2], track[0], track[3], track[1]], "track")
    [row] = crossing_rows(engine)
    assert json.loads(row.detail) == {"from_side": "AA", "to_side": "BB"}
    # Out of order, the crossing first seen between positions 0 and 2 gave way once position
    # 1 came: kept, with no successor (a later position undid it), and its status before.
    assert [json.loads(r.detail) for r in crossing_rows(engine, "superseded")] == [
        {"from_side": "AA", "to_side": "BB", "status_before": "open"}
    ]
    assert json.loads(row.refs) == ["XX/RU-RU-S-1-T1-1", "XX/RU-RU-S-1-T1-2"]
    assert 20.15 < row.lon < 20.24 and abs(row.lon - 20.2) < 0.01  # interpolated at the line
    record = get_incident(engine, mini_mission, row.id)
    assert record is not None and record["kind"] == "line_crossing"
    assert [o["id"] for o in record["observations"]] == ["RU-RU-S-1-T1-1", "RU-RU-S-1-T1-2"]
    # A batch run finds the same crossing, once.
    Correlator(mini_mission, key, enricher).recorrelate(engine)
    assert [r.id for r in crossing_rows(engine)] == [row.id]


def test_a_track_that_stays_on_one_side_crosses_nothing(
    engine: Engine, mini_mission: Mission
) -> None:
    intake = intake_of(engine, mini_mission)
    intake.feed([position(0, 20.05, "T2"), position(1, 20.10, "T2"), position(2, 20.15, "T2")], "t")
    assert crossing_rows(engine) == []
