"""CPU microseconds per record of each stage of the node-to-center path, in this process.

Why: the wall rate of `ceasefire bench e2e` depends on whatever else the machine runs; the CPU
time of each stage per record does not. This drives the very code each process runs, stage by
stage, on the records `bench e2e` offers (``ceasefire.bench.ingest.records``), in the batch
sizes the bench sees at 10,000 records/s (the driver posts 500 records per node per 0.1 s tick;
a node forwards batches of 1,000):

- ``node_json``: the node's HTTP body parsed (strict JSON);
- ``node_take``: checked, enriched, signed and committed to the outbox (``Node.take``);
- ``node_batch``: the outbox's next batch made and signed (``Outbox.next_batch``);
- ``center_receive``: the center's side of a batch (``Receiver.receive``: batch signature,
  every record's checks and origin signature, enrichment, rules, ledger, commit);
- ``follower``: the correlation follower's catch-up over what was stored;
- ``ledger_append``, ``origin_verify``: parts of ``center_receive``, timed apart.

Run: ``.venv/bin/python tools/stage_costs.py [--store sqlite|postgresql] [--records N]
[--profile STAGE]`` (``--profile`` prints cProfile's top functions of one stage). PostgreSQL:
``CEASEFIRE_BENCH_PG`` as for the benches (a database is made and dropped).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import json
import os
import pstats
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nats
import orjson

from ceasefire.bench.e2e import _store
from ceasefire.bench.ingest import records
from ceasefire.canonical import canonical_json
from ceasefire.center import Center, Settings
from ceasefire.incidents.follow import Follower
from ceasefire.intake._common import strict_json
from ceasefire.ledger import intake_keys
from ceasefire.ledger.keys import _write, origin_of
from ceasefire.ledger.note import Ed25519Signer
from ceasefire.ledger.origin import intake_key_name, verify_record
from ceasefire.mission import load_mission
from ceasefire.node.config import load_config
from ceasefire.node.jetstream import Consumer, JetStreamTransport, stream_name
from ceasefire.node.outbox import Batch
from ceasefire.node.receive import Receiver
from ceasefire.node.run import Node

SIZES = {"post": 500, "batch": 1000}
"""Records per HTTP body to a node (the bench's driver at 10,000/s), per forwarded batch."""


def _node(folder: Path, mission: Any, contingent: str) -> Node:
    folder.mkdir(parents=True, exist_ok=True)
    signer = Ed25519Signer.generate(intake_key_name(origin_of(mission.id), contingent))
    _write(folder / f"{contingent}.intake.skey", signer.skey + "\n", 0o600)
    _write(folder / f"{contingent}.intake.vkey", signer.vkey + "\n", 0o644)
    config = load_config(
        folder,
        contingent=contingent,
        mission=mission.id,
        batch=SIZES["batch"],
        cot_tcp_port=-1,
        cot_udp_port=-1,
        http_port=-1,
    )
    return Node.open(config)


class Clock:
    """CPU seconds per stage; one stage may be profiled."""

    def __init__(self, profile: str | None) -> None:
        self.seconds: dict[str, float] = {}
        self.profile = profile
        # CPU time, not wall time: the machine is shared, and waiting is not cost here
        self.profiler = cProfile.Profile(time.process_time) if profile else None

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        profiling = self.profiler is not None and name == self.profile
        if profiling:
            assert self.profiler is not None
            self.profiler.enable()
        start = time.process_time()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.process_time() - start
            if profiling:
                assert self.profiler is not None
                self.profiler.disable()


async def _over_jetstream(
    clock: Clock, receiver: Receiver, url: str, batches: list[tuple[str, bytes, str]]
) -> None:
    """The batches published as the nodes do (``node_publish``), then taken by the center's
    consumer as ``ceasefire worker`` does (``worker_take``: the receive and the broker's
    round trips, acknowledgements and answers)."""
    namespace = f"stages{uuid.uuid4().hex[:8]}"
    mission = receiver.mission.id
    transports = {c: JetStreamTransport(url, mission, c, namespace) for c, _p, _s in batches}
    with clock.stage("node_publish"):
        for contingent, payload, signature in batches:
            sequence = orjson.loads(payload)["sequence"]
            count = 0  # not read by the transport
            batch = Batch(contingent, sequence, payload, signature, count)
            await transports[contingent].send(batch)
    consumer = Consumer(receiver, url, sorted(transports), namespace)
    stop = asyncio.Event()
    with clock.stage("worker_take"):
        task = asyncio.create_task(consumer.run(stop))
        while consumer.taken < len(batches):
            await asyncio.sleep(0.01)
        stop.set()
        await task
    js = (await nats.connect(url)).jetstream()
    for contingent, transport in transports.items():
        await transport.close()
        await js.delete_stream(stream_name(namespace, mission, contingent))
    await js._nc.close()


def run(
    store: str, n: int, profile: str | None, tmp: Path, nats_url: str | None = None
) -> dict[str, Any]:
    mission = load_mission()
    clock = Clock(profile)
    made = records(n, 11, "S")
    by_contingent: dict[str, list[dict[str, Any]]] = {}
    for r in made:
        by_contingent.setdefault(r["contingent"], []).append(r)
    with _store(store, tmp) as url, Center(Settings(db=url), mission=mission) as center:
        nodes = {c: _node(tmp / f"node-{c}", mission, c) for c in by_contingent}
        for node in nodes.values():
            intake_keys.register(center.engine, mission, node.signer.vkey)
        receiver = Receiver(
            center.engine,
            mission,
            center.mission_row,
            center.enricher,
            threading.Lock(),
            correlate="off",
        )
        batches: list[tuple[str, bytes, str]] = []
        for contingent, part in by_contingent.items():
            node = nodes[contingent]
            for start in range(0, len(part), SIZES["post"]):
                body = orjson.dumps(part[start : start + SIZES["post"]])
                with clock.stage("node_json"):
                    data = strict_json(body)
                with clock.stage("node_take"):
                    node.take(data, "node api 127.0.0.1")
            while True:
                with clock.stage("node_batch"):
                    batch = node.outbox.next_batch(node.signer, SIZES["batch"])
                if batch is None:
                    break
                node.outbox.delivered(batch.sequence)  # as over JetStream: the next may go
                batches.append((contingent, batch.payload, batch.signature))
        # In the order the nodes sent them, as a worker takes them.
        batches.sort(key=lambda b: orjson.loads(b[1])["sequence"])
        if nats_url:
            asyncio.run(_over_jetstream(clock, receiver, nats_url, batches))
        else:
            for contingent, payload, signature in batches:
                with clock.stage("center_receive"):
                    receiver.receive(contingent, payload, signature)
        follower = Follower(center.engine, mission, center.mission_row, center.enricher)
        with clock.stage("follower"):
            follower.catch_up()
        # Parts of center_receive, again on their own.
        keys = intake_keys.current(center.engine)
        entries = [
            (c, canonical_json(e["record"]), e["signature"])
            for c, payload, _s in batches
            for e in orjson.loads(payload)["observations"]
        ]
        with clock.stage("origin_verify"):
            for c, text, signature in entries:
                verify_record(keys[c], text, signature)
        for node in nodes.values():
            node.outbox.close()
    stored = n
    out: dict[str, Any] = {
        "store": store,
        "records": stored,
        "cpu_us_per_record": {k: round(1e6 * v / stored, 1) for k, v in clock.seconds.items()},
        "load_average": os.getloadavg()[0],
    }
    if clock.profiler is not None:
        stats = pstats.Stats(clock.profiler, stream=sys.stderr)
        stats.sort_stats("tottime").print_stats(25)
        stats.sort_stats("cumulative").print_stats(40)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--store", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--profile", default=None)
    parser.add_argument("--nats", default=None, help="through JetStream at this URL")
    parser.add_argument("--post", type=int, default=500, help="records per HTTP body")
    parser.add_argument("--batch", type=int, default=1000, help="records per forwarded batch")
    args = parser.parse_args()
    SIZES.update(post=args.post, batch=args.batch)
    with tempfile.TemporaryDirectory(prefix="ceasefire-stages-") as tmp:
        result = run(args.store, args.records, args.profile, Path(tmp), args.nats)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
