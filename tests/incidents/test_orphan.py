"""Followers die with their center, and a stale lease is recognised (issue 19, finding 5)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from ceasefire.incidents.follow import alive
from ceasefire.incidents.tables import correlation_cursor
from ceasefire.store import open_database


def _children(parent: int) -> list[int]:
    """The processes whose parent is ``parent`` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_bytes()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(stat.rsplit(b")", 1)[1].split()[1]) == parent and b"resource_tracker" not in cmdline:
            found.append(int(entry.name))
    return found


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()[0]
    except OSError:
        return False
    return state != b"Z"


def _wait(check: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(0.02)
    return None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_center_killed_while_starting_leaves_no_follower(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    db = str(tmp_path / "center.db")
    open_database(db).dispose()  # migrated first: the kill should come during start-up
    command = [sys.executable, "-c", "from ceasefire.cli import main; main()", "serve"]
    command += ["--db", db, "--port", str(port), "--cot-tcp-port", "0", "--cot-udp-port", "0"]
    serve = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    follower = None
    try:
        # The moment the follower process exists, before it has loaded anything: the center
        # dies (SIGKILL: no clean-up of its own).
        children = _wait(lambda: _children(serve.pid), 60)
        assert children, "serve started no follower"
        os.kill(serve.pid, signal.SIGKILL)
        serve.wait(10)
        [follower] = children
        assert _wait(lambda: not _running(follower), 30), "the follower outlived its center"
    finally:
        if serve.poll() is None:
            serve.kill()
        if follower is not None and _running(follower):
            os.kill(follower, signal.SIGKILL)


def test_a_lease_whose_center_is_gone_is_not_alive(tmp_path: Path) -> None:
    from ceasefire import lease

    engine = open_database(str(tmp_path / "center.db"))
    now = datetime.now(UTC)
    host = socket.gethostname()
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    cases = {
        lease.holder(os.getppid()): True,  # this process, its parent alive
        f"{host} {os.getpid()} {gone.pid} -": False,  # the center died
        f"{host} {gone.pid} {os.getpid()} -": False,  # the follower died without clearing
        f"{host} {os.getpid()} {os.getppid()} 1": False,  # the parent's pid was reused
        f"elsewhere {gone.pid} {gone.pid} -": True,  # another host's: its heartbeat decides
        None: True,  # an older follower that gave no lease
    }
    try:
        for holder, expected in cases.items():
            with engine.begin() as db:
                db.execute(update(correlation_cursor).values(alive_at=now, holder=holder))
            with engine.connect() as db:
                assert alive(db, now) is expected, holder
    finally:
        engine.dispose()
