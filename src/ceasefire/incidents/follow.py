"""The correlation follower: incidents from stored observations, off the intake's path.

The intake stores, logs and answers; the follower then reads the observations stored after its
cursor, in key order, and correlates them a chunk at a time, moving the cursor in the same
transaction (a crash repeats a chunk, never skips one; correlating an observation again
changes nothing). Keys grow in commit order because observations are inserted under the
ledger's writer lock, so nothing can appear behind the cursor.

`ceasefire serve` runs it in a process of its own, so that on a machine with two cores the
intake and the correlation each have one. Several centers on one store each start one: the
lease :data:`LEASE` lets one work while the others wait as standbys.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sqlalchemy import Connection, Engine, func, select, update
from sqlalchemy.exc import SQLAlchemyError

from ceasefire import lease
from ceasefire.geo.engine import Enricher
from ceasefire.i18n import _
from ceasefire.incidents.service import Correlator, Plan
from ceasefire.incidents.tables import correlation_cursor
from ceasefire.mission import load_mission
from ceasefire.mission.model import Mission
from ceasefire.served import settle
from ceasefire.store import open_database
from ceasefire.store import quarantine as quarantine_
from ceasefire.store.schema import observations
from ceasefire.supervise import Supervised, enter_child

CHUNK = 5000
"""Observations per transaction: large enough to share the neighbourhood queries, small
enough that SQLite's single writer is not held from the intake for long."""

GATHER = 1.0
"""Seconds the follower lets new observations gather after a step that found less than a
chunk. A step's cost is mostly its neighbourhood (the stored observations near the new ones,
and whole chains such as a month of traffic on one road), read whatever the number of new
ones: stepping as soon as the intake commits a few records made that cost per record (CPU
per record: 1.8 ms in chunks of 5,000, 4.2 ms in chunks of 200, 15 ms in chunks of 20;
docs/incidents.md)."""

HEARTBEAT = 5.0
"""Seconds between a running follower's signs of life (``correlation_cursor.alive_at``)."""

NICENESS = 10
"""How much lower the follower process's priority is than the intake's."""

CURSOR_ID = 1
LEASE = "correlation"
"""The name of the follower's single-writer lease (:class:`ceasefire.lease.Lease`)."""
log = logging.getLogger(__name__)


def cursor(connection: Connection) -> int:
    """The key of the newest observation already correlated."""
    value = connection.execute(
        select(correlation_cursor.c.observation).where(correlation_cursor.c.id == CURSOR_ID)
    ).scalar_one_or_none()
    return int(value or 0)


def alive(connection: Connection, now: datetime | None = None) -> bool:
    """Whether a follower is running on this store: it gave a sign of life lately, and its
    lease does not show it (or the center that started it) gone."""
    row = connection.execute(
        select(correlation_cursor.c.alive_at, correlation_cursor.c.holder).where(
            correlation_cursor.c.id == CURSOR_ID
        )
    ).one_or_none()
    if row is None or row.alive_at is None:
        return False
    moment = now or datetime.now(UTC)
    fresh = moment - row.alive_at < timedelta(seconds=3 * HEARTBEAT)
    return fresh and not lease.holder_gone(row.holder)


def _set_alive(engine: Engine, at: datetime | None, holder: str | None = None) -> None:
    with engine.begin() as db:
        db.execute(
            update(correlation_cursor)
            .where(correlation_cursor.c.id == CURSOR_ID)
            .values(alive_at=at, holder=holder)
        )


def behind(connection: Connection) -> int:
    """How many stored observations the follower has not correlated yet."""
    return int(
        connection.execute(
            select(func.count())
            .select_from(observations)
            .where(observations.c.id > cursor(connection))
        ).scalar_one()
    )


class Follower:
    """Correlates what the intake stored, in chunks, from the stored cursor on."""

    def __init__(
        self,
        engine: Engine,
        mission: Mission,
        mission_row: int,
        enricher: Enricher | None = None,
        chunk: int = CHUNK,
        holder: str | None = None,
    ) -> None:
        self.engine = engine
        self.correlator = Correlator(mission, mission_row, enricher or Enricher(mission))
        self.chunk = chunk
        self.holder = holder

    def step(self) -> int:
        """Correlate the next chunk; the number of observations it held (0: nothing new).

        The work is done on what a read sees; only the writing takes the store's writer
        (on SQLite there is one, and the intake must not wait for the correlation)."""
        with self.engine.connect() as db:
            last = cursor(db)
            keys = list(
                db.execute(
                    select(observations.c.id)
                    .where(observations.c.id > last)
                    .order_by(observations.c.id)
                    .limit(self.chunk)
                ).scalars()
            )
            if not keys:
                return 0
            self.correlator.skip = quarantine_.keys(db)
            poison: dict[int, str] = {}
            try:
                plan = self.correlator.plan(db, keys, keys[-1])
            except SQLAlchemyError:
                raise  # the store failed, not a record: try again later
            except Exception:
                plan, poison = self._set_aside(db, keys)
        with self.engine.begin() as db:
            # The cursor first: on SQLite that makes this transaction the writer at once, and
            # a cursor moved meanwhile (another follower) leaves this chunk to it.
            moved = db.execute(
                update(correlation_cursor)
                .where(
                    correlation_cursor.c.id == CURSOR_ID, correlation_cursor.c.observation == last
                )
                .values(observation=keys[-1])
            ).rowcount
            if moved != 1:
                return 0
            quarantine_.put(db, poison, "correlation")
            self.correlator.apply(db, plan)
        return len(keys)

    def _set_aside(self, db: Connection, keys: Sequence[int]) -> tuple[Plan, dict[int, str]]:
        """A chunk failed: find the observations it fails on, one by one, and plan the rest.

        The failing ones are quarantined with the error as the reason, so the follower goes
        on with everything after them instead of failing on them forever."""
        quarantined = set(self.correlator.skip)
        failing = {k: error for k in keys if (error := self._fails(db, [k]))}
        # One that failed only for a failing neighbour in its incident goes through once the
        # others are left out.
        poison: dict[int, str] = {}
        for key, error in failing.items():
            self.correlator.skip = quarantined | (set(failing) - {key})
            if self._fails(db, [key]):
                poison[key] = error
                log.error(
                    _("Correlation failed on observation {key}; quarantined: {reason}").format(
                        key=key, reason=error
                    )
                )
        if not poison:
            raise RuntimeError("a chunk fails though each of its observations alone does not")
        self.correlator.skip = quarantined | set(poison)
        kept = [k for k in keys if k not in poison]
        return self.correlator.plan(db, kept, keys[-1]), poison

    def _fails(self, db: Connection, keys: list[int]) -> str:
        """Why planning ``keys`` fails ('' if it does not); the store's own errors propagate."""
        try:
            self.correlator.plan(db, keys, keys[-1])
        except SQLAlchemyError:
            raise
        except Exception as error:
            return f"{type(error).__name__}: {error}"
        return ""

    def catch_up(self) -> int:
        """Correlate everything stored so far; the number of observations correlated."""
        done = 0
        while n := self.step():
            done += n
        return done

    def run(
        self,
        stop: Stop,
        idle: float = 0.2,
        held: lease.Lease | None = None,
        gather: float = GATHER,
    ) -> None:
        """Follow until ``stop`` is set, resting ``idle`` seconds whenever nothing is new and
        ``gather`` seconds after a step of less than a chunk (:data:`GATHER`); behind by a
        chunk or more, it steps on at once.

        A failing step is logged and tried again after a rest: the intake goes on regardless
        and nothing is lost, since the cursor moves only with a committed chunk. While it runs
        it gives a sign of life every few seconds (:func:`alive`), and clears it when it stops.
        With ``held``, the single-writer lease it runs under, it stops as soon as the lease is
        found lost (its database session broke: a standby may have it now).
        """
        last_beat = -HEARTBEAT
        try:
            while not stop.is_set():
                try:
                    if time.monotonic() - last_beat >= HEARTBEAT:
                        if held is not None and not held.held():
                            log.error(_("The correlation lease was lost; stopping."))
                            return
                        _set_alive(self.engine, datetime.now(UTC), self.holder)
                        last_beat = time.monotonic()
                    done = self.step()
                    if done >= self.chunk:
                        continue
                    if done:
                        stop.wait(gather)
                        continue
                except Exception:
                    log.exception(_("Correlation failed; trying again."))
                stop.wait(idle)
        finally:
            with contextlib.suppress(Exception):  # the store may be what failed
                _set_alive(self.engine, None)


class Stop(Protocol):
    """A threading or multiprocessing event."""

    def is_set(self) -> bool: ...

    def wait(self, timeout: float | None = None) -> bool: ...


def follow_database(
    url: str | None, mission_source: str | None, mission_row: int, parent: int, stop: Stop
) -> None:
    """A follower process's life: open the store and the mission (already stored, as row
    ``mission_row``), follow until stopped.

    Interrupts are the parent's to handle: it sets ``stop`` and waits for the chunk at hand.
    A parent that dies without doing so (even while this process starts) ends it too: the
    kernel's SIGTERM, made a clean exit here, or the parent's pid seen to change."""
    enter_child(parent)
    # Storing what arrives comes first: incidents may follow a moment later, an accepted
    # record may not wait for them. The intake gets the processor when both want it.
    os.nice(NICENESS)
    mission = load_mission(mission_source)
    engine = open_database(url, migrate=False)
    watch = _WhileParentLives(stop, parent)
    try:
        follower = Follower(engine, mission, mission_row, holder=lease.holder(parent))
        settle()  # what it holds now out of the collector's way, as a server's
        # One follower per store: the others (other centers' on the same PostgreSQL) wait as
        # standbys and the first to take the lease goes on when the holder dies.
        with lease.Lease(engine, LEASE) as held:
            if held.wait(watch):
                log.info(_("Correlation follower {pid} holds the lease").format(pid=os.getpid()))
                follower.run(watch, held=held)
    finally:
        engine.dispose()


class _WhileParentLives:
    """``stop``, which also counts as set once the parent process is gone."""

    def __init__(self, stop: Stop, parent: int) -> None:
        self.stop = stop
        self.parent = parent

    def is_set(self) -> bool:
        return self.stop.is_set() or os.getppid() != self.parent

    def wait(self, timeout: float | None = None) -> bool:
        self.stop.wait(timeout)
        return self.is_set()


class FollowerProcess(Supervised):
    """The follower in a process of its own (``follow_database``), started again if it dies:
    incidents must not silently stop being made while the intake goes on."""

    def __init__(
        self,
        url: str | None,
        mission_source: str | None,
        mission_row: int,
        target: Callable[..., None] | None = None,
    ) -> None:
        # ``target``: ``follow_database`` or a wrapper of it (a spawned process imports only
        # what its target needs; correlation needs no hook wired: it reads its own tables)
        super().__init__(
            target or follow_database,
            (url, mission_source, mission_row, os.getpid()),
            name="correlation",
        )

    def died(self, code: int | None) -> str:
        return _("The correlation follower stopped (exit code {code}); starting it again.").format(
            code=code
        )

    def stop(self, timeout: float = 60.0) -> None:
        """Ask it to stop after the chunk at hand, and wait for it."""
        super().stop(timeout)
