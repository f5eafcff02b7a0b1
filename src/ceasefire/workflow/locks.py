"""Edit locks: who of a contingent works on an incident now, shown to everyone.

Why per contingent: both contingents assess the same incident at the same time (blind), so a
lock of one side must never stop the other; it keeps two officers of one side from writing over
each other, and tells the room who is on it. A lock lives :data:`LOCK_MINUTES` and is renewed
while its holder's page is open; an expired lock is free to take. A head may take over a live
lock of their own contingent: the take-over is logged (kind ``lock``) with the reason.

The screens check the lock (:func:`check`) before a write; programs with API tokens are not
held by it (a lock is a courtesy of the screens, the records' rules are the library's).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, insert, select

from ceasefire.i18n import _
from ceasefire.timeutil import iso
from ceasefire.workflow._common import incident_status, moment, record_entry
from ceasefire.workflow.errors import Conflict, Forbidden
from ceasefire.workflow.roles import User, require
from ceasefire.workflow.tables import edit_locks

KIND_LOCK = "lock"
LOCK_MINUTES = 15.0


@dataclass(frozen=True)
class Lock:
    incident_id: str
    contingent: str
    holder: str
    taken_at: datetime
    expires_at: datetime


def live_locks(
    connection: Connection, incident_ids: list[str], *, at: datetime | None = None
) -> dict[str, dict[str, Lock]]:
    """The live locks of the incidents: incident -> contingent -> lock."""
    when = moment(at)
    found: dict[str, dict[str, Lock]] = {}
    for start in range(0, len(incident_ids), 500):
        rows = connection.execute(
            select(edit_locks).where(
                edit_locks.c.incident_id.in_(incident_ids[start : start + 500]),
                edit_locks.c.expires_at > when,
            )
        )
        for r in rows:
            found.setdefault(r.incident_id, {})[r.contingent] = Lock(
                r.incident_id, r.contingent, r.user_name, r.taken_at, r.expires_at
            )
    return found


def _own(user: User) -> str:
    require(user, "submit_assessment", contingent=user.contingent)
    assert user.contingent is not None
    return user.contingent


def _held_by_other(
    connection: Connection, user: User, incident_id: str, at: datetime
) -> Lock | None:
    lock = (
        live_locks(connection, [incident_id], at=at).get(incident_id, {}).get(user.contingent or "")
    )
    return lock if lock is not None and lock.holder != user.name else None


def _refused(lock: Lock) -> Conflict:
    return Conflict(
        _("{name} works on this incident for {contingent} until {time} UTC").format(
            name=lock.holder, contingent=lock.contingent, time=f"{lock.expires_at:%H:%M}"
        )
    )


def take(
    connection: Connection, user: User, incident_id: str, *, at: datetime | None = None
) -> Lock:
    """Take (or renew) the user's contingent's lock on the incident; refused while another
    officer of the same contingent holds a live one."""
    when = moment(at)
    contingent = _own(user)
    incident_status(connection, incident_id)  # NotFound for an unknown incident
    other = _held_by_other(connection, user, incident_id, when)
    if other is not None:
        raise _refused(other)
    return _put(connection, incident_id, contingent, user.name, when)


def _put(
    connection: Connection, incident_id: str, contingent: str, name: str, when: datetime
) -> Lock:
    key = (edit_locks.c.incident_id == incident_id, edit_locks.c.contingent == contingent)
    previous = connection.execute(select(edit_locks).where(*key)).first()
    taken = (
        previous.taken_at
        if previous is not None and previous.user_name == name and previous.expires_at > when
        else when
    )
    connection.execute(delete(edit_locks).where(*key))
    expires = when + timedelta(minutes=LOCK_MINUTES)
    connection.execute(
        insert(edit_locks).values(
            incident_id=incident_id,
            contingent=contingent,
            user_name=name,
            taken_at=taken,
            expires_at=expires,
        )
    )
    return Lock(incident_id, contingent, name, taken, expires)


def release(
    connection: Connection, user: User, incident_id: str, *, at: datetime | None = None
) -> None:
    """Let go of the user's own lock (nothing if they hold none)."""
    contingent = _own(user)
    connection.execute(
        delete(edit_locks).where(
            edit_locks.c.incident_id == incident_id,
            edit_locks.c.contingent == contingent,
            edit_locks.c.user_name == user.name,
        )
    )


def take_over(
    connection: Connection,
    user: User,
    incident_id: str,
    reason: str,
    *,
    at: datetime | None = None,
) -> Lock:
    """A head takes their contingent's lock from whoever holds it; logged with the reason."""
    when = moment(at)
    contingent = _own(user)
    if user.role != "head":
        raise Forbidden(_("only a head of the contingent takes over a lock"))
    if not reason.strip():
        raise Conflict(_("say why you take the lock over"))
    incident_status(connection, incident_id)
    other = _held_by_other(connection, user, incident_id, when)
    lock = _put(connection, incident_id, contingent, user.name, when)
    record_entry(
        connection,
        KIND_LOCK,
        f"{incident_id}/{contingent}",
        {
            "event": "taken_over",
            "incident": incident_id,
            "contingent": contingent,
            "from": other.holder if other is not None else None,
            "by": user.name,
            "reason": reason.strip(),
            "at": iso(when),
        },
        when,
    )
    return lock


def check(
    connection: Connection, user: User, incident_id: str, *, at: datetime | None = None
) -> None:
    """Refuse a screen's write while another officer of the user's contingent holds the lock."""
    if user.contingent is None:
        return
    other = _held_by_other(connection, user, incident_id, moment(at))
    if other is not None:
        raise _refused(other)
