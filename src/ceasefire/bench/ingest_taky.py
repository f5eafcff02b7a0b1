"""The CoT peer of `bench ingest`: taky, the TAK server from PyPI, storing the same events.

taky is run as its users run it: ``taky -c taky.conf`` (its own server process), with its
persistence in Redis (``redis = redis://...`` under ``[taky]``, the setting taky offers to keep
what it tracks beyond its process), and Redis a server of its own, started here for the run in
a temporary folder with Redis's default persistence (snapshots now and then, no append-only
file). The events are the very bytes sent to the center, over one TCP connection; taky has
stored an event when its key is in Redis (``taky:<hostname>:persist:<uid>``, one per uid, with
the event's XML), and the time counts until all are there.

What taky does per event is less than the center does: it parses the XML and writes it to
Redis, which keeps it in memory and on disk only at its next snapshot; the center validates the
record, enriches it, logs it in the Merkle ledger and commits with ``synchronous=FULL``. So the
ratio is on the peer's side of fair.
"""

from __future__ import annotations

import configparser
import importlib.metadata
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HOSTNAME = "bench.taky"


def version() -> str:
    return importlib.metadata.version("taky")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def stop(process: subprocess.Popen[bytes]) -> None:
    """Ask a server process to end (SIGTERM), and kill it if it has not within 30 s."""
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(30)


def _started(process: subprocess.Popen[bytes], port: int, log: Path, what: str) -> None:
    deadline = time.monotonic() + 60
    while not _accepts(port):
        if process.poll() is not None or time.monotonic() > deadline:
            said = log.read_text(errors="replace").strip().splitlines()[-5:]
            raise RuntimeError(f"{what} did not start: {' / '.join(said)}")
        time.sleep(0.1)


def run(events: bytes, n: int, folder: Path) -> dict[str, Any]:
    """Send ``events`` (``n`` CoT events, distinct uids) to taky; seconds until all stored."""
    import redis  # taky's own dependency: the client it stores with

    server = shutil.which("redis-server")
    if server is None:
        raise RuntimeError("redis-server is not installed (Debian's package redis-server)")
    folder.mkdir(parents=True, exist_ok=True)
    redis_port, cot_port = _free_port(), _free_port()
    redis_log, taky_log = folder / "redis.log", folder / "taky.log"
    with redis_log.open("wb") as err:
        store = subprocess.Popen(
            [server, "--port", str(redis_port), "--bind", "127.0.0.1", "--dir", str(folder)],
            stdout=err,
            stderr=subprocess.STDOUT,
        )
    try:
        _started(store, redis_port, redis_log, "redis-server")
        config = configparser.ConfigParser()
        config["taky"] = {
            "hostname": HOSTNAME,
            "bind_ip": "127.0.0.1",
            "root_dir": str(folder),
            "redis": f"redis://127.0.0.1:{redis_port}/0",
        }
        config["cot_server"] = {"port": str(cot_port)}
        config["ssl"] = {"enabled": "false"}
        path = folder / "taky.conf"
        with path.open("w") as f:
            config.write(f)
        with taky_log.open("wb") as err:
            taky = subprocess.Popen(
                [sys.executable, "-m", "taky.cot", "-c", str(path), "-l", "warning"],
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
        try:
            _started(taky, cot_port, taky_log, "taky")
            client = redis.Redis(host="127.0.0.1", port=redis_port)
            try:
                start = time.perf_counter()
                with socket.create_connection(("127.0.0.1", cot_port)) as conn:
                    conn.sendall(events)
                    while client.dbsize() < n:
                        if taky.poll() is not None:
                            raise RuntimeError("taky exited while storing the events")
                        if time.perf_counter() - start > 1800:
                            raise RuntimeError("taky did not store the events within 30 minutes")
                        time.sleep(0.05)
                    seconds = time.perf_counter() - start
                stored = client.dbsize()
            finally:
                client.close()
            rss = _peak_rss_mb(taky.pid)
        finally:
            stop(taky)
    finally:
        stop(store)
    return {"seconds": seconds, "stored": stored, "peak_rss_mb": rss, "version": version()}
