"""The dispatcher against real HTTP receivers on loopback: every notice reaches every
recipient, failures are retried then dead-lettered, a slow recipient delays no other, every
attempt is in delivery_attempts and in the ledger, one dispatcher at a time."""

from __future__ import annotations

import asyncio
import random
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from dissemination_support import make_center, mission_with_lines, notify_batches, pending_delivery
from receivers import Receiver

from ceasefire.dissemination import channels, list_notices, retry
from ceasefire.dissemination.dispatcher import (
    KIND_DELIVERY,
    Dispatcher,
    Lease,
    LeaseHeld,
    Options,
    _Due,
    _look,
    backoff,
    lease_holder,
)
from ceasefire.dissemination.tables import deliveries, delivery_attempts, notices
from ceasefire.ledger.note import Ed25519Signer
from ceasefire.ledger.tables import ledger, ledger_head
from ceasefire.mission import Mission, load_mission
from ceasefire.store import open_database
from ceasefire.store.db import writing

SIGNER = Ed25519Signer.generate("ceasefire.test/center")
FAST = Options(attempts=3, base=0.01, cap=0.05, poll=0.02)


def _mission(tmp_path: Path, r: Receiver, am: str, az: str, pk: str) -> Mission:
    return load_mission(
        mission_with_lines(tmp_path, {"AM": r.url(am), "AZ": r.url(az), "PK": r.url(pk)})
    )


def _drain(engine: sa.Engine, options: Options = FAST, timeout: float = 10.0, **kw: object):  # type: ignore[no-untyped-def]
    async def run():  # type: ignore[no-untyped-def]
        made = channels.load(["http"], channels.Context(signer=SIGNER, timeout=timeout))
        try:
            return await Dispatcher(engine, made, options=options, **kw).drain()  # type: ignore[arg-type]
        finally:
            await channels.close(made.values())

    return asyncio.run(run())


def _states(engine: sa.Engine) -> Counter[tuple[str, str]]:
    with engine.connect() as db:
        return Counter(
            (queue, status)
            for queue, status in db.execute(sa.select(deliveries.c.queue, deliveries.c.status))
        )


def test_every_notice_reaches_every_recipient_once_signed(
    engine: sa.Engine, tmp_path: Path
) -> None:
    with Receiver(key=SIGNER.vkey) as r:
        mission = _mission(tmp_path, r, "am", "az", "pk")
        make_center(engine, mission)
        ids = notify_batches(engine, mission, 10)
        counts = _drain(engine)
        assert counts.delivered == 30 and counts.attempts == 30 and counts.dead == 0
        assert sorted(r.seen.ids) == sorted(ids) and set(r.seen.ids.values()) == {1}
        assert not r.seen.refused
        assert {p: len(v) for p, v in r.seen.by_path.items()} == {"am": 10, "az": 10, "pk": 10}
    assert _states(engine) == Counter(
        {("AM/http", "delivered"): 10, ("AZ/http", "delivered"): 10, ("PK/http", "delivered"): 10}
    )
    with engine.connect() as db:
        found = list_notices(db)
        assert all(n.status == "delivered" for n in found)
        assert all(n.party_skew_ms is not None for n in found if n.recipient_kind == "party")
        attempts = db.execute(sa.select(delivery_attempts)).all()
        assert len(attempts) == 30 and all(a.ok == 1 and a.number == 1 for a in attempts)
        logged = db.execute(
            sa.select(ledger.c["index"], ledger.c.ref).where(ledger.c.kind == KIND_DELIVERY)
        ).all()
        assert sorted(i for i, _ref in logged) == sorted(a.ledger_index for a in attempts)
        assert {ref for _i, ref in logged} == {f"{a.delivery_id}/1" for a in attempts}


@pytest.mark.parametrize("fault", ["500", "garbage", "close", "redirect", "hang"])
def test_a_failing_recipient_is_retried_then_dead_letter_and_others_still_served(
    engine: sa.Engine, tmp_path: Path, fault: str
) -> None:
    with Receiver(key=SIGNER.vkey) as r:
        mission = _mission(tmp_path, r, "flaky", "az", fault)
        center = make_center(engine, mission)
        ids = notify_batches(engine, mission, 3)
        # Only the hanging receiver needs the short timeout: under load a 0.5 s timeout can
        # end an attempt before the receiver has read it, and the count below is of reads.
        counts = _drain(engine, timeout=0.5 if fault == "hang" else 10.0)
        assert counts.dead == 3 and counts.delivered == 6
        assert r.seen.requests[fault] == 3 * FAST.attempts  # each tried N times
        assert r.seen.requests["flaky"] == 6  # the first try of each failed, the next went
        assert len(r.seen.ids) == 6 and "PK" not in r.seen.by_path
    assert _states(engine) == Counter(
        {("AM/http", "delivered"): 3, ("AZ/http", "delivered"): 3, ("PK/http", "dead"): 3}
    )
    with engine.connect() as db:
        dead = list_notices(db, status="dead")
        assert {n.recipient for n in dead} == {"PK"} and len(dead) == 3
        assert all(n.deliveries[0].attempts == FAST.attempts for n in dead)
        assert all(n.deliveries[0].last_error for n in dead)
        assert {n.id for n in list_notices(db)} == set(ids)  # nothing lost
    # a duty officer retries one: back in its queue, tried a new round, numbered on
    with engine.begin() as db:
        assert retry(db, dead[0].id, "tr-do", datetime.now(UTC)) == 1
    assert _states(engine)[("PK/http", "pending")] == 1
    with Receiver(key=SIGNER.vkey) as r2:
        # the line is repaired (the same delivery, another address) and the retry goes out
        with engine.begin() as db:
            db.execute(
                sa.update(deliveries)
                .where(deliveries.c.notice_id == dead[0].id)
                .values(address=r2.url("pk"))
            )
        counts = _drain(engine, timeout=0.5)
        assert counts.delivered == 1 and list(r2.seen.ids) == [dead[0].id]
    with engine.connect() as db:
        numbers = db.execute(
            sa.select(delivery_attempts.c.number)
            .join(deliveries, deliveries.c.id == delivery_attempts.c.delivery_id)
            .where(deliveries.c.notice_id == dead[0].id)
            .order_by(delivery_attempts.c.number)
        ).scalars()
        assert list(numbers) == list(range(1, FAST.attempts + 2))
    assert center.users  # the staff exist: the retry above named one


def test_a_slow_recipient_delays_no_other(engine: sa.Engine, tmp_path: Path) -> None:
    """The force's line holds every request until both parties have every notice: were its
    queue in their way, they would not, and the gate would open only at the guard's end."""
    with Receiver(key=SIGNER.vkey) as r:
        mission = _mission(tmp_path, r, "am", "az", "gate")
        make_center(engine, mission)
        notify_batches(engine, mission, 8)
        done: list[object] = []
        worker = threading.Thread(
            target=lambda: done.append(_drain(engine, Options(attempts=1, per_queue=4), 60.0))
        )
        worker.start()
        try:
            parties_first = _wait(lambda: len(r.seen.ids) == 16, 60)
            force_meanwhile = r.seen.by_path.get("gate", [])
        finally:
            r.gate.set()
            worker.join(90)
        assert parties_first and not force_meanwhile
        assert r.seen.requests["gate"] >= 4  # the force's queue was busy all along
        assert len(r.seen.by_path["gate"]) == 8  # and then got every notice


def test_a_slow_receivers_window_widens(engine: sa.Engine, tmp_path: Path) -> None:
    """A webhook receiver that answers slowly but surely gets more requests at once than
    ``per_queue`` (its window widens while full), up to the ceiling; a channel that does not
    widen stays at ``per_queue``."""
    with Receiver(key=SIGNER.vkey, slow=0.3) as r:
        mission = _mission(tmp_path, r, "ok", "ok", "slow")
        make_center(engine, mission)
        notify_batches(engine, mission, 60)
        counts = _drain(engine, Options(attempts=3, per_queue=4, poll=0.02, widen={"http": 16}))
        assert counts.delivered == 180 and counts.failed == 0
        assert len(r.seen.by_path["slow"]) == 60
        # all 60 wait from the start: 4 in flight, then as many as wait, never past 16
        assert r.seen.peak["slow"] == 16
    (tmp_path / "fixed").mkdir()
    with Receiver(key=SIGNER.vkey, slow=0.2) as r:
        mission = _mission(tmp_path / "fixed", r, "ok", "ok", "slow")
        notify_batches(engine, mission, 10, start=100)
        _drain(engine, Options(attempts=3, per_queue=4, poll=0.02, widen={}))
        assert r.seen.peak["slow"] <= 4


def test_a_slow_receivers_window_opens_to_what_waits(engine: sa.Engine, tmp_path: Path) -> None:
    """Once a full window's requests are answered well, the window opens to what the queue has
    due (Little's law), not only one more a success: 4 in flight, then the other 56 at once
    (doubling alone gave 4, 8, 16, 32: a peak of 32 and four round trips)."""
    with Receiver(key=SIGNER.vkey, slow=0.5) as r:
        mission = _mission(tmp_path, r, "ok", "ok", "slow")
        make_center(engine, mission)
        notify_batches(engine, mission, 60)
        options = Options(attempts=3, per_queue=4, poll=0.02, widen={"http": 64})
        counts = _drain(engine, options)
        assert counts.delivered == 180 and counts.failed == 0
        assert len(r.seen.by_path["slow"]) == 60
        assert r.seen.peak["slow"] >= 50


def test_a_look_starts_each_batch_to_both_parties_together(
    engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The look's deliveries start in the order their notices were written, not queue by
    queue: with many due, a batch's notice to the second party does not wait behind every
    notice of the first party's queue (the parties' skew)."""
    dispatcher = Dispatcher(engine, {}, options=Options(per_queue=4))

    def outgoing(notice: str, minute: int) -> channels.Outgoing:
        return channels.Outgoing(
            notice, "incident_notice", "AM", "addressee", "hy", "", "", "{}", None,
            datetime(2026, 1, 1, 0, minute, tzinfo=UTC), 1, "http://127.0.0.1:9/",
        )  # fmt: skip

    due = [
        _Due(i, queue, "http", 0, outgoing(f"NTC-{queue[:2]}-{minute}", minute))
        for i, (queue, minute) in enumerate(
            (q, m) for q in ("AM/http", "AZ/http", "PK/http") for m in range(3)
        )
    ]  # as the look's query gives them: queue by queue
    monkeypatch.setattr(dispatcher, "_due", lambda *args: (due, {}))
    started: list[str] = []
    monkeypatch.setattr(dispatcher, "_start", lambda d: started.append(d.outgoing.notice_id))
    asyncio.run(dispatcher._take())
    assert started == [f"NTC-{q}-{m}" for m in range(3) for q in ("AM", "AZ", "PK")]


def test_a_failing_receivers_window_narrows(engine: sa.Engine) -> None:
    """One more in flight per success of a delivery started in a look that filled the window;
    half (not under per_queue) on a failure; only for the channels that widen."""
    dispatcher = Dispatcher(engine, {}, options=Options(per_queue=4, widen={"http": 10}))
    outgoing = channels.Outgoing(
        "NTC-1", "incident_notice", "PK", "copy", "ru", "", "", "{}", None,
        datetime.now(UTC), 1, "http://127.0.0.1:9/",
    )  # fmt: skip
    due = [_Due(i, "PK/http", "http", 0, outgoing) for i in range(20)]
    mail = _Due(99, "PK/email", "email", 0, outgoing)
    dispatcher._filled.update((d.id, 0.0) for d in due[:4])  # started into a full window
    dispatcher._widen(due[0], True)
    assert dispatcher.window("PK/http") == 5  # one more
    dispatcher._widen(due[1], True)
    assert dispatcher.window("PK/http") == 6  # and one more: a window's worth doubles it
    dispatcher._widen(due[4], True)
    assert dispatcher.window("PK/http") == 6  # started with room to spare: the outbox held it
    dispatcher._widen(due[1], True)
    assert dispatcher.window("PK/http") == 6  # counted once
    dispatcher._filled.update((d.id, 0.0) for d in due[5:12])
    for d in due[5:12]:
        dispatcher._widen(d, True)
    assert dispatcher.window("PK/http") == 10  # the ceiling
    dispatcher._widen(due[5], False)
    assert dispatcher.window("PK/http") == 5
    dispatcher._widen(due[6], False)
    assert dispatcher.window("PK/http") == 4  # never under per_queue
    dispatcher._filled[mail.id] = 0.0
    dispatcher._widen(mail, True)
    assert dispatcher.window("PK/email") == 4  # e-mail does not widen
    # a success of a request begun after the queue's last failure: its window follows
    # what the queue has due, never past the ceiling
    dispatcher._filled[due[13].id] = 0.0  # began before the failures above
    dispatcher._widen(due[13], True)
    dispatcher._follow({"PK/http": 9})
    assert dispatcher.window("PK/http") == 5  # one more only
    dispatcher._filled[due[14].id] = time.monotonic()
    dispatcher._widen(due[14], True)
    dispatcher._follow({"PK/http": 9})
    assert dispatcher.window("PK/http") == 9  # what was due
    dispatcher._follow({"PK/http": 3})
    assert dispatcher.window("PK/http") == 9  # never narrowed by it
    dispatcher._follow({"PK/http": 40})
    assert dispatcher.window("PK/http") == 10  # never past the ceiling
    dispatcher._widen(due[15], False)
    dispatcher._follow({"PK/http": 40})
    assert dispatcher.window("PK/http") == 5  # a failure: half, and no longer following


def test_outcomes_ask_for_sqlites_write_lock_in_its_gaps(tmp_path: Path) -> None:
    """On SQLite the outcomes' transaction takes the write lock at its start, asking again
    every millisecond while a decider holds it (not sleeping in SQLite's busy handler, up to
    100 ms a time): it gets in soon after the lock is freed, gives up after its wait, and the
    connection keeps its busy timeout."""
    engine = open_database(str(tmp_path / "w.db"))
    holder = sqlite3.connect(tmp_path / "w.db", isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    freed: list[float] = []

    def free() -> None:
        time.sleep(0.335)
        freed.append(time.monotonic())
        holder.execute("COMMIT")

    thread = threading.Thread(target=free)
    thread.start()
    with writing(engine) as db:
        got = time.monotonic()
        db.execute(sa.update(ledger_head).values(size=ledger_head.c.size))
        assert db.exec_driver_sql("PRAGMA busy_timeout").scalar_one() == 10000
    thread.join()
    assert got >= freed[0] and got - freed[0] < 0.085  # the busy handler: 93 ms late here
    holder.execute("BEGIN IMMEDIATE")
    began = time.monotonic()
    with pytest.raises(sqlite3.OperationalError), writing(engine, wait=0.1):
        pass
    assert 0.1 <= time.monotonic() - began < 1.0
    holder.execute("ROLLBACK")
    holder.close()
    with writing(engine) as db:  # committed: written where others read it
        db.execute(sa.update(ledger_head).values(size=ledger_head.c.size + 0))
    engine.dispose()


def test_the_lease_asks_for_sqlites_write_lock_in_its_gaps(tmp_path: Path) -> None:
    """Taking the lease and its sign of life write on SQLite as the outcomes do
    (:func:`writing`): a dispatcher starting, or beating, while a decider holds the write lock
    gets in soon after it is freed, not at the busy handler's next try (its first look at the
    outbox waited some 1.1 s behind a deciding loop, the bench's parties' p99)."""
    engine = open_database(str(tmp_path / "w.db"))
    holder = sqlite3.connect(tmp_path / "w.db", isolation_level=None, check_same_thread=False)
    lease = Lease(engine, "elsewhere 1 1 -")
    got: list[float] = []  # when each got in: its write done, before the commit
    for name in ("_mark", "renew"):
        inner = getattr(lease, name)
        setattr(lease, name, lambda *a, inner=inner: (inner(*a), got.append(time.monotonic())))
    freed: list[float] = []

    def free() -> None:
        time.sleep(0.335)
        freed.append(time.monotonic())
        holder.execute("COMMIT")

    late: list[float] = []
    for step in (lease.try_acquire, lease.beat):
        holder.execute("BEGIN IMMEDIATE")
        thread = threading.Thread(target=free)
        thread.start()
        step()
        thread.join()
        late.append(got[-1] - freed[-1])
    lease.release()
    holder.close()
    engine.dispose()
    assert all(0 <= seconds < 0.085 for seconds in late), late


def test_run_says_when_it_holds_the_lease(engine: sa.Engine) -> None:
    """``started``: called once the lease is held (a bench starts deciding then)."""
    held: list[bool] = []

    async def run() -> None:
        stop = asyncio.Event()

        def started() -> None:
            with engine.connect() as db:
                held.append(lease_holder(db) is not None)
            stop.set()

        await Dispatcher(engine, {}, options=FAST).run(stop, started=started)

    asyncio.run(run())
    assert held == [True]


def _wait(check: Callable[[], bool], guard: float) -> bool:
    deadline = time.monotonic() + guard
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.01)
    return False


def test_a_permanent_refusal_is_a_dead_letter_at_once(engine: sa.Engine, tmp_path: Path) -> None:
    with Receiver(key=SIGNER.vkey) as r:
        mission = _mission(tmp_path, r, "am", "az", "pk")
        make_center(engine, mission)
        notify_batches(engine, mission, 1)
        with engine.begin() as db:
            db.execute(
                sa.update(deliveries)
                .where(deliveries.c.queue == "PK/http")
                .values(address="ftp://example.org/x")
            )
        counts = _drain(engine)
    assert counts.dead == 1 and counts.attempts == 3


def test_one_dispatcher_at_a_time(engine: sa.Engine) -> None:
    first = Lease(engine, "elsewhere 1 1 -")  # another host: never known gone
    assert first.try_acquire()
    try:
        with pytest.raises(LeaseHeld):
            _drain(engine)
        assert first.try_acquire()  # the holder itself renews
    finally:
        first.release()
    assert _drain(engine).attempts == 0  # released: the next one takes it


def test_backoff_is_full_jitter_under_a_cap() -> None:
    rng = random.Random(1)
    options = Options(base=1.0, cap=10.0)
    for failures in range(1, 12):
        ceiling = min(10.0, 2 ** (failures - 1))
        waits = [backoff(failures, options, rng) for _ in range(200)]
        assert all(0 <= w <= ceiling for w in waits)
        assert max(waits) > ceiling / 2  # spread over the range, not fixed


class _Ceiling(random.Random):
    """An rng whose every jitter is the whole back-off: the waits show their ceilings."""

    def uniform(self, low: float, high: float) -> float:
        return high


def _waits(engine: sa.Engine, answers: list[bool], failing_before: int) -> list[float]:
    """Send one delivery a notice in ``PK/http``, each notice having failed 5 times already,
    through a channel that answers as ``answers`` says (in order), the queue having failed
    ``failing_before`` times in a row before; the back-off ceiling each failure got."""
    at = datetime(2026, 12, 8, 5, 0, tzinfo=UTC)
    with engine.begin() as db:
        for i in range(len(answers)):
            pending_delivery(db, f"NTC-{i}", "PK/http", at, i + 1)

    class Answers:
        name = "http"

        def __init__(self) -> None:
            self.next = iter(answers)

        async def send(self, outgoing: channels.Outgoing) -> None:
            if not next(self.next):
                raise channels.DeliveryFailed("500 from the receiver", retry=True)

    options = Options(attempts=20, base=1.0, cap=1000.0)
    dispatcher = Dispatcher(
        engine, {"http": Answers()}, options=options, clock=lambda: at, rng=_Ceiling()
    )
    dispatcher._failing["PK/http"] = failing_before
    outgoing = channels.Outgoing(
        "NTC-0", "incident_notice", "PK", "copy", "ru", "", "", "{}", None, at, 1,
        "http://127.0.0.1:9/",
    )  # fmt: skip
    dues = [_Due(i + 1, "PK/http", "http", 5, outgoing, made=5) for i in range(len(answers))]
    assert dispatcher.lease.try_acquire()
    try:
        for due in dues:
            asyncio.run(dispatcher._send(due))
        dispatcher._write(dispatcher._outcomes)
    finally:
        dispatcher.lease.release()
    with engine.connect() as db:
        rows = db.execute(
            sa.select(deliveries.c.next_at)
            .where(deliveries.c.status == "pending")
            .order_by(deliveries.c.id)
        ).scalars()
        return [(next_at - at).total_seconds() for next_at in rows]  # UTCDateTime: aware


def test_backoff_follows_the_receivers_failures_not_a_notices_luck(engine: sa.Engine) -> None:
    """A notice that failed its sixth time waits up to 32 s (base 1 s) while its receiver
    fails everything; while the receiver answers other notices, its failures in a row are
    few, and so is the wait: a receiver failing half its requests is not treated as down."""
    down = _waits(engine, [False] * 4, failing_before=10)
    assert down == [32.0] * 4  # the notice's own failures rule
    with engine.begin() as db:
        db.execute(sa.delete(deliveries))
        db.execute(sa.delete(notices))
    half = _waits(engine, [True, False, True, False, False, True, False], failing_before=10)
    assert half == [1.0, 1.0, 2.0, 1.0]  # the receiver's failures in a row since a success


def _statements(engine: sa.Engine) -> list[tuple[str, object]]:
    """Every statement ``engine`` runs from now on, with its parameters."""
    seen: list[tuple[str, object]] = []
    sa.event.listen(
        engine,
        "before_cursor_execute",
        lambda _conn, _cursor, statement, parameters, *_rest: seen.append((statement, parameters)),
    )
    return seen


def test_outcomes_that_come_together_are_written_in_one_transaction(
    engine: sa.Engine, tmp_path: Path
) -> None:
    """An outcome waits up to ``gather`` for others before it is written: the parties'
    answers (at once) and the force's (0.3 s later) go in one transaction, one append to the
    log, with their attempt numbers as the look read them (no count before the write).
    Before, outcomes were written as they came: the parties' before the force answered."""
    seen = _statements(engine)
    with Receiver(key=SIGNER.vkey, slow=0.3) as r:
        mission = _mission(tmp_path, r, "am", "az", "slow")
        make_center(engine, mission)
        notify_batches(engine, mission, 4)
        counts = _drain(engine, Options(attempts=3, per_queue=16, poll=0.02, gather=2.0))
        assert len(r.seen.ids) == 12
    assert counts.delivered == 12 and counts.attempts == 12
    with engine.connect() as db:
        moments = db.execute(
            sa.select(ledger.c.appended_at).where(ledger.c.kind == KIND_DELIVERY).distinct()
        ).all()
        numbers = db.execute(sa.select(delivery_attempts.c.number)).scalars().all()
    assert len(moments) == 1 and sorted(numbers) == [1] * 12
    assert not [s for s, _p in seen if "GROUP BY delivery_attempts.delivery_id" in s]


def test_a_queue_with_half_its_window_to_write_is_written_at_once(engine: sa.Engine) -> None:
    """The writer is woken by the first outcome to write and by one that leaves half its
    queue's window waiting to be written (that queue's room is held back), not by every
    outcome; then it writes at once, without waiting out ``gather``."""

    class Answers:
        name = "http"

        async def send(self, outgoing: channels.Outgoing) -> None:
            return None

    dispatcher = Dispatcher(
        engine, {"http": Answers()}, options=Options(per_queue=4, gather=600.0, widen={})
    )
    outgoing = channels.Outgoing(
        "NTC-1", "incident_notice", "PK", "copy", "ru", "", "", "{}", None,
        datetime.now(UTC), 1, "http://127.0.0.1:9/",
    )  # fmt: skip

    async def run() -> list[tuple[bool, bool]]:
        woken: list[tuple[bool, bool]] = []
        for i, queue in enumerate(["PK/http", "AM/http", "PK/http", "PK/http"]):
            dispatcher._wake.clear()
            await dispatcher._send(_Due(i, queue, "http", 0, outgoing))
            woken.append((dispatcher._wake.is_set(), dispatcher._pressing))
        # pressing: the wait for the oldest's gather (600 s) ends at once
        await asyncio.wait_for(dispatcher._gather(asyncio.Event()), 60)
        return woken

    assert asyncio.run(run()) == [(True, False), (False, False), (True, True), (False, True)]


def _due_rows(engine: sa.Engine, queues: dict[str, tuple[int, int]]) -> dict[str, list[int]]:
    """``queues[q] = (first, count)``: deliveries ``first``, ``first + 1``... due now in queue
    ``q``, each of a notice of its own; their ids by queue."""
    now = datetime.now(UTC)
    ids: dict[str, list[int]] = {}
    with engine.begin() as db:
        for queue, (first, count) in queues.items():
            for i in range(count):
                pending_delivery(db, f"NTC-{queue}-{i}", queue, now, first + i)
                ids.setdefault(queue, []).append(first + i)
    return ids


def test_a_look_names_no_delivery_of_a_queue_with_none_to_take_and_is_built_once(
    engine: sa.Engine,
) -> None:
    """A queue without room, or whose due deliveries are all in flight, is left out of the
    look whole, so its deliveries in flight are not bound one by one (a slow receiver's window
    holds hundreds); with no queue to take from, only the count is read; the statement of each
    shape is built once, its values bound."""
    dispatcher = Dispatcher(engine, {}, options=Options(per_queue=4, widen={}))
    seen = _statements(engine)
    busy = {"PK/http": frozenset(range(70001, 70005)), "AM/http": frozenset({80001})}
    assert dispatcher._due(datetime.now(UTC), busy, {}) == ([], {})
    assert len(seen) == 1  # nothing due: the count only
    ids = _due_rows(engine, {"PK/http": (70001, 4), "AM/http": (80001, 2), "AZ/http": (90001, 1)})
    busy = {
        "PK/http": frozenset(ids["PK/http"]),  # full
        "AM/http": frozenset(ids["AM/http"][:1]),  # room, one more due
        "AZ/http": frozenset(ids["AZ/http"]),  # room, but its one due is in flight
    }
    seen.clear()
    due, _demand = dispatcher._due(datetime.now(UTC), busy, {})
    assert [d.id for d in due] == ids["AM/http"][1:]
    bound = [
        v
        for _statement, parameters in seen
        for v in (parameters.values() if isinstance(parameters, dict) else parameters)  # type: ignore[attr-defined]
    ]
    assert ids["AM/http"][0] in bound
    assert not (set(ids["PK/http"]) | set(ids["AZ/http"])) & set(bound)
    assert _look(True, True, 1) is _look(True, True, 1)
