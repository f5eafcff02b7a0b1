"""Helper processes that die with their parent, and leases that name it.

A helper process (the correlation follower, a dispatcher) must never outlive the center that
started it: an orphan would go on writing and heartbeating, and the commands that wait for
the center to stop would refuse forever. Two means, both used:

- :func:`die_with_parent`, first thing in the child: on Linux ``prctl(PR_SET_PDEATHSIG)``
  makes the kernel send SIGTERM when the parent dies, and a parent already gone before that
  call (the child reads the parent's pid that the parent passed, not ``getppid()`` after a
  slow start-up, which would be 1 by then) ends the child at once.
- :func:`holder` / :func:`holder_gone`, a lease: the sign of life a helper writes carries
  the host, its pid and its parent's pid and start time, so another command on the same host
  tells a live helper from a stale heartbeat without waiting for it to age.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import fcntl
import hashlib
import logging
import os
import signal
import socket
import sys
import threading
from pathlib import Path
from typing import IO, TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int, signum: int = signal.SIGTERM) -> None:
    """Have the kernel send ``signum`` to this process when ``parent`` dies; exit now if it
    already has. Without prctl (not Linux) only the second check is made; callers also watch
    ``os.getppid()`` while they run."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent:
        os._exit(0)  # the parent died while this process started: nothing to do


def _started(pid: int) -> str:
    """A process's start time in clock ticks since boot (Linux), '' if unknown or gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            # the command name (field 2) may hold spaces; fields after it are plain
            fields = stat.read().rsplit(b")", 1)[1].split()
    except OSError:
        return ""
    return fields[19].decode()  # field 22 of the whole line


def holder(parent: int) -> str:
    """The lease holder's identity: ``host pid parent parent-start``."""
    return f"{socket.gethostname()} {os.getpid()} {parent} {_started(parent) or '-'}"


def holder_gone(text: str | None) -> bool:
    """Whether the holder named by ``text`` is known to be gone: on this host, the helper's
    process no longer runs, or its parent has died (or its pid now belongs to another
    process). Another host's holder, or one that cannot be checked, is not known to be gone."""
    parts = (text or "").split()
    if len(parts) != 4 or parts[0] != socket.gethostname():
        return False
    pid, parent, started = parts[1], parts[2], parts[3]
    if not (pid.isdigit() and parent.isdigit()):
        return False
    if not _exists(int(pid)) or not _exists(int(parent)):
        return True
    return started != "-" and _started(int(parent)) not in ("", started)


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# -- single-writer leases ---------------------------------------------------------------------
#
# A job that must run once per store (the correlation follower, the checkpointer, a dispatcher)
# holds a named lease while it works. On PostgreSQL the lease is a session-level advisory lock
# on a connection of its own: the server drops it the moment that connection ends, whether the
# holder stopped, crashed or was SIGKILLed, so a standby polling for it takes over at once. On
# SQLite it is an flock(2) on a file beside the database, which the kernel drops with the
# process; an in-memory SQLite store is one process's, so a lock of the process does.


RETRY_S = 1.0
"""Seconds between a standby's tries to take a lease."""

_memory: dict[str, threading.Lock] = {}
_memory_guard = threading.Lock()


class Waiting(Protocol):
    """A threading or multiprocessing event (what stops a standby from waiting)."""

    def is_set(self) -> bool: ...

    def wait(self, timeout: float | None = None) -> bool: ...


def advisory_key(name: str) -> int:
    """The PostgreSQL advisory lock key of lease ``name`` (a signed 64-bit number)."""
    digest = hashlib.sha256(f"ceasefire lease {name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class Lease:
    """The lease ``name`` on the store of ``engine``: at most one holder at a time, anywhere.

    ``acquire`` tries once; ``wait`` tries until it holds or ``stop`` is set; ``held`` tells
    whether it is still held (a holder whose database connection broke has lost it and must
    stop writing); ``release`` gives it up. A context manager releases on the way out."""

    def __init__(self, engine: Engine, name: str) -> None:
        self.engine = engine
        self.name = name
        self.key = advisory_key(name)
        self._connection: Connection | None = None
        self._file: IO[bytes] | None = None
        self._memory: threading.Lock | None = None
        self._held = False

    @property
    def kind(self) -> str:
        """How it is held: ``advisory`` (PostgreSQL), ``file`` or ``memory`` (SQLite)."""
        if self.engine.dialect.name == "postgresql":
            return "advisory"
        return "file" if self._path() is not None else "memory"

    def _path(self) -> Path | None:
        database = self.engine.url.database
        if not database or database == ":memory:" or database.startswith("file::memory:"):
            return None
        return Path(database).with_name(f"{Path(database).name}.{self.name}.lease")

    def acquire(self) -> bool:
        """Take the lease if it is free; whether this object holds it now."""
        if self._held:
            return True
        kind = self.kind
        if kind == "advisory":
            self._held = self._acquire_advisory()
        elif kind == "file":
            self._held = self._acquire_file()
        else:
            with _memory_guard:
                lock = _memory.setdefault(f"{self.engine.url}|{self.name}", threading.Lock())
            if lock.acquire(blocking=False):
                self._memory = lock
                self._held = True
        return self._held

    def _acquire_advisory(self) -> bool:
        from sqlalchemy import text

        connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            got = bool(
                connection.execute(
                    text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}
                ).scalar_one()
            )
        except Exception:
            connection.close()
            raise
        if not got:
            connection.close()
            return False
        self._connection = connection
        return True

    def _acquire_file(self) -> bool:
        path = self._path()
        assert path is not None
        handle = path.open("a+b")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        handle.truncate(0)
        handle.write(f"{os.getpid()}\n".encode())
        handle.flush()
        self._file = handle
        return True

    def wait(self, stop: Waiting, every: float = RETRY_S) -> bool:
        """Try until the lease is held (True) or ``stop`` is set (False): a standby."""
        while not stop.is_set():
            try:
                if self.acquire():
                    return True
            except Exception:  # the store is away: a standby waits for it as for the lease
                pass
            stop.wait(every)
        return False

    def held(self) -> bool:
        """Whether the lease is still this object's (on PostgreSQL: its session is alive)."""
        if not self._held:
            return False
        if self._connection is not None:
            from sqlalchemy import text

            try:
                self._connection.execute(text("SELECT 1"))
            except Exception as error:
                # the lock lives in this session: whatever broke it, the lock may be gone
                log.warning("lease %s: its session failed (%s); given up", self.key, error)
                self._drop()
                return False
        return True

    def release(self) -> None:
        """Give the lease up (nothing if it is not held)."""
        if self._connection is not None:
            from sqlalchemy import text

            # an error: the session is gone, and the lock with it
            with contextlib.suppress(Exception):
                self._connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
        self._drop()

    def _drop(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):
                self._connection.close()
            self._connection = None
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None
        if self._memory is not None:
            self._memory.release()
            self._memory = None
        self._held = False

    def __enter__(self) -> Lease:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


__all__ = ["Lease", "advisory_key", "die_with_parent", "holder", "holder_gone"]
