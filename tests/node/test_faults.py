"""Faults during a long ingest: a contingent's node, the center and the JetStream consumer
SIGKILLed at random moments, each started again at once; at the end every record the node
accepted is at the center exactly once, `ceasefire verify` passes, and the incidents are those
of an uninterrupted run on the same records. And a partition: a node cut off from the center
for hours of simulated data catches up in order and completely.

Every process is started here and killed by its pid."""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path
from typing import Any

import pytest
from node_support import (
    Unreachable,
    center_app,
    in_process,
    make_node,
    record,
    register,
)
from scale_support import correlated, count, grouping, kill, processes, start, until
from sqlalchemy import Engine, func, select

from ceasefire.center import Center, Settings
from ceasefire.geo.engine import Enricher
from ceasefire.intake._common import validate
from ceasefire.ledger.tables import ledger
from ceasefire.mission import Mission
from ceasefire.store.schema import observations

CYCLES = 54
PER_CYCLE = 40


def _node_dir(tmp_path: Path, mission: Mission, nats_url: str, namespace: str) -> Path:
    node = make_node(tmp_path / "ru", mission, batch=25)
    node.outbox.close()
    folder = tmp_path / "ru"
    (folder / "node.toml").write_text(
        f'contingent = "RU"\nmission = "{mission.id}"\ntransport = "nats"\n'
        f'nats = "{nats_url}"\nnats_namespace = "{namespace}"\nbatch = 25\n'
        "http_port = -1\ncot_tcp_port = -1\ncot_udp_port = -1\n",
        encoding="utf-8",
    )
    return folder


@pytest.mark.slow
def test_kill_cycles_lose_and_double_nothing(
    database_url: str,
    engine: Engine,
    demo_mission: Mission,
    tmp_path: Path,
    nats_url: str,
    namespace: str,
    cli: Any,
) -> None:
    rng = random.Random(14)
    folder = _node_dir(tmp_path, demo_mission, nats_url, namespace)
    node = make_node(folder, demo_mission, batch=25)  # the same key and outbox: the feeder
    register(engine, demo_mission, node)
    center = Center(Settings(db=database_url), engine=engine, mission=demo_mission)
    center.mission_row  # noqa: B018  (stored before the processes start)
    commands = {
        "node": ["node", "--dir", str(folder)],
        "center": ["serve", "--db", database_url, "--port", "0", "--escalate-every", "0"],
        "consumer": ["worker", "--db", database_url, "--nats", nats_url, "--namespace", namespace],
    }
    commands["center"] += ["--cot-tcp-port", "0", "--cot-udp-port", str(_free_udp())]
    killed = {name: 0 for name in commands}
    with processes() as running:
        live = {name: start(args, tmp_path / f"{name}.log") for name, args in commands.items()}
        running += live.values()
        for cycle in range(CYCLES):
            first = cycle * PER_CYCLE
            node.take([record(i) for i in range(first, first + PER_CYCLE)], "feeder")
            time.sleep(rng.uniform(0.1, 1.5))
            victim = rng.choice(sorted(commands))
            kill(live[victim])
            killed[victim] += 1
            live[victim] = start(commands[victim], tmp_path / f"{victim}.log")
            running.append(live[victim])
        total = CYCLES * PER_CYCLE
        until(lambda: node.outbox.status()["backlog"] == 0, 300)
        until(lambda: correlated(engine, total), 300)
    assert min(killed.values()) >= 10, killed
    status = node.outbox.status()
    assert status["accepted"] + status["duplicates"] == total and status["rejected"] == 0
    node.outbox.close()
    with engine.connect() as db:
        ids = db.execute(select(func.count(func.distinct(observations.c.source_id)))).scalar_one()
        entries = db.execute(
            select(func.count()).select_from(ledger).where(ledger.c.kind == "observation")
        ).scalar_one()
    assert (count(engine), ids, entries) == (total, total, total)
    keys = tmp_path / "keys"  # (in this process: the processes under test are all gone)
    made = cli("keys", "init", "--dir", str(keys))
    assert made.code == 0, made.err
    cut = cli("checkpoint", "--keys", str(keys), "--db", database_url)
    assert cut.code == 0, cut.err
    checked = cli("verify", "--db", database_url, "--keys", str(keys))
    assert checked.code == 0, checked.out + checked.err
    # the same records, once, without faults
    reference = Center(Settings(db=f"sqlite:///{tmp_path / 'reference.db'}"), mission=demo_mission)
    try:
        items = [validate(record(i), "reference", i + 1, "", "record") for i in range(total)]
        reference.ingest(items, "reference", contingent="RU")
        assert grouping(reference.engine) == grouping(engine)
    finally:
        reference.close()
    center.close()


def _free_udp() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_node_cut_off_for_hours_of_data_catches_up_in_order(
    engine: Engine, demo_mission: Mission, demo_enricher: Enricher, tmp_path: Path
) -> None:
    node = make_node(tmp_path / "ru", demo_mission, batch=200)
    register(engine, demo_mission, node)
    app = center_app(engine, demo_mission, demo_enricher)
    cut = Unreachable()
    forwarder = node.forwarder(cut)
    # six hours of one drone's reports, one every 10 s, taken in while the link is cut
    hours, every = 6, 10
    n = hours * 3600 // every
    start_at = 1612166400  # 2021-02-01T08:00Z

    def at(i: int) -> dict[str, Any]:
        t = time.gmtime(start_at + i * every)
        return record(i, observed_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", t))

    async def while_cut() -> None:
        for hour in range(hours):
            per_hour = 3600 // every
            node.take([at(i) for i in range(hour * per_hour, (hour + 1) * per_hour)], "sensor")
            assert await forwarder.step() is False  # tried, not through

    asyncio.run(while_cut())
    status = node.outbox.status()
    assert status["backlog"] == n and status["accepted"] == 0
    assert status["error"]["attempts"] == hours

    async def restored() -> None:
        back = node.forwarder(in_process(app))
        try:
            assert await back.drain(time.monotonic() + 300)
        finally:
            await back.transport.close()

    asyncio.run(restored())
    with engine.connect() as db:
        stored = list(
            db.execute(
                select(observations.c.source_id, observations.c.observed_at).order_by(
                    observations.c.ledger_index
                )
            ).all()
        )
    assert [s for s, _t in stored] == [f"RU-N{i:05d}" for i in range(n)]  # in order, complete
    times = [t for _s, t in stored]
    assert times == sorted(times) and (times[-1] - times[0]).total_seconds() >= (hours - 1) * 3600
    status = node.outbox.status()
    assert (status["backlog"], status["accepted"], status["error"]) == (0, n, None)
    node.outbox.close()
