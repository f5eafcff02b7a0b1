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

The failures are rows of the store (``login_failures``), so every API process of a center
(``ceasefire serve --workers N``, or centers on several hosts) counts the same ones; a restart
forgets nothing. Rows older than the window are deleted as new failures come.
"""

from __future__ import annotations

import math
import threading
import weakref
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, Connection, Engine, delete, insert, select

from ceasefire.workflow.tables import login_failures as failures

WINDOW_S = 600.0
PER_ADDRESS = 20
PER_USER = 5
CONCURRENT = 2
FIELD_CHARS = 64
"""The first characters of an address and of a name that are kept (longer ones are cut)."""


class LoginLimiter:
    def __init__(
        self,
        engine: Engine,
        window_s: float = WINDOW_S,
        per_address: int = PER_ADDRESS,
        per_user: int = PER_USER,
    ) -> None:
        self.engine = engine
        self.window = timedelta(seconds=window_s)
        self.per_address = per_address
        self.per_user = per_user
        self.checks = threading.BoundedSemaphore(CONCURRENT)
        """Held while a password is checked (a bound on this process's cores, not a count)."""

    def wait_s(self, address: str, name: str) -> float:
        """0 if this address may try this name now, else the seconds until it may."""
        now = datetime.now(UTC)
        address, name = address[:FIELD_CHARS], name[:FIELD_CHARS]
        by_address = failures.c.address == address
        with self.engine.connect() as db:
            waits = [
                self._wait(db, by_address, self.per_address, now),
                self._wait(db, by_address & (failures.c.user_name == name), self.per_user, now),
            ]
        return max(waits)

    def failed(self, address: str, name: str) -> None:
        now = datetime.now(UTC)
        with self.engine.begin() as db:
            db.execute(
                insert(failures).values(
                    address=address[:FIELD_CHARS], user_name=name[:FIELD_CHARS], failed_at=now
                )
            )
            db.execute(delete(failures).where(failures.c.failed_at <= now - self.window))

    def succeeded(self, address: str, name: str) -> None:
        with self.engine.begin() as db:
            db.execute(
                delete(failures).where(
                    failures.c.address == address[:FIELD_CHARS],
                    failures.c.user_name == name[:FIELD_CHARS],
                )
            )

    def _wait(self, db: Connection, which: ColumnElement[bool], limit: int, now: datetime) -> float:
        """The seconds until the ``limit``-th latest failure of ``which`` leaves the window."""
        latest: list[datetime] = list(
            db.execute(
                select(failures.c.failed_at)
                .where(which, failures.c.failed_at > now - self.window)
                .order_by(failures.c.failed_at.desc())
                .limit(limit)
            ).scalars()
        )
        if len(latest) < limit:
            return 0.0
        return max(0.0, float((latest[-1] + self.window - now).total_seconds()))


_SHARED: weakref.WeakKeyDictionary[Engine, LoginLimiter] = weakref.WeakKeyDictionary()
_SHARED_LOCK = threading.Lock()


def limiter_for(engine: Engine) -> LoginLimiter:
    """The one limiter of a store in this process: the API's ``POST /session`` and the pages'
    log-in form share it, so that both count the same failures and share the argon2 checks'
    bound (:data:`CONCURRENT`)."""
    with _SHARED_LOCK:
        found = _SHARED.get(engine)
        if found is None:
            found = _SHARED[engine] = LoginLimiter(engine)
        return found


def retry_after(seconds: float) -> str:
    """A Retry-After header value: whole seconds, at least 1."""
    return str(max(1, math.ceil(seconds)))
