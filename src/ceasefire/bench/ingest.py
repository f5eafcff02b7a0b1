"""`bench ingest`: the center's intake, end to end, against the straightforward service.

Both run as real servers on 127.0.0.1, each in its own process, and get the same records
(realistic observations over the demo mission's area and a month, both contingents) in
batches, each contingent's over a kept-alive HTTP connection of its own, the two at once (as
two HQs send), in several rounds with new ids each time; each one's best round counts:
- ours: `ceasefire serve` on a fresh SQLite database: validation, enrichment at each
  observation's time, rules, the ledger, commit; its correlation follower works beside it,
  and how long it still needed once the last record was stored is reported too;
- the peer: a plain FastAPI + Pydantic endpoint that validates (one ``TypeAdapter`` over the
  batch's JSON bytes) and inserts with executemany, as durably as ours
  (`ceasefire.bench.ingest_baseline`).
Then the same kind of records as CoT events over one TCP connection to a fresh center (no
backlog of the HTTP rounds for its follower), until all
are stored, and the very same events to the CoT peer, taky (the TAK server from PyPI) storing
them in Redis (`ceasefire.bench.ingest_taky`); each a fresh server every round, the two
taking turns, each one's best round counting. The servers' peak resident memory comes from
/proc.

Last, the floor: what any intake of this record at this durability must do at the least,
timed in this process on the same records: Pydantic validation of each record with its own
checks, then the insert of its row and its log entry, committed per batch with
``synchronous=FULL``; no HTTP, JSON parsing, canonical text, enrichment, rules or
idempotency; the best of as many rounds as the servers get. Our rate can only come near it,
never pass it.
"""

from __future__ import annotations

import os
import random
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson

from ceasefire.bench import ingest_taky
from ceasefire.center import Center, Settings
from ceasefire.intake.cot import event_to_xml, observation_to_event
from ceasefire.mission import load_mission
from ceasefire.observations import Observation
from ceasefire.workflow.roles import add_user, issue_token

CATEGORIES = (
    ("explosion", {"explosion": "impact", "weapon": "mortar"}),
    ("small_arms_fire", {"fire": "bursts"}),
    ("movement_vehicle", {"vehicle": "truck", "military": True}),
    ("fortification", {"work": "trench"}),
)
PLATFORMS = {"RU": ("orlan-10-07", "orlan-10"), "TR": ("tb2-03", "bayraktar-tb2")}


def records(n: int, seed: int, prefix: str = "B") -> list[dict[str, Any]]:
    """A month of observations in the order they are made, as a live feed sends them."""
    rng = random.Random(seed)
    start = datetime(2021, 2, 1, tzinfo=UTC)
    times = sorted(rng.randrange(30 * 86400) for _ in range(n))
    out = []
    for i in range(n):
        contingent = "RU" if i % 2 == 0 else "TR"
        index = rng.randrange(len(CATEGORIES))
        when = start + timedelta(seconds=times[i])
        out.append(drone_record(rng, f"{contingent}-{prefix}{i:07d}", contingent, index, when))
    return out


def drone_record(
    rng: random.Random, record_id: str, contingent: str, category: int, when: datetime
) -> dict[str, Any]:
    """One drone's observation of ``CATEGORIES[category]`` at ``when``, somewhere in the area
    (its place and CE drawn from ``rng``)."""
    name, qualifiers = CATEGORIES[category]
    platform_id, platform_type = PLATFORMS[contingent]
    return {
        "id": record_id,
        "contingent": contingent,
        "platform": {"id": platform_id, "type": platform_type},
        "observed_at": when.isoformat().replace("+00:00", "Z"),
        "location": {
            "lat": round(39.6 + rng.random() * 0.6, 6),
            "lon": round(46.5 + rng.random() * 0.7, 6),
            "ce_m": rng.choice([25, 50, 100, 200]),
        },
        "category": name,
        "qualifiers": qualifiers,
        "count": 1,
        "sensed_by": "drone-eo",
    }


COT_CONTINGENT = "RU"
"""The contingent whose ground station sends the CoT part of the bench."""


def cot_events(n: int, seed: int) -> bytes:
    """``n`` observations as CoT events, stale a day from now: the center reads the stale
    time for display only, and a TAK server keeps an event only until it is stale."""
    stale = datetime.now(UTC) + timedelta(days=1)
    # One contingent's: the center's plain listener is bound to it (an unbound one refuses
    # every event in a contingent's name), as a contingent's ground station would send.
    ours = [r for r in records(2 * n, seed, "C") if r["contingent"] == COT_CONTINGENT][:n]
    return b"".join(
        event_to_xml(replace(observation_to_event(Observation.model_validate(r)), stale=stale))
        for r in ours
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _start(
    command: list[str], log: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """A server in its own process, what it says on stderr kept in ``log``."""
    with log.open("wb") as err:  # the child holds its own copy
        return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=err)


def _wait(url: str, process: subprocess.Popen[bytes], log: Path, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            said = log.read_text(errors="replace").strip().splitlines()[-5:]
            raise RuntimeError(f"the server exited with {process.returncode}: {' / '.join(said)}")
        try:
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the server at {url} did not start")


def _post_all(
    url: str, data: list[dict[str, Any]], batch: int, tokens: dict[str, str] | None = None
) -> float:
    """Post in batches, each contingent's over a connection of its own, the contingents at
    once; with tokens, each contingent's records under its own analyst's token (the center
    refuses a record of the other contingent). Seconds until every batch is answered.

    So a contingent's HQ sends: its own batches in order over one kept-alive connection,
    beside the other contingent's (one connection for both, taking turns, left the server
    idle while each answer travelled and the next request was read). The bodies are encoded
    before the clock starts: the time is the server's, not the client's JSON encoder's (the
    same for both servers)."""
    by_contingent: dict[str, list[dict[str, Any]]] = {}
    for record in data:
        by_contingent.setdefault(record["contingent"], []).append(record)
    bodies = {
        contingent: [orjson.dumps(part[i : i + batch]) for i in range(0, len(part), batch)]
        for contingent, part in by_contingent.items()
    }
    clients = {contingent: httpx.Client(timeout=600.0) for contingent in bodies}
    start = threading.Barrier(len(bodies) + 1)
    failed: list[BaseException] = []

    def send(contingent: str) -> None:
        headers = {"content-type": "application/json"}
        if tokens:
            headers["Authorization"] = f"Bearer {tokens[contingent]}"
        client = clients[contingent]
        start.wait()
        try:
            for body in bodies[contingent]:
                client.post(url, content=body, headers=headers).raise_for_status()
        except BaseException as error:  # reported by the caller
            failed.append(error)

    senders = [threading.Thread(target=send, args=(c,), name=f"bench-{c}") for c in bodies]
    try:
        for sender in senders:
            sender.start()
        start.wait()
        began = time.perf_counter()
        for sender in senders:
            sender.join()
        seconds = time.perf_counter() - began
    finally:
        for client in clients.values():
            client.close()
    if failed:
        raise failed[0]
    return seconds


def _analysts(db_url: str) -> dict[str, str]:
    """An analyst and an API token per contingent in the server's database."""
    tokens = {}
    with Center(Settings(db=db_url)) as center, center.engine.begin() as db:
        for contingent in center.mission.contingent_ids():
            name = f"bench-{contingent.lower()}"
            add_user(db, center.mission, name, "analyst", contingent)
            tokens[contingent] = issue_token(db, name, "bench")
    return tokens


def _columns(db: sqlite3.Connection, table: str, skip: str = "") -> str:
    return ", ".join(f'"{r[1]}"' for r in db.execute(f"PRAGMA table_info({table})") if r[1] != skip)


def _floor(data: list[dict[str, Any]], batch: int, tmp: str, rounds: int = 1) -> float:
    """Records/s of validation and the durable write alone (see the module's docstring), the
    best of ``rounds``, each into an empty database of its own, as the servers' best round
    counts (one round alone is at the mercy of the disk's and the machine's other work).

    The rows are the real intake's, made beforehand in another database and read back."""
    mission = load_mission()
    floors = ["floor"] + [f"floor{r}" for r in range(1, rounds)]
    for name in ("rows", *floors):  # the floors' databases: the same schema, left empty
        with Center(Settings(db=f"sqlite:///{tmp}/{name}.db"), mission=mission) as center:
            center.version  # noqa: B018 (stored in both, so the schemas' rows match)
            if name == "rows":
                intake = center.intake(correlate="off")
                intake.feed((Observation.model_validate(r) for r in data), "api 127.0.0.1")
    with sqlite3.connect(f"{tmp}/rows.db") as made:
        observation_columns = _columns(made, "observations", skip="id")
        ledger_columns = _columns(made, "ledger")
        rows = made.execute(f"SELECT {observation_columns} FROM observations ORDER BY id")
        observation_rows = rows.fetchall()
        entries = made.execute(
            f"SELECT {ledger_columns} FROM ledger WHERE kind = 'observation' ORDER BY \"index\""
        ).fetchall()
    return max(
        _floor_round(
            f"{tmp}/{name}.db",
            data,
            batch,
            entries,
            ledger_columns,
            observation_rows,
            observation_columns,
        )
        for name in floors
    )


def _floor_round(
    path: str,
    data: list[dict[str, Any]],
    batch: int,
    entries: list[Any],
    ledger_columns: str,
    observation_rows: list[Any],
    observation_columns: str,
) -> float:
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")  # as ceasefire.store.db sets it

        def insert(table: str, columns: str, values: list[Any]) -> None:
            marks = ", ".join("?" * len(values[0]))
            db.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", values)

        start = time.perf_counter()
        for i in range(0, len(data), batch):
            for record in data[i : i + batch]:
                Observation.model_validate(record)
            db.execute("BEGIN")
            insert("ledger", ledger_columns, entries[i : i + batch])
            insert("observations", observation_columns, observation_rows[i : i + batch])
            db.execute("COMMIT")
        return len(data) / (time.perf_counter() - start)
    finally:
        db.close()


def _best(
    url: str, n: int, seed: int, batch: int, rounds: int, tokens: dict[str, str] | None = None
) -> float:
    """The shortest time of ``rounds`` postings of ``n`` records, new ids each round: a run
    of a fraction of a second is at the mercy of whatever else the machine does meanwhile."""
    return min(
        _post_all(url, records(n, seed, f"B{round_}"), batch, tokens) for round_ in range(rounds)
    )


def _serve(db: str, port: int, cot_port: int, log: Path) -> subprocess.Popen[bytes]:
    """`ceasefire serve` on ``db`` in its own process."""
    command = [sys.executable, "-m", "ceasefire.cli", "serve", "--db", db]
    command += ["--port", str(port), "--cot-tcp-port", str(cot_port), "--cot-udp-port", "0"]
    command += ["--cot-tcp-contingent", COT_CONTINGENT]
    return _start(command, log)


def _cot(events: bytes, n: int, tmp: str) -> tuple[float, float]:
    """Seconds until a fresh center has stored ``n`` CoT events sent over one TCP connection,
    and its peak RSS. Fresh, as taky is: no backlog of the HTTP rounds for its follower."""
    port, cot_port = _free_port(), _free_port()
    log = Path(tmp, "cot.log")
    ours = _serve(f"{tmp}/cot.db", port, cot_port, log)
    try:
        base = f"http://127.0.0.1:{port}/api/v1"
        _wait(f"{base}/health", ours, log)
        # Stored means committed in its database, read from this process as taky's count is
        # read from its Redis: asking the server's /health 20 times a second cost it about
        # 7 ms of its CPU each time at 20,000 records (an eighth of its time).
        store = sqlite3.connect(f"file:{tmp}/cot.db?mode=ro", uri=True)
        try:
            start = time.perf_counter()
            with socket.create_connection(("127.0.0.1", cot_port)) as conn:
                conn.sendall(events)
            while store.execute("SELECT count(*) FROM observations").fetchone()[0] < n:
                if time.perf_counter() - start > 1800:
                    raise RuntimeError("CoT events were not all stored within 30 minutes")
                time.sleep(0.05)
            return time.perf_counter() - start, _peak_rss_mb(ours.pid)
        finally:
            store.close()
    finally:
        # Its follower may still be correlating what was just stored: no need to wait for it.
        ingest_taky.stop(ours)


def run(n: int, batch: int, seed: int, rounds: int = 3) -> dict[str, Any]:
    data = records(n, seed, "B0")
    with tempfile.TemporaryDirectory(prefix="ceasefire-bench-") as tmp:
        port, cot_port = _free_port(), _free_port()
        ours_log, peer_log = Path(tmp, "ours.log"), Path(tmp, "peer.log")
        tokens = _analysts(f"{tmp}/ours.db")
        ours = _serve(f"{tmp}/ours.db", port, cot_port, ours_log)
        try:
            base = f"http://127.0.0.1:{port}/api/v1"
            _wait(f"{base}/health", ours, ours_log)
            seconds = _best(f"{base}/observations", n, seed, batch, rounds, tokens)
            # The follower correlates beside the intake; how far behind it was at the end.
            stored = time.perf_counter()
            while httpx.get(f"{base}/health", timeout=30).json()["counts"]["not_yet_correlated"]:
                if time.perf_counter() - stored > 1800:
                    raise RuntimeError("correlation did not catch up within 30 minutes")
                time.sleep(0.05)
            correlation_lag = time.perf_counter() - stored
            rss = _peak_rss_mb(ours.pid)
        finally:
            ours.terminate()
            ours.wait(30)
        # CoT over TCP: other ids, the same kind of records, to a fresh center, until all are
        # stored; then the very same events to the CoT peer, taky (ceasefire.bench.ingest_taky).
        # Each its best of the rounds, the two taking turns: one round alone moved the ratio
        # from 2x to 5x with the machine's other work (taky 2,100 to 3,300 events/s).
        events = cot_events(n, seed)
        cot_rounds, taky_rounds = [], []
        for round_ in range(rounds):
            folder = Path(tmp, f"cot{round_}")
            folder.mkdir()
            cot_rounds.append(_cot(events, n, str(folder)))
            taky_rounds.append(ingest_taky.run(events, n, folder / "taky"))
        cot_seconds, cot_rss = min(cot_rounds)
        taky = min(taky_rounds, key=lambda r: float(r["seconds"]))

        bport = _free_port()
        env = dict(os.environ, CEASEFIRE_BASELINE_DB=f"{tmp}/baseline.db")
        peer = _start(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "ceasefire.bench.ingest_baseline:app",
                "--port",
                str(bport),
                "--log-level",
                "warning",
            ],
            peer_log,
            env,
        )
        try:
            _wait(f"http://127.0.0.1:{bport}/docs", peer, peer_log)
            baseline_seconds = _best(
                f"http://127.0.0.1:{bport}/observations", n, seed, batch, rounds
            )
            baseline_rss = _peak_rss_mb(peer.pid)
        finally:
            peer.terminate()
            peer.wait(30)
        floor_rate = _floor(data, batch, tmp, rounds)
    rate = n / seconds
    baseline_rate = n / baseline_seconds
    return {
        "name": "ingest",
        "records": n,
        "batch": batch,
        "rounds": rounds,
        "rate": rate,
        "seconds": seconds,
        "baseline": "plain FastAPI + Pydantic endpoint (the batch validated from its JSON bytes "
        "by one TypeAdapter), executemany into SQLite (WAL, synchronous=FULL)",
        "baseline_rate": baseline_rate,
        "baseline_seconds": baseline_seconds,
        "ratio": rate / baseline_rate,
        "floor": "Pydantic validation of the record, then its row and log entry inserted and "
        "committed (synchronous=FULL), in process",
        "floor_rate": floor_rate,
        "cot_tcp_rate": n / cot_seconds,
        "cot_tcp_baseline": f"taky {taky['version']} (TAK server), its persistence in Redis",
        "cot_tcp_baseline_rate": n / taky["seconds"],
        "cot_tcp_ratio": taky["seconds"] / cot_seconds,
        "cot_tcp_peak_rss_mb": cot_rss,
        "cot_tcp_baseline_peak_rss_mb": taky["peak_rss_mb"],
        "correlation_lag_s": correlation_lag,
        "peak_rss_mb": rss,
        "baseline_peak_rss_mb": baseline_rss,
    }
