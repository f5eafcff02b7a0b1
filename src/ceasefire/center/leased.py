"""Jobs that must run once across every center process on a store, under a lease.

Why: several centers may serve one PostgreSQL (``ceasefire serve`` on two hosts, or a standby).
The API, the listeners and the JetStream consumers may run in all of them, but a job that writes
what only one writer may (the checkpointer, a notice dispatcher) must not run twice at once. A
:class:`LeasedJob` waits as a standby until it holds the job's :class:`~ceasefire.lease.Lease`,
then starts the job; it stops the job when the lease is found lost, and gives the lease up when
the center stops. The holder's death frees the lease at once (the PostgreSQL session or the
file lock ends with the process), so a standby takes over within :data:`CHECK_S`.

A capability asks for it with ``center.add_job(factory, lease="name")``.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ceasefire.i18n import _
from ceasefire.lease import Lease

if TYPE_CHECKING:
    from ceasefire.center.core import Center, JobFactory

log = logging.getLogger(__name__)

CHECK_S = 1.0
"""Seconds between a standby's tries for the lease, and between a holder's checks of it."""


async def call(method: Callable[[], Any]) -> None:
    """Run a job's ``start`` or ``stop``: a coroutine function on the loop, a plain one (that
    may block) in a worker thread."""
    if inspect.iscoroutinefunction(method):
        await method()
        return
    result = await asyncio.to_thread(method)
    if inspect.isawaitable(result):
        await result


class LeasedJob:
    """The job ``factory`` makes, run only while this process holds the lease ``name``."""

    def __init__(
        self, center: Center, name: str, factory: JobFactory, check_s: float = CHECK_S
    ) -> None:
        self.center = center
        self.name = name
        self.factory = factory
        self.check_s = check_s
        self.lease = Lease(center.engine, name)
        self.holding = False
        """Whether the job runs here now (this process holds the lease)."""
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            await self._task

    async def _pause(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), self.check_s)

    async def _try(self) -> bool:
        try:
            return await asyncio.to_thread(self.lease.acquire)
        except Exception:  # the store is away: wait for it as for the lease
            log.warning("lease %s: the store is not reachable", self.name)
            return False

    async def _run(self) -> None:
        while not self._stopping.is_set():
            if not await self._try():
                await self._pause()
                continue
            try:
                job = self.factory(self.center)
                if job is None:
                    return
                took = _("This center holds the lease {name}: starting it")
                log.info(took.format(name=self.name))
                self.holding = True
                await call(job.start)
                try:
                    while not self._stopping.is_set():
                        await self._pause()
                        if not await asyncio.to_thread(self.lease.held):
                            log.error(
                                _("The lease {name} was lost: stopping its job").format(
                                    name=self.name
                                )
                            )
                            break
                finally:
                    self.holding = False
                    await call(job.stop)
            finally:
                await asyncio.to_thread(self.lease.release)


def leased(name: str, factory: JobFactory) -> JobFactory:
    """A job factory whose job runs only in the center holding the lease ``name``."""
    return lambda center: LeasedJob(center, name, factory)


__all__ = ["CHECK_S", "LeasedJob", "call", "leased"]
