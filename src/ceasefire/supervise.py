"""A helper process (the correlation follower, the dispatcher) in a process of its own,
started again if it dies: what it does must not silently stop while the center goes on.

The parent side is :class:`Supervised` (start, keep alive, stop); the child side is
:func:`enter_child`, the first thing a helper's target does. Both helpers share this code;
each names its target, its process and the line the log shows when it died.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.process
import signal
import sys
from collections.abc import Callable
from typing import Any

from ceasefire import lease

log = logging.getLogger(__name__)


def enter_child(parent: int) -> None:
    """A helper's first steps: die with ``parent`` (:func:`ceasefire.lease.die_with_parent`),
    make the kernel's SIGTERM a clean exit, and leave interrupts to the parent (it sets the
    stop event and waits for the work at hand)."""
    lease.die_with_parent(parent)
    signal.signal(signal.SIGTERM, _exit)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _exit(signum: int, frame: object) -> None:
    sys.exit(0)  # unwinds: the transaction at hand rolls back, the sign of life is cleared


class Supervised:
    """``target(*args, stop)`` in a spawned process named ``name``, started again by
    :meth:`keep_alive` if it died; :meth:`stop` sets ``stop`` and waits for it (and, with
    ``kill``, kills it if it is still there after the timeout)."""

    def __init__(
        self,
        target: Callable[..., None],
        args: tuple[Any, ...],
        *,
        name: str,
        kill: bool = False,
    ) -> None:
        self._target = target
        self._target_args = args
        self._name = name
        self._kill = kill
        self._context = multiprocessing.get_context("spawn")
        self._stop = self._context.Event()
        self._stopping = False
        self._process: multiprocessing.process.BaseProcess | None = None
        self.restarts = 0

    def died(self, code: int | None) -> str:
        """The log's line when the process died and is started again."""
        raise NotImplementedError

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def start(self) -> None:
        # A new event for each process: one killed (SIGKILL, the OOM killer) while it waited
        # on the event leaves the event's lock held, and setting it would then hang for ever.
        self._stop = self._context.Event()
        self._process = self._context.Process(
            target=self._target,
            args=(*self._target_args, self._stop),
            name=self._name,
            daemon=True,
        )
        self._process.start()

    def keep_alive(self) -> bool:
        """Start the process again if it has died; whether it had to."""
        process = self._process
        if process is None or process.is_alive() or self._stopping:
            return False
        log.error(self.died(process.exitcode))
        self.restarts += 1
        self.start()
        return True

    def stop(self, timeout: float) -> None:
        """Ask it to stop after the work at hand, and wait for it."""
        self._stopping = True
        process = self._process
        if process is None:
            return
        if process.is_alive():
            self._stop.set()
        process.join(timeout)
        if self._kill and process.is_alive():
            process.kill()
            process.join()
