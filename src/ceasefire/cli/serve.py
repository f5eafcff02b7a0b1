"""`ceasefire serve`: the HTTP API, the CoT listeners and the correlation follower."""

from __future__ import annotations

import asyncio
import logging
import math
import signal
import threading
from contextlib import suppress

import typer
from sqlalchemy import Engine

from ceasefire.cli.common import DB_OPTION, MISSION_OPTION, console_err, freeze_startup_heap
from ceasefire.errors import InputError, Problem
from ceasefire.geo.engine import Enricher
from ceasefire.i18n import _
from ceasefire.incidents.follow import FollowerProcess
from ceasefire.intake.listeners import TCP_PORT, UDP_PORT, serve_cot
from ceasefire.intake.pipeline import Intake
from ceasefire.mission import load_mission
from ceasefire.mission.model import Mission
from ceasefire.store import open_database
from ceasefire.store.missions import mission_row, save_mission
from ceasefire.workflow.scheduler import DEFAULT_INTERVAL, EscalationScheduler


def _port(value: int, option: str) -> int | None:
    if not 0 <= value <= 65535:
        raise InputError(
            Problem(file="serve", field=option, reason=_("a port is a number from 0 to 65535"))
        )
    return value or None


def _interval(value: float) -> float | None:
    if not (math.isfinite(value) and value >= 0):
        raise InputError(
            Problem(
                file="serve",
                field="--escalate-every",
                reason=_("a number of seconds, 0 or more"),
            )
        )
    return value or None


def serve(
    db: str = DB_OPTION,
    mission: str = MISSION_OPTION,
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", help="HTTP port of the API (0: no HTTP)."),
    cot_tcp_port: int = typer.Option(
        TCP_PORT, "--cot-tcp-port", help="CoT / TAK stream port over TCP (0: none)."
    ),
    cot_udp_port: int = typer.Option(
        UDP_PORT, "--cot-udp-port", help="CoT / TAK mesh port over UDP (0: none)."
    ),
    escalate_every: float = typer.Option(
        DEFAULT_INTERVAL,
        "--escalate-every",
        metavar="SECONDS",
        help="Escalate overdue decisions to the heads every SECONDS (0: never).",
    ),
) -> None:
    """Run the center: the HTTP API under /api/v1 and the CoT listeners, until interrupted."""
    http = _port(port, "--port")
    tcp = _port(cot_tcp_port, "--cot-tcp-port")
    udp = _port(cot_udp_port, "--cot-udp-port")
    every = _interval(escalate_every)
    if http is None and tcp is None and udp is None:
        raise InputError(
            Problem(file="serve", field="--port", reason=_("every listener is disabled"))
        )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    m = load_mission(mission)
    engine = open_database(db)
    # Stored once, here, before anything runs beside it: two processes writing the mission at
    # once would trip over SQLite's single writer.
    stored, _new = save_mission(engine, m)
    row = mission_row(engine, stored)
    # Correlation follows the intake in a process of its own (the second core), so that
    # storing and answering a batch never waits for incidents to be worked out.
    follower = FollowerProcess(db, mission, row)
    follower.start()
    try:
        asyncio.run(_run(engine, m, row, follower, host, http, tcp, udp, every))
    except KeyboardInterrupt:
        pass
    finally:
        follower.stop()
        engine.dispose()


async def _run(
    engine: Engine,
    mission: Mission,
    row: int,
    follower: FollowerProcess,
    host: str,
    http: int | None,
    tcp: int | None,
    udp: int | None,
    escalate_every: float | None = None,
) -> None:
    # imported here: the web stack is only needed by this command
    import uvicorn

    from ceasefire.api import create_app

    enricher = Enricher(mission)
    # one lock for every writer: the API, the listeners and the scheduler take turns on the store
    lock = threading.Lock()
    listeners = None
    if tcp is not None or udp is not None:
        listeners = await serve_cot(
            lambda: Intake(engine, mission, row, enricher=enricher, correlate="off"),
            host,
            tcp,
            udp,
            lock=lock,
        )
    scheduler = None
    if escalate_every is not None:
        scheduler = EscalationScheduler(engine, mission, interval=escalate_every, lock=lock)
        scheduler.start()
        every = f"{escalate_every:g}"
        console_err.print(_("Escalating overdue decisions every {seconds} s").format(seconds=every))
    watch = asyncio.create_task(_keep_alive(follower))
    try:
        if http is None:
            freeze_startup_heap()
            await _until_signalled()
            return
        app = create_app(engine, mission, enricher=enricher, write_lock=lock, correlate="off")
        freeze_startup_heap()
        config = uvicorn.Config(app, host=host, port=http, log_level="info")
        console_err.print(_("API on http://{host}:{port}/api/v1").format(host=host, port=http))
        # uvicorn stops on SIGINT or SIGTERM, then raises the signal again for the handlers it
        # found: quiet ones, so that the listeners still store what they hold
        found = {sig: signal.signal(sig, _ignore) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            await uvicorn.Server(config).serve()
        finally:
            for sig, handler in found.items():
                signal.signal(sig, handler)
    finally:
        watch.cancel()
        if listeners is not None:
            await listeners.close()
        if scheduler is not None:
            await asyncio.to_thread(scheduler.stop)  # lets a pass in progress finish


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
