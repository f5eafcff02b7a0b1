"""`verify` audits drone track points: each contingent's points of each intake batch are
logged as one entry (count, digest and each point's short digest), so deleting a contingent's
points (which empties its coverage of the line), cutting a batch, editing a position or slipping
in a point is named, for either contingent, and an edited or deleted point by itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from ceasefire.geo import Enricher
from ceasefire.ingest.pipeline import Intake
from ceasefire.ledger.audit import audit
from ceasefire.ledger.keys import init_keys, load_keys, origin_of
from ceasefire.ledger.tables import ledger
from ceasefire.mission import Mission
from ceasefire.observations.track import TrackPoint
from ceasefire.store.missions import mission_row, save_mission
from ceasefire.store.schema import track_points

T0 = datetime(2021, 2, 1, 10, 0, tzinfo=UTC)


def points(contingent: str, platform: str, n: int) -> list[TrackPoint]:
    return [
        TrackPoint(
            platform_id=platform,
            time=T0 + timedelta(seconds=10 * i, microseconds=i),
            lat=39.8 + i / 1000,
            lon=46.7,
            alt_m=1500.0,
            contingent=contingent,
            platform_type="orlan-10" if contingent == "RU" else "bayraktar-tb2",
        )
        for i in range(n)
    ]


@pytest.mark.parametrize(("side", "other"), [("RU", "TR"), ("TR", "RU")])
def test_deleting_or_editing_a_contingents_track_points_is_named(
    engine: sa.Engine,
    demo_mission: Mission,
    demo_enricher: Enricher,
    tmp_path: Path,
    side: str,
    other: str,
) -> None:
    stored, _new = save_mission(engine, demo_mission)
    intake = Intake(engine, demo_mission, mission_row(engine, stored), demo_enricher)
    for n, item in enumerate(points(side, f"{side}-uav", 5) + points(other, f"{other}-uav", 4)):
        intake.add(item, "tracks.cot", n)
    intake.flush()
    for n, item in enumerate(points(side, f"{side}-uav", 7)):  # 5 known, 2 new: one batch of 2
        intake.add(item, "again.cot", n)
    intake.flush()
    origin = origin_of(demo_mission.id)
    init_keys(tmp_path / "keys", origin, demo_mission.contingent_ids())
    ring = load_keys(tmp_path / "keys", origin, demo_mission.contingent_ids())
    with engine.connect() as db:
        kinds = db.execute(sa.select(ledger.c.kind, ledger.c.ref).where(ledger.c.kind == "tracks"))
        assert len(kinds.all()) == 3  # one per contingent of the first batch, one of the second
    assert audit(engine, ring).ok

    def named(*statements: str) -> list[str]:
        with engine.connect() as db:
            transaction = db.begin()
            try:
                for statement in statements:
                    db.exec_driver_sql(statement)
                return [str(f) for f in audit(db, ring).findings]
            finally:
                transaction.rollback()

    gone = named(f"DELETE FROM track_points WHERE contingent = '{side}'")
    assert len(gone) == 2 and all("track_points" in f and side in f for f in gone), gone
    assert "5 points logged, 0 stored" in " ".join(gone)
    cut = named(f"DELETE FROM track_points WHERE platform_id = '{other}-uav' AND lat > 39.802")
    assert len(cut) == 2 and "4 points logged, 3 stored" in cut[0] and other in cut[0], cut
    assert "point 4 of the batch logged at index" in cut[1] and "deleted" in cut[1], cut
    moved = named(f"UPDATE track_points SET lat = lat + 0.1 WHERE platform_id = '{side}-uav'")
    assert len(moved) == 7 and all("edited" in f and f"{side}-uav" in f for f in moved), moved
    claimed = named(f"UPDATE track_points SET contingent = '{side}' WHERE contingent = '{other}'")
    assert len(claimed) == 4, claimed
    assert all("edited" in f and f"{other}-uav" in f for f in claimed), claimed
    # One point edited: that point is named, by its row, track and time, and its place in
    # the batch (not only the batch it came in).
    with engine.connect() as db:
        third = db.execute(
            sa.select(track_points.c.id, track_points.c.time)
            .where(track_points.c.platform_id == f"{side}-uav")
            .order_by(track_points.c.time)
            .offset(2)
            .limit(1)
        ).one()
    one = named(f"UPDATE track_points SET lat = lat + 0.001 WHERE id = {third.id}")
    assert len(one) == 1, one
    when = (T0 + timedelta(seconds=20, microseconds=2)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert one[0].startswith(f"track_points, id {third.id} ({side}-uav, {when})"), one
    assert "differs from point 3 of the batch logged at index" in one[0], one
    added = named(
        "INSERT INTO track_points (platform_id, contingent, time, lat, lon, source) "
        f"VALUES ('{other}-uav', '{other}', '2021-02-01 11:00:00.000000', 39.9, 46.8, 'sql')"
    )
    assert len(added) == 1 and "no logged batch" in added[0], added
    with engine.connect() as db:
        assert db.execute(sa.select(sa.func.count()).select_from(track_points)).scalar() == 11
