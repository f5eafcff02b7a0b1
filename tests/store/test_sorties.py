"""Track points become sorties; gaps split them, given sortie ids group them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from ceasefire.mission import Mission
from ceasefire.observations import TrackPoint
from ceasefire.store.sorties import sortie_at, sorties
from centers import intake_of

T0 = datetime(2021, 2, 1, 6, 0, tzinfo=UTC)


def test_sorties_from_track_points(engine: Engine, demo_mission: Mission, demo_enricher) -> None:  # type: ignore[no-untyped-def]
    intake = intake_of(engine, demo_mission, demo_enricher)
    points = []
    for minute in range(0, 60, 5):  # a first flight, then a 2 h gap, then a second
        points.append(
            TrackPoint(
                "orlan-10-07",
                T0 + timedelta(minutes=minute),
                39.9,
                46.8 + minute / 1000,
                contingent="RU",
            )
        )
    for minute in range(180, 200, 5):
        points.append(
            TrackPoint("orlan-10-07", T0 + timedelta(minutes=minute), 39.95, 46.9, contingent="RU")
        )
    for minute in range(0, 30, 10):  # a TB2 whose source names the sortie
        points.append(
            TrackPoint(
                "tb2-03",
                T0 + timedelta(minutes=minute),
                40.0,
                47.0,
                sortie="TR-S-7",
                contingent="TR",
            )
        )
    result = intake.feed(points, "tracks.cot")
    assert result.track_points == len(points)
    intake.feed(points, "tracks.cot")  # the same positions again add nothing

    found = list(sorties(engine))
    assert [(s.platform_id, len(s.track)) for s in found] == [
        ("orlan-10-07", 12),
        ("orlan-10-07", 4),
        ("tb2-03", 3),
    ]
    assert found[2].id == "TR-S-7" and found[2].contingent == "TR"
    assert found[0].length_km > 3
    assert sortie_at(found, "orlan-10-07", T0 + timedelta(minutes=190)) is found[1]
    assert sortie_at(found, "orlan-10-07", T0 + timedelta(minutes=120)) is None
    assert [s.id for s in sorties(engine, since=T0 + timedelta(hours=2))] == [found[1].id]
