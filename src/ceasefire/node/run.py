"""The node process: its sensors' listeners, its HTTP intake, and the forwarder, in one loop.

Inputs, all checked and signed by :class:`~ceasefire.node.intake.NodeIntake` into the outbox:
- CoT over TCP and UDP (the center's own listeners, :mod:`ceasefire.ingest.listeners`);
- HTTP: ``POST /api/v1/observations`` with the center's body (a JSON array of records, or
  ``{"observations": [...]}``), answered per record; ``GET /api/v1/status`` is the outbox's
  state (what ``ceasefire node status`` prints);
- files: ``ceasefire node ingest`` writes into the same outbox (SQLite takes one writer at a
  time), whether the node runs or not.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from ceasefire.geo.engine import Enricher
from ceasefire.i18n import _
from ceasefire.intake._common import JsonProblem, strict_json, validate
from ceasefire.intake.errors import Rejection
from ceasefire.ledger.note import Ed25519Signer
from ceasefire.mission import load_mission
from ceasefire.mission.model import Mission
from ceasefire.node.config import NodeConfig, load_signer
from ceasefire.node.forward import Forwarder, HttpTransport, Transport
from ceasefire.node.intake import NodeIntake
from ceasefire.node.outbox import Outbox

log = logging.getLogger(__name__)

MAX_RECORDS = 10_000


@dataclass
class Node:
    """A node's parts, made from its settings."""

    config: NodeConfig
    mission: Mission
    signer: Ed25519Signer
    outbox: Outbox
    enricher: Enricher
    lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def open(cls, config: NodeConfig) -> Node:
        mission = load_mission(config.mission)
        signer = load_signer(config.key_path(), mission.id, config.contingent)
        return cls(
            config, mission, signer, Outbox(config.outbox, config.contingent), Enricher(mission)
        )

    def intake(self, **options: Any) -> NodeIntake:
        return NodeIntake(self.outbox, self.mission, self.signer, self.enricher, **options)

    def take(self, records: list[Any], source: str) -> dict[str, Any]:
        """Check, sign and keep a batch of records; the answer per record, as the center's."""
        intake = self.intake(keep_outcomes=True)
        with self.lock:
            for number, data in enumerate(records, start=1):
                item = (
                    validate(data, source, number, "", "record")
                    if isinstance(data, dict)
                    else Rejection(
                        source,
                        number,
                        "",
                        _("Each observation must be a JSON object."),
                        "",
                        "record",
                    )
                )
                intake.add(item, source, number)
            intake.flush()
        result = intake.result
        results = []
        for o in sorted(result.outcomes, key=lambda o: o.record):
            entry: dict[str, Any] = {"index": o.record - 1, "status": o.status, "id": o.id}
            if o.status == "rejected":
                entry["field"] = o.field
                entry["reason"] = o.reason
            results.append(entry)
        return {**result.summary(), "results": results}

    def transport(self) -> Transport:
        if self.config.transport == "nats":
            from ceasefire.node.jetstream import JetStreamTransport

            return JetStreamTransport(
                self.config.nats,
                self.mission.id,
                self.config.contingent,
                self.config.nats_namespace,
            )
        return HttpTransport(self.config.center)

    def forwarder(self, transport: Transport | None = None) -> Forwarder:
        return Forwarder(self.outbox, self.signer, transport or self.transport(), self.config.batch)


def create_app(node: Node) -> FastAPI:
    """The node's HTTP intake and status."""
    app = FastAPI(title=f"ceasefire node {node.config.contingent}", docs_url=None, redoc_url=None)

    @app.post("/api/v1/observations")
    async def post_observations(request: Request) -> Response:
        body = await request.body()
        try:
            data = strict_json(body)
        except JsonProblem as problem:
            return JSONResponse({"detail": str(problem)}, status_code=400)
        if isinstance(data, dict) and isinstance(data.get("observations"), list):
            data = data["observations"]
        if not isinstance(data, list) or len(data) > MAX_RECORDS:
            reason = _(
                "The body must be a JSON array of at most {limit} observations or an object "
                '{{"observations": [...]}}.'
            ).format(limit=MAX_RECORDS)
            return JSONResponse({"detail": reason}, status_code=400)
        client = request.client
        source = f"node api {client.host}" if client is not None else "node api"
        answer = await run_in_threadpool(node.take, data, source)
        return Response(orjson.dumps(answer), media_type="application/json")

    @app.get("/api/v1/status")
    async def status() -> Response:
        return Response(
            orjson.dumps(await run_in_threadpool(node.outbox.status)),
            media_type="application/json",
        )

    return app


class _Server(uvicorn.Server):
    """Uvicorn without its signal handlers: the node's loop owns SIGINT and SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def run(
    node: Node,
    stop: asyncio.Event,
    ready: Callable[[dict[str, int | None]], Awaitable[None] | None] | None = None,
    transport: Transport | None = None,
) -> None:
    """Run until ``stop`` is set; ``ready`` gets the bound ports once listening."""
    from ceasefire.ingest.listeners import serve_cot

    config = node.config
    ports: dict[str, int | None] = {"http": None, "cot_tcp": None, "cot_udp": None}
    forwarder = node.forwarder(transport)
    tasks: list[asyncio.Task[Any]] = []
    server: _Server | None = None
    listeners = None
    try:
        if config.cot_tcp_port >= 0 or config.cot_udp_port >= 0:
            listeners = await serve_cot(
                node.intake(),
                host=config.host,
                tcp_port=config.cot_tcp_port if config.cot_tcp_port >= 0 else None,
                udp_port=config.cot_udp_port if config.cot_udp_port >= 0 else None,
                lock=node.lock,
                # a node's listeners are its contingent's network: what they hear is its own
                tcp_contingent=config.contingent,
                udp_contingent=config.contingent,
            )
            ports["cot_tcp"], ports["cot_udp"] = listeners.tcp_port, listeners.udp_port
        if config.http_port >= 0:
            server = _Server(
                uvicorn.Config(
                    create_app(node),
                    host=config.host,
                    port=config.http_port,
                    log_level="warning",
                    lifespan="off",
                )
            )
            tasks.append(asyncio.create_task(server.serve(), name="node-http"))
            while not server.started:
                if tasks[-1].done():
                    tasks[-1].result()  # the port is taken, say: raise it
                await asyncio.sleep(0.02)
            ports["http"] = server.servers[0].sockets[0].getsockname()[1]
        tasks.append(asyncio.create_task(forwarder.run(stop), name="node-forwarder"))
        if ready is not None:
            maybe = ready(ports)
            if maybe is not None:
                await maybe
        await stop.wait()
    finally:
        stop.set()
        if server is not None:
            server.should_exit = True
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if listeners is not None:
            await listeners.close()
        await forwarder.transport.close()
