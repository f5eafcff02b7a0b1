"""The duty roster and the shift handover.

Why flagged shifts: parity holds round the clock only if every shift has officers of every
contingent; a shift that would run with one side only is named in the roster and in the
handover report (nothing stops it from being planned, since people fall ill, but nobody can
miss it). Each contingent puts its own officers on shifts.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from ceasefire.i18n import _
from ceasefire.incidents.tables import incidents
from ceasefire.mission.model import Mission
from ceasefire.timeutil import iso
from ceasefire.workflow import decisions
from ceasefire.workflow._common import ASSESSING, DISPUTED, OPEN, moment, record_entry
from ceasefire.workflow.errors import Conflict, Invalid, NotFound
from ceasefire.workflow.roles import User, get_user, require
from ceasefire.workflow.tables import shift_officers, shifts

KIND_SHIFT = "shift"
OPEN_STATUSES = (OPEN, ASSESSING, DISPUTED)
"""Incidents still waiting for the center: no finding yet, or a dispute."""


@dataclass(frozen=True)
class Shift:
    id: str
    starts_at: datetime
    ends_at: datetime
    label: str
    officers: tuple[tuple[str, str], ...]  # (contingent, user name), sorted
    missing: tuple[str, ...]
    """Contingents with no officer on the shift (the flag)."""

    def record(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "starts_at": iso(self.starts_at),
            "ends_at": iso(self.ends_at),
            "label": self.label,
            "officers": [{"contingent": c, "user": u} for c, u in self.officers],
            "missing": list(self.missing),
        }


def _shift(connection: Connection, mission: Mission, row: Any) -> Shift:
    officers = tuple(
        sorted(
            (r.contingent, r.user_name)
            for r in connection.execute(
                select(shift_officers).where(shift_officers.c.shift_id == row.id)
            )
        )
    )
    present = {c for c, _u in officers}
    return Shift(
        id=row.id,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        label=row.label,
        officers=officers,
        missing=tuple(c for c in mission.contingent_ids() if c not in present),
    )


def get_shift(connection: Connection, mission: Mission, shift_id: str) -> Shift:
    row = connection.execute(select(shifts).where(shifts.c.id == shift_id)).first()
    if row is None:
        raise NotFound(_("no such shift: {id}").format(id=shift_id))
    return _shift(connection, mission, row)


def add_shift(
    connection: Connection,
    mission: Mission,
    by: User,
    starts_at: datetime,
    ends_at: datetime,
    label: str = "",
    *,
    at: datetime | None = None,
) -> Shift:
    """Plan a shift (either contingent may); it is flagged until every side has an officer."""
    when = moment(at)
    require(by, "manage_roster", contingent=by.contingent)
    if ends_at <= starts_at:
        raise Invalid(_("a shift ends after it starts"))
    shift_id = "SHIFT-" + secrets.token_hex(5)
    connection.execute(
        insert(shifts).values(id=shift_id, starts_at=starts_at, ends_at=ends_at, label=label)
    )
    shift = get_shift(connection, mission, shift_id)
    record_entry(
        connection,
        KIND_SHIFT,
        shift_id,
        {"event": "planned", "by": by.name, **shift.record()},
        when,
    )
    return shift


def assign(
    connection: Connection,
    mission: Mission,
    by: User,
    shift_id: str,
    officer: str,
    *,
    at: datetime | None = None,
) -> Shift:
    """Put an officer of the assigning user's own contingent on a shift."""
    when = moment(at)
    person = get_user(connection, officer)
    if person.role not in ("duty_officer", "head") or person.disabled:
        raise Invalid(_("{name} is not an active duty officer or head").format(name=officer))
    require(by, "manage_roster", contingent=person.contingent)
    get_shift(connection, mission, shift_id)
    exists = connection.execute(
        select(shift_officers.c.user_name).where(
            shift_officers.c.shift_id == shift_id, shift_officers.c.user_name == officer
        )
    ).first()
    if exists:
        raise Conflict(_("{name} is already on shift {id}").format(name=officer, id=shift_id))
    connection.execute(
        insert(shift_officers).values(
            shift_id=shift_id, user_name=officer, contingent=person.contingent
        )
    )
    shift = get_shift(connection, mission, shift_id)
    record_entry(
        connection,
        KIND_SHIFT,
        shift_id,
        {"event": "assigned", "by": by.name, "officer": officer, **shift.record()},
        when,
    )
    return shift


def roster(
    connection: Connection,
    mission: Mission,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[Shift]:
    """Shifts overlapping [since, until), in order, each with its flag."""
    query = select(shifts).order_by(shifts.c.starts_at, shifts.c.id)
    if since is not None:
        query = query.where(shifts.c.ends_at > since)
    if until is not None:
        query = query.where(shifts.c.starts_at < until)
    return [_shift(connection, mission, r) for r in connection.execute(query)]


def handover_report(
    connection: Connection,
    mission: Mission,
    user: User,
    *,
    at: datetime | None = None,
) -> dict[str, Any]:
    """What the outgoing shift hands over: the shift on duty and the next, with their flags;
    open incidents; pending decisions (overdue ones marked); notices not yet acknowledged."""
    when = moment(at)
    require(user, "read_handover")
    current = roster(connection, mission, since=when, until=when)
    upcoming = [s for s in roster(connection, mission, since=when) if s.starts_at > when][:1]
    open_incidents = [
        {"id": r.id, "status": r.status, "category": r.category, "started_at": iso(r.started_at)}
        for r in connection.execute(
            select(incidents.c.id, incidents.c.status, incidents.c.category, incidents.c.started_at)
            .where(incidents.c.status.in_(OPEN_STATUSES))
            .order_by(incidents.c.started_at, incidents.c.id)
        )
    ]
    pending = [
        {**d.shown(), "overdue": d.due_at <= when}
        for d in decisions.list_decisions(connection, mission, user, pending=True)
    ]
    flags = [
        _("shift {id} has no officer of {contingents}").format(
            id=s.id, contingents=", ".join(s.missing)
        )
        for s in [*current, *upcoming]
        if s.missing
    ]
    return {
        "at": iso(when),
        "mission": mission.id,
        "shift": current[0].record() if current else None,
        "next_shift": upcoming[0].record() if upcoming else None,
        "flags": flags,
        "open_incidents": open_incidents,
        "pending_decisions": pending,
        # Dissemination is a later issue: the notices and their acknowledgements come with it.
        "unacknowledged_notices": [],
    }
