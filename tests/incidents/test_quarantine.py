"""One bad record never stops correlation: it is quarantined with its reason, the follower goes
on, health says degraded, and duty officers see it (issue 19, finding 1)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select, update

from ceasefire.geo.engine import Enricher
from ceasefire.incidents.follow import Follower, cursor
from ceasefire.ingest.pipeline import Intake
from ceasefire.mission import Mission
from ceasefire.observations import Observation
from ceasefire.store.missions import mission_row, save_mission
from ceasefire.store.schema import observations

FAR = datetime(9999, 12, 31, 23, 45, tzinfo=UTC)


def _record(i: int) -> Observation:
    return Observation.model_validate(
        {
            "id": f"RU-Q{i:03d}",
            "contingent": "RU",
            "platform": {"id": "orlan-10-07", "type": "orlan-10"},
            "observed_at": f"2021-02-01T10:{i:02d}:00Z",
            "location": {"lat": 39.93 + i * 0.05, "lon": 46.83, "ce_m": 50},
            "category": "explosion",
            "qualifiers": {"explosion": "impact"},
            "sensed_by": "drone-eo",
        }
    )


def _stored_with_poison(engine: Engine, mission: Mission, enricher: Enricher) -> Follower:
    """Four records stored; the first made unworkable in the store (an unknown category, as a
    newer version or an insider might leave) and the second dated at the calendar's end (as
    main accepted before times were bounded)."""
    stored, _ = save_mission(engine, mission)
    row = mission_row(engine, stored)
    Intake(engine, mission, row, enricher, correlate="off").feed(map(_record, range(4)), "t")
    with engine.begin() as db:
        o = observations.c
        db.execute(update(observations).where(o.source_id == "RU-Q000").values(category="bogus"))
        db.execute(update(observations).where(o.source_id == "RU-Q001").values(observed_at=FAR))
    return Follower(engine, mission, row, enricher)


def _incident_of(engine: Engine) -> dict[str, Any]:
    with engine.connect() as db:
        rows = db.execute(select(observations.c.source_id, observations.c.incident_id)).all()
    return dict(rows)  # type: ignore[arg-type]


def test_the_follower_quarantines_what_it_fails_on_and_goes_on(
    engine: Engine, demo_mission: Mission, demo_enricher: Enricher, cli: Any, database_url: str
) -> None:
    follower = _stored_with_poison(engine, demo_mission, demo_enricher)
    assert follower.step() == 4
    assert follower.step() == 0
    with engine.connect() as db:
        assert cursor(db) == 4
    made = _incident_of(engine)
    assert made["RU-Q000"] is None  # quarantined
    # the calendar's end is no longer a poison: it is correlated like any other time
    assert all(made[f"RU-Q{i:03d}"] for i in (1, 2, 3))
    listed = cli("quarantine", "--db", database_url, "--format", "json")
    assert listed.code == 0, listed.err
    [entry] = listed.json()["quarantined"]
    assert (entry["contingent"], entry["id"], entry["stage"]) == ("RU", "RU-Q000", "correlation")
    assert entry["reason"].startswith("KeyError")
    text = cli("quarantine", "--db", database_url)
    assert "RU/RU-Q000" in text.out and "KeyError" in text.out


def test_ingest_goes_record_by_record_when_the_period_fails(
    engine: Engine, demo_mission: Mission, demo_enricher: Enricher, monkeypatch: Any
) -> None:
    from ceasefire.incidents import service

    stored, _ = save_mission(engine, demo_mission)
    row = mission_row(engine, stored)
    Intake(engine, demo_mission, row, demo_enricher, correlate="off").feed([_record(0)], "t")
    with engine.begin() as db:
        db.execute(update(observations).values(category="bogus"))
    intake = Intake(engine, demo_mission, row, demo_enricher, correlate="deferred")
    intake.feed(map(_record, range(1, 4)), "t")

    def failing(*args: object, **kwargs: object) -> int:
        raise KeyError("bogus")

    monkeypatch.setattr(service.Correlator, "recorrelate", failing)
    intake.finish()  # does not raise: the stored records stay, the bad one is set aside
    made = _incident_of(engine)
    assert made["RU-Q000"] is None and all(made[f"RU-Q{i:03d}"] for i in (1, 2, 3))
