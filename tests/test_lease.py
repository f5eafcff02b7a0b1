"""Single-writer leases: one holder at a time on a store; the holder's death frees it at once.

On PostgreSQL a session advisory lock, on SQLite a file lock beside the database; both are
dropped by the server or the kernel when the holding process dies, SIGKILL included.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from typing import Any

import sqlalchemy as sa

from ceasefire.center.leased import LeasedJob
from ceasefire.lease import Lease

HOLD = """
import sys, time
from ceasefire.store.db import create
from ceasefire.lease import Lease
engine = create(sys.argv[1])
lease = Lease(engine, "job")
assert lease.acquire()
print("held", flush=True)
time.sleep(600)
"""


def test_one_holder_at_a_time(engine: sa.Engine) -> None:
    first, second = Lease(engine, "job"), Lease(engine, "job")
    other = Lease(engine, "another job")
    assert first.acquire()
    assert first.acquire()  # again: still its own
    assert not second.acquire()
    assert other.acquire()  # leases of other names are apart
    assert first.held() and not second.held()
    first.release()
    assert not first.held()
    assert second.acquire()
    assert not first.acquire()
    second.release()
    other.release()


def test_the_holder_killed_frees_the_lease(database_url: str, engine: sa.Engine) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, database_url], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        standby = Lease(engine, "job")
        assert not standby.acquire()
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
        # no time-out waited out: the lease is free once the process is gone
        assert standby.wait(threading.Event(), every=0.05)
        standby.release()
    finally:
        if holder.poll() is None:
            os.kill(holder.pid, signal.SIGKILL)
            holder.wait()
        assert holder.stdout is not None
        holder.stdout.close()


def test_a_holder_whose_session_ends_knows_it_lost_the_lease(engine: sa.Engine) -> None:
    lease = Lease(engine, "job")
    assert lease.acquire()
    if engine.dialect.name == "postgresql":
        # an administrator ends the holder's session: only this lease's, in this database
        # (tests run in parallel, and another test's leases in the cluster must live on)
        with engine.connect() as db:
            db.execute(
                sa.text(
                    "SELECT pg_terminate_backend(l.pid) FROM pg_locks l"
                    " JOIN pg_database d ON d.oid = l.database"
                    " WHERE l.locktype = 'advisory' AND d.datname = current_database()"
                    " AND l.classid::bigint = :high AND l.objid::bigint = :low"
                    " AND l.pid <> pg_backend_pid()"
                ),
                {"high": (lease.key >> 32) & 0xFFFFFFFF, "low": lease.key & 0xFFFFFFFF},
            )
        assert not lease.held()
        successor = Lease(engine, "job")
        assert successor.acquire()
        successor.release()
    else:
        assert lease.held()
    lease.release()


class _Job:
    def __init__(self, log: list[str], name: str) -> None:
        self.log, self.name = log, name

    def start(self) -> None:
        self.log.append(f"start {self.name}")

    def stop(self) -> None:
        self.log.append(f"stop {self.name}")


def test_a_leased_job_runs_in_one_center_and_the_standby_takes_over(engine: sa.Engine) -> None:
    log: list[str] = []

    class FakeCenter:
        def __init__(self) -> None:
            self.engine = engine

    async def scenario() -> None:
        a = LeasedJob(FakeCenter(), "dispatcher", lambda c: _Job(log, "a"), check_s=0.05)  # type: ignore[arg-type]
        b = LeasedJob(FakeCenter(), "dispatcher", lambda c: _Job(log, "b"), check_s=0.05)  # type: ignore[arg-type]
        await a.start()
        await _until(lambda: a.holding)
        await b.start()
        for _n in range(5):  # b waits as a standby while a holds
            await asyncio.sleep(0.05)
            assert not b.holding
        await a.stop()
        await _until(lambda: b.holding)
        await b.stop()

    asyncio.run(scenario())
    assert log == ["start a", "stop a", "start b", "stop b"]


async def _until(check: Any, limit: float = 30.0) -> None:
    deadline = time.monotonic() + limit
    while not check():
        assert time.monotonic() < deadline, "never happened"
        await asyncio.sleep(0.02)
