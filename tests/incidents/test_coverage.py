"""Coverage of the line: a sortie along part of the line covers that part, for that contingent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import shapely
from sqlalchemy import Engine

from ceasefire.incidents.coverage import coverage
from ceasefire.mission import Mission
from ceasefire.observations import TrackPoint
from centers import intake_of

T0 = datetime(2021, 2, 1, 6, 0, tzinfo=UTC)


def test_a_sortie_along_the_line(engine: Engine, demo_mission: Mission, demo_enricher) -> None:  # type: ignore[no-untyped-def]
    intake = intake_of(engine, demo_mission, demo_enricher)
    line = next(z for z in demo_mission.zones if z.id == "loc-2020-11-20").geometry
    # An Orlan-10 flies up and down the first third of the line for six hours (an hour a
    # leg), a track point every 30 s.
    leg = np.linspace(0, 0.33, 120)
    legs = np.concatenate([leg, leg[::-1]] * 3)
    points = [line.interpolate(f, normalized=True) for f in legs]
    tracks = [
        TrackPoint(
            "orlan-10-07",
            T0 + timedelta(seconds=30 * i),
            p.y,
            p.x,
            contingent="RU",
            platform_type="orlan-10",
        )
        for i, p in enumerate(points)
    ]
    intake.feed(tracks, "tracks")
    found = coverage(
        engine, demo_mission, T0, T0 + timedelta(hours=6), timedelta(hours=4), demo_enricher
    )
    ru, tr = found["contingents"]["RU"], found["contingents"]["TR"]
    assert 0.15 < ru["covered_share"] < 0.6
    assert tr["covered_share"] == 0.0 and found["covered_share_all"] == 0.0
    assert found["covered_share_any"] == ru["covered_share"]
    # The watched third has no gap over 4 h; the rest of the line is one unwatched stretch.
    unwatched = sum(g["length_km"] for g in ru["gaps"])
    assert abs(unwatched - (1 - ru["covered_share"]) * found["line_km"]) < 2.0
    assert ru["gaps"][0]["from_km"] > 20
    assert abs(sum(g["length_km"] for g in tr["gaps"]) - found["line_km"]) < 1.0
    assert shapely.get_num_geometries(line) == 1
