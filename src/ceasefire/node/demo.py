"""The demo's contingent nodes: a live feed from each contingent's drones through its own HQ
node to the center, one node cut off for a while and catching up (``make demo``, step 4).

Why a step of its own, here: the demo's center (:class:`ceasefire.center.demo.Demo`) cannot
import the nodes (they sit above the center), and the node is what this step shows. After the
simulated day the demo simulates a few more hours; RU's drones' observations go into RU's node
and TR's into TR's, where each is checked, enriched and signed with that contingent's own
intake key (registered at the center) and kept in the node's outbox; the nodes forward them
over HTTP to the center's API (in this process). TR's link is down for the first tries: its
backlog grows, then the link comes back and it catches up in order, nothing lost or doubled.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlalchemy import select

from ceasefire.api.app import center_app
from ceasefire.center.demo import Demo
from ceasefire.intake import cot
from ceasefire.intake._common import validate
from ceasefire.ledger import intake_keys
from ceasefire.ledger.keys import _write, origin_of
from ceasefire.ledger.note import Ed25519Signer
from ceasefire.ledger.origin import intake_key_name
from ceasefire.node.config import load_config
from ceasefire.node.forward import HttpTransport, TransportError
from ceasefire.node.outbox import Batch, Outbox
from ceasefire.node.run import Node
from ceasefire.sim import simulate, write_scenario
from ceasefire.store.schema import observations

LIVE_HOURS = 6.0
"""Hours of monitoring after the simulated day that go through the nodes."""
CUT_TRIES = 3
"""Tries of the cut-off node's forwarder that fail before its link comes back."""
BATCH = 100


@dataclass(frozen=True)
class NodeRun:
    contingent: str
    folder: Path
    taken: int
    """Observations the node accepted (checked, enriched, signed, kept)."""
    track_points: int
    backlog_while_cut: int
    """Records waiting in its outbox while its link was down (0: never cut off)."""
    failed_tries: int
    accepted: int
    duplicates: int
    backlog: int
    in_order: bool
    """Whether the center logged its records in the order the node took them."""


class _CutOff:
    """A link that is down for its first ``failures`` tries, then the real one."""

    def __init__(self, then: HttpTransport, failures: int) -> None:
        self.then, self.failures, self.tries = then, failures, 0

    async def send(self, batch: Batch) -> dict[str, Any]:
        self.tries += 1
        if self.tries <= self.failures:
            raise TransportError("the link to the center is down (demo)")
        return await self.then.send(batch)

    async def listen(self, outbox: Outbox, stop: asyncio.Event) -> None:
        """Answers come with the requests."""

    async def close(self) -> None:
        await self.then.close()


def live_through_nodes(run: Demo, cut: str = "TR") -> list[NodeRun]:
    """The step: a few more hours simulated, each contingent's feed through its node."""
    mission, center = run.mission, run.center
    start = (run._start or mission.config.period.start) + timedelta(hours=run.hours)
    scenario = simulate(
        mission, hours=LIVE_HOURS, seed=run.seed + 1, start=start, preset=run.preset
    )
    live = run.workdir / "simulation-live"
    write_scenario(scenario, live)
    app = center_app(center, correlate="streaming")
    done = []
    for contingent in mission.contingent_ids():
        folder = run.nodes / contingent / "intake"  # beside its witness, apart from its keys
        node = _node(folder, mission.id, contingent)
        try:
            intake_keys.register(center.engine, mission, node.signer.vkey)
            intake = node.intake()
            source = f"{contingent}/observations.jsonl"
            lines = (live / contingent / "observations.jsonl").read_bytes().splitlines()
            for number, line in enumerate((x for x in lines if x.strip()), start=1):
                data = orjson.loads(line)
                data["id"] = f"{data['id']}-live"  # the simulator numbers each run from 1
                intake.add(validate(data, source, number, "", "record"), source, number)
            with (live / contingent / "tracks.cot").open("rb") as f:
                intake.feed(cot.parse(f, f"{contingent}/tracks.cot"), "tracks.cot")
            intake.finish()
            done.append(_forward(run, node, app, contingent == cut, intake.result.track_points))
        finally:
            node.outbox.close()
    return done


def _node(folder: Path, mission: str, contingent: str) -> Node:
    folder.mkdir(parents=True, exist_ok=True)
    skey = folder / f"{contingent}.intake.skey"
    if not skey.exists():
        signer = Ed25519Signer.generate(intake_key_name(origin_of(mission), contingent))
        _write(skey, signer.skey + "\n", 0o600)
        _write(skey.with_suffix(".vkey"), signer.vkey + "\n", 0o644)
    config = load_config(
        folder,
        contingent=contingent,
        mission=mission,
        key=skey.name,
        batch=BATCH,
        http_port=-1,
        cot_tcp_port=-1,
        cot_udp_port=-1,
    )
    return Node.open(config)


def _forward(run: Demo, node: Node, app: Any, cut: bool, tracks: int) -> NodeRun:
    contingent = node.config.contingent
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), timeout=120)
    link = HttpTransport("http://center", client=client)
    backlog_while_cut, failed = 0, 0

    async def go() -> None:
        nonlocal backlog_while_cut, failed
        if cut:
            down = node.forwarder(_CutOff(link, CUT_TRIES))
            for _try in range(CUT_TRIES):
                if await down.step() is False:
                    failed += 1
            backlog_while_cut = node.outbox.status()["backlog"]
            with node.outbox.engine.begin() as db:  # the link is back: no need to wait
                db.exec_driver_sql("UPDATE batches SET retry_at = 0")
        forwarder = node.forwarder(link)
        try:
            assert await forwarder.drain(time.monotonic() + 600)
        finally:
            with contextlib.suppress(Exception):
                await link.close()

    asyncio.run(go())
    status = node.outbox.status()
    with node.outbox.engine.connect() as db:
        sent = list(
            db.exec_driver_sql(
                "SELECT key FROM records WHERE kind = 'observation' ORDER BY seq"
            ).scalars()
        )
    with run.center.engine.connect() as db:
        stored = list(
            db.execute(
                select(observations.c.source_id)
                .where(observations.c.contingent == contingent)
                .where(observations.c.source_id.in_(sent))
                .order_by(observations.c.ledger_index)
            ).scalars()
        )
    return NodeRun(
        contingent,
        node.config.outbox.parent,
        len(sent),
        tracks,
        backlog_while_cut,
        failed,
        int(status["accepted"]),
        int(status["duplicates"]),
        int(status["backlog"]),
        stored == sent,
    )
