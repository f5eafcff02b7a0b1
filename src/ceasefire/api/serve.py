"""Serving a center: the HTTP API, the CoT listeners, the escalation scheduler and every job a
capability registered, with the correlation follower in a process of its own, until
interrupted (``ceasefire serve``).

The parts are the :class:`~ceasefire.center.Center`'s; this shell only starts them on one event
loop, puts the API on uvicorn, and stops them in order.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import multiprocessing.process
import os
import signal
import socket
from collections.abc import Callable
from contextlib import AsyncExitStack, suppress

import uvicorn

from ceasefire import lease
from ceasefire.api.app import center_app
from ceasefire.center import Center, Settings
from ceasefire.i18n import _
from ceasefire.incidents.follow import FollowerProcess
from ceasefire.served import hide_secrets, listening, settle

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
    workers = ApiWorkers(center.settings)
    try:
        workers.start()
        asyncio.run(_run(center, follower, workers, say, ready or (lambda: None)))
    except KeyboardInterrupt:
        pass
    finally:
        workers.stop()
        follower.stop()
        center.close()


async def _run(
    center: Center,
    follower: FollowerProcess,
    workers: ApiWorkers,
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
        watch = asyncio.create_task(_keep_alive(follower, workers))
        running.callback(watch.cancel)
        if not s.port:
            ready()
            await _until_signalled()
            return
        app = center_app(center, correlate="off")
        settle()
        ready()
        config = uvicorn.Config(app, host=s.host, port=s.port, log_level="info")
        say(_("API on http://{host}:{port}/api/v1").format(host=s.host, port=s.port))
        say(_("The center's pages on http://{host}:{port}/").format(host=s.host, port=s.port))
        if s.workers > 1:
            say(_("{n} API processes share the port").format(n=s.workers))
        # uvicorn stops on SIGINT or SIGTERM, then raises the signal again for the handlers it
        # found: quiet ones, so that the listeners still store what they hold
        found = {sig: signal.signal(sig, _ignore) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            await uvicorn.Server(config).serve(sockets=workers.sockets())
        finally:
            for sig, handler in found.items():
                signal.signal(sig, handler)


async def _keep_alive(follower: FollowerProcess, workers: ApiWorkers, every: float = 5.0) -> None:
    while True:
        await asyncio.sleep(every)
        follower.keep_alive()
        workers.keep_alive()


class ApiWorkers:
    """``settings.workers - 1`` more processes serving the API on the server's own socket
    (``ceasefire serve --workers N``): the kernel hands each connection to one of them.

    Why processes: the intake's checks, enrichment and JSON take a core each; threads of one
    process share one. Each worker builds its own Center from the settings and serves only
    the API (the listeners, the follower and the jobs stay with the main process, under their
    leases). They keep nothing another needs: writes go through the store's own locks (the
    ledger's head row), log-in failures are counted in the store, pages' events poll it.
    A worker that dies is started again; each dies with the main process."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._socket: socket.socket | None = None
        self._processes: list[multiprocessing.process.BaseProcess] = []
        self._context = multiprocessing.get_context("spawn")
        self.restarts = 0

    def sockets(self) -> list[socket.socket] | None:
        """The shared listening socket (None with one process: uvicorn binds its own)."""
        return [self._socket] if self._socket is not None else None

    def start(self) -> None:
        s = self.settings
        if s.workers < 2 or not s.port:
            return
        self._socket = listening(s.host, s.port)  # TCP_NODELAY on its connections
        self._processes = [self._spawn() for _n in range(s.workers - 1)]

    def _spawn(self) -> multiprocessing.process.BaseProcess:
        assert self._socket is not None
        process = self._context.Process(
            target=_api_worker,
            args=(self.settings, self._socket, os.getpid()),
            name="api",
            daemon=True,
        )
        process.start()
        return process

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self._processes if p.pid is not None]

    def keep_alive(self) -> None:
        for i, process in enumerate(self._processes):
            if not process.is_alive():
                log.error(
                    _("An API process stopped (exit code {code}); starting it again.").format(
                        code=process.exitcode
                    )
                )
                self.restarts += 1
                self._processes[i] = self._spawn()

    def stop(self, timeout: float = 10.0) -> None:
        for process in self._processes:
            if process.is_alive() and process.pid is not None:
                with suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGTERM)
        for process in self._processes:
            process.join(timeout)
            if process.is_alive():
                process.kill()
                process.join()
        self._processes = []
        if self._socket is not None:
            self._socket.close()
            self._socket = None


def _api_worker(settings: Settings, sock: socket.socket, parent: int) -> None:
    """An API process's life: the API of a Center of its own on the shared socket (handed
    over by multiprocessing, which passes the descriptor itself)."""
    lease.die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the main process stops it with SIGTERM
    hide_secrets()  # a process of its own: the notices' tokens out of its log too
    center = Center(settings)
    try:
        app = center_app(center, correlate="off")
        settle()
        config = uvicorn.Config(app, log_level="warning")
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        center.close()
        sock.close()


def _ignore(signum: int, frame: object) -> None:
    pass


async def _until_signalled() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with suppress(NotImplementedError):  # not on every platform
            loop.add_signal_handler(signum, stop.set)
    await stop.wait()
