"""Serving a center: the HTTP API, the CoT listeners, the escalation scheduler and every job a
capability registered, with the correlation follower in a process of its own, until
interrupted (``ceasefire serve``).

The parts are the :class:`~ceasefire.center.Center`'s; this shell only starts them on one event
loop, puts the API on uvicorn, and stops them in order.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from contextlib import AsyncExitStack, suppress

import uvicorn

from ceasefire.api.app import center_app
from ceasefire.center import Center
from ceasefire.i18n import _
from ceasefire.incidents.follow import FollowerProcess

log = logging.getLogger(__name__)


def serve(
    center: Center,
    say: Callable[[str], None] = log.info,
    ready: Callable[[], None] | None = None,
) -> None:
    """Run ``center`` until interrupted. Ports and intervals come from its settings; 0 turns
    that part off. ``ready`` is called once everything is started (the CLI freezes the start-up
    heap there)."""
    # Stored once, here, before anything runs beside it: two processes writing the mission at
    # once would trip over SQLite's single writer.
    center.mission_row  # noqa: B018
    # Correlation follows the intake in a process of its own (the second core), so that storing
    # and answering a batch never waits for incidents to be worked out.
    follower = center.follower_process()
    follower.start()
    try:
        asyncio.run(_run(center, follower, say, ready or (lambda: None)))
    except KeyboardInterrupt:
        pass
    finally:
        follower.stop()
        center.close()


async def _run(
    center: Center,
    follower: FollowerProcess,
    say: Callable[[str], None],
    ready: Callable[[], None],
) -> None:
    s = center.settings
    tcp, udp = s.cot_tcp_port or None, s.cot_udp_port or None
    async with AsyncExitStack() as running:
        if tcp is not None or udp is not None or s.cot_certs is not None:
            listeners = await center.listeners(s.host, tcp, udp)
            running.push_async_callback(listeners.close)
        if s.escalate_every:
            scheduler = center.escalation()
            scheduler.start()
            running.push_async_callback(asyncio.to_thread, scheduler.stop)  # a pass may finish
            every = f"{s.escalate_every:g}"
            say(_("Escalating overdue decisions every {seconds} s").format(seconds=every))
        await running.enter_async_context(center.jobs())
        watch = asyncio.create_task(_keep_alive(follower))
        running.callback(watch.cancel)
        if not s.port:
            ready()
            await _until_signalled()
            return
        app = center_app(center, correlate="off")
        ready()
        config = uvicorn.Config(app, host=s.host, port=s.port, log_level="info")
        say(_("API on http://{host}:{port}/api/v1").format(host=s.host, port=s.port))
        say(_("The center's pages on http://{host}:{port}/").format(host=s.host, port=s.port))
        # uvicorn stops on SIGINT or SIGTERM, then raises the signal again for the handlers it
        # found: quiet ones, so that the listeners still store what they hold
        found = {sig: signal.signal(sig, _ignore) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            await uvicorn.Server(config).serve()
        finally:
            for sig, handler in found.items():
                signal.signal(sig, handler)


async def _keep_alive(follower: FollowerProcess, every: float = 5.0) -> None:
    while True:
        await asyncio.sleep(every)
        follower.keep_alive()


def _ignore(signum: int, frame: object) -> None:
    pass


async def _until_signalled() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with suppress(NotImplementedError):  # not on every platform
            loop.add_signal_handler(signum, stop.set)
    await stop.wait()
