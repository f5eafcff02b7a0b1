"""Shared by the node tests: a node directory with its key, a center app, an in-process link."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import Engine

import records
from ceasefire.api.app import create_app
from ceasefire.geo.engine import Enricher
from ceasefire.ledger import intake_keys
from ceasefire.ledger.keys import _write, origin_of
from ceasefire.ledger.note import Ed25519Signer
from ceasefire.ledger.origin import intake_key_name
from ceasefire.mission import Mission
from ceasefire.node.config import load_config
from ceasefire.node.forward import HttpTransport, TransportError
from ceasefire.node.outbox import Batch, Outbox
from ceasefire.node.run import Node
from ceasefire.served import listening


def record(i: int, contingent: str = "RU", **changes: Any) -> dict[str, Any]:
    return records.varied(i, contingent, "N", None, **changes)


def make_node(directory: Path, mission: Mission, contingent: str = "RU", batch: int = 1000) -> Node:
    """A node directory with a fresh intake key (not registered anywhere)."""
    directory.mkdir(parents=True, exist_ok=True)
    signer = Ed25519Signer.generate(intake_key_name(origin_of(mission.id), contingent))
    _write(directory / f"{contingent}.intake.skey", signer.skey + "\n", 0o600)
    _write(directory / f"{contingent}.intake.vkey", signer.vkey + "\n", 0o644)
    config = load_config(
        directory,
        contingent=contingent,
        mission=mission.id,
        batch=batch,
        cot_tcp_port=-1,
        cot_udp_port=-1,
        http_port=-1,
    )
    return Node.open(config)


def register(engine: Engine, mission: Mission, node: Node) -> None:
    intake_keys.register(engine, mission, node.signer.vkey)


def center_app(engine: Engine, mission: Mission, enricher: Enricher) -> FastAPI:
    return create_app(engine, mission, enricher=enricher)


def in_process(app: FastAPI) -> HttpTransport:
    """The node's HTTP transport to a center app in this process (no socket)."""
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), timeout=60)
    return HttpTransport("http://center", client=client)


class Unreachable:
    """A center that cannot be reached (for a while): every send fails."""

    def __init__(self, then: HttpTransport | None = None, failures: int = 10**9) -> None:
        self.then = then
        self.failures = failures
        self.tries = 0

    async def send(self, batch: Batch) -> dict[str, Any]:
        self.tries += 1
        if self.tries <= self.failures or self.then is None:
            raise TransportError("connection refused (test)")
        return await self.then.send(batch)

    async def listen(self, outbox: Outbox, stop: asyncio.Event) -> None:
        """Answers come with the requests."""

    async def close(self) -> None:
        if self.then is not None:
            await self.then.close()


@contextlib.contextmanager
def served(app: Any) -> Iterator[str]:
    """``app`` on a real socket of 127.0.0.1 (a free port), from a thread; its URL."""
    import uvicorn

    sock = listening()  # TCP_NODELAY on its connections (served.listening)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def reachable(url: str) -> bool:
    host, port = url.rsplit("//", 1)[-1].rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=2):
            return True
    except OSError:
        return False
