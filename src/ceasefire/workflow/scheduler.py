"""The escalation scheduler: :func:`ceasefire.workflow.decisions.escalate_overdue` every so often.

Why a scheduler: the policy's time limits (``confirm_hours``, ``escalate_hours``) only mean
something if an unanswered proposal reaches the heads without anyone asking; ``ceasefire serve``
runs one. Why a thread: a pass is a short piece of synchronous database work, like the writers'
(the API's intake, the CoT listeners' writer, both in threads), and a thread with a stop event
needs no event loop and stops at once.

Each pass runs in its own transaction under the writers' lock, with the clock's time. A pass
that fails is logged and the next one runs as planned: a database away for a minute must not
end escalation for good. Passes are idempotent (an escalated decision is no longer due), so
several servers on one database may each run a scheduler.

Rooms after the workflow add their own overdue work to the same pass (``also``): the center
plugs in dissemination's escalation of notices not acknowledged in time, so one scheduler, one
clock and one transaction serve both.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from types import TracebackType

from sqlalchemy import Connection, Engine

from ceasefire.i18n import _
from ceasefire.mission.model import Mission
from ceasefire.timeutil import iso
from ceasefire.workflow import decisions

log = logging.getLogger(__name__)

Pass = Callable[[Connection, Mission, datetime], list[str]]
"""More overdue work for each pass: ``(connection, mission, now)`` -> the ids it escalated."""

DEFAULT_INTERVAL = 60.0
"""Seconds between passes: a proposal escalates at most this late."""


def utc_now() -> datetime:
    return datetime.now(UTC)


class EscalationScheduler:
    """Escalates overdue decisions every ``interval`` seconds in a thread, from :meth:`start`
    (the first pass at once) until :meth:`stop`; also a context manager.

    ``lock`` is the lock the process's other writers of the same store share; ``clock`` gives
    "now" for each pass (tests pass their own).
    """

    def __init__(
        self,
        engine: Engine,
        mission: Mission,
        *,
        interval: float = DEFAULT_INTERVAL,
        lock: threading.Lock | None = None,
        clock: Callable[[], datetime] = utc_now,
        also: Sequence[Pass] = (),
    ) -> None:
        if not (math.isfinite(interval) and interval > 0):
            raise ValueError(f"the interval must be a positive number of seconds; got {interval}")
        self.engine = engine
        self.mission = mission
        self.interval = interval
        self.lock = lock or threading.Lock()
        self.clock = clock
        self.also = tuple(also)
        self.escalated_also: list[str] = []
        """What the ``also`` passes escalated in the last pass (notice ids)."""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> list[decisions.Decision]:
        """One pass in its own transaction: what it escalated (logged). Errors propagate."""
        with self.lock, self.engine.begin() as db:
            # the time is read once the lock is held: a pass that waited is not late by that
            now = self.clock()
            escalated = decisions.escalate_overdue(db, self.mission, at=now)
            self.escalated_also = [i for more in self.also for i in more(db, self.mission, now)]
        for ref in self.escalated_also:
            log.info(_("Escalated {id} to the heads, not acknowledged in time.").format(id=ref))
        for decision in escalated:
            log.info(
                _(
                    "Escalated {id} ({reaction} on {incident}, {tier}) to the heads, "
                    "unanswered in time; they answer by {due}."
                ).format(
                    id=decision.id,
                    reaction=decision.reaction,
                    incident=decision.incident_id,
                    tier=decision.tier,
                    due=iso(decision.due_at),
                )
            )
        return escalated

    def _run(self) -> None:
        while True:
            try:
                self.run_once()
            except Exception:
                # never let one bad pass end escalation: the next one may well succeed
                log.exception(
                    _("The escalation pass failed; the next one runs in {seconds} s.").format(
                        seconds=f"{self.interval:g}"
                    )
                )
            if self._stop.wait(self.interval):
                return

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the scheduler runs already")
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="ceasefire-escalation", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = 30.0) -> None:
        """Stop after the pass in progress, if any (waits at most ``timeout`` seconds for it)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def __enter__(self) -> EscalationScheduler:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


__all__ = ["DEFAULT_INTERVAL", "EscalationScheduler", "utc_now"]
