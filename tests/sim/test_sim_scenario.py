"""The default scenario: reproducible, valid records, ingestible files, honest sensing."""

from __future__ import annotations

import itertools
import json
import re
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pyproj import Geod
from sim_support import Run

from ceasefire.geo import Enricher
from ceasefire.intake import cot
from ceasefire.mission import Mission
from ceasefire.observations import Observation, TrackPoint, parse_observation
from ceasefire.sim import simulate, write_scenario
from ceasefire.sim.flights import RESERVE
from ceasefire.sim.platforms import DRONES, GROUND_SENSES, TRACK_INTERVAL_S

GEOD = Geod(ellps="WGS84")
FILES = (
    "RU/observations.jsonl",
    "RU/observations.cot",
    "RU/tracks.cot",
    "TR/observations.jsonl",
    "TR/observations.cot",
    "TR/tracks.cot",
    "complaints.jsonl",
    "truth.jsonl",
    "scenario.json",
)


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def seconds(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def test_the_default_day_writes_every_file(default_run: Run) -> None:
    # Its speed is for benchmarks to measure, not for a timed assertion here.
    for name in FILES:
        assert (default_run.folder / name).stat().st_size > 0, name


def test_the_same_seed_gives_the_same_files_and_another_seed_others(
    demo_mission: Mission, default_run: Run, tmp_path: Path
) -> None:
    write_scenario(simulate(demo_mission, hours=24, seed=1), tmp_path / "again")
    for name in FILES:
        assert (tmp_path / "again" / name).read_bytes() == (
            default_run.folder / name
        ).read_bytes(), name
    write_scenario(simulate(demo_mission, hours=24, seed=2), tmp_path / "other")
    for name in ("truth.jsonl", "RU/observations.jsonl", "TR/tracks.cot"):
        assert (tmp_path / "other" / name).read_bytes() != (
            default_run.folder / name
        ).read_bytes(), name


def test_every_record_is_a_valid_observation_with_ids_unique_per_contingent(
    default_run: Run,
) -> None:
    folder, scenario = default_run.folder, default_run.scenario
    sorties = {s.id: s for s in scenario.sorties}
    seen: dict[str, set[str]] = defaultdict(set)
    for contingent, drones in (("RU", {"orlan-10", "forpost"}), ("TR", {"bayraktar-tb2"})):
        records = [parse_observation(r) for r in lines(folder / contingent / "observations.jsonl")]
        assert records
        for o in records:
            assert o.contingent == contingent
            assert re.fullmatch(rf"{contingent}-\d{{6}}", o.id)
            assert o.id not in seen[contingent]
            seen[contingent].add(o.id)
            if o.platform.type in drones:
                assert o.sortie in sorties and sorties[o.sortie].contingent == contingent
                assert o.sortie is not None and sorties[o.sortie].platform_id == o.platform.id
                assert o.location is not None and o.sensed_by in {"drone-eo", "drone-ir"}
            else:
                assert o.platform.type in {"observation-post", "patrol"}
                assert o.sortie is None and o.location is None
                assert o.observer is not None and o.bearing_deg is not None and o.distance_m
        # The CoT file holds the same records.
        with (folder / contingent / "observations.cot").open("rb") as stream:
            from_cot = list(cot.parse(stream, "observations.cot"))
        assert [o.to_json() for o in from_cot if isinstance(o, Observation)] == [
            o.to_json() for o in records
        ]
    complaints = [parse_observation(r) for r in lines(folder / "complaints.jsonl")]
    assert complaints
    for o in complaints:
        assert o.platform.type == "party-complaint" and o.sensed_by == "party-complaint"
        assert o.id not in seen[o.contingent]
        seen[o.contingent].add(o.id)


def test_complaints_are_split_between_contingents_by_event_number(default_run: Run) -> None:
    truth = lines(default_run.folder / "truth.jsonl")
    by_id = {o.id: o for o in default_run.scenario.complaints}
    complaints = [(t, i) for t in truth for i in t["complaints"]]
    assert {t["real"] for t, _ in complaints} == {True, False}  # some true, some false
    for event, identifier in complaints:
        expected = ("RU", "TR")[int(event["id"][2:]) % 2]
        assert by_id[identifier].contingent == expected


@pytest.mark.parametrize("contingent", ["RU", "TR"])
def test_the_files_ingest_with_no_rejection(
    default_run: Run, cli: Any, tmp_path: Path, contingent: str
) -> None:
    db = str(tmp_path / "center.db")
    folder = default_run.folder
    counts = default_run.scenario.counts()
    jsonl = cli(
        "ingest",
        str(folder / contingent / "observations.jsonl"),
        "--as",
        contingent,
        "--db",
        db,
        "--json",
    )
    assert jsonl.code == 0, jsonl.err
    assert jsonl.json()["rejected"] == 0
    assert jsonl.json()["accepted"] == counts["observations"][contingent]["total"]
    again = cli(
        "ingest",
        str(folder / contingent / "observations.cot"),
        str(folder / contingent / "tracks.cot"),
        "--as",
        contingent,
        "--db",
        db,
        "--json",
    )
    assert again.code == 0, again.err
    result = again.json()
    assert result["rejected"] == 0 and result["accepted"] == 0  # the same records again
    assert result["duplicates"] == counts["observations"][contingent]["total"]
    assert result["track_points"] == counts["track_points"][contingent]
    said = cli("ingest", str(folder / "complaints.jsonl"), "--db", db, "--json")
    assert said.code == 0 and said.json()["rejected"] == 0


def test_drones_see_only_inside_their_footprint_and_posts_within_their_range(
    default_run: Run, flown: dict[str, list[TrackPoint]]
) -> None:
    truth = lines(default_run.folder / "truth.jsonl")
    scenario = default_run.scenario
    sortie_type = {s.id: s.spec.type for s in scenario.sorties}
    lo, hi = scenario.window()
    checked = 0
    for event in truth:
        for s in event["sightings"]:
            at = seconds(s["seen_at"])
            assert seconds(event["time"]) <= at <= seconds(event["until"])
            assert lo <= at < hi
            if "sortie" in s:
                points = flown[s["sortie"]]
                times = np.array([p.time.timestamp() for p in points])
                assert times[0] <= at <= times[-1], "the drone was flying"
                lat = np.interp(at, times, [p.lat for p in points])
                lon = np.interp(at, times, [p.lon for p in points])
                _a, _b, distance = GEOD.inv(lon, lat, s["lon"], s["lat"])
                footprint = DRONES[sortie_type[s["sortie"]]].footprint_m
                assert distance <= footprint * 1.005 + 2.0, (event["id"], distance)
                checked += 1
            else:
                sense = GROUND_SENSES[event["category"]]
                _a, _b, distance = GEOD.inv(s["sensor_lon"], s["sensor_lat"], s["lon"], s["lat"])
                assert distance <= max(sense.range_day_m, sense.range_night_m) * 1.005
    assert checked > 10


def test_some_events_are_seen_by_both_contingents_some_by_one_some_by_none(
    default_run: Run,
) -> None:
    counts = default_run.scenario.counts()
    assert 10 <= counts["events"] <= 150  # tens a day, not thousands
    assert counts["seen_by_several"] > 0
    assert counts["seen_by_one"] > 0
    assert counts["seen_by_none"] > 0
    assert all(n > 0 for n in counts["seen_by_contingent"].values())
    truth = lines(default_run.folder / "truth.jsonl")
    both = [t for t in truth if {s["contingent"] for s in t["sightings"]} == {"RU", "TR"}]
    assert len(both) == counts["seen_by_several"]
    summary = json.loads((default_run.folder / "scenario.json").read_text())
    assert summary["counts"] == counts and summary["seed"] == 1


def test_every_observation_belongs_to_one_truth_record(default_run: Run) -> None:
    truth = lines(default_run.folder / "truth.jsonl")
    linked = [i for t in truth for i in (*t["seen_by"], *t["complaints"])]
    assert len(linked) == len(set(linked))
    written = [
        r["id"]
        for name in ("RU/observations.jsonl", "TR/observations.jsonl", "complaints.jsonl")
        for r in lines(default_run.folder / name)
    ]
    assert sorted(linked) == sorted(written)
    for record in truth:
        if record["real"]:
            assert record["id"][:2] in ("E-", "L-") and "claimed_by" not in record
            assert ("launch_of" in record) == record["id"].startswith("L-")  # a launch's impact
        else:  # a false complaint's claim: seen by nobody, complained about only
            assert record["id"].startswith("F-") and record["claimed_by"]
            assert not record["seen_by"] and record["complaints"] and not record["violation"]


def test_sorties_leave_and_return_to_base_within_endurance(
    default_run: Run, flown: dict[str, list[TrackPoint]]
) -> None:
    scenario = default_run.scenario
    types = {"RU": {"orlan-10", "forpost"}, "TR": {"bayraktar-tb2"}}
    for sortie in scenario.sorties:
        assert sortie.spec.type in types[sortie.contingent]
        path = sortie.path
        for i in (0, -1):
            _a, _b, d = GEOD.inv(path.lon[i], path.lat[i], sortie.base.lon, sortie.base.lat)
            assert d < 1.0
        assert sortie.hours <= sortie.spec.endurance_h * (1 - RESERVE) + 1 / 60
        times = [p.time.timestamp() for p in flown.get(sortie.id, [])]
        assert all(0 < b - a <= TRACK_INTERVAL_S for a, b in itertools.pairwise(times))
    assert {s.contingent for s in scenario.sorties} == {"RU", "TR"}


def test_events_lie_near_the_line_on_the_right_side(
    default_run: Run, demo_enricher: Enricher
) -> None:
    events = [e for e in default_run.scenario.events if not e.moving]
    found = demo_enricher.enrich(
        np.array([e.lat for e in events]),
        np.array([e.lon for e in events]),
        np.array([e.start for e in events]),
    )
    parties = list(found.parties)
    for i, event in enumerate(events):
        assert abs(found.distance_to_line_m[i]) < 16_000
        if event.party is None:
            continue
        impact = event.qualifiers.get("explosion") == "impact"
        other = next(p for p in parties if p != event.party)
        expected = other if impact else event.party
        assert parties[found.line_side[i]] == expected, event.id
