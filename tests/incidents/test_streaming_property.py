"""Streaming equals batch, as a property: the follower's incidents, with records arriving in
any order and in any bursts, are those of one batch run over the same records."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from test_correlate import partition

from ceasefire.geo.engine import Enricher
from ceasefire.incidents.follow import Follower
from ceasefire.ingest.pipeline import Intake
from ceasefire.mission import Mission
from ceasefire.observations import Observation
from ceasefire.store import open_database
from ceasefire.store.missions import mission_row, save_mission

T0 = datetime(2021, 2, 1, 10, 0, tzinfo=UTC)
PLATFORMS = {
    "orlan": ("RU", "orlan-10"),
    "forpost": ("RU", "forpost"),
    "tb2": ("TR", "bayraktar-tb2"),
    "op-ru": ("RU", "observation-post"),
    "op-tr": ("TR", "observation-post"),
    "am": ("TR", "party-complaint"),
}


Row = tuple[str, float, float, float, float, str, dict[str, Any]]
SENSED_BY = {"party-complaint": "party-complaint", "observation-post": "post"}


def _record(n: int, row: Row) -> Observation:
    platform, minutes, north_m, east_m, ce, category, more = row
    contingent, kind = PLATFORMS[platform]
    data: dict[str, Any] = {
        "id": f"{contingent}-P{n:04d}",
        "contingent": contingent,
        "platform": {"id": platform, "type": kind},
        "observed_at": (T0 + timedelta(minutes=minutes)).isoformat(),
        "location": {"lat": 39.85 + north_m / 111_320, "lon": 46.85 + east_m / 85_300, "ce_m": ce},
        "category": category,
        "sensed_by": SENSED_BY.get(kind, "drone-eo"),
    }
    if "observer" in more:  # a report by bearing and distance band, not of a place
        del data["location"]
    return Observation.model_validate(data | more)


def hot_area() -> list[Observation]:
    """A bad half hour in one place: shelling at three spots a few hundred metres apart,
    small-arms fire among them, seen by drones of both contingents, posts with wide CEs, a
    complaint, a report sent twice, a column on the move, and the same spot shelled again
    later; then a long shelling elsewhere: chains that single linkage would join and
    complete linkage must split the same way whatever arrives first."""
    lasting = {"observed_until": (T0 + timedelta(minutes=25)).isoformat()}
    rows: list[Row] = [
        ("orlan", 0, 0, 0, 80, "explosion", {}),
        ("tb2", 2, 40, 20, 30, "explosion", {}),
        ("op-ru", 1, 600, -300, 1350, "explosion", {}),
        ("forpost", 4, 420, 10, 50, "explosion", {}),
        ("tb2", 5, 450, 40, 30, "explosion", {}),
        ("op-ru", 5, 200, 300, 1350, "explosion", {}),
        ("orlan", 8, 850, 0, 80, "explosion", {}),
        ("op-tr", 9, 700, 200, 2100, "explosion", {}),
        ("tb2", 3, 300, 900, 30, "small_arms_fire", lasting),
        ("op-tr", 4, 500, 1100, 600, "small_arms_fire", {}),
        ("forpost", 22, 320, 880, 50, "small_arms_fire", {}),
        ("am", 10, 900, 900, 3000, "explosion", {}),
        ("orlan", 8, 850, 0, 80, "explosion", {}),  # sent twice
        ("tb2", 90, 10, 10, 30, "explosion", {}),  # the first spot again, later
        ("tb2", 30, 0, -2000, 30, "movement_vehicle", {"track": "T1"}),
        ("tb2", 31, 400, -2000, 30, "movement_vehicle", {"track": "T1"}),
        ("forpost", 45, 5000, -2100, 50, "movement_heavy_weapon", {}),
    ]
    # Weapons said (a gun and a mortar at the first spot: two events) and posts' reports by
    # bearing (each an ellipse along its bearing).
    post = {"lat": 39.85 - 1.5 / 111.32, "lon": 46.85}
    rows += [
        ("orlan", 1, 10, 10, 80, "explosion", {"qualifiers": {"weapon": "artillery"}}),
        ("tb2", 1.5, 30, 0, 30, "explosion", {"qualifiers": {"weapon": "mortar"}}),
        (
            "op-tr",
            3,
            0,
            0,
            0,
            "explosion",
            {"observer": post, "bearing_deg": 0.0, "distance_m": [1000, 2000]},
        ),
        (
            "op-ru",
            4,
            0,
            0,
            0,
            "explosion",
            {"observer": post, "bearing_deg": 20.0, "distance_m": [1000, 2000]},
        ),
    ]
    # A village shelled every 6 minutes for most of an hour, each report at the same place:
    # each links to the next, the chain reaches beyond any one report's window, and complete
    # linkage cuts it into pairs from its start, which only a look at all of it finds.
    for k in range(9):
        drone = ("orlan", "tb2", "forpost")[k % 3]
        rows.append((drone, 100 + 6 * k, 3000, 0, 50, "explosion", {}))
    return [_record(n, row) for n, row in enumerate(rows)]


RECORDS = hot_area()


@pytest.fixture(scope="module")
def batch(demo_mission: Mission, demo_enricher: Enricher) -> dict[str, frozenset[str]]:
    """One batch run over every record, stored first in time order."""
    with tempfile.TemporaryDirectory() as folder:
        engine, row = _store(demo_mission, folder, "batch.db")
        intake = Intake(engine, demo_mission, row, enricher=demo_enricher, correlate="deferred")
        intake.feed(RECORDS, "batch")
        intake.finish()
        found = partition(engine)
        engine.dispose()
    # Not a trivial partition: the explosions split between several incidents, the
    # complaint alone, the column one, the repeat apart, the shelling cut in pieces.
    assert 10 <= len(found) <= 20
    assert max(len(v) for v in found.values()) >= 3
    return found


def _store(mission: Mission, folder: str, name: str) -> tuple[Engine, int]:
    engine = open_database(f"sqlite:///{Path(folder) / name}")
    stored, _ = save_mission(engine, mission)
    return engine, mission_row(engine, stored)


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    order=st.permutations(range(len(RECORDS))),
    bursts=st.lists(st.integers(1, 6), min_size=1, max_size=8),
    chunk=st.integers(1, 7),
)
def test_the_followers_incidents_equal_one_batch_run_whatever_the_order(
    demo_mission: Mission,
    demo_enricher: Enricher,
    batch: dict[str, frozenset[str]],
    order: list[int],
    bursts: list[int],
    chunk: int,
) -> None:
    # Any order: shuffled, a contingent's reports in a burst, one hours late; the follower
    # takes what is stored in chunks as it comes, with more arriving between its steps.
    with tempfile.TemporaryDirectory() as folder:
        engine, row = _store(demo_mission, folder, "follow.db")
        intake = Intake(
            engine, demo_mission, row, enricher=demo_enricher, correlate="off", batch_size=3
        )
        follower = Follower(engine, demo_mission, row, demo_enricher, chunk=chunk)
        arriving = [RECORDS[i] for i in order]
        k = 0
        while arriving:
            size = bursts[k % len(bursts)]
            intake.feed(arriving[:size], "stream")
            intake.flush()
            arriving = arriving[size:]
            follower.step()
            k += 1
        follower.catch_up()
        assert partition(engine) == batch
        engine.dispose()
