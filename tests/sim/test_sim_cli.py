"""`ceasefire simulate`, another mission, a period across a change of the line, daylight."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ceasefire.geo import Enricher
from ceasefire.mission import Mission
from ceasefire.sim import simulate
from ceasefire.sim.daylight import is_day


def test_the_command_writes_the_files_and_prints_counts(cli: Any, tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = cli(
        "simulate",
        "--out",
        str(out),
        "--hours",
        "3",
        "--seed",
        "5",
        "--start",
        "2021-03-01T06:00:00Z",
        "--json",
    )
    assert result.code == 0, result.err
    counts = result.json()
    assert set(counts["observations"]) == {"RU", "TR"}
    summary = json.loads((out / "scenario.json").read_text())
    assert summary["start"] == "2021-03-01T06:00:00Z" and summary["hours"] == 3
    assert summary["counts"] == counts
    assert (out / "TR" / "tracks.cot").exists() and (out / "complaints.jsonl").exists()
    text = cli("simulate", "--out", str(tmp_path / "text"), "--hours", "1")
    assert text.code == 0 and "events" in text.out
    busy = cli("simulate", "--out", str(tmp_path / "busy"), "--hours", "3", "--preset", "busy")
    assert busy.code == 0, busy.err
    assert json.loads((tmp_path / "busy" / "scenario.json").read_text())["preset"] == "busy"
    wrong = cli("simulate", "--out", str(tmp_path / "x"), "--preset", "hectic")
    assert wrong.code == 2 and "hectic" in wrong.err


@pytest.mark.parametrize(
    ("args", "field"),
    [(["--hours", "0"], "--hours"), (["--start", "2019-05-01T00:00:00Z"], "--start")],
)
def test_the_command_refuses_a_period_it_cannot_run(
    cli: Any, tmp_path: Path, args: list[str], field: str
) -> None:
    result = cli("simulate", "--out", str(tmp_path / "x"), *args)
    assert result.code == 1
    assert field in result.err


def test_another_mission_across_a_change_of_its_line(mini_mission: Mission) -> None:
    # The mini mission's line bends on 1 Feb 2021: events must follow the line of their time.
    start = datetime(2021, 1, 31, 12, tzinfo=UTC)
    scenario = simulate(mini_mission, hours=24, seed=3, start=start)
    assert {s.contingent for s in scenario.sorties} == {"XX", "YY"}
    events = [e for e in scenario.events if not e.moving and e.party is not None]
    assert events
    enricher = Enricher(mini_mission)
    found = enricher.enrich(
        np.array([e.lat for e in events]),
        np.array([e.lon for e in events]),
        np.array([e.start for e in events]),
    )
    for i, event in enumerate(events):
        impact = event.qualifiers.get("explosion") == "impact"
        side = enricher.parties[found.line_side[i]]
        assert (side != event.party) if impact else (side == event.party), event.id
    split = int(datetime(2021, 2, 1, tzinfo=UTC).timestamp())
    assert any(e.start < split for e in events) and any(e.start >= split for e in events)


def test_day_and_night_at_the_line() -> None:
    noon = datetime(2021, 2, 1, 9, tzinfo=UTC).timestamp()  # 13:00 in Baku
    midnight = datetime(2021, 2, 1, 20, tzinfo=UTC).timestamp()
    assert is_day(39.9, 46.8, noon) and not is_day(39.9, 46.8, midnight)
