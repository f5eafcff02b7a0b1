"""CPU microseconds a record of each step of the center's HTTP intake, in this process.

Why: `ceasefire bench ingest` gives ratios in wall time, at the mercy of whatever else the
machine runs; the CPU time of each step a record does not depend on it as much. This drives
the HTTP intake's own code without HTTP (the body's strict JSON, then ``_Api.intake``: the
checks, ``Intake.prepare`` outside the write lock, ``Intake.flush`` under it, the answer) on
the bench's records in batches of 1,000, times each step with ``time.process_time`` (the
wrappers cost about 0.3 µs a call, counted in their callers' "rest"), and the floor of the
bench (Pydantic validation, the row and its log entry inserted, the commit) on the same
machine, taking turns.

Run: ``.venv/bin/python tools/intake_costs.py [--batches 10] [--turns 3]`` (SQLite).
"""

from __future__ import annotations

import argparse
import collections
import functools
import gc
import sqlite3
import tempfile
import time
from collections.abc import Callable
from typing import Any

import orjson

from ceasefire import served
from ceasefire.api import app as app_module
from ceasefire.api.app import _Api, _records
from ceasefire.bench.ingest import _columns, records
from ceasefire.center import Center, Settings
from ceasefire.ingest import pipeline
from ceasefire.intake._common import strict_json
from ceasefire.mission import Mission, load_mission
from ceasefire.observations import Observation
from ceasefire.observations import record as record_module

BATCH = 1000
spent: collections.Counter[str] = collections.Counter()


def timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.process_time()
        try:
            return fn(*args, **kwargs)
        finally:
            spent[name] += time.process_time() - start

    return wrapper


def patch(owner: Any, attribute: str, name: str) -> None:
    setattr(owner, attribute, timed(name, getattr(owner, attribute)))


def floor(mission: Mission, data: list[dict[str, Any]], tmp: str, turn: int) -> float:
    """The bench's floor (``bench.ingest._floor_round``) in CPU µs a record."""
    with Center(Settings(db=f"sqlite:///{tmp}/rows{turn}.db"), mission=mission) as center:
        center.intake(correlate="off").feed(
            (Observation.model_validate(r) for r in data), "api 127.0.0.1"
        )
    made = sqlite3.connect(f"{tmp}/rows{turn}.db")
    observation_columns = _columns(made, "observations", skip="id")
    ledger_columns = _columns(made, "ledger")
    rows = made.execute(f"SELECT {observation_columns} FROM observations ORDER BY id").fetchall()
    entries = made.execute(
        f"SELECT {ledger_columns} FROM ledger WHERE kind = 'observation' ORDER BY \"index\""
    ).fetchall()
    made.close()
    path = f"{tmp}/floor{turn}.db"
    with Center(Settings(db=f"sqlite:///{path}"), mission=mission) as center:
        center.version  # noqa: B018 (the same schema and mission row)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    ledger_sql = f"INSERT INTO ledger ({ledger_columns}) VALUES ({', '.join('?' * 6)})"
    marks = ", ".join("?" * len(rows[0]))
    rows_sql = f"INSERT INTO observations ({observation_columns}) VALUES ({marks})"
    start = time.process_time()
    for i in range(0, len(data), BATCH):
        for record in data[i : i + BATCH]:
            Observation.model_validate(record)
        db.execute("BEGIN")
        db.executemany(ledger_sql, entries[i : i + BATCH])
        db.executemany(rows_sql, rows[i : i + BATCH])
        db.execute("COMMIT")
    seconds = time.process_time() - start
    db.close()
    return seconds / len(data) * 1e6


def ours(mission: Mission, data: list[dict[str, Any]], tmp: str, turn: int) -> float:
    """The HTTP intake without HTTP, step by step (into ``spent``); CPU µs a record."""
    bodies = [orjson.dumps(data[i : i + BATCH]) for i in range(0, len(data), BATCH)]
    with Center(Settings(db=f"sqlite:///{tmp}/ours{turn}.db"), mission=mission) as center:
        api = _Api(center, BATCH, correlate="off")  # as `serve` runs it, beside its follower
        center.enricher  # noqa: B018 (built when the server starts)
        served.settle()
        began = [0.0]

        def collector(phase: str, info: dict[str, Any]) -> None:
            if phase == "start":
                began[0] = time.process_time()
            else:
                spent["the cyclic garbage collector"] += time.process_time() - began[0]

        gc.callbacks.append(collector)
        parse = timed("strict JSON of the body", strict_json)
        total = 0.0
        try:
            for body in bodies:
                start = time.process_time()
                answer = api.intake(_records(parse(body), BATCH), "api 127.0.0.1", "en")
                orjson.dumps(answer)
                total += time.process_time() - start
        finally:
            gc.callbacks.remove(collector)
        assert answer["accepted"] == BATCH, answer["results"][:3]
    return total / len(data) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--turns", type=int, default=3)
    args = parser.parse_args()
    n = args.batches * BATCH
    mission = load_mission()
    tmp = tempfile.mkdtemp(prefix="ceasefire-intake-costs-")
    patch(app_module, "_validated", "validation (Pydantic, the record's checks)")
    patch(pipeline.Intake, "add", "checks against the mission (add)")
    patch(pipeline.Intake, "prepare", "prepare: canonical text, digest, row, log entry")
    patch(record_module.Observation, "canonical", "  of which the canonical text")
    patch(pipeline.Intake, "flush", "flush, under the write lock")
    patch(pipeline.ledger_log, "lock", "  the ledger's lock")
    patch(pipeline.bulk, "digests", "  the idempotency lookup")
    patch(pipeline.Intake, "_tails", "  enrichment and rules")
    patch(pipeline.ledger_log, "append", "  the log entries' insert")
    patch(pipeline.bulk, "insert_values", "  the observations' insert")
    for turn in range(args.turns):
        data = records(n, turn, f"C{turn}")
        floor_us = floor(mission, data, tmp, turn)
        spent.clear()
        ours_us = ours(mission, records(n, turn + 100, f"D{turn}"), tmp, turn)
        print(
            f"turn {turn}: floor {floor_us:.1f} µs a record, ours {ours_us:.1f} (ratio "
            f"{floor_us / ours_us:.2f})"
        )
        inside = sum(v for k, v in spent.items() if k.startswith("  ") and "canonical" not in k)
        spent["  the rest of flush: the commit, the rows, the outcomes"] = (
            spent["flush, under the write lock"] - inside
        )
        for name, seconds in spent.items():
            print(f"  {seconds / n * 1e6:6.1f}  {name}")


if __name__ == "__main__":
    main()
