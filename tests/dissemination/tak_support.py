"""A real TAK server (taky, from PyPI) in its own process, and real TAK clients (pytak).

taky is started as its users start it: ``taky -c taky.conf``, a config file naming the address,
port and (for TLS) the certificates. Only the process started here is stopped, by its pid.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from configparser import ConfigParser
from contextlib import contextmanager
from pathlib import Path

import pytest

with warnings.catch_warnings():
    # pytak warns at import that its optional aiohttp (for TAK Server enrolment) is missing
    warnings.simplefilter("ignore")
    import pytak

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.5):
            return True
    except OSError:
        return False


@contextmanager
def taky(folder: Path, *, ssl: dict[str, str] | None = None) -> Iterator[int]:
    """taky listening on 127.0.0.1 (TCP, or TLS with ``ssl``'s settings); its port."""
    pytest.importorskip("taky")
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = ConfigParser()
    config["taky"] = {"hostname": "taky.test", "bind_ip": HOST, "root_dir": str(folder)}
    config["cot_server"] = {"port": str(port)}
    config["ssl"] = {"enabled": "true" if ssl else "false", **(ssl or {})}
    path = folder / "taky.conf"
    with path.open("w") as f:
        config.write(f)
    log = folder / "taky.log"
    with log.open("wb") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "taky.cot", "-c", str(path), "-l", "info"],
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    try:
        deadline = time.monotonic() + 30
        while not _accepts(port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"taky did not start: {log.read_text(errors='replace')}")
            time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


class Client:
    """A TAK client: pytak's connection and its receiving worker (RXWorker)."""

    def __init__(self, url: str, **settings: str) -> None:
        self.config = ConfigParser()
        self.config["client"] = {"COT_URL": url, **settings}
        self.queue: asyncio.Queue[bytes] = asyncio.Queue()

    async def __aenter__(self) -> Client:
        self.reader, self.writer = await pytak.protocol_factory(self.config["client"])
        self.worker = pytak.RXWorker(self.queue, self.config["client"], self.reader)
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self.writer.close()
        await self.writer.wait_closed()

    async def receive(self, timeout: float = 20.0) -> bytes:
        """The next event the server sent this client."""

        async def next_event() -> bytes:
            while self.queue.empty():
                await self.worker.run_once()
            return self.queue.get_nowait()

        return await asyncio.wait_for(next_event(), timeout)
