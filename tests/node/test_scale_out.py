"""The center scaled out on one store: API processes sharing a port, two JetStream workers, two
correlation followers of which one works and the other stands by until the first is killed.

Every process is started here and stopped by its pid."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import time
from pathlib import Path

import httpx
import pytest
from node_support import make_node, record, register
from scale_support import (
    correlated,
    count,
    follower_pid,
    followers,
    grouping,
    processes,
    start,
    until,
)
from sqlalchemy import Engine, func, select

from ceasefire.api.login_limits import PER_USER
from ceasefire.geo.engine import Enricher
from ceasefire.incidents.service import Correlator
from ceasefire.ledger.tables import ledger
from ceasefire.mission import Mission
from ceasefire.node.run import Node
from ceasefire.store.missions import mission_row, save_mission
from ceasefire.store.schema import node_batches

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _children(pid: int) -> list[str]:
    """The command lines of a process's children (Linux)."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ")
            found.append(cmdline.decode(errors="replace"))
    return found


def test_api_processes_share_the_port_and_the_failed_log_ins(
    database_url: str, engine: Engine, demo_mission: Mission, tmp_path: Path
) -> None:
    save_mission(engine, demo_mission)
    port = _free_port()
    args = ["serve", "--db", database_url, "--port", str(port), "--workers", "3"]
    args += ["--cot-tcp-port", "0", "--cot-udp-port", "0", "--escalate-every", "0"]
    with processes() as running:
        center = start(args, tmp_path / "serve.log")
        running.append(center)
        base = f"http://127.0.0.1:{port}/api/v1"

        def healthy() -> bool:
            try:
                return httpx.get(f"{base}/health", timeout=5).status_code == 200
            except httpx.HTTPError:
                return False

        until(healthy, 120)
        # two more API processes and the follower, each a spawned child of the center
        spawned = [c for c in _children(center.pid) if "spawn_main" in c]
        assert len(spawned) == 3, (spawned, (tmp_path / "serve.log").read_text())
        # failures counted in the store: each try on a new connection (any process may take
        # it), and the address is stopped after PER_USER of them all the same
        codes = []
        for _n in range(PER_USER + 2):
            with httpx.Client(timeout=30) as client:
                answer = client.post(f"{base}/session", json={"name": "ru-x", "password": "no"})
                codes.append(answer.status_code)
        assert codes == [401] * PER_USER + [429, 429]


def _node(tmp_path: Path, mission: Mission, nats_url: str, namespace: str) -> Node:
    node = make_node(tmp_path / "ru", mission, batch=50)
    node.config.transport = "nats"
    node.config.nats = nats_url
    node.config.nats_namespace = namespace
    return node


def _forward(node: Node) -> None:
    async def drain() -> None:
        forwarder = node.forwarder()
        try:
            assert await forwarder.drain(time.monotonic() + 300)
        finally:
            await forwarder.transport.close()

    asyncio.run(drain())


def test_two_workers_and_two_followers_take_everything_once_and_a_standby_takes_over(
    database_url: str,
    engine: Engine,
    demo_mission: Mission,
    demo_enricher: Enricher,
    tmp_path: Path,
    nats_url: str,
    namespace: str,
) -> None:
    version, _new = save_mission(engine, demo_mission)
    row = mission_row(engine, version)
    node = _node(tmp_path, demo_mission, nats_url, namespace)
    register(engine, demo_mission, node)
    first, second = 600, 600
    worker = ["worker", "--db", database_url, "--nats", nats_url, "--namespace", namespace]
    pair = followers(database_url, demo_mission.id, row, 2)
    try:
        with processes() as running:
            running += [start(worker, tmp_path / f"worker-{i}.log") for i in range(2)]
            holder = until(lambda: follower_pid(engine))
            assert holder in {f.pid for f in pair}
            node.take([record(i) for i in range(first)], "test")
            _forward(node)
            until(lambda: correlated(engine, first))
            # the working follower dies without a word; the standby goes on
            os.kill(holder, signal.SIGKILL)
            node.take([record(i) for i in range(first, first + second)], "test")
            _forward(node)
            until(lambda: correlated(engine, first + second))
            successor = follower_pid(engine)
            assert successor != holder and successor in {f.pid for f in pair}
    finally:
        for follower in pair:
            follower.stop()
    total = first + second
    with engine.connect() as db:
        entries = db.execute(
            select(func.count()).select_from(ledger).where(ledger.c.kind == "observation")
        ).scalar_one()
        batches = db.execute(select(func.count()).select_from(node_batches)).scalar_one()
    assert (count(engine), entries, batches) == (total, total, total // 50)
    status = node.outbox.status()
    assert (status["accepted"], status["duplicates"], status["backlog"]) == (total, 0, 0)
    node.outbox.close()
    # the incidents are those one pass over the whole store makes
    streamed = grouping(engine)
    assert streamed
    Correlator(demo_mission, row, demo_enricher).recorrelate(engine)
    assert grouping(engine) == streamed
