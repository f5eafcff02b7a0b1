"""Line crossings: one object's successive positions, from one side of the valid line to the
other."""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from ceasefire.geo import Enricher
from ceasefire.mission import Mission
from ceasefire.sim import DEFAULT_START, simulate
from ceasefire.sim.events import Placer, generate_events
from ceasefire.sim.lines import LineBook, Projection


def test_every_true_crossing_goes_once_from_its_partys_side_to_the_other(
    demo_mission: Mission, demo_enricher: Enricher
) -> None:
    rng = np.random.default_rng(7)
    book = LineBook(demo_mission, Projection(demo_enricher.crs))
    start = int(DEFAULT_START.timestamp())
    events = generate_events(
        Placer(book, demo_enricher, rng), demo_mission.party_ids(), start, start + 7 * 86400, rng
    )
    crossings = [e for e in events if e.category == "line_crossing"]
    assert len(crossings) >= 5
    parties = demo_enricher.parties
    for event in crossings:
        times = np.linspace(event.start, event.end, 41).astype(np.int64)
        x, y = event.at(times)
        lat, lon = book.projection.to_geo(x, y)
        sides = demo_enricher.enrich(lat, lon, times).line_side
        assert parties[sides[0]] == event.party, event.id
        assert parties[sides[-1]] != event.party, event.id
        assert np.count_nonzero(np.diff(sides)) == 1, event.id


def test_drones_report_a_crossing_as_successive_positions_across_the_line(
    demo_mission: Mission, demo_enricher: Enricher
) -> None:
    scenario = simulate(demo_mission, hours=48, seed=4)
    observations = {o.id: o for records in scenario.observations.values() for o in records}
    crossings = {e.id: e for e in scenario.events if e.category == "line_crossing"}
    tracks: dict[tuple[str, str], list[str]] = defaultdict(list)
    for s in scenario.sightings:
        if s.event_id in crossings and s.sortie is not None:
            tracks[(s.event_id, s.sortie)].append(s.observation_id)
    across = 0
    for (event_id, sortie), ids in tracks.items():
        records = sorted((observations[i] for i in ids), key=lambda o: o.observed_at)
        # One track: same sortie, same category, a remark naming it, positions in order.
        assert {o.sortie for o in records} == {sortie}
        assert {o.category for o in records} <= {"movement_vehicle", "movement_personnel"}
        assert len({(o.remarks or "").split(",")[0] for o in records}) == 1
        lat = np.array([o.point().lat for o in records])
        lon = np.array([o.point().lon for o in records])
        when = np.array([int(o.observed_at.timestamp()) for o in records])
        sides = demo_enricher.enrich(lat, lon, when).line_side
        if len(set(sides.tolist())) == 2:
            across += 1
            party = demo_enricher.parties.index(crossings[event_id].party or "")
            assert sides[0] == party and np.count_nonzero(np.diff(sides)) == 1
    assert across >= 1
