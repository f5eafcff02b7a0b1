"""One default 24-hour scenario for the simulator's tests (written once per session)."""

from __future__ import annotations

import time
from collections import defaultdict

import pytest
from sim_support import Run

from ceasefire.intake import cot
from ceasefire.mission import Mission
from ceasefire.observations import TrackPoint
from ceasefire.sim import simulate, write_scenario


@pytest.fixture(scope="session")
def default_run(demo_mission: Mission, tmp_path_factory: pytest.TempPathFactory) -> Run:
    folder = tmp_path_factory.mktemp("sim") / "out"
    began = time.perf_counter()
    scenario = simulate(demo_mission, hours=24, seed=1)
    write_scenario(scenario, folder)
    return Run(scenario, folder, time.perf_counter() - began)


@pytest.fixture(scope="session")
def flown(default_run: Run) -> dict[str, list[TrackPoint]]:
    """The track points of every sortie of the default run, read back from its CoT files."""
    out: dict[str, list[TrackPoint]] = defaultdict(list)
    for contingent in ("RU", "TR"):
        with (default_run.folder / contingent / "tracks.cot").open("rb") as stream:
            for item in cot.parse(stream, "tracks.cot"):
                assert isinstance(item, TrackPoint), item
                assert item.sortie is not None
                out[item.sortie].append(item)
    return dict(out)
