"""`ceasefire bench notify`: decisions to delivered notices, against a naive inline sender.

Both parties and the peacekeepers are webhook receivers on loopback (a small HTTP server in a
thread of its own). One receiver (the peacekeepers') is bad: it answers after ``slow`` seconds
(scenario ``slow``) or fails every other request with 500 (scenario ``flaky``).

- **ours**: ``n`` decisions (``notify_both_parties``, proposed and approved by the two
  contingents' heads through the workflow, on one incident both contingents assessed), each
  one transaction leaving its effect and writing its batch of three notices in a savepoint
  (:func:`ceasefire.dissemination.outbox.notice_effects`, as the center's decision verbs do),
  as fast as they come, while the dispatcher
  (:mod:`ceasefire.dissemination.dispatcher`) sends them from a process of its own, as
  ``ceasefire serve`` runs it (deciding and sending do not share one interpreter's lock);
  ``deciders`` processes decide at once, each its share of the ``n`` decisions on an engine of
  its own, as the API's workers do for duty officers deciding at once (one: one decision
  after another, in a process of its own, as an API worker's, not beside the receivers);
  every decision is checked to have caused one notice to each
  party and the peacekeepers, none doubled, and each delivered once;
- **baseline**: a naive sender that decides the same way, writes the notices in the
  decision's transaction and then posts each one inline, in the request that records it,
  one after the other (the way many systems do it), without retries, from as many threads
  at once as our side has deciders (each an API worker posting inline); on a smaller number
  of decisions, since every decision waits for the slow receiver. It posts with one
  ``httpx.Client`` for the whole run (connections kept alive and reused, as a careful user of
  httpx would), never a connection per post;
- **the dispatcher alone** (scenario ``dispatcher``): ``n`` decisions leave their effects
  first (as a process driving the workflow itself leaves them), then one dispatcher writes
  their notices and sends them all, every receiver answering at once: what the dispatcher can
  do, rendering included, apart from how fast decisions come.

Figures: deliveries/s (from the first decision to the last delivery), decision-to-delivery
latency p50 / p99 (the two parties', and every delivery's), the skew between the two parties'
deliveries of a batch p50 / p99, what the baseline lost, the CPU per delivery (deciding,
sending and receiving alike: this process's and, for ours, the dispatcher process's; ours also
split by part: the deciding thread's, the receivers' thread's, and the rest, mostly the
dispatcher's, ``sending``; ``decision_notices_cpu_ms``, the part of ``decision_cpu_ms``
writing the notices), how long the last delivery came after the last decision
(``after_deciding_s``: the bad receiver's answer time or its longest run of failures'
back-off, plus any backlog) and the most requests one notice took at the bad receiver, and the
load average.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import multiprocessing
import os
import queue
import resource
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, delete, func, select

from ceasefire.dissemination import channels
from ceasefire.dissemination.dispatcher import Dispatcher, Options
from ceasefire.dissemination.outbox import effects_waiting, notice_effects
from ceasefire.dissemination.tables import deliveries, notices
from ceasefire.dissemination.webhooks import webhook_headers
from ceasefire.incidents.tables import incidents
from ceasefire.ledger.note import Ed25519Signer
from ceasefire.mission import load_mission
from ceasefire.mission.model import Mission
from ceasefire.served import settle
from ceasefire.store import open_database
from ceasefire.store.missions import mission_row, save_mission
from ceasefire.workflow import assessments, decisions
from ceasefire.workflow.errors import NotFound
from ceasefire.workflow.roles import User, add_user, get_user

RECIPIENTS = ("AM", "AZ", "PK")
PARTIES = ("AM", "AZ")


class Receivers:
    """Three webhook receivers on one loopback port, by path: ``/AM``, ``/AZ``, ``/PK``;
    the first arrival of each notice id is timed."""

    def __init__(self, bad: str, slow: float) -> None:
        self.bad = bad
        self.slow = slow
        self.first: dict[tuple[str, str], float] = {}
        self.twice = 0  # a notice a receiver took (answered 204) more than once
        self.asked: dict[str, int] = {}  # the bad receiver's requests, by notice id
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

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, recipient: str) -> str:
        return f"{self.base}/{recipient}"

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
                if path == self.bad:
                    notice = headers.get("webhook-id", "")
                    self.asked[notice] = self.asked.get(notice, 0) + 1
                if path == self.bad and self.slow:
                    await asyncio.sleep(self.slow)
                if path == self.bad and not self.slow:
                    self._count += 1
                    status = 500 if self._count % 2 else 204
                if status == 204:
                    key = (path, headers.get("webhook-id", ""))
                    if key in self.first:
                        self.twice += 1
                    else:
                        self.first[key] = time.time()
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


def _mission_with(mission: Mission, base: str) -> Mission:
    """The mission with every recipient reached by webhook at ``base``/its id (the
    receivers'), and the contingents reached by nothing."""

    def lines(body: Any) -> Any:
        return body.model_copy(
            update={
                "contacts": [
                    c.model_copy(update={"channel": "http", "address": f"{base}/{body.id}"})
                    for c in body.contacts[:1]
                ]
            }
        )

    config = mission.config
    update: dict[str, Any] = {"parties": [lines(p) for p in config.parties]}
    if config.peacekeeping_force is not None:
        update["peacekeeping_force"] = lines(config.peacekeeping_force)
    update["contingents"] = [c.model_copy(update={"contacts": []}) for c in config.contingents]
    # its files and digest kept: the decisions' incident refers to the stored mission
    return dataclasses.replace(mission, config=config.model_copy(update=update))


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def default_deciders(db: str | None) -> int:
    """How many processes decide at once by default. On PostgreSQL the machine's cores: a
    center's API runs as many workers (``ceasefire serve --workers N``) and its duty officers
    decide at once, so that is what the center's rate is made of. On SQLite (``db`` None or
    a ``sqlite`` URL) one: its writers share one write lock, a decision holds it for nearly all
    of its time (the log's lock is its transactions' first statement), and a second process
    waiting in SQLite's busy handler made deciding slower, not faster (docs/direct-lines.md,
    the bench's ``--deciders``)."""
    if db is None or "://" not in db or db.startswith("sqlite"):
        return 1
    return os.cpu_count() or 1


INCIDENT_ID = "INC-BENCH"
STAFF = (("ru-head", "RU"), ("tr-head", "TR"), ("ru-do", "RU"), ("tr-do", "TR"))


def _staff(engine: Engine, mission: Mission) -> tuple[User, User]:
    """The bench's incident, assessed alike by both contingents (so no longer blind), and the
    two heads who decide on it: proposer and approver."""
    stored, _new = save_mission(engine, mission)
    key = mission_row(engine, stored)
    at = datetime.now(UTC)
    with engine.begin() as db:
        made: dict[str, User] = {}
        for name, contingent in STAFF:
            try:
                made[name] = get_user(db, name)
            except NotFound:
                role = "head" if name.endswith("head") else "duty_officer"
                made[name] = add_user(db, mission, name, role, contingent, at=at)
        if db.execute(select(incidents.c.id).where(incidents.c.id == INCIDENT_ID)).first():
            return made["ru-head"], made["tr-head"]
        db.execute(
            incidents.insert().values(
                id=INCIDENT_ID, mission=key, status="open", kind="event",
                category="explosion", categories='["explosion"]', started_at=at, ended_at=at,
                lat=39.78, lon=46.73, ce_m=150.0, count=1, observation_count=2,
                contingents='["RU", "TR"]', platforms='["orlan-10-07", "tb2-03"]',
                corroboration="both_contingents", rules="[]", zones="[]", updated_at=at,
            )
        )  # fmt: skip
        for officer in ("ru-do", "tr-do"):
            assessments.submit(
                db, mission, made[officer], INCIDENT_ID, violation="yes", clauses=["1"],
                attribution="AZ", severity="high", at=at,
            )  # fmt: skip
    return made["ru-head"], made["tr-head"]


def _decide(
    engine: Engine, mission: Mission, heads: tuple[User, User], notices_: str = "inline"
) -> tuple[str, list[str], float]:
    """One decision taking effect (both heads' keys), in one transaction; its id, its notices'
    ids and the thread's CPU seconds writing them. ``notices_``: ``inline``, written in the
    decision's transaction, in a savepoint (what the center does in its decision verbs:
    ``ceasefire serve``'s API, the CLI, :meth:`ceasefire.center.Center.decided`); ``after``,
    in a transaction of their own once it committed (the center's way before); ``none``, left
    to the dispatcher (a process that drives the workflow itself)."""
    proposer, approver = heads
    with engine.begin() as db:
        d = decisions.propose(db, mission, proposer, INCIDENT_ID, "notify_both_parties")
        if d.state != decisions.APPROVED:
            d = decisions.approve(db, mission, approver, d.id)
        if notices_ == "inline":
            began = time.thread_time()
            with db.begin_nested():
                made = notice_effects(db, mission, among=[d.id]).get(d.id, [])
            return d.id, made, time.thread_time() - began
    if notices_ == "none":
        return d.id, [], 0.0
    began = time.thread_time()
    with engine.begin() as db:
        made = notice_effects(db, mission).get(d.id, [])
    return d.id, made, time.thread_time() - began


def _notices_of(engine: Engine, decided: list[str]) -> list[str]:
    """The ids of the notices the decisions ``decided`` caused."""
    found: list[str] = []
    with engine.connect() as db:
        for start in range(0, len(decided), 500):
            found += db.execute(
                select(notices.c.id).where(notices.c.cause.in_(decided[start : start + 500]))
            ).scalars()
    return found


def _checked(engine: Engine, decided: list[str]) -> dict[str, int]:
    """What the decisions ``decided`` caused, checked: decisions with a notice missing for
    either party (or the peacekeepers), notices beyond one per decision and recipient
    (doubled), and decisions counted twice."""
    per: dict[tuple[str, str], int] = {}
    with engine.connect() as db:
        for start in range(0, len(decided), 500):
            for r in db.execute(
                select(notices.c.cause, notices.c.recipient).where(
                    notices.c.cause.in_(decided[start : start + 500])
                )
            ):
                per[(r.cause, r.recipient)] = per.get((r.cause, r.recipient), 0) + 1
    unique = set(decided)
    return {
        "decisions_missing_a_party": sum(
            1 for d in unique if any((d, party) not in per for party in PARTIES)
        ),
        "decisions_missing_a_notice": sum(
            1 for d in unique if any((d, who) not in per for who in RECIPIENTS)
        ),
        "notices_doubled": sum(count - 1 for count in per.values()),
        "decisions_doubled": len(decided) - len(unique),
    }


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
    url: str,
    skey: str,
    options: Options,
    drain: bool,
    stop: Any,
    ready: Any,
    spent: Any,
    source: str,
    base: str,
) -> None:
    """The dispatcher's process, apart from the deciding one as under ``ceasefire serve``,
    on the mission ``source`` with its recipients at ``base``: it writes the decisions'
    notices and sends them; ``drain`` until nothing is left, else until ``stop``. Into
    ``spent``: its CPU seconds and the wall clock from ``ready`` (set once it holds the lease;
    draining, once the channels are made) to its end."""
    engine = open_database(url, migrate=False)
    mission = _mission_with(load_mission(source), base)
    settle()  # as the center's dispatcher process does before it sends

    async def dispatch() -> None:
        made = channels.load(
            ["http"], channels.Context(signer=Ed25519Signer.from_skey(skey), timeout=30.0)
        )
        dispatcher = Dispatcher(engine, made, options=options, mission=mission)
        stopping = asyncio.Event()

        async def watch() -> None:
            while not stop.is_set():
                await asyncio.sleep(0.05)
            stopping.set()

        watcher = asyncio.create_task(watch())
        cpu, began = time.process_time(), time.time()
        try:
            if drain:
                ready.set()
                await dispatcher.drain()
            else:  # deciding starts once it holds the lease, as a center's has long before
                await dispatcher.run(stopping, started=ready.set)
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

    def __init__(
        self, url: str, options: Options, mission: Mission, base: str, drain: bool = False
    ) -> None:
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
                mission.source,
                base,
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


def _decider(
    url: str,
    source: str,
    base: str,
    heads: tuple[User, User],
    count: int,
    notices_: str,
    ready: Any,
    go: Any,
    results: Any,
) -> None:
    """A decider's process: an engine of its own on the bench's store,
    ``count`` decisions one after another once ``go`` is set, as one of a center's API workers
    decides for its duty officers. Into ``results``: its decisions' ids, its CPU seconds from
    ``go`` to its last decision, those writing notices, and the wall clock (``time.time``) it
    finished at; or the error that stopped it."""
    try:
        engine = open_database(url, migrate=False)
        mission = _mission_with(load_mission(source), base)
        settle()  # as an API worker does once its app is built
    except BaseException as exc:  # the bench must not wait for a decider that never started
        results.put(("error", repr(exc)))
        ready.set()
        raise
    try:
        ready.set()
        go.wait()
        made: list[str] = []
        cpu, noticing = time.process_time(), 0.0
        for _i in range(count):
            decision, _ids, spent = _decide(engine, mission, heads, notices_)
            made.append(decision)
            noticing += spent
        results.put(("done", made, time.process_time() - cpu, noticing, time.time()))
    except BaseException as exc:
        results.put(("error", repr(exc)))
        raise
    finally:
        engine.dispose()


def _shares(n: int, deciders: int) -> list[int]:
    """``n`` decisions shared among ``deciders`` as evenly as they go (none left idle when
    there are fewer decisions than deciders)."""
    deciders = max(1, min(deciders, n))
    return [n // deciders + (1 if i < n % deciders else 0) for i in range(deciders)]


def _decide_apart(
    url: str,
    mission: Mission,
    base: str,
    heads: tuple[User, User],
    n: int,
    deciders: int,
    notices_: str,
) -> tuple[float, list[str], float, float, float]:
    """``n`` decisions made by ``deciders`` processes at once (spawned, each with its engine
    on ``url``), started together once all are ready; when they were told to start
    (``time.time``), the decisions' ids, their CPU seconds together, those writing notices,
    and when the last one finished."""
    context = multiprocessing.get_context("spawn")
    go, results = context.Event(), context.Queue()
    started_at = 0.0
    workers: list[tuple[Any, Any]] = []
    for count in _shares(n, deciders):
        ready = context.Event()
        process = context.Process(
            target=_decider,
            args=(url, mission.source, base, heads, count, notices_, ready, go, results),
            daemon=True,
        )
        workers.append((process, ready))
    try:
        for process, _ready in workers:
            process.start()
        for _process, ready in workers:
            if not ready.wait(120):
                raise RuntimeError("a decider of the bench did not start")
        started_at = time.time()
        go.set()
        made: list[str] = []
        cpu = noticing = 0.0
        finished = started_at
        for _worker in workers:
            while True:
                try:
                    got = results.get(timeout=1.0)
                    break
                except queue.Empty:
                    if not any(p.is_alive() for p, _r in workers):
                        raise RuntimeError("the bench's deciders ended without a word") from None
            if got[0] == "error":
                raise RuntimeError(f"a decider of the bench failed: {got[1]}")
            _kind, ids, spent, spent_noticing, at = got
            made += ids
            cpu += spent
            noticing += spent_noticing
            finished = max(finished, at)
    except BaseException:
        for process, _ready in workers:
            if process.is_alive():  # not left deciding (nor waiting to) for nothing
                process.kill()
        raise
    finally:
        for process, _ready in workers:
            if process.pid is None:  # never started
                continue
            process.join(30)
            if process.is_alive():
                process.kill()
                process.join()
    return started_at, made, cpu, noticing, finished


def _ours(
    engine: Engine,
    url: str,
    mission: Mission,
    receivers: Receivers,
    n: int,
    options: Options,
    notices_: str = "inline",
    deciders: int = 1,
) -> dict[str, Any]:
    """``deciders`` processes deciding at once (:func:`_decide_apart`; one: decisions one
    after another, in a process of its own as an API worker's, never beside the receivers in
    this one), their CPU counted in the deciding part."""
    heads = _staff(engine, mission)
    made: list[str] = []
    with _Dispatching(url, options, mission, receivers.base) as dispatching:
        cpu, receiving = time.process_time(), receivers.cpu()
        started, made, deciding, noticing, finished = _decide_apart(
            url, mission, receivers.base, heads, n, deciders, notices_
        )
        decided = finished - started
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            with engine.connect() as db:
                left = db.execute(
                    select(func.count())
                    .select_from(deliveries)
                    .where(deliveries.c.status == "pending")
                ).scalar_one()
                left += effects_waiting(db)  # notices the dispatcher has still to write
            if not left:
                break
            time.sleep(0.05)
        here = time.process_time() - cpu
    parts = {"deciding": deciding, "receivers": receivers.cpu() - receiving}
    ids = _notices_of(engine, made)
    # the deciders' processes' CPU is not this process's: added to the whole
    cpu_all = here + deciding + dispatching.cpu
    figures = _figures(engine, receivers, started, ids, cpu_all, parts)
    return {
        **figures,
        # the last delivery's wait once the last decision was made: the bad receiver's own
        # answer time (slow) or its longest run of failures' back-off (flaky), and any backlog
        "after_deciding_s": round(figures["seconds"] - decided, 3),
        # the most requests one notice took at the bad receiver (its failures in a row, + 1)
        "bad_receiver_most_requests": max(receivers.asked.values(), default=0),
        "decided": len(made),
        **_checked(engine, made),
        "delivered_twice": receivers.twice,
        "deciders": max(1, min(deciders, n)),
        "decisions_s": round(decided, 3),
        "decision_cpu_ms": round(deciding * 1000 / n, 2),
        "decision_notices_cpu_ms": round(noticing * 1000 / n, 2),
    }


def _drain(
    engine: Engine, url: str, mission: Mission, receivers: Receivers, n: int, options: Options
) -> dict[str, Any]:
    """The dispatcher alone: ``n`` decisions leave their effects first, then one dispatcher
    writes their notices and sends everything (every receiver answering at once); rate and
    CPU from its start to the last delivery. Latency would be the time the decisions waited
    for it: not reported (None)."""
    heads = _staff(engine, mission)
    made: list[str] = []
    deciding, decided = time.thread_time(), time.time()
    for _i in range(n):
        made.append(_decide(engine, mission, heads, "none")[0])
    deciding, decided = time.thread_time() - deciding, time.time() - decided
    receiving = receivers.cpu()
    with _Dispatching(url, options, mission, receivers.base, drain=True) as dispatching:
        pass  # until every effect has its notices and the outbox is empty
    parts = {"receivers": receivers.cpu() - receiving}
    ids = _notices_of(engine, made)
    figures = _figures(
        engine, receivers, dispatching.began, ids, dispatching.cpu + parts["receivers"], parts
    )
    return {
        **{k: None if "latency" in k or "skew" in k else v for k, v in figures.items()},
        "decisions_s": round(decided, 3),
        "decision_cpu_ms": round(deciding * 1000 / n, 2),
    }


def _naive(
    engine: Engine, mission: Mission, receivers: Receivers, n: int, senders: int = 1
) -> dict[str, Any]:
    """Each decision's notices written in its transaction and posted inline, one after the
    other, before it returns; ``senders`` threads at once (as many as our side has deciders:
    a naive center's API workers each post inline), each its share of the ``n`` decisions."""
    signer = Ed25519Signer.generate("bench/center")
    heads = _staff(engine, mission)
    started = time.time()
    cpu = time.process_time()

    def send(count: int) -> list[str]:
        ids: list[str] = []
        with httpx.Client(timeout=30.0, follow_redirects=False) as client:
            for _i in range(count):
                made = _decide(engine, mission, heads, "inline")[1]
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
        return ids

    with ThreadPoolExecutor(senders) as pool:
        ids = [i for part in pool.map(send, _shares(n, senders)) for i in part]
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
    notices: str = "inline",
    deciders: int | None = None,
) -> dict[str, Any]:
    """Both scenarios (a slow receiver, a failing one), ours and the baseline in each, then
    the dispatcher alone; ``notices``: how our deciding side writes the notices (``after`` or
    ``inline``, :func:`_decide`); ``deciders``: how many processes decide at once on our side
    (None: :func:`default_deciders`)."""
    if deciders is None:
        deciders = default_deciders(db)
    # the slow receiver's queue: 500 deliveries/s over the run is its 1,000 notices sent
    # within the run's first 4 s (the last answered 2 s later), most of them after its
    # first round trip showed it answers: up to ~1,000 in flight, so its window may open to
    # 1,024 (the dispatcher's default ceiling, 256, suits a center's rate of decisions, not
    # this flood)
    options = options or Options(
        per_queue=64, base=0.05, cap=1.0, attempts=20, widen={"http": 1024}
    )
    scenarios: dict[str, Any] = {}
    load_before = os.getloadavg()
    for scenario, delay in (("slow", slow), ("flaky", 0.0)):
        work = Path(tempfile.mkdtemp(prefix="ceasefire-bench-notify-", dir=directory))
        url = db or str(work / "bench.db")
        engine = open_database(url)
        try:
            with Receivers("PK", delay) as receivers:
                lines = _mission_with(mission, receivers.base)
                say(f"{scenario}: {n} decisions through the outbox and the dispatcher")
                ours = _ours(engine, url, lines, receivers, n, options, notices, deciders)
                say(f"{scenario}: {baseline_n} decisions posted inline (baseline)")
                naive = _naive(engine, lines, receivers, baseline_n, deciders)
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
            lines = _mission_with(mission, receivers.base)
            scenarios["dispatcher"] = {"ours": _drain(engine, url, lines, receivers, n, options)}
    finally:
        engine.dispose()
        shutil.rmtree(work, ignore_errors=True)
    slow_ours = scenarios["slow"]["ours"]
    slow_naive = scenarios["slow"]["baseline"]
    return {
        "name": "notify",
        "decisions": n,
        "deciders": deciders,
        "notices": notices,
        "rate": slow_ours["rate"],
        "baseline": "a naive sender posting each notice inline in the decision's request, "
        f"{deciders} at once",
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
            "widen": dict(options.widen),
        },
        "load_average": {"before": load_before, "after": os.getloadavg()},
        "cpu_ms_per_delivery": slow_ours["cpu_ms_per_delivery"],
        "database": "sqlite" if db is None else db.split(":", 1)[0],
        "scenarios": scenarios,
        "peak_rss_mb": _peak_rss_mb(),
    }
