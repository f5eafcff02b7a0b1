"""How often log-ins may fail, so that passwords cannot be guessed and no one is locked out.

Failed log-ins are counted over a sliding window (:data:`WINDOW_S`), in two ways:

- per address: an address with :data:`PER_ADDRESS` failures in the window is refused (429)
  for every name until the window has passed, whoever's names it tried;
- per name *and* address: an address with :data:`PER_USER` failures for one name is refused
  for that name.

Neither ever refuses a name from an address that has not failed: a user's own officers are
never locked out by what someone else (the other contingent, a party, an outsider) does from
another address; guessing one name from many addresses costs :data:`PER_USER` tries each.
A success clears its address's count for that name. Each attempt costs an argon2 check
(about 0.1 s of a core): :data:`CONCURRENT` at a time, so that log-ins cannot take every
worker thread from the rest of the API.

The counts live in this process's memory (a restart forgets them; several API processes
each count their own), which bounds a guesser by the same factor.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from typing import Any

WINDOW_S = 600.0
PER_ADDRESS = 20
PER_USER = 5
CONCURRENT = 2


class LoginLimiter:
    def __init__(
        self, window_s: float = WINDOW_S, per_address: int = PER_ADDRESS, per_user: int = PER_USER
    ) -> None:
        self.window_s = window_s
        self.per_address = per_address
        self.per_user = per_user
        self._by_address: dict[str, deque[float]] = {}
        self._by_pair: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()
        self.checks = threading.BoundedSemaphore(CONCURRENT)
        """Held while a password is checked."""

    def wait_s(self, address: str, name: str) -> float:
        """0 if this address may try this name now, else the seconds until it may."""
        now = time.monotonic()
        with self._lock:
            waits = [
                self._wait(self._by_address, address, self.per_address, now),
                self._wait(self._by_pair, (name, address), self.per_user, now),
            ]
        return max(waits)

    def failed(self, address: str, name: str) -> None:
        now = time.monotonic()
        with self._lock:
            self._by_address.setdefault(address, deque()).append(now)
            self._by_pair.setdefault((name, address), deque()).append(now)
            if len(self._by_address) > 100_000:  # a flood of addresses: forget the idle ones
                self._forget(now)

    def succeeded(self, address: str, name: str) -> None:
        with self._lock:
            self._by_pair.pop((name, address), None)

    def _wait(self, table: dict[Any, deque[float]], key: Any, limit: int, now: float) -> float:
        times = table.get(key)
        if times is None:
            return 0.0
        while times and times[0] <= now - self.window_s:
            times.popleft()
        if not times:
            del table[key]
            return 0.0
        if len(times) < limit:
            return 0.0
        return max(0.0, times[-limit] + self.window_s - now)

    def _forget(self, now: float) -> None:
        tables: tuple[dict[Any, deque[float]], ...] = (self._by_address, self._by_pair)
        for table in tables:
            for key in [k for k, times in table.items() if times[-1] <= now - self.window_s]:
                del table[key]


def retry_after(seconds: float) -> str:
    """A Retry-After header value: whole seconds, at least 1."""
    return str(max(1, math.ceil(seconds)))
