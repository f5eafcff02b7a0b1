"""The whole chain on the default scenario: simulate, ingest both contingents and the
complaints, correlate, score against the truth. The issue's bar: incident F1 >= 0.9."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from sim_support import Run
from sqlalchemy import Engine, select

from ceasefire.mission import Mission
from ceasefire.sim.score import read_truth
from ceasefire.store.schema import observations


def test_default_scenario_scores_f1_of_at_least_0_9(default_run: Run, cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    db = str(tmp_path / "score.db")
    folder = default_run.folder
    for contingent in ("RU", "TR"):
        result = cli(
            "ingest",
            str(folder / contingent / "observations.jsonl"),
            str(folder / contingent / "tracks.cot"),
            "--as",
            contingent,
            "--db",
            db,
            "--json",
        )
        assert result.code == 0 and result.json()["rejected"] == 0, result.err
        assert result.json()["track_points"] > 1000
    assert cli("ingest", str(folder / "complaints.jsonl"), "--db", db, "--json").code == 0
    scored = cli("score", "--truth", str(folder / "truth.jsonl"), "--db", db, "--json")
    assert scored.code == 0, scored.err
    figures = scored.json()
    assert figures["f1"] >= 0.9, figures
    assert figures["events_observed"] == sum(
        1 for e in read_truth(folder / "truth.jsonl") if e.refs
    )
    assert figures["median_location_error_m"] < 1000
    for key in ("precision", "recall", "median_delay_s", "side_of_line_accuracy", "per_category"):
        assert key in figures


def _ingest(engine: Engine, mission: Mission, folder: Path) -> int:
    from ceasefire.geo import Enricher
    from ceasefire.ingest.pipeline import Intake
    from ceasefire.intake import jsonl
    from ceasefire.store.missions import mission_row, save_mission

    stored, _new = save_mission(engine, mission)
    intake = Intake(
        engine, mission, mission_row(engine, stored), Enricher(mission), correlate="deferred"
    )
    for contingent in ("RU", "TR"):
        intake.contingent = contingent
        with (folder / contingent / "observations.jsonl").open("rb") as f:
            intake.feed(jsonl.parse(f, "observations.jsonl"), "observations.jsonl")
    intake.contingent = None
    with (folder / "complaints.jsonl").open("rb") as f:
        intake.feed(jsonl.parse(f, "complaints.jsonl"), "complaints.jsonl")
    intake.finish()
    return mission_row(engine, stored)


def test_a_bad_day_is_scored_apart_from_other_data_and_beats_single_linkage(
    demo_mission: Mission, cli: Any, tmp_path: Path
) -> None:
    from ceasefire.geo import Enricher
    from ceasefire.incidents.service import Correlator
    from ceasefire.observations import parse_observation
    from ceasefire.sim import simulate, write_scenario
    from ceasefire.sim.score import read_scope, score
    from ceasefire.store import open_database

    folder = tmp_path / "bad"
    write_scenario(simulate(demo_mission, hours=24, seed=1, preset="bad-day"), folder)
    db = tmp_path / "bad.db"
    engine = open_database(str(db))
    # Other data in the same store: an explosion inside the day's period and area, and one
    # a month later. Neither is the simulation's: reported apart, not false positives.
    other = [
        parse_observation(
            {
                "id": f"RU-X{n}",
                "contingent": "RU",
                "platform": {"id": "ru-post-x", "type": "observation-post"},
                "observed_at": at,
                "location": {"lat": 39.8, "lon": 46.8, "ce_m": 50},
                "category": "explosion",
                "sensed_by": "post",
            }
        )
        for n, at in enumerate(("2021-02-01T12:00:00Z", "2021-03-01T12:00:00Z"))
    ]
    row = _ingest(engine, demo_mission, folder)
    from ceasefire.ingest.pipeline import Intake

    Intake(engine, demo_mission, row, Enricher(demo_mission)).feed(other, "other")
    truth = folder / "truth.jsonl"
    scored = cli("score", "--truth", str(truth), "--db", str(db), "--json").json()
    assert scored["f1"] >= 0.95, scored["f1"]
    counts = scored["counts"]
    assert counts["other_data"] == 1 and counts["outside_period_or_area"] == 1
    listed = cli("incidents", "--db", str(db), "--format", "json").json()
    assert counts["listed"] == len(listed)
    assert counts["listed"] == sum(v for k, v in counts.items() if k != "listed")
    assert scored["both_contingents"]["share"] >= 0.9
    # The bound on tagging both: what position and time allow, beside what was achieved.
    bound = scored["both_ambiguous"]
    assert bound["events"] == scored["both_contingents"]["events"]
    assert bound["bound_by_chance"] <= bound["bound_by_fit"] <= 1
    assert bound["ambiguous"] >= bound["own_fits_best"] > 0
    assert (
        scored["both_contingents"]["tagged_with_its_own"]
        <= scored["both_contingents"]["tagged_both"]
    )
    assert scored["location_error_m"]["p50"] <= scored["location_error_m"]["p90"]
    assert "both_contingents" in scored["per_corroboration"]
    # The naive baselines, worked out in the same run, score well below.
    naive = scored["baselines"]
    assert naive["one_incident_per_observation"]["f1"] < scored["f1"] - 0.1
    assert naive["single_linkage_before"]["f1"] < scored["f1"] - 0.2
    assert naive["one_incident_per_observation"]["incidents"] > scored["incidents"]
    text = cli("score", "--truth", str(truth), "--db", str(db))
    assert text.code == 0 and "line crossings" in text.out and "choosing the better fit" in text.out
    assert "impacts related to launches" in text.out
    # An impact related to its launch, never merged with it. Seed 1 measured (2026-12-07):
    # 36 true pairs seen; the first launch listed precision 0.116, recall 0.583; any listed
    # recall 0.944; an impact whose launch was seen lists it first 0.618 of the time.
    related = scored["launch_relations"]
    assert related["true_pairs_seen"] >= 30
    assert related["best"]["precision"] >= 0.1 and related["best"]["recall"] >= 0.5, related
    assert related["listed"]["recall"] >= 0.85 and related["best_is_its_launch"] >= 0.55
    truth_read = read_truth(truth)
    pairs = [(e.launch_of, e.id) for e in truth_read if e.launch_of]
    refs = {e.id: e.refs for e in truth_read}
    with engine.connect() as db:
        held = {
            f"{c}/{s}": i
            for i, c, s in db.execute(
                select(
                    observations.c.incident_id, observations.c.contingent, observations.c.source_id
                )
            )
        }
    for impact, launch in pairs:
        assert not {held[r] for r in refs[impact]} & {held[r] for r in refs[launch]}
    # Single linkage on the same store chains the day's distinct events together (less since
    # weapons said and posts' bearings keep some apart: 0.935 against 0.972 on this seed).
    config = demo_mission.config.correlation.model_copy(update={"linkage": "single"})
    single = dataclasses.replace(
        demo_mission, config=demo_mission.config.model_copy(update={"correlation": config})
    )
    Correlator(single, row, Enricher(demo_mission)).recorrelate(engine)
    chained = score(engine, read_truth(truth), read_scope(truth))
    assert chained["f1"] < scored["f1"] - 0.03, chained["f1"]
    engine.dispose()


def test_the_bound_on_tagging_both_tells_clean_ambiguous_and_unreachable_events(
    demo_mission: Mission, tmp_path: Path
) -> None:
    """A hand-made day whose answer is known: one event whose two reports nothing else fits
    (clean), two near-simultaneous pairs of explosions 400 m apart which one contingent reported
    both of and the other once (ambiguous: once its own fits better, once the other does), and
    one event whose two reports are beyond the gate."""
    import json
    import math

    from ceasefire.geo import Enricher
    from ceasefire.ingest.pipeline import Intake
    from ceasefire.observations import parse_observation
    from ceasefire.sim.score import ambiguity, read_scope, score
    from ceasefire.store import open_database
    from ceasefire.store.missions import mission_row, save_mission

    lat0, lon0 = 39.9, 46.8

    def place(east_m: float) -> dict[str, float]:
        return {"lat": lat0, "lon": lon0 + east_m / (111_320.0 * math.cos(math.radians(lat0)))}

    # event: (hour, true place east in m, {contingent: (place reported, CE)})
    events = {
        "E-1": (10, 0, {"RU": (0, 50), "TR": (30, 50)}),
        "E-2": (11, 20_000, {"RU": (20_000, 100), "TR": (20_100, 100)}),  # own fits best
        "E-3": (11, 20_400, {"RU": (20_400, 100)}),
        "E-5": (12, 40_000, {"RU": (40_000, 100), "TR": (40_300, 100)}),  # E-6 fits better
        "E-6": (12, 40_400, {"RU": (40_400, 100)}),
        "E-4": (13, 60_000, {"RU": (60_000, 50), "TR": (65_000, 50)}),  # beyond the gate
    }
    truth = tmp_path / "truth.jsonl"
    records = []
    with truth.open("w", encoding="utf-8") as f:
        for n, (event_id, (hour, east, seen)) in enumerate(events.items()):
            at = f"2021-02-01T{hour:02d}:00:00Z"
            refs = [f"{c}-{n}" for c in seen]
            sightings = [{"observation": r, "contingent": r[:2]} for r in refs]
            row = {"id": event_id, "real": True, "category": "explosion", "time": at, **place(east)}
            f.write(json.dumps(row | {"seen_by": refs, "sightings": sightings}) + "\n")
            for contingent, (reported, ce) in seen.items():
                records.append(
                    {
                        "id": f"{contingent}-{n}",
                        "contingent": contingent,
                        "platform": {"id": f"{contingent.lower()}-drone", "type": "orlan-10"},
                        "observed_at": f"2021-02-01T{hour:02d}:00:30Z",
                        "location": place(reported) | {"ce_m": ce},
                        "category": "explosion",
                        "sensed_by": "drone-eo",
                    }
                )
    engine = open_database(str(tmp_path / "hand.db"))
    row = mission_row(engine, save_mission(engine, demo_mission)[0])
    enricher = Enricher(demo_mission)
    Intake(engine, demo_mission, row, enricher).feed(
        [parse_observation(r) for r in records], "hand"
    )
    events_read = read_truth(truth)
    found = ambiguity(engine, events_read, read_scope(truth), demo_mission, enricher)
    assert found["events"] == 4  # E-1, E-2, E-5, E-4: E-3 and E-6 were seen by RU only
    assert found["events_beyond_gate"] == ["E-4"]
    assert found["events_ambiguous"] == ["E-2", "E-5"]
    assert found["events_another_fits_better"] == ["E-5"]
    assert found["own_fits_best"] == 1
    assert found["chance"] == 1.0  # two candidates each: right half the time
    assert found["bound_by_chance"] == round((1 + 1.0) / 4, 3)  # E-1, and half of E-2, E-5
    assert found["bound_by_fit"] == round((1 + 1) / 4, 3)  # E-1 and E-2
    scored = score(engine, events_read, read_scope(truth))
    assert "E-4" in scored["both_contingents"]["not_tagged_with_its_own"]
    assert "E-1" not in scored["both_contingents"]["not_tagged_with_its_own"]
    engine.dispose()
