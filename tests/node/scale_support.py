"""Shared by the scale-out and fault tests: center processes started and killed by pid, the
incidents' grouping to compare runs by, the NATS fixtures."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select

from ceasefire.incidents.follow import FollowerProcess, cursor
from ceasefire.incidents.tables import correlation_cursor
from ceasefire.store.schema import observations

CLI = [sys.executable, "-m", "ceasefire"]


def start(args: Sequence[str], log: Path) -> subprocess.Popen[bytes]:
    """A ``ceasefire`` command in a process of its own, its output into ``log``."""
    with log.open("ab") as out:
        return subprocess.Popen([*CLI, *args], stdout=out, stderr=subprocess.STDOUT)


def kill(process: subprocess.Popen[bytes], signum: int = signal.SIGKILL) -> None:
    """Signal one process we started, by its pid, and reap it."""
    send(process, signum)
    reap(process)


def send(process: subprocess.Popen[bytes], signum: int) -> None:
    """Signal one process we started, by its pid, if it is still running."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signum)


def reap(process: subprocess.Popen[bytes]) -> None:
    """Wait for a process we signalled (30 s, then SIGKILL)."""
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()


@contextlib.contextmanager
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Processes to end (SIGTERM, then SIGKILL) on the way out, each by its pid."""
    started: list[subprocess.Popen[bytes]] = []
    try:
        yield started
    finally:
        # all signalled first, then each reaped: their shutdowns run at once, not in turn
        for process in started:
            send(process, signal.SIGTERM)
        for process in started:
            reap(process)


def until(check: Callable[[], Any], seconds: float = 120.0, every: float = 0.1) -> Any:
    """Poll ``check`` until it is truthy (its value), failing after ``seconds``."""
    end = time.monotonic() + seconds
    while not (value := check()):
        assert time.monotonic() < end, f"not reached within {seconds} s"
        time.sleep(every)
    return value


def count(engine: Engine) -> int:
    with engine.connect() as db:
        return int(db.execute(select(func.count()).select_from(observations)).scalar_one())


def correlated(engine: Engine, n: int) -> bool:
    """Whether the follower's cursor has passed all of ``n`` stored observations."""
    with engine.connect() as db:
        last = db.execute(select(func.max(observations.c.id))).scalar_one()
        return count(engine) == n and last is not None and cursor(db) >= last


def follower_pid(engine: Engine) -> int | None:
    """The pid of the follower that holds the lease now (from its sign of life)."""
    with engine.connect() as db:
        holder = db.execute(select(correlation_cursor.c.holder)).scalar_one_or_none()
    parts = (holder or "").split()
    return int(parts[1]) if len(parts) == 4 else None


def grouping(engine: Engine) -> set[frozenset[str]]:
    """The incidents as sets of their observations' source ids (ids of incidents aside)."""
    with engine.connect() as db:
        rows = db.execute(
            select(observations.c.incident_id, observations.c.source_id).where(
                observations.c.incident_id.is_not(None)
            )
        ).all()
    groups: dict[str, set[str]] = {}
    for incident, source in rows:
        groups.setdefault(incident, set()).add(source)
    return {frozenset(g) for g in groups.values()}


def followers(url: str, mission: str, row: int, n: int) -> list[FollowerProcess]:
    made = [FollowerProcess(url, mission, row) for _n in range(n)]
    for follower in made:
        follower.start()
    return made
