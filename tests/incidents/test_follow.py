"""The correlation follower: incidents from what the intake stored, off its path."""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update
from test_correlate import obs, partition, scenario

from ceasefire.geo.engine import Enricher
from ceasefire.incidents.follow import Follower, FollowerProcess, alive, behind, cursor
from ceasefire.incidents.tables import correlation_cursor, incidents
from ceasefire.ingest.pipeline import Intake
from ceasefire.mission import Mission
from ceasefire.store import open_database
from ceasefire.store.missions import mission_row, save_mission
from centers import intake_of


def _intake(engine: Engine, mission: Mission, enricher: Enricher, **options: object) -> Intake:
    return intake_of(engine, mission, enricher, **options)


def _follower(engine: Engine, mission: Mission, enricher: Enricher, chunk: int) -> Follower:
    stored, _ = save_mission(engine, mission)
    return Follower(engine, mission, mission_row(engine, stored), enricher, chunk=chunk)


def test_the_follower_finds_what_inline_correlation_finds(
    engine: Engine, demo_mission: Mission, demo_enricher: Enricher, tmp_path: Path
) -> None:
    records = scenario(7)
    random.Random(5).shuffle(records)
    # Inline: each batch correlated in the transaction that stores it.
    inline = open_database(f"sqlite:///{tmp_path / 'inline.db'}")
    _intake(inline, demo_mission, demo_enricher, batch_size=11).feed(records, "inline")
    # Followed: stored with no correlation, then the follower in small chunks, with more
    # arriving between its steps.
    intake = _intake(engine, demo_mission, demo_enricher, correlate="off", batch_size=11)
    follower = _follower(engine, demo_mission, demo_enricher, chunk=13)
    half = len(records) // 2
    intake.feed(records[:half], "follow")
    assert follower.step() == 13
    intake.feed(records[half:], "follow")
    with engine.connect() as db:
        assert behind(db) == len(records) - 13
    assert follower.catch_up() == len(records) - 13
    assert follower.step() == 0
    with engine.connect() as db:
        assert behind(db) == 0
        assert cursor(db) == len(records)
    assert partition(engine) == partition(inline)
    assert 20 <= len(partition(engine)) <= 30
    inline.dispose()


def test_a_step_correlates_as_if_nothing_after_its_chunk_were_stored(
    engine: Engine, demo_mission: Mission, demo_enricher: Enricher, tmp_path: Path
) -> None:
    # A column seen every 15 minutes for ten hours (one movement chain) among fire, stored
    # in any order well ahead of the follower, as the intake is under a flood.
    column = [
        obs(500 + k, ("RU", "TR")[k % 2], 15 * k, 39.85 + 0.009 * k, 46.9, "movement_vehicle")
        for k in range(40)
    ]
    records = scenario(7) + column
    random.Random(3).shuffle(records)
    _intake(engine, demo_mission, demo_enricher, correlate="off").feed(records, "ahead")
    follower = _follower(engine, demo_mission, demo_enricher, chunk=30)
    for done in (30, 60):
        assert follower.step() == 30
        # What is stored after the chunk is left to its own step: the incidents so far are
        # those of one batch run over the records up to it.
        found = partition(engine)
        assert len(found.pop(None)) == len(records) - done
        prefix = open_database(f"sqlite:///{tmp_path / f'prefix{done}.db'}")
        _intake(prefix, demo_mission, demo_enricher).feed(records[:done], "prefix")
        assert found == partition(prefix)
        prefix.dispose()
    follower.catch_up()
    whole = open_database(f"sqlite:///{tmp_path / 'whole.db'}")
    _intake(whole, demo_mission, demo_enricher).feed(records, "whole")
    assert partition(engine) == partition(whole)
    assert any(len(v) > 10 for v in partition(engine).values())  # the column, one incident
    whole.dispose()


def test_correlating_again_from_the_start_changes_nothing(
    engine: Engine, demo_mission: Mission, demo_enricher: Enricher
) -> None:
    _intake(engine, demo_mission, demo_enricher, correlate="off").feed(scenario(3), "x")
    follower = _follower(engine, demo_mission, demo_enricher, chunk=50)
    follower.catch_up()
    first = partition(engine)
    with engine.connect() as db:
        ids = set(db.execute(select(incidents.c.id)).scalars())
    # As after a crash between a chunk's work and its commit, or a store whose intake had
    # already correlated: the follower takes everything again.
    with engine.begin() as db:
        db.execute(update(correlation_cursor).values(observation=0))
    follower.catch_up()
    assert partition(engine) == first
    with engine.connect() as db:
        assert set(db.execute(select(incidents.c.id)).scalars()) == ids


def test_the_follower_runs_beside_the_intake_until_stopped(
    engine: Engine, demo_mission: Mission, demo_enricher: Enricher
) -> None:
    stop = threading.Event()
    follower = _follower(engine, demo_mission, demo_enricher, chunk=20)
    thread = threading.Thread(target=follower.run, args=(stop, 0.01))
    thread.start()
    try:
        records = scenario(11)
        intake = _intake(engine, demo_mission, demo_enricher, correlate="off", batch_size=9)
        intake.feed(records, "live")
        for _ in range(2400):  # a bound, not a timing: a stuck follower fails the test
            with engine.connect() as db:
                if behind(db) == 0:
                    break
            stop.wait(0.05)
    finally:
        stop.set()
        thread.join(30)
    assert not thread.is_alive()
    assert sum(len(v) for v in partition(engine).values()) == len(records)
    assert None not in partition(engine)


def test_a_follower_process_that_dies_is_started_again(
    tmp_path: Path, demo_mission: Mission, demo_enricher: Enricher
) -> None:
    url = f"sqlite:///{tmp_path / 'center.db'}"
    engine = open_database(url)
    stored, _ = save_mission(engine, demo_mission)
    row = mission_row(engine, stored)
    follower = FollowerProcess(url, None, row)
    follower.start()
    try:
        assert follower.keep_alive() is False  # alive: nothing to do
        first = follower.pid
        assert first is not None
        os.kill(first, signal.SIGKILL)
        for _ in range(600):  # a bound, not a timing
            if follower.keep_alive():
                break
            time.sleep(0.05)
        assert follower.restarts == 1 and follower.pid not in (None, first)
        # The new one correlates what arrives.
        records = scenario(5)
        _intake(engine, demo_mission, demo_enricher, correlate="off").feed(records, "x")
        for _ in range(2400):
            with engine.connect() as db:
                if behind(db) == 0:
                    break
            time.sleep(0.05)
        assert None not in partition(engine)
    finally:
        follower.stop()
        engine.dispose()
    assert follower.keep_alive() is False  # stopped on purpose: not started again


def test_a_running_follower_is_seen_and_other_writers_of_incidents_step_aside(
    tmp_path: Path, demo_mission: Mission, demo_enricher: Enricher, cli
) -> None:  # type: ignore[no-untyped-def]
    db = str(tmp_path / "center.db")
    engine = open_database(db)
    follower = _follower(engine, demo_mission, demo_enricher, chunk=50)
    stop = threading.Event()
    thread = threading.Thread(target=follower.run, args=(stop, 0.01))
    thread.start()
    try:
        for _ in range(2400):  # a bound, not a timing
            with engine.connect() as db_:
                if alive(db_):
                    break
            stop.wait(0.05)
        # Ingesting while the center runs: stored, and left to the follower.
        result = cli("ingest", "examples/observations-sample.jsonl", "--db", db, "--json")
        assert result.code == 0, result.err
        assert "correlation follower puts these observations into incidents" in result.err
        # Correlating again while it runs is refused: two writers of incidents at once.
        refused = cli("correlate", "--db", db)
        assert refused.code == 1 and "stop `ceasefire serve` first" in refused.err
        for _ in range(2400):
            with engine.connect() as db_:
                if behind(db_) == 0:
                    break
            stop.wait(0.05)
    finally:
        stop.set()
        thread.join(30)
    with engine.connect() as db_:
        assert not alive(db_)  # a follower that stopped says so
        assert behind(db_) == 0
        assert db_.execute(select(incidents.c.id)).first() is not None
    assert cli("correlate", "--db", db).code == 0  # nothing runs beside it now
    engine.dispose()


def test_after_a_part_chunk_the_follower_lets_records_gather(
    engine: Engine,
    demo_mission: Mission,
    demo_enricher: Enricher,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A step costs its neighbourhood whatever the number of new records: behind by a chunk it
    # steps on at once, after a part chunk it waits for more, with nothing new it idles.
    follower = _follower(engine, demo_mission, demo_enricher, chunk=50)
    found = iter([50, 50, 7, 0, 3])
    monkeypatch.setattr(follower, "step", lambda: next(found, 0))
    waits: list[float] = []

    class Stop:
        def is_set(self) -> bool:
            return len(waits) >= 3

        def wait(self, timeout: float | None = None) -> bool:
            waits.append(float(timeout or 0))
            return self.is_set()

    follower.run(Stop(), idle=0.2, gather=1.5)
    assert waits == [1.5, 0.2, 1.5]
