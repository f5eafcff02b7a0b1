"""Kill `ceasefire serve` with SIGKILL again and again while both contingents post observations
to it, then check that nothing acknowledged was lost or stored twice (issue 19's kill cycles).

Each cycle starts `ceasefire serve` on the same SQLite file, waits for its health, lets two
senders (RU and TR duty officers, one thread each) post batches of 100 records for a random
0.5-3 s, then SIGKILLs the server (its process alone, as a crash would: the correlation
follower must go with it by itself). A sender re-sends a batch until it is answered (a batch
answered is acknowledged: each record accepted or a duplicate), as a node or a careful client
does. After the last cycle a clean server catches up, then:

- lost: acknowledged records not in the store (must be 0);
- doubled: records stored more than once, or logged more than once (must be 0);
- unlogged: stored records without their ledger entry (must be 0);
- `ceasefire verify` on the store (must pass);
- uncorrelated: stored records the follower has not yet put into incidents (0 after catch-up).

    .venv/bin/python tools/kill_cycles.py --cycles 50            # the documented size
    .venv/bin/python tools/kill_cycles.py --cycles 5 --keep var/kill   # a quick look

It prints one JSON object with the figures and exits 1 if any check failed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from ceasefire.bench.reports import many_observations
from ceasefire.ledger.tables import ledger
from ceasefire.mission import load_mission
from ceasefire.store import open_database
from ceasefire.store.schema import observations
from ceasefire.workflow.roles import add_user, issue_token

BATCH = 100
CLI = [sys.executable, "-m", "ceasefire"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Sender(threading.Thread):
    """Posts one contingent's records in batches; a batch is re-sent until it is answered."""

    def __init__(self, contingent: str, token: str, records: list[dict[str, Any]]) -> None:
        super().__init__(daemon=True)
        self.contingent = contingent
        self.token = token
        self.records = records
        self.next = 0  # the first record of the batch being sent
        self.acknowledged: set[str] = set()
        self.retries = 0
        self.url = ""
        self.running = threading.Event()
        self.stopped = False

    def run(self) -> None:
        with httpx.Client(timeout=10.0) as client:
            while not self.stopped and self.next < len(self.records):
                if not self.running.wait(0.1):
                    continue
                batch = self.records[self.next : self.next + BATCH]
                try:
                    answer = client.post(
                        f"{self.url}/api/v1/observations",
                        json=batch,
                        headers={"Authorization": f"Bearer {self.token}"},
                    )
                except httpx.HTTPError:
                    self.retries += 1
                    time.sleep(0.05)
                    continue
                if answer.status_code != 200:
                    self.retries += 1
                    time.sleep(0.05)
                    continue
                for outcome in answer.json()["results"]:
                    if outcome["status"] in ("accepted", "duplicate"):
                        self.acknowledged.add(outcome["id"])
                    else:
                        raise SystemExit(f"refused: {outcome}")
                self.next += len(batch)


def serve(db: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    command = [
        *CLI,
        "serve",
        "--db",
        db,
        "--port",
        str(port),
        "--cot-tcp-port",
        str(free_port()),
        "--cot-udp-port",
        str(free_port()),
    ]
    with log.open("ab") as out:
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)


def healthy(url: str, process: subprocess.Popen[bytes], within: float = 120.0) -> dict[str, Any]:
    end = time.monotonic() + within
    while time.monotonic() < end:
        if process.poll() is not None:
            raise SystemExit(f"ceasefire serve exited with {process.returncode}")
        try:
            answer = httpx.get(f"{url}/api/v1/health", timeout=2.0)
            if answer.status_code == 200:
                health: dict[str, Any] = answer.json()
                return health
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit("ceasefire serve did not answer its health in time")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cycles", type=int, default=50)
    parser.add_argument("--records", type=int, default=400_000, help="at most, both senders")
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument("--keep", type=Path, help="a folder to keep the store and the log in")
    options = parser.parse_args()
    rng = random.Random(options.seed)
    folder = options.keep or Path(tempfile.mkdtemp(prefix="kill-cycles-"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "center.db"
    path.unlink(missing_ok=True)
    db = f"sqlite:///{path}"
    log = folder / "serve.log"
    # the center's and the contingents' keys in the folder: checkpoints are made and verified
    os.environ["CEASEFIRE_KEYS"] = str(folder / "keys")
    subprocess.run([*CLI, "keys", "init"], check=True, capture_output=True)
    mission = load_mission("karabakh-2020")
    engine = open_database(db)
    tokens = {}
    with engine.begin() as connection:
        for contingent in ("RU", "TR"):
            name = f"{contingent.lower()}-kill-officer"
            add_user(connection, mission, name, "duty_officer", contingent)
            tokens[contingent] = issue_token(connection, name, "kill cycles")
    records = list(many_observations(options.records, seed=options.seed))
    senders = [
        Sender(c, tokens[c], [r for r in records if r["contingent"] == c]) for c in ("RU", "TR")
    ]
    for sender in senders:
        sender.start()
    killed = 0
    started = time.monotonic()
    for _cycle in range(options.cycles):
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        process = serve(db, port, log)
        healthy(url, process)
        for sender in senders:
            sender.url = url
            sender.running.set()
        time.sleep(rng.uniform(0.5, 3.0))
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        killed += 1
        for sender in senders:
            sender.running.clear()
        done = sum(len(s.acknowledged) for s in senders)
        print(f"cycle {killed}: {done} acknowledged", file=sys.stderr, flush=True)
    # a clean server: the senders finish the batch they were on, the follower catches up
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = serve(db, port, log)
    healthy(url, process)
    for sender in senders:
        sender.url = url
        sender.running.set()
    time.sleep(3.0)
    for sender in senders:
        sender.stopped = True
    for sender in senders:
        sender.join(60)
    backlog = -1
    for _ in range(600):
        backlog = int(healthy(url, process)["counts"]["not_yet_correlated"])
        if backlog == 0:
            break
        time.sleep(1.0)
    process.send_signal(signal.SIGTERM)
    process.wait(60)
    acknowledged = {(s.contingent, i) for s in senders for i in s.acknowledged}
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(
                observations.c.contingent, observations.c.source_id, sa.func.count()
            ).group_by(observations.c.contingent, observations.c.source_id)
        ).all()
        entries = connection.execute(
            sa.select(ledger.c.ref, sa.func.count())
            .where(ledger.c.kind == "observation")
            .group_by(ledger.c.ref)
        ).all()
    engine.dispose()
    stored = {(c, i) for c, i, _n in rows}
    logged = {ref for ref, _n in entries}
    verified = subprocess.run([*CLI, "verify", "--db", db], capture_output=True, text=True)
    figures = {
        "cycles": killed,
        "seconds": round(time.monotonic() - started, 1),
        "acknowledged": len(acknowledged),
        "stored": len(stored),
        "stored_not_acknowledged": len(stored - acknowledged),
        "lost": len(acknowledged - stored),
        "doubled": sum(1 for *_k, n in rows if n > 1) + sum(1 for _r, n in entries if n > 1),
        "unlogged": sum(1 for c, i in stored if f"{c}/{i}" not in logged),
        "resent_batches": sum(s.retries for s in senders),
        "uncorrelated_after_catch_up": backlog,
        "verify_exit": verified.returncode,
        "folder": str(folder),
    }
    print(json.dumps(figures))
    bad = figures["lost"] or figures["doubled"] or figures["unlogged"] or verified.returncode
    if verified.returncode:
        print(verified.stdout[-2000:], verified.stderr[-2000:], file=sys.stderr)
    return 1 if bad or backlog else 0


if __name__ == "__main__":
    raise SystemExit(main())
