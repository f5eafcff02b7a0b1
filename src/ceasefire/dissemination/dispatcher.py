"""The dispatcher: sends what the outbox holds, at least once, and records every attempt.

How it works, and why:

- **One at a time.** It works only while it holds the store's lease ``dispatcher``
  (:class:`ceasefire.lease.Lease`, the one mechanism of every single writer: a PostgreSQL
  session advisory lock, or a file lock beside SQLite), which ends with its holder's session or
  process, so a killed dispatcher is replaced at once by one waiting for it. Every write first
  checks the lease is still held (a fence): a dispatcher that lost it writes nothing more. The
  row of ``dispatcher_lease`` only names the holder, with a sign of life, for those who ask who
  sends.
- **A queue per recipient and channel.** The deliveries due now are taken queue by queue, at
  most the queue's window in flight in each, so a slow or dead recipient fills only its own
  queue and never delays another's notices. The window is ``per_queue``; a webhook queue's
  (``widen``) grows while its receiver answers slowly but surely and the window, not the
  outbox, holds notices back (one more request in flight for each such success: it doubles
  each round trip) up to its
  ceiling, and halves on a failure: a receiver that takes seconds an answer still takes
  hundreds of notices a second, and one that fails is not flooded.
- **At least once.** A delivery is marked delivered only after its channel returned; a
  dispatcher that dies between the two sends it again, with the same notice id, which the
  receiver uses to drop the repeat.
- **Retries with exponential back-off and full jitter**: the n-th failure waits a random time
  between 0 and ``min(cap, base * 2**(n-1))``, where n is the smaller of the notice's failures
  in a row and its queue's (the receiver's, since its last success): the back-off follows the
  receiver's health, not a notice's luck. A receiver that is down fails every request and its
  notices back off as their own failures say; one that fails half its requests answers others
  meanwhile, and a notice it happened to fail is tried again soon instead of waiting as if it
  were down (at the defaults its unluckiest notice among a thousand waited some 20 minutes).
  What protects a struggling receiver from a flood is its queue's window, halved on each
  failure. After ``attempts`` failures in a row (the
  mission's ``policy.delivery_attempts``), or at once on a permanent refusal, the delivery
  becomes a dead letter, shown to both contingents' duty officers, who can retry it
  (:func:`ceasefire.dissemination.notices.retry`).
- **Everything logged**: each attempt is a row of ``delivery_attempts`` and an entry of kind
  ``delivery`` in the ledger, in one transaction with the delivery's new state; outcomes are
  written in batches, so the log costs one transaction per batch, not per notice. An outcome
  waits up to ``gather`` (50 ms) for others to be written with it (on SQLite each
  transaction takes the store's single write lock, which deciding needs, and syncs to disk),
  unless its queue has half its window waiting to be written; the notice has arrived
  already, and stays in flight (its queue's room held) until its outcome is written.
- **Decisions' notices first.** Given the mission, each look at the outbox begins by writing
  the notices of the decisions that took effect and have none yet
  (:func:`ceasefire.dissemination.outbox.notice_effects`, under the lease's fence): whichever
  process decided, its notices are written by the dispatcher at the latest.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import random
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, case, func, insert, select, update

from ceasefire import lease as lease_
from ceasefire.dissemination import channels as channels_
from ceasefire.dissemination import daily
from ceasefire.dissemination.channels import Channel, DeliveryFailed, Outgoing
from ceasefire.dissemination.notices import DEAD, DELIVERED, PENDING
from ceasefire.dissemination.outbox import effects_waiting, notice_effects, waiting_effects
from ceasefire.dissemination.recipients import DAILY
from ceasefire.dissemination.tables import (
    deliveries,
    delivery_attempts,
    dispatcher_lease,
    notices,
)
from ceasefire.i18n import _
from ceasefire.ledger import log
from ceasefire.ledger.entry import LogEntry
from ceasefire.mission.model import Mission
from ceasefire.served import settle
from ceasefire.store import bulk
from ceasefire.store.db import writing
from ceasefire.supervise import Supervised, enter_child
from ceasefire.timeutil import iso

KIND_DELIVERY = "delivery"
"""The ledger kind of one delivery attempt (ref ``<delivery id>/<attempt number>``)."""

CARRY_FILES = ("email", "file")
"""The channels a daily report's document travels with (:attr:`Outgoing.attachments`); a
webhook carries the references only, and the receiver fetches the document."""

LEASE_NAME = "dispatcher"
"""The store's lease (:class:`ceasefire.lease.Lease`) a dispatcher sends under."""
LEASE_ID = 1
LEASE_TTL = 15.0
"""Seconds between the holder's signs of life (in thirds): after this long without one, the row
no longer names a live holder (:func:`lease_holder`); the lease itself ends with its holder."""

log_ = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


WIDEN_HTTP = 256
"""The ceiling of a webhook queue's window (requests in flight to one receiver)."""


@dataclass(frozen=True)
class Options:
    """How the dispatcher paces itself (the defaults suit a center; tests shrink them)."""

    attempts: int = 8  # failures in a row before a dead letter (the mission's policy)
    base: float = 2.0  # seconds: the first back-off's ceiling
    cap: float = 600.0  # seconds: no back-off longer than this
    per_queue: int = 16  # deliveries in flight at once in one queue (its window at first)
    # channels whose queues' windows widen while full and answered (up to the ceiling given):
    # a webhook holds one connection per request in flight, and at 2 s an answer 16 in flight
    # are 8 notices a second; 256 are 128 a second
    widen: dict[str, int] = field(default_factory=lambda: {"http": WIDEN_HTTP})
    batch: int = 500  # outcomes written per transaction at most
    # seconds an outcome waits for others to be written with it (one transaction, one
    # fsync, one hold of the store's write lock for all): the notice is delivered already,
    # only its queue's room is freed that much later; a queue with half its window waiting
    # to be written has it written at once
    gather: float = 0.05
    poll: float = 0.1  # seconds between looks at the outbox when nothing is due
    ttl: float = LEASE_TTL
    # seconds a decision's effect is left to the process that decided (the center writes its
    # notices just after the decision) before a running dispatcher writes them; 0 in drain
    effects_grace: float = 1.0


def backoff(failures: int, options: Options, rng: random.Random | None = None) -> float:
    """Seconds to wait after the ``failures``-th failure in a row: full jitter."""
    ceiling = min(options.cap, options.base * 2 ** max(failures - 1, 0))
    return (rng or random).uniform(0, ceiling)


EFFECTS_RETRY = 5.0
"""Seconds before writing decisions' notices is tried again after it failed."""


class LeaseHeld(RuntimeError):
    """Another dispatcher holds the lease."""


class LeaseLost(RuntimeError):
    """This dispatcher's lease was lost (its session to the store broke): it must stop writing."""


class Lease:
    """The one-dispatcher-at-a-time lease: the store's lease ``dispatcher``
    (:class:`ceasefire.lease.Lease`: a PostgreSQL session advisory lock, or a file lock beside
    SQLite), held by the process that sends. Its holder is also written to the row of
    ``dispatcher_lease`` with a sign of life, only so that others can say who sends
    (:func:`lease_holder`); the row decides nothing."""

    def __init__(self, engine: Engine, holder: str, ttl: float = LEASE_TTL) -> None:
        self.engine = engine
        self.holder = holder
        self.ttl = ttl
        self.lease = lease_.Lease(engine, LEASE_NAME)
        self._checking = threading.Lock()  # the writer and the heartbeat, in two threads

    def try_acquire(self, now: datetime | None = None) -> bool:
        """Take the lease if it is free; whether held."""
        if not self.lease.acquire():
            return False
        try:
            with writing(self.engine) as db:
                self._mark(db, now or utc_now())
        except Exception:
            self.lease.release()
            raise
        return True

    def _mark(self, db: Connection, moment: datetime) -> None:
        """Name this holder in the row (made if missing), alive at ``moment``."""
        named = db.execute(
            update(dispatcher_lease)
            .where(dispatcher_lease.c.id == LEASE_ID)
            .values(owner=self.holder, alive_at=moment)
        ).rowcount
        if not named:
            db.execute(
                insert(dispatcher_lease).values(id=LEASE_ID, owner=self.holder, alive_at=moment)
            )

    def fence(self) -> None:
        """Within a writing transaction: check the lease is still held (a fence: a dispatcher
        whose lock session broke writes nothing more)."""
        with self._checking:  # on PostgreSQL a query on the lock's own session
            held = self.lease.held()
        if not held:
            raise LeaseLost(_("the dispatcher's lease was lost"))

    def renew(self, db: Connection, now: datetime | None = None) -> None:
        """:meth:`fence`, and mark the lease alive."""
        self.fence()
        db.execute(
            update(dispatcher_lease)
            .where(dispatcher_lease.c.id == LEASE_ID)
            .values(owner=self.holder, alive_at=now or utc_now())
        )

    def beat(self) -> None:
        # the feeding waits for it: on SQLite not in the busy handler's growing sleeps
        with writing(self.engine) as db:
            self.renew(db)

    def release(self) -> None:
        # the store may be what failed
        with contextlib.suppress(Exception), writing(self.engine) as db:
            db.execute(
                update(dispatcher_lease)
                .where(dispatcher_lease.c.id == LEASE_ID, dispatcher_lease.c.owner == self.holder)
                .values(alive_at=datetime(1970, 1, 1, tzinfo=UTC))
            )
        self.lease.release()


def lease_holder(connection: Connection, now: datetime | None = None) -> str | None:
    """Who holds the dispatcher's lease now (None: nobody alive)."""
    row = connection.execute(
        select(dispatcher_lease).where(dispatcher_lease.c.id == LEASE_ID)
    ).one_or_none()
    if row is None or (now or utc_now()) - row.alive_at > timedelta(seconds=LEASE_TTL):
        return None
    return None if lease_.holder_gone(row.owner) else str(row.owner)


@dataclass
class _Due:
    """A delivery taken from the outbox, with what its attempt sends."""

    id: int
    queue: str
    channel: str
    attempts: int  # failures so far in this round
    outgoing: Outgoing
    # attempts recorded so far, every round (read in the look: only the lease's holder adds
    # them, and not while it holds the delivery in flight); None: counted before the write
    made: int | None = None


@dataclass
class _Outcome:
    due: _Due
    at: datetime
    ok: bool
    detail: str
    retry: bool
    # a failure's: its queue's failures in a row, this one included (None: not counted)
    queue_failures: int | None = None
    came: float = 0.0  # the event loop's time it came (it waits at most ``gather`` from then)


@dataclass
class Counts:
    """What a dispatcher did: attempts made, and how they ended."""

    attempts: int = 0
    delivered: int = 0
    failed: int = 0
    dead: int = 0
    by_queue: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def record(self) -> dict[str, Any]:
        return {
            "attempts": self.attempts,
            "delivered": self.delivered,
            "failed": self.failed,
            "dead": self.dead,
        }


_MADE = (
    select(func.count())
    .where(delivery_attempts.c.delivery_id == deliveries.c.id)
    .correlate(deliveries)
    .scalar_subquery()
    .label("made")
)
"""The attempts a delivery has recorded so far (its next one's number less one)."""


def _due_query(now: Any) -> Any:
    return (
        select(
            deliveries.c.id,
            deliveries.c.queue,
            deliveries.c.channel,
            deliveries.c.address,
            deliveries.c.attempts,
            notices.c.id.label("notice_id"),
            notices.c.kind,
            notices.c.recipient,
            notices.c.role,
            notices.c.lang,
            notices.c.subject,
            notices.c.body,
            notices.c.payload,
            notices.c.incident_id,
            notices.c.created_at,
            _MADE,
        )
        .join(notices, notices.c.id == deliveries.c.notice_id)
        .where(deliveries.c.status == PENDING, deliveries.c.next_at <= now)
        .order_by(deliveries.c.next_at, deliveries.c.id)
    )


def _channel_of(queue: str) -> str:
    """The channel of a queue (``recipient/channel``, :func:`outbox.queue_of`)."""
    return queue.rpartition("/")[2]


_DEMAND = (
    select(deliveries.c.queue, func.count())
    .where(deliveries.c.status == PENDING, deliveries.c.next_at <= bindparam("now"))
    .group_by(deliveries.c.queue)
)
"""How many deliveries each queue has due, in flight included. Built once, as the look
(built at each look with an expanded list of the queues following, it was a tenth of a look:
11.4 -> 10.3 million instructions)."""


_LOOKS: dict[tuple[bool, bool, int], Any] = {}
"""The look's statement by its shape (in-flight ids to leave out, full queues to leave out,
how many queues with a room of their own), built once: building it cost more than running
it. Its values are bound: ``now``, ``busy``, ``full``, ``q<i>``/``r<i>``, ``per_queue``."""


def _look(busy: bool, full: bool, partial: int) -> Any:
    """The due deliveries of every queue, each queue's ranked oldest first and cut at its
    room (:meth:`Dispatcher._due`), as a statement of the shape given."""
    shape = (busy, full, partial)
    made = _LOOKS.get(shape)
    if made is not None:
        return made
    now: Any = bindparam("now")
    ranked = select(
        deliveries.c.id,
        func.row_number()
        .over(partition_by=deliveries.c.queue, order_by=(deliveries.c.next_at, deliveries.c.id))
        .label("rank"),
    ).where(deliveries.c.status == PENDING, deliveries.c.next_at <= now)
    if busy:
        ranked = ranked.where(deliveries.c.id.not_in(bindparam("busy", expanding=True)))
    if full:
        ranked = ranked.where(deliveries.c.queue.not_in(bindparam("full", expanding=True)))
    cut = ranked.subquery()
    limit: Any = bindparam("per_queue")
    if partial:
        limit = case(
            *(
                (deliveries.c.queue == bindparam(f"q{i}"), bindparam(f"r{i}"))
                for i in range(partial)
            ),
            else_=bindparam("per_queue"),
        )
    made = _LOOKS[shape] = (
        _due_query(now)
        .join(cut, cut.c.id == deliveries.c.id)
        .where(cut.c.rank <= limit)
        .order_by(None)
        .order_by(deliveries.c.queue, cut.c.rank)
    )
    return made


_SET_STATE = (
    update(deliveries)
    .where(deliveries.c.id == bindparam("b_id"))
    .values(
        status=bindparam("b_status"),
        attempts=bindparam("b_attempts"),
        next_at=bindparam("b_next_at"),
        delivered_at=bindparam("b_delivered_at"),
        last_error=bindparam("b_error"),
        updated_at=bindparam("b_updated_at"),
    )
)
"""A delivery's new state after an attempt (executed for a batch of them at once)."""


class Dispatcher:
    """Sends the outbox's due deliveries over ``channels`` while it holds the lease."""

    def __init__(
        self,
        engine: Engine,
        channels: dict[str, Channel],
        *,
        options: Options | None = None,
        holder: str | None = None,
        lock: threading.Lock | None = None,
        clock: Callable[[], datetime] = utc_now,
        rng: random.Random | None = None,
        mission: Mission | None = None,
    ) -> None:
        """``mission``: given, the dispatcher also writes the notices of decisions that took
        effect (:meth:`notice_effects`) before each look at the outbox."""
        self.engine = engine
        self.mission = mission
        self._effects_after = 0.0  # monotonic: no look at the effects before then
        self.channels = channels
        self.options = options or Options()
        self._grace = self.options.effects_grace
        self._seen: dict[str, float] = {}  # effects waiting: when first seen (monotonic)
        self.lease = Lease(engine, holder or lease_.holder(os.getppid()), self.options.ttl)
        self.lock = lock
        self.clock = clock
        self.rng = rng or random.Random()
        self.counts = Counts()
        self._inflight: dict[str, set[int]] = defaultdict(set)
        self._window: dict[str, int] = {}  # a widening queue's window, when not per_queue
        # deliveries started in a look that filled their queue's window (the window, not the
        # outbox, held notices back, so each one's success widens it: see _widen), and when
        self._filled: dict[int, float] = {}
        # widening queues whose window follows what they have due (see _widen), and each
        # widening queue's last failure (monotonic)
        self._following: set[str] = set()
        self._failed: dict[str, float] = {}
        self._failing: dict[str, int] = defaultdict(int)  # each queue's failures in a row
        self._outcomes: list[_Outcome] = []
        self._unwritten: dict[str, int] = defaultdict(int)  # outcomes to write, by queue
        self._pressing = False  # a queue has half its window waiting to be written
        self._tasks: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()  # an outcome waits to be written
        self._room = asyncio.Event()  # outcomes were written: their queues have room again

    # -- decisions' effects -------------------------------------------------------------
    def notice_effects(self) -> int:
        """Write the notices of the decisions that took effect and have none yet (a batch of
        them, in one transaction under the fence), once one of them has waited
        ``effects_grace`` seconds; how many decisions. Nothing to write costs one read and no
        lock. The grace leaves a decision's notices to the process that decided, which writes
        them at once: the two do not queue for the store's write lock over the same rows."""
        if self.mission is None:
            return 0
        with self.engine.connect() as db:
            waiting = waiting_effects(db) if effects_waiting(db) else []
        now = time.monotonic()
        self._seen = {d: self._seen.get(d, now) for d in waiting}
        if not waiting or now - min(self._seen.values()) < self._grace:
            return 0
        with (
            self.lock if self.lock is not None else contextlib.nullcontext(),
            self.engine.begin() as db,
        ):
            self.lease.fence()
            return len(notice_effects(db, self.mission))

    async def _notice_effects(self) -> None:
        """:meth:`notice_effects`; one that fails (a store failing, a notice that cannot be
        written) does not keep what is due from being sent: it is logged and tried again
        after :data:`EFFECTS_RETRY` seconds. A lost lease ends the dispatcher."""
        now = time.monotonic()
        if self.mission is None or now < self._effects_after:
            return
        # a running dispatcher looks twice per grace (PostgreSQL counts 20,000 effects in
        # ~2-5 ms: not at every poll); one draining looks every time
        self._effects_after = now + self._grace / 2
        try:
            await asyncio.to_thread(self.notice_effects)
        except LeaseLost:
            raise
        except Exception:
            log_.exception(_("Writing the notices of decisions failed; trying again."))
            self._effects_after = now + EFFECTS_RETRY

    # -- the outbox ---------------------------------------------------------------------
    def window(self, queue: str) -> int:
        """How many of ``queue``'s deliveries may be in flight at once now."""
        return self._window.get(queue, self.options.per_queue)

    def _widen(self, due: _Due, ok: bool) -> None:
        """After an attempt of a queue that may widen, if it succeeded and was started in a
        look that filled the window (the window, not the outbox, held notices back): one more
        in flight, so a window's worth of successes doubles it each round trip; and if no
        attempt of the queue failed since it started (a whole round trip answered well), the
        window follows what the queue has due from then on (:meth:`_follow`). If it failed:
        half as many (not under ``per_queue``), and no longer following. Whether the window
        is full when the answer comes says nothing: the answers of one round come together,
        and the first already leaves the window one short of full until they are written."""
        started = self._filled.pop(due.id, None)
        ceiling = self.options.widen.get(due.channel)
        if ceiling is None:
            return
        queue, per_queue = due.queue, self.options.per_queue
        now = self.window(queue)
        if ok:
            if started is not None:
                if started > self._failed.get(queue, -math.inf):
                    self._following.add(queue)
                if now < ceiling:
                    self._window[queue] = now + 1
        else:
            self._failed[queue] = time.monotonic()
            self._following.discard(queue)
            if now > per_queue:
                self._window[queue] = max(per_queue, now // 2)

    def _follow(self, demand: dict[str, int]) -> None:
        """A following queue's window opens to what it has due (``demand``, in flight
        included), never over its ceiling (Little's law: a receiver that takes 2 s an answer
        needs twice its notices a second in flight, and doubling from ``per_queue`` takes
        round trip after round trip to get there); a window opened gives room for a look at
        once."""
        for queue, due in demand.items():
            if queue in self._following:
                ceiling = self.options.widen[_channel_of(queue)]
                now = self.window(queue)
                if min(ceiling, due) > now:
                    self._window[queue] = min(ceiling, due)
                    self._room.set()

    def _due(
        self,
        now: datetime,
        inflight: dict[str, frozenset[int]],
        windows: dict[str, int] | None = None,
        following: frozenset[str] = frozenset(),
    ) -> tuple[list[_Due], dict[str, int]]:
        """Due deliveries, up to each queue's free room, not already in flight (``inflight``
        and ``windows``, the queues' windows other than ``per_queue``; ``following``, the
        queues whose window follows what they have due: copies taken on the loop, since this
        runs in a worker thread): first how many each queue has due, then one query for every
        queue that has some to take, each queue's due deliveries ranked oldest first and cut
        at its room; and how many deliveries each queue that follows has due, in flight
        included."""
        per_queue = self.options.per_queue
        windows = windows or {}
        room = {
            q: windows.get(q, per_queue) - len(inflight.get(q, ())) for q in {*inflight, *windows}
        }
        with self.engine.connect() as db:
            due = {q: int(n) for q, n in db.execute(_DEMAND, {"now": now})}
            demand = {q: n for q, n in due.items() if q in following}
            # a queue without room, or whose due deliveries are all in flight, has none to take:
            # it is left out of the look whole (its deliveries in flight need not be named), and
            # no look is made when no queue has any (a quarter of the bench's looks, ~3 ms each)
            taking = {
                q
                for q, n in due.items()
                if n > len(inflight.get(q, ())) and room.get(q, per_queue) > 0
            }
            rows: Sequence[Any] = ()
            if taking:
                full = sorted(due.keys() - taking)
                busy = sorted(i for q in taking for i in inflight.get(q, ()))
                partial = sorted(
                    (q, room[q]) for q in taking if room.get(q, per_queue) != per_queue
                )
                values: dict[str, Any] = {"now": now, "per_queue": per_queue}
                if busy:
                    values["busy"] = busy
                if full:
                    values["full"] = full
                for i, (q, r) in enumerate(partial):
                    values[f"q{i}"], values[f"r{i}"] = q, r
                rows = db.execute(_look(bool(busy), bool(full), len(partial)), values).all()
            files = {
                r.id: daily.attachments_of(db, r.payload)
                for r in rows
                if r.kind == DAILY and r.channel in CARRY_FILES
            }
        return [
            _Due(
                id=int(r.id),
                queue=r.queue,
                channel=r.channel,
                attempts=int(r.attempts),
                outgoing=Outgoing(
                    notice_id=r.notice_id,
                    kind=r.kind,
                    recipient=r.recipient,
                    role=r.role,
                    lang=r.lang,
                    subject=r.subject,
                    body=r.body,
                    payload=r.payload,
                    incident_id=r.incident_id,
                    created_at=r.created_at,
                    attempt=int(r.attempts) + 1,
                    address=r.address,
                    attachments=files.get(r.id, ()),
                ),
                made=int(r.made),
            )
            for r in rows
        ], demand

    def _write(self, outcomes: list[_Outcome]) -> None:
        """Record a batch of outcomes: attempts, ledger entries, the deliveries' new state.

        Everything is worked out before the transaction that takes the log's writer lock,
        which then only appends and writes (three statements): deciding, which appends to the
        same log, waits for that lock no longer than the writing itself. The attempts' numbers
        are known before it too: the look read each delivery's count (only the lease's holder
        adds attempts, and not while the delivery is in flight), and a holder that lost the
        lease finds it out in the transaction (the fence) and writes nothing."""
        with self.lock if self.lock is not None else contextlib.nullcontext():
            now = self.clock()
            made: dict[int, int] = {}
            for o in outcomes:  # as the look read them: no read here
                if o.due.made is not None and o.due.id not in made:
                    made[o.due.id] = o.due.made
            ids = sorted({o.due.id for o in outcomes} - made.keys())
            if ids:  # taken without their count (no look of this dispatcher)
                with self.engine.connect() as db:
                    made.update(
                        db.execute(
                            select(delivery_attempts.c.delivery_id, func.count())
                            .where(delivery_attempts.c.delivery_id.in_(ids))
                            .group_by(delivery_attempts.c.delivery_id)
                        ).all()
                    )
            entries, rows, states, ends = [], [], [], []
            for o in outcomes:
                d = o.due
                number = made.get(d.id, 0) + 1
                made[d.id] = number
                failures = 0 if o.ok else d.attempts + 1
                if o.ok:
                    status, next_at = DELIVERED, o.at
                elif not o.retry or failures >= self.options.attempts:
                    status, next_at = DEAD, o.at
                else:
                    status = PENDING
                    # the receiver's health, not this notice's luck (see the module's text)
                    run = min(failures, o.queue_failures or failures)
                    next_at = o.at + timedelta(seconds=backoff(run, self.options, self.rng))
                record = {
                    "delivery": d.id,
                    "notice": d.outgoing.notice_id,
                    "channel": d.channel,
                    "address": d.outgoing.address,
                    "number": number,
                    "at": iso(o.at),
                    "ok": o.ok,
                    "detail": o.detail,
                    "status": status,
                    "attempts": failures,
                }
                entries.append(LogEntry.of(KIND_DELIVERY, f"{d.id}/{number}", record))
                rows.append(
                    {
                        "delivery_id": d.id,
                        "number": number,
                        "at": o.at,
                        "ok": int(o.ok),
                        "detail": o.detail,
                    }
                )
                states.append(
                    {
                        "b_id": d.id,
                        "b_status": status,
                        "b_attempts": failures,
                        "b_next_at": next_at,
                        "b_delivered_at": o.at if o.ok else None,
                        "b_error": "" if o.ok else o.detail,
                        "b_updated_at": now,
                    }
                )
                ends.append((d.queue, status))
            with writing(self.engine) as db:
                # the fence only: the sign of life is the heartbeat's (every ttl / 3), not a
                # write of every batch; the append's first statement takes the log's lock
                self.lease.fence()
                indexes = log.append(db, entries, at=now)
                for row, index in zip(rows, indexes, strict=True):
                    row["ledger_index"] = index
                bulk.insert_rows(db, delivery_attempts, rows)
                db.execute(_SET_STATE, states)
            for queue, status in ends:
                self.counts.attempts += 1
                self.counts.by_queue[queue] += 1
                if status == DELIVERED:
                    self.counts.delivered += 1
                elif status == DEAD:
                    self.counts.dead += 1
                else:
                    self.counts.failed += 1

    # -- sending ------------------------------------------------------------------------
    async def _send(self, due: _Due) -> None:
        channel = self.channels.get(due.channel)
        try:
            if channel is None:
                raise DeliveryFailed(
                    _("no channel {name} in this dispatcher").format(name=due.channel)
                )
            await channel.send(due.outgoing)
        except DeliveryFailed as e:
            outcome = _Outcome(due, self.clock(), False, e.reason, e.retry)
        except Exception as e:  # a channel's bug must not stop the others
            log_.exception("channel %s failed on delivery %s", due.channel, due.id)
            outcome = _Outcome(due, self.clock(), False, f"{type(e).__name__}: {e}", True)
        else:
            outcome = _Outcome(due, self.clock(), True, "", True)
        self._widen(due, outcome.ok)
        if outcome.ok:
            self._failing.pop(due.queue, None)
        else:
            self._failing[due.queue] += 1
            outcome.queue_failures = self._failing[due.queue]
        outcome.came = asyncio.get_running_loop().time()
        self._outcomes.append(outcome)
        self._unwritten[due.queue] += 1
        # the writer is woken by the first outcome to write, or one that makes it press, not
        # by every outcome: it waits for the oldest's ``gather`` (and writes what came by then)
        first = len(self._outcomes) == 1
        if self._unwritten[due.queue] * 2 >= self.window(due.queue) and not self._pressing:
            self._pressing = first = True
        if first:
            self._wake.set()

    def _start(self, due: _Due) -> None:
        self._inflight[due.queue].add(due.id)
        task = asyncio.create_task(self._send(due))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _flush(self, gathered: bool = False) -> int:
        """Write the outcomes gathered so far (``gathered``: those there now, not those that
        come meanwhile, which wait for others in their turn); how many. A delivery leaves
        ``_inflight`` only once its outcome is committed, so no look at the outbox takes it
        again before."""
        written = 0
        left = len(self._outcomes) if gathered else None
        self._pressing = False
        while self._outcomes and (left is None or left > 0):
            batch = self._outcomes[
                : self.options.batch if left is None else min(left, self.options.batch)
            ]
            await asyncio.to_thread(self._write, batch)
            del self._outcomes[: len(batch)]
            for o in batch:
                self._inflight[o.due.queue].discard(o.due.id)
                self._unwritten[o.due.queue] -= 1
            written += len(batch)
            if left is not None:
                left -= len(batch)
        self._room.set()
        return written

    async def _gather(self, done: asyncio.Event) -> None:
        """Wait until the oldest outcome not written has waited ``gather`` seconds, a queue
        has half its window waiting to be written, or the dispatcher stops: the outcomes
        that came meanwhile are written together."""
        loop = asyncio.get_running_loop()
        while self._outcomes and not (done.is_set() or self._pressing):
            left = self._outcomes[0].came + self.options.gather - loop.time()
            if left <= 0:
                return
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), left)

    async def _take(self) -> int:
        """Write the notices of decisions that took effect, then start what is due and has
        room; how many started."""
        await self._notice_effects()
        inflight = {q: frozenset(ids) for q, ids in self._inflight.items() if ids}
        due, demand = await asyncio.to_thread(
            self._due, self.clock(), inflight, dict(self._window), frozenset(self._following)
        )
        self._follow(demand)
        # in the order the notices were written, not queue by queue: a batch's notices to
        # both parties start together, whatever else the look took
        for d in sorted(due, key=lambda d: d.outgoing.created_at):
            self._start(d)
        full = {q for q in {d.queue for d in due} if len(self._inflight[q]) >= self.window(q)}
        started = time.monotonic()
        self._filled.update((d.id, started) for d in due if d.queue in full)
        return len(due)

    async def step(self) -> int:
        """Start what is due and has room; write what finished. How many started + written."""
        return await self._take() + await self._flush()

    async def _writer(self, done: asyncio.Event) -> None:
        """Write outcomes as they come, in batches, beside the sending: a slow write never
        keeps a due notice from leaving, nor a burst of sending a finished one from its record.
        A store that fails is tried again (the outcomes wait in memory); a lost lease ends it.
        It ends when ``done`` is set, after the write under way (never cancelled in one: a
        batch committed but not yet struck from ``_outcomes`` would be written twice)."""
        while not done.is_set():
            if not self._outcomes:  # those that came while it wrote are written in turn
                await self._wake.wait()
            self._wake.clear()
            await self._gather(done)
            try:
                await self._flush(gathered=True)
            except LeaseLost:
                raise
            except Exception:
                log_.exception(_("Dispatching failed; trying again."))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(done.wait(), 1.0)
                self._wake.set()

    async def _loop(self, stop: asyncio.Event, until: Callable[[], bool]) -> None:
        done = asyncio.Event()
        writer = asyncio.create_task(self._writer(done))
        try:
            await self._feed(stop, until, writer)
        finally:
            done.set()
            self._wake.set()
            await writer  # raises LeaseLost if the writer found the lease gone

    async def _feed(
        self, stop: asyncio.Event, until: Callable[[], bool], writer: asyncio.Task[None]
    ) -> None:
        last_beat = asyncio.get_running_loop().time()
        while not stop.is_set() and not writer.done():
            self._room.clear()
            try:
                await self._take()
            except LeaseLost:
                raise
            except Exception:  # the store failing: nothing is lost, try again shortly
                log_.exception(_("Dispatching failed; trying again."))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 1.0)
                continue
            if until():
                break
            now = asyncio.get_running_loop().time()
            if now - last_beat >= self.options.ttl / 3:
                await asyncio.to_thread(self.lease.beat)
                last_beat = now
            # look again when room is freed, or after a poll's while, even after a look that
            # started some: it gave each queue all it had room for, and a look at once after
            # it found nothing new in 53 % of the bench's looks (a look: ~2 ms of CPU with
            # hundreds pending)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._room.wait(), self.options.poll)

    async def _finish(self) -> None:
        """Let the attempts in flight end and record them (none is left unrecorded)."""
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        await self._flush()

    async def run(self, stop: asyncio.Event, started: Callable[[], object] | None = None) -> None:
        """Wait for the lease, then send until ``stop`` is set; give the lease back.
        ``started``: called once the lease is held (the dispatcher sends from then on)."""
        while not stop.is_set():
            try:
                if await asyncio.to_thread(self.lease.try_acquire):
                    if started is not None:
                        started()
                    break
            except Exception:  # the store failing, or two takers at once: ask again
                log_.exception(_("Taking the dispatcher's lease failed; trying again."))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), min(self.options.ttl / 3, 1.0))
        else:
            return
        try:
            await self._loop(stop, lambda: False)
            await self._finish()
        except LeaseLost:
            log_.error(_("Another dispatcher took the lease; this one stops."))
        finally:
            await asyncio.to_thread(self.lease.release)

    async def drain(self, *, once: bool = False, stop: asyncio.Event | None = None) -> Counts:
        """Send until no delivery is pending and no decision waits for its notices (``once``:
        write the notices waiting, then one attempt of each delivery due now); raises
        :class:`LeaseHeld` when another dispatcher runs."""
        if not await asyncio.to_thread(self.lease.try_acquire):
            raise LeaseHeld(_("another dispatcher is running on this store"))
        self._grace = 0.0  # asked to send what there is: the decisions' notices at once
        stopping = stop or asyncio.Event()
        try:
            if once:
                await self.step()
                await self._finish()
            else:
                await self._loop(stopping, lambda: not self._tasks and self._pending() == 0)
                await self._finish()
        finally:
            await asyncio.to_thread(self.lease.release)
        return self.counts

    def _pending(self) -> int:
        """Deliveries pending, and one more while a decision waits for its notices (when the
        dispatcher writes them)."""
        with self.engine.connect() as db:
            waiting = self.mission is not None and effects_waiting(db)
            return int(waiting) + int(
                db.execute(
                    select(func.count())
                    .select_from(deliveries)
                    .where(deliveries.c.status == PENDING)
                ).scalar_one()
            )


# -- the dispatcher of a center --------------------------------------------------------------


def wanted_channels(engine: Engine, mission: Mission) -> set[str]:
    """The channels the mission's contacts use and those of deliveries still pending."""
    from ceasefire.dissemination.recipients import recipients

    names: set[str] = {c.channel for r in recipients(mission).values() for c in r.contacts}
    with engine.connect() as db:
        names |= set(
            db.execute(
                select(deliveries.c.channel).where(deliveries.c.status == PENDING).distinct()
            ).scalars()
        )
    return names


def options_of(mission: Mission, **overrides: Any) -> Options:
    return Options(attempts=mission.config.policy.delivery_attempts, **overrides)


@dataclass(frozen=True)
class ProcessArgs:
    """What a dispatcher process is started with (all plain values: it is spawned)."""

    db: str | None
    mission: str | None
    keys: str
    smtp: str
    smtp_from: str
    options: Options
    parent: int
    tak_certs: str | None = None  # the directory of the center's TAK certificates


def channel_options(tak_certs: str | Path | None) -> dict[str, Any]:
    """The channels' own settings in their context (channels.tak reads ``tak_certs``)."""
    return {"tak_certs": str(tak_certs)} if tak_certs else {}


def _signer(keys: str, mission: Mission) -> Any:
    from ceasefire.ledger.keys import load_keys, origin_of

    return load_keys(
        Path(keys), origin_of(mission.id), mission.contingent_ids(), secret=True
    ).signer()


def context_of(args: ProcessArgs, mission: Mission) -> channels_.Context:
    return channels_.Context(
        signer=_signer(args.keys, mission),
        mission=mission.id,
        smtp=args.smtp,
        smtp_from=args.smtp_from,
        options=channel_options(args.tak_certs),
    )


def dispatch_database(args: ProcessArgs, stop: Any) -> None:
    """A dispatcher process's life: open the store, make the channels, dispatch until
    stopped or the parent is gone (the kernel's SIGTERM, made a clean exit)."""
    from ceasefire.mission import load_mission
    from ceasefire.store import open_database

    enter_child(args.parent)
    mission = load_mission(args.mission)
    engine = open_database(args.db, migrate=False)
    try:
        made = channels_.load(wanted_channels(engine, mission), context_of(args, mission))
        dispatcher = Dispatcher(
            engine,
            made,
            options=args.options,
            holder=lease_.holder(args.parent),
            mission=mission,
        )
        # what the process holds now (modules, the mission, the engine) out of the collector's
        # way, as a server's: in the bench's slow scenario the collector took 0.14-0.32 s of
        # the dispatcher's 1.8-2.3 s of CPU, a full collection 60 ms over 137,000 objects
        settle()
        asyncio.run(_run_until(dispatcher, made, stop, args.parent))
    finally:
        engine.dispose()


async def _run_until(
    dispatcher: Dispatcher, made: dict[str, Channel], stop: Any, parent: int
) -> None:
    stopping = asyncio.Event()

    async def watch() -> None:
        while not (stop.is_set() or os.getppid() != parent):
            await asyncio.sleep(0.2)
        stopping.set()

    watcher = asyncio.create_task(watch())
    try:
        await dispatcher.run(stopping)
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
        await channels_.close(made.values())


class DispatcherProcess(Supervised):
    """The dispatcher in a process of its own, started again if it dies: notices must not
    silently stop leaving while the center goes on deciding."""

    def __init__(self, args: ProcessArgs) -> None:
        super().__init__(dispatch_database, (args,), name="dispatcher", kill=True)
        self.args = args

    def died(self, code: int | None) -> str:
        return _("The dispatcher stopped (exit code {code}); starting it again.").format(code=code)

    def stop(self, timeout: float = 30.0) -> None:
        super().stop(timeout)


def attempts_of(connection: Connection, delivery_id: int) -> Iterator[Any]:
    """The attempts of one delivery, oldest first."""
    yield from connection.execute(
        select(delivery_attempts)
        .where(delivery_attempts.c.delivery_id == delivery_id)
        .order_by(delivery_attempts.c.number)
    )


__all__ = [
    "KIND_DELIVERY",
    "Counts",
    "Dispatcher",
    "DispatcherProcess",
    "Lease",
    "LeaseHeld",
    "LeaseLost",
    "Options",
    "ProcessArgs",
    "backoff",
    "dispatch_database",
    "lease_holder",
    "options_of",
    "wanted_channels",
]
