"""Nothing lost when the dispatcher is killed (SIGKILL) at random moments while decisions keep
coming: at the end every notice reached every recipient, each receiver saw every notice id, and
no delivery is marked delivered that its receiver did not take."""

from __future__ import annotations

import asyncio
import multiprocessing
import multiprocessing.forkserver
import os
import random
import signal
import time
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa
from dissemination_support import mission_with_lines, notify_batches
from kill_support import PRELOAD, run
from receivers import Receiver

from ceasefire.dissemination import channels
from ceasefire.dissemination.dispatcher import Dispatcher, Options
from ceasefire.dissemination.tables import (
    deliveries,
    delivery_attempts,
    dispatcher_lease,
    notices,
)
from ceasefire.ledger.note import Ed25519Signer
from ceasefire.mission import load_mission

CYCLES = 30
GUARD = 30.0  # seconds a dispatcher may take to start on a busy machine (not a timing check)
SIGNER = Ed25519Signer.generate("ceasefire.test/center")
OPTIONS = Options(attempts=50, base=0.01, cap=0.05, poll=0.01, ttl=2.0, per_queue=4, batch=3)


@pytest.mark.slow
def test_killed_dispatchers_lose_nothing(
    engine: sa.Engine, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(13)
    # the fork server imports kill_support (and warms it) once: it must find it on its path
    here = Path(__file__).parent
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(here), str(here.parent)]))
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    with Receiver(key=SIGNER.vkey) as r:
        mission = load_mission(
            mission_with_lines(
                tmp_path, {"AM": r.url("am"), "AZ": r.url("az"), "PK": r.url("flaky")}
            )
        )
        ids: list[str] = []
        killed_with_work = 0
        for cycle in range(CYCLES):
            ids += notify_batches(engine, mission, 2, start=2 * cycle)  # decisions keep coming
            process = context.Process(target=run, args=(database_url, SIGNER.skey, OPTIONS))
            process.start()
            assert process.pid is not None
            if cycle % 5 == 4:  # now and then while it starts, before it holds the lease
                time.sleep(rng.uniform(0.0, 0.2))
            elif cycle % 2:  # while it works: sending, or writing what it sent
                assert _holds_lease(engine, process.pid)
                time.sleep(rng.uniform(0.0, 0.3))
            else:  # just after it recorded an attempt, whatever the machine's speed
                assert _holds_lease(engine, process.pid)
                assert _recorded_more(engine, _attempts(engine))
                time.sleep(rng.uniform(0.0, 0.05))
            os.kill(process.pid, signal.SIGKILL)
            process.join(10)
            assert process.exitcode == -signal.SIGKILL
            with engine.connect() as db:
                killed_with_work += bool(
                    db.execute(
                        sa.select(sa.func.count())
                        .select_from(deliveries)
                        .where(deliveries.c.status == "pending")
                    ).scalar()
                )
        recorded_by_the_killed = _attempts(engine)  # the last one finishes the rest

        async def finish() -> None:
            made = channels.load(["http"], channels.Context(signer=SIGNER))
            try:
                await Dispatcher(engine, made, options=OPTIONS).drain()
            finally:
                await channels.close(made.values())

        asyncio.run(finish())
        seen = dict(r.seen.by_path)
        taken = Counter(r.seen.ids)
    multiprocessing.forkserver._forkserver._stop()  # type: ignore[attr-defined]

    assert len(ids) == CYCLES * 2 * 3
    assert recorded_by_the_killed > 0 and killed_with_work > 0  # killed mid-work, not idle
    with engine.connect() as db:
        rows = db.execute(
            sa.select(notices.c.id, notices.c.recipient, deliveries.c.status, deliveries.c.id).join(
                deliveries, deliveries.c.notice_id == notices.c.id
            )
        ).all()
        ok_attempts = set(
            db.execute(
                sa.select(delivery_attempts.c.delivery_id).where(delivery_attempts.c.ok == 1)
            ).scalars()
        )
    assert {row[0] for row in rows} == set(ids)
    assert all(status == "delivered" for _id, _r, status, _d in rows)  # every one, to everyone
    path_of = {"AM": "am", "AZ": "az", "PK": "flaky"}
    for notice_id, recipient, _status, delivery_id in rows:
        # each receiver saw each of its notice ids; none marked delivered without that
        assert notice_id in seen[path_of[recipient]], (notice_id, recipient)
        assert delivery_id in ok_attempts
    assert set(taken) == set(ids)
    print(f"repeats after kills: {sum(taken.values()) - len(taken)} of {len(taken)}")


def _holds_lease(engine: sa.Engine, pid: int) -> bool:
    """Wait until the dispatcher process ``pid`` holds the lease (a fresh one takes over from
    the killed one at once: its holder's process is known gone)."""
    deadline = time.monotonic() + GUARD
    while time.monotonic() < deadline:
        with engine.connect() as db:
            owner = db.execute(sa.select(dispatcher_lease.c.owner)).scalar()
        if owner is not None and owner.split()[1] == str(pid):
            return True
        time.sleep(0.01)
    return False


def _attempts(engine: sa.Engine) -> int:
    with engine.connect() as db:
        return int(
            db.execute(sa.select(sa.func.count()).select_from(delivery_attempts)).scalar_one()
        )


def _recorded_more(engine: sa.Engine, than: int) -> bool:
    """Wait until some attempt beyond ``than`` is recorded (or nothing is left to send)."""
    deadline = time.monotonic() + GUARD
    while time.monotonic() < deadline:
        if _attempts(engine) > than:
            return True
        with engine.connect() as db:
            left = db.execute(
                sa.select(sa.func.count())
                .select_from(deliveries)
                .where(deliveries.c.status == "pending")
            ).scalar_one()
        if not left:
            return True
        time.sleep(0.01)
    return False
