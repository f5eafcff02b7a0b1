"""`ceasefire worker`: a center process that takes the contingent nodes' batches from JetStream.

Why a process of its own: several can run beside `ceasefire serve`, on one PostgreSQL, each
reading every contingent's stream with the same durable consumer, so JetStream shares the
batches among them; none keeps anything in memory another needs (docs/nodes.md).
"""

from __future__ import annotations

import asyncio
import signal

import typer

from ceasefire.cli import common
from ceasefire.cli.common import DB_OPTION, MISSION_OPTION, console_err
from ceasefire.i18n import _
from ceasefire.served import log_to_stderr


def worker(
    db: str = DB_OPTION,
    mission: str = MISSION_OPTION,
    nats: str = typer.Option("nats://127.0.0.1:4222", "--nats", help="NATS server URL."),
    namespace: str = typer.Option(
        "ceasefire", "--namespace", help="Prefix of the streams and subjects (as the nodes')."
    ),
) -> None:
    """Take the nodes' batches from JetStream into the store until interrupted."""
    # imported here: only this command needs the NATS client
    from ceasefire.node.jetstream import Consumer
    from ceasefire.node.receive import Receiver

    log_to_stderr()
    center = common.center(db=db, mission=mission)
    m = center.mission
    # incidents: the follower's while one runs on this store, else made with each batch
    receiver = Receiver(
        center.engine, m, center.mission_row, center.enricher, center.lock, correlate="auto"
    )
    consumer = Consumer(receiver, nats, m.contingent_ids(), namespace)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        console_err.print(
            _("taking the nodes' batches from {url} ({namespace}.{mission}.*)").format(
                url=nats, namespace=namespace, mission=m.id
            )
        )
        await consumer.run(stop)

    asyncio.run(main())
