"""The escalation scheduler, on SQLite and PostgreSQL, with a fake clock: an overdue proposal is
escalated, one not yet due is not, and a pass that fails does not stop the next one. Nothing
here asserts how long anything took; waiting is on events, bounded only so a bug cannot hang."""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

import pytest
from workflow_support import T0, Center, assess_both

from ceasefire.workflow import decisions
from ceasefire.workflow.scheduler import EscalationScheduler

TINY = 0.001
"""Seconds between passes in these tests."""
PATIENCE = 60.0
"""How long a test waits for passes before it fails instead of hanging."""


class Clock:
    """A fake clock that counts the passes reading it and fails the ones it is told to."""

    def __init__(self, now: datetime, failing: tuple[int, ...] = ()) -> None:
        self.now = now
        self.failing = failing
        self.reads = 0
        self.reached: dict[int, threading.Event] = {}

    def __call__(self) -> datetime:
        self.reads += 1
        for count, event in self.reached.items():
            if self.reads >= count:
                event.set()
        if self.reads in self.failing:
            raise RuntimeError(f"clock broken at read {self.reads}")
        return self.now

    def wait_for_read(self, count: int) -> None:
        """Until the clock was read ``count`` times: every pass before that one has ended (a
        pass reads the clock once, and the next pass starts only after it)."""
        event = self.reached.setdefault(count, threading.Event())
        if self.reads >= count:
            event.set()
        assert event.wait(PATIENCE), f"the scheduler did not reach pass {count}"


@pytest.fixture(autouse=True)
def _not_blind(center: Center) -> None:
    """Both sides assessed INC-1, so each sees (and may answer) the other's decisions."""
    assess_both(center, "INC-1")


def test_one_pass_escalates_the_overdue_and_leaves_the_rest(center: Center) -> None:
    m, u = center.mission, center.users
    hours = m.config.policy.escalate_hours
    with center.engine.begin() as db:
        old = decisions.propose(db, m, u["ru-do"], "INC-1", "record_only", at=T0)
        new = decisions.propose(
            db, m, u["tr-do"], "INC-1", "record_only", at=T0 + timedelta(hours=1)
        )
    clock = Clock(T0 + timedelta(hours=hours, minutes=30))
    scheduler = EscalationScheduler(center.engine, m, interval=TINY, clock=clock)
    assert [d.id for d in scheduler.run_once()] == [old.id]
    assert scheduler.run_once() == []  # nothing twice
    with center.engine.connect() as db:
        assert decisions.get_decision(db, m, u["auditor"], old.id).state == "escalated"
        assert decisions.get_decision(db, m, u["auditor"], new.id).state == "proposed"


def test_the_running_scheduler_escalates_and_goes_on_after_a_failed_pass(
    center: Center, caplog: pytest.LogCaptureFixture
) -> None:
    m, u = center.mission, center.users
    policy = m.config.policy
    with center.engine.begin() as db:
        urgent = decisions.propose(
            db, m, u["ru-do"], "INC-1", "notify_peacekeepers", urgent=True, at=T0
        )
        later = decisions.propose(db, m, u["tr-do"], "INC-1", "record_only", at=T0)
    # Past the urgent decision's confirmation time, not yet past the proposal's escalation.
    clock = Clock(T0 + timedelta(hours=policy.confirm_hours), failing=(1,))
    assert policy.confirm_hours < policy.escalate_hours
    lock = threading.Lock()
    with (
        caplog.at_level(logging.INFO, logger="ceasefire.workflow.scheduler"),
        EscalationScheduler(center.engine, m, interval=TINY, lock=lock, clock=clock),
    ):
        clock.wait_for_read(3)  # pass 1 failed, pass 2 ran
    with center.engine.connect() as db:
        assert decisions.get_decision(db, m, u["auditor"], urgent.id).state == "escalated"
        assert decisions.get_decision(db, m, u["auditor"], later.id).state == "proposed"
    failed = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert failed and failed[0].exc_info is not None
    assert "clock broken at read 1" in str(failed[0].exc_info[1])
    assert any(urgent.id in r.getMessage() for r in caplog.records if r.levelno == logging.INFO)
    assert not lock.locked()  # the failed pass let go of the writers' lock


def test_each_pass_holds_the_writers_lock(center: Center) -> None:
    m, u = center.mission, center.users
    with center.engine.begin() as db:
        d = decisions.propose(db, m, u["ru-do"], "INC-1", "record_only", at=T0)
    lock = threading.Lock()
    held: list[bool] = []

    class Witness(Clock):
        def __call__(self) -> datetime:
            held.append(lock.locked())  # the pass reads the time once it holds the lock
            return super().__call__()

    clock = Witness(T0 + timedelta(days=2))
    with EscalationScheduler(center.engine, m, interval=TINY, lock=lock, clock=clock):
        clock.wait_for_read(2)
    assert held and all(held)
    with center.engine.connect() as db:
        assert decisions.get_decision(db, m, u["auditor"], d.id).state == "escalated"


def test_a_bad_interval_is_refused(center: Center) -> None:
    for interval in (0.0, -1.0, float("inf"), float("nan")):
        with pytest.raises(ValueError):
            EscalationScheduler(center.engine, center.mission, interval=interval)
