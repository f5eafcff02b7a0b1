"""The presets: a bad day is dense, clustered, repetitive, mixed and noisy, as real ones are."""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import pytest

from ceasefire.mission import Mission
from ceasefire.sim import Scenario, simulate
from ceasefire.sim.events import Event

FIRE = ("explosion", "muzzle_flash", "small_arms_fire")


@pytest.fixture(scope="module")
def bad_day(demo_mission: Mission) -> Scenario:
    return simulate(demo_mission, hours=24, seed=1, preset="bad-day")


def metres(a: Event, b: Event) -> float:
    return math.hypot(a.x0 - b.x0, a.y0 - b.y0)


def test_a_bad_day_has_the_rates_of_real_missions(bad_day: Scenario) -> None:
    counts = bad_day.counts()
    assert counts["preset"] == "bad-day"
    # The OSCE SMM counted 2,158 violations in one region in 48 hours (Feb 2022).
    assert counts["events"] >= 1000
    assert counts["violations"] >= 900
    assert counts["seen_by_several"] >= 50  # both contingents' drones over the same event


def test_fire_is_clustered_in_a_few_hot_areas(bad_day: Scenario) -> None:
    fire = [e for e in bad_day.events if e.category in FIRE]
    squares = Counter((int(e.x0 // 5000), int(e.y0 // 5000)) for e in fire)
    busiest = sum(n for _square, n in squares.most_common(12))
    assert busiest / len(fire) > 0.6  # 12 squares of 5 km hold most of the day's fire


def test_the_same_place_is_fired_at_again_hours_later(bad_day: Scenario) -> None:
    repeats = [e for e in bad_day.events if e.repeat_of is not None]
    assert len(repeats) >= 50
    for again in repeats:
        first = again.repeat_of
        assert first is not None and again.category == first.category
        assert metres(again, first) <= 150.0
        assert 3600 <= again.start - first.start <= 4 * 3600


def test_explosions_and_small_arms_fire_in_the_same_minutes_a_kilometre_or_two_apart(
    bad_day: Scenario,
) -> None:
    mixed = [e for e in bad_day.events if e.near is not None]
    assert len(mixed) >= 20
    for fire in mixed:
        assert fire.near is not None
        assert fire.category == "small_arms_fire" and fire.near.category == "explosion"
        assert 500.0 <= metres(fire, fire.near) <= 2000.0
        assert abs(fire.start - fire.near.start) <= 5 * 60


def test_columns_move_for_up_to_an_hour_and_a_half(bad_day: Scenario) -> None:
    columns = [e for e in bad_day.events if e.kind == "heavy_weapon" and e.moving]
    assert columns and max(e.end - e.start for e in columns) >= 3600


def test_contingents_see_one_event_at_different_times_with_different_errors(
    bad_day: Scenario,
) -> None:
    truth = {t["id"]: t for t in bad_day.truth()}
    records = {f"{o.contingent}/{o.id}": o for c in bad_day.observations.values() for o in c}
    by_drones = [
        t
        for t in truth.values()
        if {s["contingent"] for s in t["sightings"] if "sortie" in s} == {"RU", "TR"}
    ]
    assert len(by_drones) >= 10
    for t in by_drones:
        seen = [records[f"{s['contingent']}/{s['observation']}"] for s in t["sightings"]]
        drones = {o.contingent: o for o in seen if o.sortie is not None}
        ru, tr = drones["RU"], drones["TR"]
        assert ru.location is not None and tr.location is not None
        # Their platforms differ (Orlan-10 / Forpost against Bayraktar TB2): so do the CEs.
        assert ru.location.ce_m != tr.location.ce_m
    assert sum(
        len({records[f"{s['contingent']}/{s['observation']}"].observed_at for s in t["sightings"]})
        > 1
        for t in by_drones
    ) == len(by_drones)


def test_false_and_resent_reports(bad_day: Scenario) -> None:
    counts = bad_day.counts()
    assert counts["complaints"]["false"] > 0  # complaints of things that never happened
    truth = bad_day.truth()
    unseen = [t for t in truth if t["real"] and t["complaints"] and not t["seen_by"]]
    assert unseen  # complaints of a real event no monitor saw
    resent = [s for t in truth for s in t["sightings"] if s.get("resent")]
    assert counts["resent"] == len(resent) > 0
    by_id = {o.id: o for c in bad_day.observations.values() for o in c}
    for s in resent:
        copy = by_id[s["observation"]]
        twins = [
            o
            for o in by_id.values()
            if o.id != copy.id
            and o.contingent == copy.contingent
            and _same(o.model_dump(exclude={"id"}), copy.model_dump(exclude={"id"}))
        ]
        assert twins, s  # the same record under another id


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return a == b


def test_escalation_rises_and_quiet_is_the_default(demo_mission: Mission) -> None:
    rising = simulate(demo_mission, hours=24, seed=2, preset="escalation")
    lo, hi = rising.window()
    quarter = (hi - lo) / 4
    first = sum(e.start < lo + quarter for e in rising.events)
    last = sum(e.start >= hi - quarter for e in rising.events)
    assert last > 4 * first
    quiet = simulate(demo_mission, hours=24, seed=2, preset="quiet")
    default = simulate(demo_mission, hours=24, seed=2)
    assert [e.id for e in quiet.events] == [e.id for e in default.events]
    assert quiet.counts() == default.counts()
    assert simulate(demo_mission, hours=24, seed=2, preset="busy").counts()["events"] > 150


def test_launches_are_paired_with_their_impacts_from_the_firing_side(
    bad_day: Scenario, demo_mission: Mission
) -> None:
    """A share of mortar and artillery impacts have their launch as an event: the same
    shots, a flight earlier, a weapon's distance away, on the firing party's side."""
    import numpy as np

    from ceasefire.geo import Enricher
    from ceasefire.sim.launches import WEAPONS

    launches = [e for e in bad_day.events if e.launch_of is not None]
    impacts = [e for e in bad_day.events if e.fired_from_deg is not None]
    assert len(launches) >= 40 and 0.3 < len(launches) / len(impacts) < 0.7
    assert {e.category for e in launches} == {"muzzle_flash", "explosion"}
    parties = Enricher(demo_mission)
    for launch in launches:
        impact = launch.launch_of
        assert impact is not None and launch.id.startswith("L-") and impact.launches == [launch]
        assert impact.qualifiers["explosion"] == "impact" and launch.party == impact.party
        (near, far), (slow, fast) = WEAPONS[impact.qualifiers["weapon"]]
        assert near <= metres(launch, impact) <= far
        assert launch.qualifiers.get("explosion", "outgoing") == "outgoing"
        assert launch.bursts is not None and impact.bursts is not None
        flight = impact.bursts - launch.bursts
        assert len(set(flight.tolist())) == 1  # every shot the same flight
        assert near / fast - 1 <= flight[0] <= far / slow + 1
        sides = parties.enrich(
            np.array([launch.lat, impact.lat]), np.array([launch.lon, impact.lon]), launch.start
        ).line_side
        assert sides[0] == parties.parties.index(str(launch.party)) != sides[1]
    seen = bad_day.seen_by()
    assert bad_day.counts()["launches_seen_with_impact"] == sum(
        e.id in seen and e.launch_of.id in seen for e in launches if e.launch_of
    )
    assert bad_day.counts()["launches_seen_with_impact"] >= 20
    truth = {r["id"]: r for r in bad_day.truth()}
    for launch in launches:
        assert launch.launch_of is not None
        assert truth[launch.id]["launch_of"] == launch.launch_of.id
        assert truth[launch.launch_of.id]["launches"] == [launch.id]


def test_drones_say_where_the_fire_came_from_for_a_share_of_the_impacts(
    bad_day: Scenario,
) -> None:
    said = {e.id: e.fired_from_deg for e in bad_day.events if e.direction_said}
    assert said
    of = {s.observation_id: s.event_id for s in bad_day.sightings}
    directions = [
        (o.qualifiers["direction_deg"], said[of[o.id]])
        for records in bad_day.observations.values()
        for o in records
        if o.category == "explosion"
        and of.get(o.id) in said
        and o.platform.type != "observation-post"
        and "direction_deg" in o.qualifiers
    ]
    assert len(directions) >= 10
    off = [abs((a - b + 180) % 360 - 180) for a, b in directions]
    assert sorted(off)[len(off) // 2] < 15  # a drone crew's direction: 10 degrees sd


def test_launches_leave_the_other_events_of_a_seed_as_they_were(
    bad_day: Scenario, demo_mission: Mission
) -> None:
    """Launches and directions draw from streams of their own."""
    import dataclasses

    from ceasefire.sim.presets import BAD_DAY

    without = simulate(
        demo_mission,
        hours=24,
        seed=1,
        preset=dataclasses.replace(BAD_DAY, launch_share=0.0, direction_share=0.0),
    )
    assert not any(e.launch_of for e in without.events)
    mine = [e for e in bad_day.events if e.launch_of is None]
    assert [(e.id, e.x0, e.y0, e.start) for e in mine] == [
        (e.id, e.x0, e.y0, e.start) for e in without.events
    ]
    assert sum(len(v) for v in without.observations.values()) < sum(
        len(v) for v in bad_day.observations.values()
    )
