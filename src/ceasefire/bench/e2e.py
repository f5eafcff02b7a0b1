"""`bench e2e`: the whole path from two contingents' nodes to the center's incidents, at rising
offered rates, for each transport and store, beside the center's own HTTP intake.

Every part runs as its own process, as deployed: two `ceasefire node`s (RU and TR, each with
its own intake key, registered at the center), the transport (HTTP to the center's API, or
NATS JetStream with a `ceasefire worker` taking the streams), `ceasefire serve` (the API and
the correlation follower) and the store (a SQLite file, or a new PostgreSQL database). The
driver offers realistic records (``bench.ingest.records``: both contingents, a month over the
mission's area) to each node's HTTP intake in ticks of 0.1 s; a node's answer is the record's
receipt. A poller reads the center's store every 0.1 s: when each record is there (committed,
with its ledger entry) and when the follower's cursor has passed it (its incident made).

At each rate, for ``seconds``: the rate the driver achieved, the rate committed at the center,
the latency from the node's receipt to the commit and to the incident (p50, p99; the poller's
0.1 s is the resolution), and whether the rate is *sustained*: everything offered is committed
and correlated within :data:`SETTLE_S` of the offer's end (nothing backs up). The ladder stops
at the first rate that is not sustained. The CPU time (``/proc``) of each process per record,
over the whole ladder, shows what a node adds to the center's own intake. The baseline, in the
same run: the driver posting the same records straight to the center's ``POST
/api/v1/observations`` (with each contingent's analyst token), no node in between.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import sqlalchemy as sa

from ceasefire.bench.ingest import _analysts, _free_port, _wait, records
from ceasefire.mission import DEFAULT_MISSION
from ceasefire.store import open_database

RATES = (250, 500, 1000, 2000, 4000, 8000, 12000)
SECONDS = 5.0
TICK_S = 0.1
SETTLE_S = 2.0
"""A rate is sustained when all it offered is committed and correlated this long after."""
DRAIN_S = 30.0
"""How long the ladder waits for a rate that backs up to drain before going on."""
PG_ADMIN = os.environ.get(
    "CEASEFIRE_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
NATS = os.environ.get("CEASEFIRE_BENCH_NATS", "nats://127.0.0.1:4222")
CLI = [sys.executable, "-m", "ceasefire.cli"]


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a live process (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            found += [int(c) for c in (task / "children").read_text().split()]
    return found


@contextlib.contextmanager
def _store(kind: str, tmp: Path) -> Iterator[str]:
    """A new store: a SQLite file, or a PostgreSQL database dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp}/center-{uuid.uuid4().hex[:6]}.db"
        return
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    name = f"ceasefire_bench_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as db:
            db.execute(sa.text(f'CREATE DATABASE "{name}"'))
        yield PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as db:
            db.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"
                ),
                {"n": name},
            )
            db.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


class _Processes:
    """The processes of one run, ended by their pids."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.started: dict[str, subprocess.Popen[bytes]] = {}
        self._seen: dict[tuple[str, int], float] = {}

    def start(self, name: str, args: Sequence[str]) -> subprocess.Popen[bytes]:
        with (self.tmp / f"{name}.log").open("ab") as log:
            process = subprocess.Popen([*CLI, *args], stdout=log, stderr=subprocess.STDOUT)
        self.started[name] = process
        return process

    def log(self, name: str) -> Path:
        return self.tmp / f"{name}.log"

    def cpu(self) -> dict[str, float]:
        """CPU seconds so far by process (the follower apart from its center), each pid's
        highest reading kept: a follower started again adds, it does not take away."""
        for name, p in self.started.items():
            self._seen[(name, p.pid)] = max(self._seen.get((name, p.pid), 0.0), _cpu_s(p.pid))
        center = self.started.get("center")
        if center is not None:
            for child in _children(center.pid):
                key = ("follower", child)
                self._seen[key] = max(self._seen.get(key, 0.0), _cpu_s(child))
        out: dict[str, float] = {}
        for (name, _pid), seconds in self._seen.items():
            out[name] = out.get(name, 0.0) + seconds
        return out

    def stop(self) -> None:
        for process in self.started.values():
            if process.poll() is None:
                os.kill(process.pid, signal.SIGTERM)
        for process in self.started.values():
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.kill(process.pid, signal.SIGKILL)
                process.wait()


@dataclass
class _Poller:
    """Reads the center's store every tick: when each record is committed, and correlated."""

    url: str
    committed: dict[str, float] = field(default_factory=dict)
    correlated: dict[str, float] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        engine = sa.create_engine(self.url.replace("postgresql://", "postgresql+psycopg://"))
        last, done = 0, 0
        pending: list[tuple[int, str]] = []
        try:
            while not self._stop.is_set():
                with engine.connect() as db:
                    rows = db.execute(
                        sa.text(
                            "SELECT id, source_id FROM observations WHERE id > :last ORDER BY id"
                        ),
                        {"last": last},
                    ).all()
                    cursor = db.execute(
                        sa.text("SELECT observation FROM correlation_cursor WHERE id = 1")
                    ).scalar_one_or_none()
                now = time.monotonic()
                for key, source in rows:
                    self.committed.setdefault(source, now)
                    pending.append((key, source))
                last = rows[-1][0] if rows else last
                if cursor is not None and cursor > done:
                    done = cursor
                    keep = []
                    for key, source in pending:
                        if key <= done:
                            self.correlated.setdefault(source, now)
                        else:
                            keep.append((key, source))
                    pending = keep
                self._stop.wait(TICK_S)
        finally:
            engine.dispose()


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _offer(
    targets: dict[str, tuple[str, dict[str, str]]],
    data: dict[str, list[dict[str, Any]]],
    rate: float,
    seconds: float,
) -> tuple[dict[str, float], float]:
    """Send each contingent's records to its target at ``rate`` records/s in all; the time
    each was received (the target's answer), and the seconds the offer took."""
    received: dict[str, float] = {}
    ticks = int(seconds / TICK_S)
    per_tick = max(1, round(rate * TICK_S / len(targets)))
    start = time.monotonic()

    async def feed(contingent: str) -> None:
        url, headers = targets[contingent]
        part = data[contingent]
        async with httpx.AsyncClient(timeout=120) as client:
            for tick in range(ticks):
                chunk = part[tick * per_tick : (tick + 1) * per_tick]
                if not chunk:
                    return
                delay = start + tick * TICK_S - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                answer = await client.post(url, content=orjson.dumps(chunk), headers=headers)
                answer.raise_for_status()
                now = time.monotonic()
                for record in chunk:
                    received[record["id"]] = now

    await asyncio.gather(*(feed(c) for c in targets))
    return received, time.monotonic() - start


def _step(
    targets: dict[str, tuple[str, dict[str, str]]],
    poller: _Poller,
    rate: float,
    seconds: float,
    prefix: str,
) -> dict[str, Any]:
    n = int(rate * seconds) + 2
    made = records(n, rate_seed(rate), prefix)
    data: dict[str, list[dict[str, Any]]] = {}
    for record in made:
        data.setdefault(record["contingent"], []).append(record)
    received, took = asyncio.run(_offer(targets, data, rate, seconds))
    ended = time.monotonic()
    ids = list(received)

    def settled() -> bool:
        return all(i in poller.correlated for i in ids)

    deadline = ended + DRAIN_S
    while not settled() and time.monotonic() < deadline:
        time.sleep(TICK_S)
    to_commit = [poller.committed[i] - received[i] for i in ids if i in poller.committed]
    to_incident = [poller.correlated[i] - received[i] for i in ids if i in poller.correlated]
    in_window = sum(1 for i in ids if poller.committed.get(i, float("inf")) <= ended)
    last_incident = max((poller.correlated.get(i, float("inf")) for i in ids), default=ended)
    sustained = settled() and last_incident <= ended + SETTLE_S
    return {
        "offered_rate": rate,
        "sent": len(ids),
        "sent_rate": len(ids) / took,
        "committed_in_window_rate": in_window / took,
        "committed": len(to_commit),
        "correlated": len(to_incident),
        "sustained": sustained,
        "settled_after_s": None if not settled() else max(0.0, last_incident - ended),
        "commit_p50_s": _percentile(to_commit, 0.5),
        "commit_p99_s": _percentile(to_commit, 0.99),
        "incident_p50_s": _percentile(to_incident, 0.5),
        "incident_p99_s": _percentile(to_incident, 0.99),
    }


def rate_seed(rate: float) -> int:
    return int(rate) + 7


def _node_dir(tmp: Path, contingent: str, transport: str, center: str, namespace: str) -> Path:
    folder = tmp / f"node-{contingent}"
    folder.mkdir()
    port = _free_port()
    (folder / "node.toml").write_text(
        f'contingent = "{contingent}"\nmission = "{DEFAULT_MISSION}"\n'
        f'transport = "{transport}"\ncenter = "{center}"\n'
        f'nats = "{NATS}"\nnats_namespace = "{namespace}"\nbatch = 1000\n'
        f"http_port = {port}\ncot_tcp_port = -1\ncot_udp_port = -1\n",
        encoding="utf-8",
    )
    subprocess.run(
        [*CLI, "node", "--dir", str(folder), "init", contingent], check=True, capture_output=True
    )
    return folder


def run_one(
    transport: str, store: str, rates: Sequence[float], seconds: float, tmp: Path
) -> dict[str, Any]:
    """One ladder: ``transport`` is ``direct`` (the baseline), ``http`` or ``nats``."""
    folder = tmp / f"{transport}-{store}"
    folder.mkdir()
    processes = _Processes(folder)
    with _store(store, folder) as url:
        open_database(url).dispose()  # migrated before the processes start
        port = _free_port()
        center_url = f"http://127.0.0.1:{port}"
        namespace = f"bench{uuid.uuid4().hex[:8]}"
        targets: dict[str, tuple[str, dict[str, str]]] = {}
        json_type = {"content-type": "application/json"}
        if transport == "direct":
            tokens = _analysts(url)
            for contingent, token in tokens.items():
                headers = {**json_type, "Authorization": f"Bearer {token}"}
                targets[contingent] = (f"{center_url}/api/v1/observations", headers)
        poller = _Poller(url)
        try:
            serve = ["serve", "--db", url, "--port", str(port), "--escalate-every", "0"]
            serve += ["--cot-tcp-port", "0", "--cot-udp-port", "0"]
            center = processes.start("center", serve)
            _wait(f"{center_url}/api/v1/health", center, processes.log("center"), 180)
            if transport == "nats":
                worker = ["worker", "--db", url, "--nats", NATS, "--namespace", namespace]
                processes.start("worker", worker)
            if transport != "direct":
                for contingent in ("RU", "TR"):
                    node = _node_dir(folder, contingent, transport, center_url, namespace)
                    vkey = node / f"{contingent}.intake.vkey"
                    subprocess.run(
                        [*CLI, "node", "register", str(vkey), "--db", url],
                        check=True,
                        capture_output=True,
                    )
                    process = processes.start(f"node-{contingent}", ["node", "--dir", str(node)])
                    toml = (node / "node.toml").read_text()
                    node_port = int(toml.split("http_port = ")[1].split()[0])
                    status = f"http://127.0.0.1:{node_port}/api/v1/status"
                    _wait(status, process, processes.log(f"node-{contingent}"), 180)
                    targets[contingent] = (
                        f"http://127.0.0.1:{node_port}/api/v1/observations",
                        json_type,
                    )
            poller.start()
            steps = []
            cpu_before = processes.cpu()
            for k, rate in enumerate(rates):
                step = _step(targets, poller, rate, seconds, f"E{k}")
                steps.append(step)
                if not step["sustained"]:
                    break
            cpu_after = processes.cpu()
        finally:
            poller.stop()
            processes.stop()
    total = sum(s["committed"] for s in steps)
    cpu = {name: cpu_after.get(name, 0.0) - cpu_before.get(name, 0.0) for name in cpu_after}
    per_record_us = {name: 1e6 * v / total for name, v in cpu.items() if total}
    held = [s for s in steps if s["sustained"]]
    best = held[-1] if held else None
    return {
        "transport": transport,
        "store": store,
        "steps": steps,
        "sustained_rate": best["committed_in_window_rate"] if best else 0.0,
        "sustained_offered": best["offered_rate"] if best else 0.0,
        "incident_p99_s_at_sustained": best["incident_p99_s"] if best else None,
        "cpu_us_per_record": per_record_us,
    }


def run(
    transports: Sequence[str] = ("direct", "http", "nats"),
    stores: Sequence[str] = ("sqlite", "postgresql"),
    rates: Sequence[float] = RATES,
    seconds: float = SECONDS,
    progress: Any = None,
) -> dict[str, Any]:
    runs = []
    with tempfile.TemporaryDirectory(prefix="ceasefire-e2e-") as tmp:
        for store in stores:
            for transport in transports:
                if progress is not None:
                    progress.print(f"e2e: {transport} on {store}")
                runs.append(run_one(transport, store, rates, seconds, Path(tmp)))
    baseline = {r["store"]: r for r in runs if r["transport"] == "direct"}
    for r in runs:
        base = baseline.get(r["store"])
        if r["transport"] == "direct" or base is None:
            continue
        cpu = r["cpu_us_per_record"]
        nodes = sum(v for k, v in cpu.items() if k.startswith("node-"))
        center_side = cpu.get("center", 0.0) + cpu.get("worker", 0.0)
        center_own = base["cpu_us_per_record"].get("center", 0.0)
        r["node_cpu_us_per_record"] = nodes
        # the node's own work (at the contingent's HQ, on its own machine) per record, and what
        # the path through nodes costs the center's processes, each against the center's own
        # HTTP intake of the same records
        r["node_added_vs_center_intake"] = nodes / center_own if center_own else None
        r["center_side_vs_direct"] = center_side / center_own if center_own else None
        r["ratio_to_direct"] = (
            r["sustained_rate"] / base["sustained_rate"] if base["sustained_rate"] else None
        )
    return {
        "name": "e2e",
        "seconds_per_rate": seconds,
        "settle_s": SETTLE_S,
        "cores": os.cpu_count(),
        "load_average_at_start": os.getloadavg()[0],
        "baseline": "the center's own HTTP intake (POST /api/v1/observations), no node",
        "runs": runs,
    }
