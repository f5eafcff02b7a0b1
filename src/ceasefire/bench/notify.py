"""`ceasefire bench notify`: decisions to delivered notices, against a naive inline sender.

Both parties and the peacekeepers are webhook receivers on loopback (a small HTTP server in a
thread of its own). One receiver (the peacekeepers') is bad: it answers after ``slow`` seconds
(scenario ``slow``) or fails every other request with 500 (scenario ``flaky``).

- **ours**: ``n`` decisions, each one transaction writing its batch of three notices through
  the transactional outbox (:func:`ceasefire.dissemination.outbox.notify`), as fast as they
  come, while the dispatcher (:mod:`ceasefire.dissemination.dispatcher`) sends them from a
  process of its own, as ``ceasefire serve`` runs it (deciding and sending do not share one
  interpreter's lock);
- **baseline**: a naive sender that writes the same notices and then posts each one inline,
  in the request that records the decision, one after the other (the way many systems do it),
  without retries; on a smaller number of decisions, since every decision waits for the slow
  receiver. It posts with one ``httpx.Client`` for the whole run (connections kept alive and
  reused, as a careful user of httpx would), never a connection per post;
- **the dispatcher alone** (scenario ``dispatcher``): ``n`` decisions fill the outbox first,
  then one dispatcher sends it all, every receiver answering at once: what the dispatcher
  can send, apart from how fast decisions come.

Figures: deliveries/s (from the first decision to the last delivery), decision-to-delivery
latency p50 / p99 (the two parties', and every delivery's), the skew between the two parties'
deliveries of a batch p50 / p99, what the baseline lost, the CPU per delivery (deciding,
sending and receiving alike: this process's and, for ours, the dispatcher process's; ours also
split by part: the deciding thread's, the receivers' thread's, and the rest, mostly the
dispatcher's, ``sending``) and the load average.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import resource
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, delete, func, select

from ceasefire.dissemination import channels
from ceasefire.dissemination.dispatcher import Dispatcher, Options
from ceasefire.dissemination.outbox import notify
from ceasefire.dissemination.recipients import INCIDENT
from ceasefire.dissemination.tables import deliveries, notices
from ceasefire.dissemination.webhooks import webhook_headers
from ceasefire.ledger.note import Ed25519Signer
from ceasefire.mission.model import Mission
from ceasefire.store import open_database

RECIPIENTS = ("AM", "AZ", "PK")
PARTIES = ("AM", "AZ")


class Receivers:
    """Three webhook receivers on one loopback port, by path: ``/AM``, ``/AZ``, ``/PK``;
    the first arrival of each notice id is timed."""

    def __init__(self, bad: str, slow: float) -> None:
        self.bad = bad
        self.slow = slow
        self.first: dict[tuple[str, str], float] = {}
        self.requests = 0
        self._count = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    def __enter__(self) -> Receivers:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def cpu(self) -> float:
        """Seconds of CPU the receivers' thread spent so far."""
        ident = self._thread.ident
        assert ident is not None
        return time.clock_gettime(time.pthread_getcpuclockid(ident))

    def url(self, recipient: str) -> str:
        return f"http://127.0.0.1:{self.port}/{recipient}"

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(
            asyncio.start_server(self._serve, "127.0.0.1", 0, backlog=1024)
        )
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            server.close()
            for task in list(self._tasks):
                task.cancel()
            self._loop.run_until_complete(
                asyncio.gather(*self._tasks, server.wait_closed(), return_exceptions=True)
            )

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                path = lines[0].split(" ")[1].strip("/")
                headers = dict(
                    (k.strip().lower(), v.strip())
                    for k, _sep, v in (line.partition(":") for line in lines[1:] if line)
                )
                await reader.readexactly(int(headers.get("content-length", "0")))
                self.requests += 1
                status = 204
                if path == self.bad and self.slow:
                    await asyncio.sleep(self.slow)
                if path == self.bad and not self.slow:
                    self._count += 1
                    status = 500 if self._count % 2 else 204
                if status == 204:
                    self.first.setdefault((path, headers.get("webhook-id", "")), time.time())
                reason = "No Content" if status == 204 else "Internal Server Error"
                writer.write(f"HTTP/1.1 {status} {reason}\r\ncontent-length: 0\r\n\r\n".encode())
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            if task is not None:
                self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


def _mission_with(mission: Mission, receivers: Receivers) -> Mission:
    def lines(body: Any) -> Any:
        return body.model_copy(
            update={
                "contacts": [
                    c.model_copy(update={"channel": "http", "address": receivers.url(body.id)})
                    for c in body.contacts[:1]
                ]
            }
        )

    config = mission.config
    update: dict[str, Any] = {"parties": [lines(p) for p in config.parties]}
    if config.peacekeeping_force is not None:
        update["peacekeeping_force"] = lines(config.peacekeeping_force)
    update["contingents"] = [c.model_copy(update={"contacts": []}) for c in config.contingents]
    return mission.__class__(
        config=config.model_copy(update=update),
        zones=mission.zones,
        settlements=mission.settlements,
        source=mission.source,
    )


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _decide(engine: Engine, mission: Mission, i: int) -> list[str]:
    with engine.begin() as db:
        return notify(
            db,
            mission,
            kind=INCIDENT,
            cause=f"DEC-B{i:06d}",
            at=datetime.now(UTC),
            extra={"text": f"bench {i}"},
        )


def _figures(
    engine: Engine,
    receivers: Receivers,
    started: float,
    ids: list[str],
    cpu: float,
    parts: dict[str, float] | None = None,
) -> dict[str, Any]:
    """``cpu``: seconds of CPU the whole process spent (deciding, sending, the receivers);
    ``parts``: seconds of it by part (``deciding``, ``receivers``; ``sending`` is the rest)."""
    wanted = set(ids)
    with engine.connect() as db:
        rows = [
            r
            for r in db.execute(
                select(notices.c.id, notices.c.batch, notices.c.recipient, notices.c.created_at)
            )
            if r.id in wanted
        ]
    latency: list[float] = []
    party_latency: list[float] = []
    by_batch: dict[str, list[float]] = {}
    delivered = 0
    last = started
    for r in rows:
        arrived = receivers.first.get((r.recipient, r.id))
        if arrived is None:
            continue
        delivered += 1
        last = max(last, arrived)
        seconds = arrived - r.created_at.timestamp()
        latency.append(seconds)
        if r.recipient in PARTIES:
            party_latency.append(seconds)
            by_batch.setdefault(r.batch, []).append(arrived)
    skew = [(max(t) - min(t)) * 1000 for t in by_batch.values() if len(t) == len(PARTIES)]
    elapsed = max(last - started, 1e-9)

    def ms(values: list[float], q: float) -> float | None:
        found = _percentile(values, q)
        return None if found is None else round(found * 1000, 1)

    split: dict[str, float | None] = {}
    if parts is not None and delivered:
        sending = cpu - sum(parts.values())
        for name, seconds in (*parts.items(), ("sending", sending)):
            split[f"cpu_ms_per_delivery_{name}"] = round(seconds * 1000 / delivered, 2)
    return {
        "notices": len(rows),
        "delivered": delivered,
        "lost": len(rows) - delivered,
        "seconds": round(elapsed, 3),
        "rate": delivered / elapsed,
        "cpu_ms_per_delivery": round(cpu * 1000 / delivered, 2) if delivered else None,
        "party_latency_p50_ms": ms(party_latency, 0.5),
        "party_latency_p99_ms": ms(party_latency, 0.99),
        "latency_p50_ms": ms(latency, 0.5),
        "latency_p99_ms": ms(latency, 0.99),
        "skew_p50_ms": None if not skew else round(_percentile(skew, 0.5) or 0, 1),
        "skew_p99_ms": None if not skew else round(_percentile(skew, 0.99) or 0, 1),
        **split,
    }


def _dispatch(
    url: str, skey: str, options: Options, drain: bool, stop: Any, ready: Any, spent: Any
) -> None:
    """The dispatcher's process, apart from the deciding one as under ``ceasefire serve``:
    ``drain`` sends until the outbox is empty, else until ``stop``. Into ``spent``: its CPU
    seconds and the wall clock from ``ready`` (set once the channels are made) to its end."""
    engine = open_database(url, migrate=False)

    async def dispatch() -> None:
        made = channels.load(
            ["http"], channels.Context(signer=Ed25519Signer.from_skey(skey), timeout=30.0)
        )
        dispatcher = Dispatcher(engine, made, options=options)
        stopping = asyncio.Event()

        async def watch() -> None:
            while not stop.is_set():
                await asyncio.sleep(0.05)
            stopping.set()

        watcher = asyncio.create_task(watch())
        cpu, began = time.process_time(), time.time()
        ready.set()
        try:
            if drain:
                await dispatcher.drain()
            else:
                await dispatcher.run(stopping)
        finally:
            spent[0], spent[1] = time.process_time() - cpu, began
            watcher.cancel()
            await channels.close(made.values())

    try:
        asyncio.run(dispatch())
    finally:
        engine.dispose()


class _Dispatching:
    """A dispatcher process started for the bench, stopped (or awaited) on the way out."""

    def __init__(self, url: str, options: Options, drain: bool = False) -> None:
        context = multiprocessing.get_context("spawn")
        self.stop, self.ready = context.Event(), context.Event()
        self.spent = context.Array("d", 2)
        self.drain = drain
        self.process = context.Process(
            target=_dispatch,
            args=(
                url,
                Ed25519Signer.generate("bench/center").skey,
                options,
                drain,
                self.stop,
                self.ready,
                self.spent,
            ),
            daemon=True,
        )

    def __enter__(self) -> _Dispatching:
        self.process.start()
        if not self.ready.wait(120):
            self.process.kill()
            raise RuntimeError("the bench's dispatcher did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        if not self.drain or exc[0] is not None:
            self.stop.set()
        self.process.join(None if self.drain and exc[0] is None else 120)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()

    @property
    def cpu(self) -> float:
        return float(self.spent[0])

    @property
    def began(self) -> float:
        return float(self.spent[1])


def _ours(
    engine: Engine, url: str, mission: Mission, receivers: Receivers, n: int, options: Options
) -> dict[str, Any]:
    ids: list[str] = []
    with _Dispatching(url, options) as dispatching:
        started = time.time()
        cpu, receiving = time.process_time(), receivers.cpu()
        deciding = time.thread_time()
        for i in range(n):
            ids += _decide(engine, mission, i)
        decided = time.time() - started
        deciding = time.thread_time() - deciding
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            with engine.connect() as db:
                left = db.execute(
                    select(func.count())
                    .select_from(deliveries)
                    .where(deliveries.c.status == "pending")
                ).scalar_one()
            if not left:
                break
            time.sleep(0.05)
        here = time.process_time() - cpu
    parts = {"deciding": deciding, "receivers": receivers.cpu() - receiving}
    return {
        **_figures(engine, receivers, started, ids, here + dispatching.cpu, parts),
        "decisions_s": round(decided, 3),
        "decision_cpu_ms": round(deciding * 1000 / n, 2),
    }


def _drain(
    engine: Engine, url: str, mission: Mission, receivers: Receivers, n: int, options: Options
) -> dict[str, Any]:
    """The dispatcher alone: ``n`` decisions fill the outbox first, then one dispatcher sends
    everything (every receiver answering at once); rate and CPU from its start to the last
    delivery. Latency would be the time notices waited in the outbox: not reported (None)."""
    ids: list[str] = []
    deciding, decided = time.thread_time(), time.time()
    for i in range(n):
        ids += _decide(engine, mission, i + 2_000_000)
    deciding, decided = time.thread_time() - deciding, time.time() - decided
    receiving = receivers.cpu()
    with _Dispatching(url, options, drain=True) as dispatching:
        pass  # until the outbox is empty
    parts = {"receivers": receivers.cpu() - receiving}
    figures = _figures(
        engine, receivers, dispatching.began, ids, dispatching.cpu + parts["receivers"], parts
    )
    return {
        **{k: None if "latency" in k or "skew" in k else v for k, v in figures.items()},
        "decisions_s": round(decided, 3),
        "decision_cpu_ms": round(deciding * 1000 / n, 2),
    }


def _naive(engine: Engine, mission: Mission, receivers: Receivers, n: int) -> dict[str, Any]:
    """Each decision's notices posted inline, one after the other, before it returns."""
    signer = Ed25519Signer.generate("bench/center")
    started = time.time()
    cpu = time.process_time()
    ids: list[str] = []
    with httpx.Client(timeout=30.0, follow_redirects=False) as client:
        for i in range(n):
            made = _decide(engine, mission, i + 1_000_000)
            ids += made
            with engine.connect() as db:
                rows = db.execute(
                    select(notices.c.id, notices.c.recipient, notices.c.payload).where(
                        notices.c.id.in_(made)
                    )
                ).all()
            with engine.begin() as db:  # sent here, inline: nothing for a dispatcher
                db.execute(delete(deliveries).where(deliveries.c.notice_id.in_(made)))
            for r in rows:
                body = r.payload.encode()
                with contextlib.suppress(httpx.HTTPError):
                    client.post(
                        receivers.url(r.recipient),
                        content=body,
                        headers={
                            "content-type": "application/json",
                            **webhook_headers(signer, r.id, body),
                        },
                    )
    return _figures(engine, receivers, started, ids, time.process_time() - cpu)


def run(
    mission: Mission,
    n: int = 1000,
    baseline_n: int = 20,
    slow: float = 2.0,
    db: str | None = None,
    directory: Path | None = None,
    options: Options | None = None,
    say: Callable[[str], None] = lambda text: None,
) -> dict[str, Any]:
    """Both scenarios (a slow receiver, a failing one), ours and the baseline in each."""
    options = options or Options(per_queue=64, base=0.05, cap=1.0, attempts=20)
    scenarios: dict[str, Any] = {}
    load_before = os.getloadavg()
    for scenario, delay in (("slow", slow), ("flaky", 0.0)):
        work = Path(tempfile.mkdtemp(prefix="ceasefire-bench-notify-", dir=directory))
        url = db or str(work / "bench.db")
        engine = open_database(url)
        try:
            with Receivers("PK", delay) as receivers:
                lines = _mission_with(mission, receivers)
                say(f"{scenario}: {n} decisions through the outbox and the dispatcher")
                ours = _ours(engine, url, lines, receivers, n, options)
                say(f"{scenario}: {baseline_n} decisions posted inline (baseline)")
                naive = _naive(engine, lines, receivers, baseline_n)
            scenarios[scenario] = {"ours": ours, "baseline": naive}
        finally:
            engine.dispose()
            shutil.rmtree(work, ignore_errors=True)
    work = Path(tempfile.mkdtemp(prefix="ceasefire-bench-notify-", dir=directory))
    url = db or str(work / "bench.db")
    engine = open_database(url)
    try:
        with Receivers("", 0.0) as receivers:
            say(f"dispatcher alone: {n} decisions into the outbox, then sent")
            lines = _mission_with(mission, receivers)
            scenarios["dispatcher"] = {"ours": _drain(engine, url, lines, receivers, n, options)}
    finally:
        engine.dispose()
        shutil.rmtree(work, ignore_errors=True)
    slow_ours = scenarios["slow"]["ours"]
    slow_naive = scenarios["slow"]["baseline"]
    return {
        "name": "notify",
        "decisions": n,
        "rate": slow_ours["rate"],
        "baseline": "a naive sender posting each notice inline in the decision's request",
        "baseline_decisions": baseline_n,
        "baseline_rate": slow_naive["rate"],
        "ratio": slow_ours["rate"] / slow_naive["rate"] if slow_naive["rate"] else None,
        "party_latency_p99_ms": slow_ours["party_latency_p99_ms"],
        "skew_p99_ms": slow_ours["skew_p99_ms"],
        "slow_seconds": slow,
        "options": {
            "per_queue": options.per_queue,
            "base": options.base,
            "cap": options.cap,
            "attempts": options.attempts,
        },
        "load_average": {"before": load_before, "after": os.getloadavg()},
        "cpu_ms_per_delivery": slow_ours["cpu_ms_per_delivery"],
        "database": "sqlite" if db is None else db.split(":", 1)[0],
        "scenarios": scenarios,
        "peak_rss_mb": _peak_rss_mb(),
    }
