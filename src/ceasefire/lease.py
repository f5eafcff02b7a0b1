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

import ctypes
import ctypes.util
import os
import signal
import socket
import sys

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


__all__ = ["die_with_parent", "holder", "holder_gone"]
