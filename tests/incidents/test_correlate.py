"""Correlation: the same event across platforms and contingents is one incident; streaming and
batch give the same incidents whatever the order of arrival."""

from __future__ import annotations

import dataclasses
import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from sqlalchemy import Engine, select

from ceasefire.incidents import correlate as correlate_module
from ceasefire.incidents.correlate import Gating, correlate
from ceasefire.incidents.queries import IncidentFilter, explain, get_incident, list_incidents
from ceasefire.incidents.service import Correlator
from ceasefire.incidents.tables import incidents
from ceasefire.ingest.pipeline import Intake
from ceasefire.ledger.tables import ledger
from ceasefire.mission import Mission
from ceasefire.mission.model import Correlation
from ceasefire.observations import Observation
from ceasefire.observations.taxonomy import CATEGORIES
from ceasefire.store.missions import mission_row, save_mission
from ceasefire.store.schema import observations
from centers import intake_of

T0 = datetime(2021, 2, 1, 10, 0, tzinfo=UTC)
GATING = Gating.of(Correlation(), list(CATEGORIES))


def labels(*obs: tuple[float, float, float, float, str]) -> list[int]:
    """(minutes, x_m, y_m, ce_m, category) each; sorted by time here."""
    items = sorted(obs)
    t = np.array([int(o[0] * 60) for o in items], dtype=np.int64)
    x = np.array([o[1] for o in items])
    y = np.array([o[2] for o in items])
    ce = np.array([o[3] for o in items])
    return correlate(t, x, y, ce, GATING.codes([o[4] for o in items]), GATING).tolist()


def test_explosions_seen_by_two_drones_minutes_apart_are_one_event() -> None:
    assert labels((0, 0, 0, 50, "explosion"), (3, 150, -80, 100, "explosion")) == [0, 0]


def test_far_apart_in_time_or_space_or_kind_are_different_events() -> None:
    assert labels((0, 0, 0, 50, "explosion"), (45, 0, 0, 50, "explosion")) == [0, 1]
    assert labels((0, 0, 0, 50, "explosion"), (1, 3000, 0, 50, "explosion")) == [0, 1]
    assert labels((0, 0, 0, 50, "explosion"), (1, 0, 0, 50, "fortification")) == [0, 1]


def test_kinds_of_fire_stay_apart_and_a_column_moves() -> None:
    # An explosion and small-arms fire in the same minute, 100 m apart: two events.
    assert labels((0, 0, 0, 50, "small_arms_fire"), (0.5, 100, 0, 50, "explosion")) == [0, 1]
    # A column seen on two sorties an hour apart, 12 km further on: one movement.
    assert labels(
        (0, 0, 0, 100, "movement_heavy_weapon"), (60, 12_000, 0, 100, "movement_vehicle")
    ) == [0, 0]
    # A post calls it a line crossing, the drone a vehicle: one movement.
    assert labels((0, 0, 0, 800, "line_crossing"), (2, 400, 0, 80, "movement_vehicle")) == [0, 0]


def test_no_chain_through_a_middle_observation() -> None:
    # A near B and B near C, but A and C too far apart to be one explosion (gate 441 m):
    # complete linkage makes two incidents where single linkage made one chain.
    chain = ((0, 0, 0, 50, "explosion"), (4, 250, 0, 50, "explosion"), (8, 500, 0, 50, "explosion"))
    assert len(set(labels(*chain))) == 2
    single = Gating.of(Correlation(linkage="single"), list(CATEGORIES))
    t, x = np.array([0, 240, 480]), np.array([0.0, 250.0, 500.0])
    zeros, ce = np.zeros(3), np.full(3, 50.0)
    assert correlate(t, x, zeros, ce, single.codes(["explosion"] * 3), single).tolist() == [0, 0, 0]
    # A movement is a track: it chains, position after position.
    assert labels(
        (0, 0, 0, 50, "movement_vehicle"),
        (4, 400, 0, 50, "movement_vehicle"),
        (8, 800, 0, 50, "movement_vehicle"),
    ) == [0, 0, 0]


def _with(
    obs: list[tuple[float, float, float, float, str]],
    qualifiers: list[dict[str, object]],
    bearings: list[float | None] | None = None,
    across: list[float | None] | None = None,
) -> list[int]:
    """Labels of observations already in time order, with their evidence."""
    t = np.array([int(o[0] * 60) for o in obs], dtype=np.int64)
    x, y = np.array([o[1] for o in obs]), np.array([o[2] for o in obs])
    ce = np.array([o[3] for o in obs])
    blank: list[float | None] = [None] * len(obs)
    evidence = GATING.evidence(qualifiers, bearings or blank, across or blank)
    group = GATING.codes([o[4] for o in obs])
    return correlate(t, x, y, ce, group, GATING, evidence=evidence).tolist()


def test_what_observers_say_of_the_weapon_tells_two_events_apart() -> None:
    here = [(0, 0, 0, 50, "explosion"), (1, 60, 0, 50, "explosion")]
    mortar = {"weapon": "mortar", "calibre_mm": 120.0, "explosion": "impact"}
    assert _with(here, [mortar, {"weapon": "artillery"}]) == [0, 1]
    assert _with(here, [mortar, {"weapon": "mortar", "calibre_mm": 82.0}]) == [0, 1]
    assert _with(here, [mortar, {"explosion": "outgoing"}]) == [0, 1]
    # Not said, unknown or undetermined agrees with every value.
    assert _with(here, [mortar, {}]) == [0, 0]
    assert _with(here, [mortar, {"weapon": "unknown", "explosion": "undetermined"}]) == [0, 0]
    assert _with(here, [mortar, {"weapon": "mortar", "fire": "bursts"}]) == [0, 0]
    # A mission whose observers often take one weapon for another can say so.
    lenient = Gating.of(Correlation(distinct_qualifiers=[]), list(CATEGORIES))
    t, x, zero, ce = np.array([0, 60]), np.array([0.0, 60.0]), np.zeros(2), np.full(2, 50.0)
    evidence = lenient.evidence([mortar, {"weapon": "artillery"}], [None] * 2, [None] * 2)
    group = lenient.codes(["explosion"] * 2)
    assert correlate(t, x, zero, ce, group, lenient, evidence=evidence).tolist() == [0, 0]


def test_a_report_by_bearing_is_uncertain_along_its_bearing_not_across_it() -> None:
    # A post 3 km south reports an explosion due north in the 2-4 km band: CE 1,349 m (half
    # the band and the bearing's 5 degrees at 4 km), but only 349 m across the bearing.
    post = (0, 0, 0, 1349, "explosion")
    north, east = (1, 0, 1200, 30, "explosion"), (1, 1200, 0, 30, "explosion")
    bearings, across = [0.0, None], [349.0, None]
    assert _with([post, north], [{}, {}], bearings, across) == [0, 0]
    assert _with([post, east], [{}, {}], bearings, across) == [0, 1]
    assert _with([post, east], [{}, {}]) == [0, 0]  # as a circle: linked
    # Two posts' reports on parallel bearings: 1.5 km apart along them is one event (the
    # distance bands are wide), side by side is two.
    one, ahead, beside = (
        (0, 0, 0, 1349, "explosion"),
        (1, 0, 1500, 1349, "explosion"),
        (
            1,
            1500,
            0,
            1349,
            "explosion",
        ),
    )
    assert _with([one, ahead], [{}, {}], [0.0, 0.0], [349.0, 349.0]) == [0, 0]
    assert _with([one, beside], [{}, {}], [0.0, 0.0], [349.0, 349.0]) == [0, 1]


def test_the_combined_ce_of_two_circles_is_the_old_formula() -> None:
    rng = np.random.default_rng(7)
    n = 50
    x, y, ce = rng.uniform(0, 3000, n), rng.uniform(0, 3000, n), rng.uniform(5, 3000, n)
    i, j = np.triu_indices(n, k=1)
    dx, dy = x[i] - x[j], y[i] - y[j]
    blank: list[float | None] = [None] * n
    evidence = GATING.evidence([{}] * n, blank, blank)
    combined = correlate_module.combined_ce(i, j, dx, dy, np.hypot(dx, dy), ce, evidence)
    assert (combined == np.hypot(ce[i], ce[j])).all()
    # With bearings: the Mahalanobis distance of the summed covariances, worked out by matrix.
    bearing = rng.uniform(0, 360, n)
    across = rng.uniform(0.1, 1.0, n) * ce
    evidence = GATING.evidence([{}] * n, list(bearing), list(across))
    combined = correlate_module.combined_ce(i, j, dx, dy, np.hypot(dx, dy), ce, evidence)
    for k in range(0, len(i), 97):
        cov = _ellipse(ce[i[k]], across[i[k]], bearing[i[k]])
        cov = cov + _ellipse(ce[j[k]], across[j[k]], bearing[j[k]])
        d = np.array([dx[k], dy[k]])
        mahalanobis = float(np.sqrt(d @ np.linalg.inv(cov) @ d))
        assert combined[k] == pytest.approx(np.hypot(dx[k], dy[k]) / mahalanobis)


def _ellipse(along: float, across: float, bearing_deg: float) -> np.ndarray:  # type: ignore[type-arg]
    u = np.array([np.sin(np.radians(bearing_deg)), np.cos(np.radians(bearing_deg))])
    v = np.array([u[1], -u[0]])
    return np.asarray(along**2 * np.outer(u, u) + across**2 * np.outer(v, v))


def test_a_fire_incident_lasts_no_longer_than_its_window() -> None:
    # Explosions at the same place every 6 minutes for half an hour: each within 10 min of
    # the next, but an incident of fire spans 10 minutes at most.
    found = labels(*((6 * k, 0, 0, 50, "explosion") for k in range(6)))
    assert len(set(found)) >= 3
    assert all(found.count(label) <= 2 for label in set(found))


def test_a_post_reports_an_event_once_and_a_complaint_stays_apart() -> None:
    t = np.array([0, 60, 60, 120])
    x = np.array([0.0, 300.0, 300.0, 100.0])
    y = np.zeros(4)
    ce = np.array([1500.0, 1500.0, 1500.0, 3000.0])
    group = GATING.codes(["explosion"] * 4, [False, False, False, True])
    source = GATING.sources(
        ["observation-post"] * 3 + ["party-complaint"], ["op-03", "op-03", "op-03", "complaint-am"]
    )
    # Two reports of one post a minute apart are two explosions; the same report sent twice
    # is one; the complaint is an incident of its own.
    assert correlate(t, x, y, ce, group, GATING, source).tolist() == [0, 1, 1, 2]


def obs(
    i: int, contingent: str, minutes: float, lat: float, lon: float, category: str = "explosion"
) -> Observation:
    platform = {
        "RU": {"id": "orlan-10-07", "type": "orlan-10"},
        "TR": {"id": "tb2-03", "type": "bayraktar-tb2"},
    }
    return Observation.model_validate(
        {
            "id": f"{contingent}-{i:04d}",
            "contingent": contingent,
            "platform": platform[contingent],
            "observed_at": (T0 + timedelta(minutes=minutes)).isoformat(),
            "location": {"lat": lat, "lon": lon, "ce_m": 80},
            "category": category,
            "sensed_by": "drone-eo",
        }
    )


def scenario(seed: int) -> list[Observation]:
    """Clusters of fire seen by one or both contingents, plus scattered noise."""
    rng = random.Random(seed)
    out: list[Observation] = []
    for _event in range(25):
        lat, lon = 39.85 + rng.random() * 0.15, 46.75 + rng.random() * 0.3
        minutes = rng.random() * 600
        for contingent in rng.sample(["RU", "TR"], rng.choice([1, 2])):
            for _ in range(rng.choice([1, 2, 3])):
                out.append(
                    obs(
                        len(out),
                        contingent,
                        minutes + rng.random() * 4,
                        lat + rng.gauss(0, 0.0005),
                        lon + rng.gauss(0, 0.0005),
                    )
                )
    return out


def partition(engine: Engine) -> dict[str, frozenset[str]]:
    with engine.connect() as db:
        rows = db.execute(select(observations.c.incident_id, observations.c.source_id)).all()
    found: dict[str, set[str]] = {}
    for incident, source in rows:
        found.setdefault(incident, set()).add(source)
    return {k: frozenset(v) for k, v in found.items()}


def test_streaming_in_any_order_equals_batch(
    engine: Engine, demo_mission: Mission, demo_enricher, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    from ceasefire.store import open_database

    records = scenario(7)
    stored, _ = save_mission(engine, demo_mission)
    key = mission_row(engine, stored)
    # Streaming: shuffled, in small batches, each correlated as it arrives.
    shuffled = records[:]
    random.Random(3).shuffle(shuffled)
    intake = Intake(engine, demo_mission, key, enricher=demo_enricher, batch_size=7)
    intake.feed(shuffled, "stream")
    streamed = partition(engine)
    # Batch: everything stored first, then one correlation of the whole period.
    other = open_database(f"sqlite:///{tmp_path / 'batch.db'}")
    other_stored, _ = save_mission(other, demo_mission)
    Intake(
        other,
        demo_mission,
        mission_row(other, other_stored),
        enricher=demo_enricher,
        correlate="off",
    ).feed(records, "batch")
    # An hour at a time: slices must not change the result.
    Correlator(demo_mission, mission_row(other, other_stored), demo_enricher).recorrelate(
        other, step=timedelta(hours=1)
    )
    assert streamed == partition(other)
    assert 20 <= len(streamed) <= 30
    # Correlating the streamed store again changes nothing.
    Correlator(demo_mission, key, demo_enricher).recorrelate(engine)
    assert partition(engine) == streamed
    with engine.connect() as db:
        rows = db.execute(select(incidents.c.id, incidents.c.status, incidents.c.detail)).all()
    # Every incident made on the way is still there: those the late reports replaced say
    # which incident followed them, one that holds observations now.
    current = {r.id for r in rows if r.status != "superseded"}
    assert current == set(streamed)
    replaced = {
        r.id: json.loads(r.detail)["superseded_by"] for r in rows if r.status == "superseded"
    }
    assert replaced  # shuffled, some late reports came earlier than an incident's first
    for after in replaced.values():
        while after in replaced:
            after = replaced[after]
        assert after in current
    other.dispose()


def test_corroboration_by_both_contingents(
    engine: Engine, demo_mission: Mission, demo_enricher
) -> None:  # type: ignore[no-untyped-def]
    intake = intake_of(engine, demo_mission, demo_enricher)
    intake.feed(
        [
            obs(1, "RU", 0, 39.93, 46.83),
            obs(2, "TR", 2, 39.9302, 46.8301),
            obs(3, "RU", 0, 39.70, 47.00),
        ],
        "x",
    )
    with engine.connect() as db:
        rows = {r.observation_count: r for r in db.execute(select(incidents))}
    assert rows[2].corroboration == "both_contingents"
    assert rows[1].corroboration == "single_source"
    assert "fire" in rows[2].rules
    # Why the two are one event: `ceasefire incident ID` shows it for each observation.
    found = explain(demo_mission, get_incident(engine, demo_mission, rows[2].id) or {}, "ru")
    joined = [o["joined"] for o in found["observations"]]
    assert [j["with"] for j in joined] == ["TR/TR-0002", "RU/RU-0001"]
    first = joined[0]
    assert 15 < first["distance_m"] < 35 and first["gate_m"] == pytest.approx(526.3, abs=0.1)
    assert first["apart_s"] == 120 and first["window_s"] == 600
    assert first["sentence"].startswith("с TR/TR-0002")
    alone = get_incident(engine, demo_mission, rows[1].id) or {}
    assert "joined" not in explain(demo_mission, alone)["observations"][0]


@pytest.mark.parametrize("n", [2000])
def test_correlate_is_deterministic_on_arrays(n: int) -> None:
    rng = np.random.default_rng(5)
    t = np.sort(rng.integers(0, 86400, n))
    x, y = rng.uniform(0, 50_000, n), rng.uniform(0, 50_000, n)
    ce = rng.uniform(20, 500, n)
    group = GATING.codes(rng.choice(["explosion", "movement_vehicle", "fortification"], n))
    first = correlate(t, x, y, ce, group, GATING)
    assert (first == correlate(t, x, y, ce, group, GATING)).all()
    assert first[0] == 0 and first.max() < n


def test_dense_links_kept_as_a_forest_give_the_same_incidents(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Dense: 3,000 reports in two hours over 5 km, nearly all linked to each other.
    rng = np.random.default_rng(9)
    n = 3000
    t = np.sort(rng.integers(0, 7200, n))
    x, y = rng.uniform(0, 5_000, n), rng.uniform(0, 5_000, n)
    ce = rng.uniform(20, 200, n)
    group = GATING.codes(rng.choice(["explosion", "movement_vehicle", "illumination_flare"], n))
    kept = correlate(t, x, y, ce, group, GATING)
    monkeypatch.setattr(correlate_module, "COMPACT_AT", 0.01)  # reduce after nearly every step
    first, _second = correlate_module.links(t, x, y, ce, group, GATING)
    assert len(first) < n  # a forest: fewer links than observations
    assert (correlate(t, x, y, ce, group, GATING) == kept).all()
    assert 1 < kept.max() + 1 < n  # neither all apart nor all one


def _all_links(t, x, y, ce, group, source, track, extent, evidence=None):  # type: ignore[no-untyped-def]
    """Every linked pair by looking at every pair: what the sweep must find."""
    n = len(t)
    i, j = np.triu_indices(n, k=1)
    same = group[i] == group[j]
    i, j = i[same], j[same]
    g = group[i]
    dt = (t[j] - t[i]).astype(np.float64)
    near = np.maximum(dt - extent[i], 0.0) <= GATING.window_s[g]
    i, j, dt, g = i[near], j[near], dt[near], g[near]
    distance = np.hypot(x[i] - x[j], y[i] - y[j])
    combined = np.hypot(ce[i], ce[j])
    if evidence is not None:
        for k in np.flatnonzero(np.isfinite(evidence.axis[i]) | np.isfinite(evidence.axis[j])):
            a, b = i[k], j[k]
            cov = sum(
                _ellipse(ce[m], min(evidence.across[m], ce[m]), np.degrees(evidence.axis[m]))
                if np.isfinite(evidence.axis[m])
                else ce[m] ** 2 * np.eye(2)
                for m in (a, b)
            )
            d = np.array([x[a] - x[b], y[a] - y[b]])
            if distance[k] > 0 and np.isfinite(distance[k]):
                combined[k] = distance[k] / np.sqrt(d @ np.linalg.inv(cov) @ d)
    static = np.minimum(GATING.sigma * combined + GATING.slack_m, GATING.max_gate_m)
    linked = distance <= static + GATING.speed_ms[g] * dt
    linked &= ~((source[i] >= 0) & (source[i] == source[j]) & ((distance > 0) | (dt > 0)))
    if evidence is not None:
        said_i, said_j = evidence.traits[i], evidence.traits[j]
        linked &= ~((said_i != 0) & (said_j != 0) & (said_i != said_j)).any(axis=1)
    linked |= (track[i] >= 0) & (track[i] == track[j])
    return set(zip(i[linked].tolist(), j[linked].tolist(), strict=True))


@pytest.mark.parametrize("seed", range(12))
def test_the_sweep_in_cells_finds_every_link_and_only_links(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Dense and sparse, wide CEs and narrow, sightings that last, posts, tracks, no place.
    monkeypatch.setattr(correlate_module, "COMPACT_AT", 10**9)  # keep every link
    monkeypatch.setattr(correlate_module, "CANDIDATES", 97)  # many batches
    rng = np.random.default_rng(seed)
    n = 300
    t = np.sort(rng.integers(0, int(rng.choice([900, 7200, 86400])), n)).astype(np.int64)
    side = float(rng.choice([800, 8000, 60000]))
    x, y = rng.uniform(0, side, n), rng.uniform(-side, 0, n)
    x[rng.integers(0, n, 5)] = np.nan
    ce = rng.uniform(5, float(rng.choice([150, 3000])), n)
    kinds = ["explosion", "small_arms_fire", "movement_vehicle", "fortification", "mine_uxo"]
    group = GATING.codes(list(rng.choice(kinds, n)), rng.random(n) < 0.1)
    source = np.where(rng.random(n) < 0.3, rng.integers(0, 3, n), -1).astype(np.int64)
    track = np.where(rng.random(n) < 0.3, rng.integers(0, 4, n), -1).astype(np.int64)
    until = t + np.where(rng.random(n) < 0.3, rng.integers(0, 7200, n), 0)
    # Half the seeds with evidence: weapons said or not, reports by bearing.
    evidence = None
    if seed % 2:
        weapons = rng.choice(["mortar", "artillery", "unknown", ""], n)
        qualifiers = [{"weapon": str(w)} if w else {} for w in weapons]
        bearing = [float(b) if rng.random() < 0.3 else None for b in rng.uniform(0, 360, n)]
        across = [float(c) * 0.3 for c in ce]
        evidence = GATING.evidence(qualifiers, bearing, across)
    first, second = correlate_module.links(
        t, x, y, ce, group, GATING, source, track, until, evidence
    )
    found = list(zip(first.tolist(), second.tolist(), strict=True))
    assert len(found) == len(set(found))  # none twice
    extent = correlate_module._extent(t, until, group, GATING)
    assert set(found) == _all_links(t, x, y, ce, group, source, track, extent, evidence)


def test_a_dense_track_is_kept_as_a_forest_too() -> None:
    # A vehicle reporting its position every 2 s for 50 minutes: every two positions of a
    # track link (1.1 million pairs); memory must stay linear in the positions.
    n = 1500
    t = np.arange(0, 2 * n, 2, dtype=np.int64)
    x, y = np.linspace(0, 25_000, n), np.zeros(n)
    ce = np.full(n, 10.0)
    group = GATING.codes(["movement_vehicle"] * n)
    track = np.zeros(n, np.int64)
    first, _second = correlate_module.links(t, x, y, ce, group, GATING, track=track)
    assert len(first) <= (correlate_module.COMPACT_AT + 1) * n
    assert correlate(t, x, y, ce, group, GATING, track=track).max() == 0  # one incident


def test_a_late_earlier_report_joins_the_assessed_incident_which_keeps_its_identity(
    engine: Engine, demo_mission: Mission, demo_enricher
) -> None:  # type: ignore[no-untyped-def]
    from ceasefire.workflow.assessments import submit, visible
    from ceasefire.workflow.roles import add_user

    def assess(officer: Any, incident_id: str) -> None:
        with engine.begin() as db:
            submit(
                db,
                demo_mission,
                officer,
                incident_id,
                violation="yes",
                clauses=["1"],
                attribution="not_attributed",
            )

    def rows() -> dict[str, Any]:
        with engine.connect() as db:
            return {r.id: r for r in db.execute(select(incidents))}

    intake = intake_of(engine, demo_mission, demo_enricher)
    intake.feed([obs(2, "TR", 3, 39.93, 46.83)], "first")
    [blind] = rows()
    with engine.begin() as db:
        tr = add_user(db, demo_mission, "tr-duty", "duty_officer", "TR")
        ru = add_user(db, demo_mission, "ru-duty", "duty_officer", "RU")
    assess(tr, blind)
    # While TR alone has assessed it, the incident is correlated as if nobody had: RU's report
    # of the same explosion, a minute earlier and late, gives it RU's id, as it would any
    # incident (keeping TR's would tell RU that TR had assessed it). The old one stays, with
    # TR's assessment on it, and says what followed it.
    intake.feed([obs(1, "RU", 2, 39.9301, 46.8301)], "late")
    found = rows()
    [merged] = [i for i, r in found.items() if r.status != "superseded"]
    assert merged != blind and found[merged].observation_count == 2
    assert json.loads(found[blind].detail) == {"superseded_by": merged, "status_before": "open"}
    with engine.connect() as db:
        assert [a.contingent for a in visible(db, demo_mission, tr, blind)] == ["TR"]
        assert visible(db, demo_mission, ru, blind) == []  # still blind to RU
    # Both sides assess the merged incident: its records are everyone's, and from now on a
    # late earlier report joins it without changing its id, status or assessments.
    assess(tr, merged)
    assess(ru, merged)
    intake.feed([obs(3, "TR", 1, 39.9302, 46.8302)], "later still")
    found = rows()
    assert [i for i, r in found.items() if r.status != "superseded"] == [merged]
    assert found[merged].status == "finding" and found[merged].observation_count == 3
    with engine.connect() as db:
        members = db.execute(
            select(observations.c.source_id).where(observations.c.incident_id == merged)
        ).scalars()
        assert sorted(members) == ["RU-0001", "TR-0002", "TR-0003"]
    listed = [r["id"] for r in list_incidents(engine, demo_mission, IncidentFilter())]
    assert listed == [merged]


def test_two_taken_up_incidents_merged_one_gives_way_with_a_record_and_no_decision(
    engine: Engine, demo_mission: Mission, demo_enricher
) -> None:  # type: ignore[no-untyped-def]
    from ceasefire.workflow import Conflict, decisions
    from ceasefire.workflow.assessments import submit
    from ceasefire.workflow.roles import add_user

    # Complete linkage never joins two observations that are not linked, so incidents merge
    # only where a mission chose single linkage: such a mission, here.
    config = demo_mission.config.correlation.model_copy(update={"linkage": "single"})
    m = dataclasses.replace(
        demo_mission, config=demo_mission.config.model_copy(update={"correlation": config})
    )
    stored, _ = save_mission(engine, m)
    intake = Intake(engine, m, mission_row(engine, stored), enricher=demo_enricher)
    # Two explosions 18 minutes apart at one place: two incidents (the fire window is 10 min).
    intake.feed([obs(1, "RU", 0, 39.93, 46.83), obs(2, "RU", 18, 39.93, 46.83)], "first")
    with engine.connect() as db:
        first, second = db.execute(select(incidents.c.id).order_by("started_at")).scalars()
    with engine.begin() as db:
        ru = add_user(db, m, "ru-duty", "duty_officer", "RU")
        tr = add_user(db, m, "tr-duty", "duty_officer", "TR")
        for incident in (first, second):
            for officer in (ru, tr):
                submit(db, m, officer, incident, violation="no", clauses=[], attribution="AZ")
        pending = decisions.propose(db, m, ru, second, "record_only")
    # A report between them links both: one event. The earlier keeps its id; the later gives
    # way, keeps its records, and says so in the log.
    intake.feed([obs(3, "TR", 9, 39.93, 46.83)], "late")
    with engine.connect() as db:
        rows = {r.id: r for r in db.execute(select(incidents))}
        logged = db.execute(
            select(ledger.c.ref, ledger.c.entry).where(ledger.c.kind == "superseded")
        ).all()
    assert rows[first].status == "finding" and rows[first].observation_count == 3
    assert rows[second].status == "superseded"
    assert json.loads(rows[second].detail) == {"superseded_by": first, "status_before": "finding"}
    assert [r.ref for r in logged] == [second]
    assert json.loads(logged[0].entry)["record"]["superseded_by"] == first
    with pytest.raises(Conflict, match=f"superseded by {first}"), engine.begin() as db:
        decisions.approve(db, m, tr, pending.id)
    with pytest.raises(Conflict, match=f"superseded by {first}"), engine.begin() as db:
        decisions.propose(db, m, tr, second, "record_only")


def test_a_split_chain_gives_an_observation_to_the_other_contingents_incident_it_fits() -> None:
    # Small-arms fire lasting 25 minutes: contingent 0's drone sees its start, contingent 0's
    # post hears it throughout, contingent 1's drones see its end, 23 minutes after the start
    # (beyond the 20-minute window of the drone's sighting). Complete linkage splits the chain
    # by contingent; the post's report fits both of contingent 1's and goes to them.
    t = np.array([0, 0, 1380, 1400], dtype=np.int64)
    until = np.array([0, 1500, 1380, 1400], dtype=np.int64)
    x, y = np.array([0.0, 10.0, 100.0, 100.0]), np.zeros(4)
    ce = np.array([30.0, 30.0, 30.0, 30.0])
    group = GATING.codes(["small_arms_fire"] * 4)
    contingent = np.array([0, 0, 1, 1], dtype=np.int64)
    apart = correlate(t, x, y, ce, group, GATING, until=until)
    assert apart.tolist() == [0, 0, 1, 1]
    joined = correlate(t, x, y, ce, group, GATING, until=until, contingent=contingent)
    assert joined.tolist() == [0, 1, 1, 1]
    # One contingent only: nothing to corroborate, the split stays.
    alone = correlate(t, x, y, ce, group, GATING, until=until, contingent=np.zeros(4, np.int64))
    assert alone.tolist() == [0, 0, 1, 1]


def test_an_incident_made_again_after_giving_way_returns_to_its_status(
    engine: Engine, demo_mission: Mission, demo_enricher
) -> None:  # type: ignore[no-untyped-def]
    """Complete linkage may give way an incident and make it again as later reports reshape
    a chain: it then returns to the status it had, no longer pointing at a successor."""
    from ceasefire.incidents import service
    from ceasefire.workflow.assessments import submit
    from ceasefire.workflow.roles import add_user

    intake = intake_of(engine, demo_mission, demo_enricher)
    intake.feed([obs(1, "RU", 2, 39.93, 46.83)], "one")
    with engine.connect() as db:
        [made] = db.execute(select(incidents.c.id)).scalars()
    with engine.begin() as db:
        for c in ("RU", "TR"):
            officer = add_user(db, demo_mission, f"{c.lower()}-duty", "duty_officer", c)
            submit(db, demo_mission, officer, made, violation="no", clauses=[], attribution="AZ")
        # As a reshaped chain does: the incident gives way to another for a while.
        service._retire(db, {made: "INC-000000000000"}, datetime.now(UTC))
    with engine.connect() as db:
        row = db.execute(select(incidents).where(incidents.c.id == made)).one()
    assert row.status == "superseded"
    assert json.loads(row.detail) == {
        "superseded_by": "INC-000000000000",
        "status_before": "finding",
    }
    Correlator(demo_mission, intake.mission_row, demo_enricher).recorrelate(engine)
    with engine.connect() as db:
        row = db.execute(select(incidents).where(incidents.c.id == made)).one()
    assert row.status == "finding" and row.detail is None
    listed = [r["id"] for r in list_incidents(engine, demo_mission, IncidentFilter())]
    assert listed == [made]
