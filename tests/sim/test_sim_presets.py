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
