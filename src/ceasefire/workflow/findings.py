"""The joint result: a finding where every contingent agrees, a dispute where they do not.

Why: a finding speaks for the whole center, so it exists only where the latest assessments of
all contingents agree on the violation, the clauses and the attribution. Otherwise the incident
is "disputed" and the record keeps every side's view as that side submitted it; nothing here
can change an assessment. Severity is not part of agreement: a finding carries the higher of
the two and each view keeps its own.

Each change of the latest assessments makes a new version of the finding (logged as kind
``finding``); the incident's status follows: ``finding`` or ``disputed``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from ceasefire.i18n import _
from ceasefire.incidents import holds
from ceasefire.mission.model import SEVERITIES, Mission
from ceasefire.timeutil import iso
from ceasefire.workflow._common import (
    DISPUTED,
    FINDING,
    incident_status,
    moment,
    record_entry,
    set_incident_status,
)
from ceasefire.workflow.errors import Forbidden
from ceasefire.workflow.roles import User, require
from ceasefire.workflow.tables import assessments, findings, users

KIND_FINDING = "finding"


@dataclass(frozen=True)
class Finding:
    incident_id: str
    version: int
    outcome: str  # finding | disputed
    record: dict[str, Any]
    made_at: datetime
    ledger_index: int

    @property
    def agreed(self) -> bool:
        return self.outcome == FINDING


def _latest_views(connection: Connection, incident_id: str) -> dict[str, dict[str, Any]]:
    """Each side's latest view. A finding is what the center releases to the parties, so it
    names who submitted by role, never by name: names stay inside the center (each assessment,
    logged on its own and never released, keeps its author)."""
    rows = connection.execute(
        select(assessments, users.c.role)
        .select_from(assessments.outerjoin(users, users.c.name == assessments.c.submitted_by))
        .where(assessments.c.incident_id == incident_id)
        .order_by(assessments.c.contingent, assessments.c.version)
    )
    views: dict[str, dict[str, Any]] = {}
    for r in rows:
        views[r.contingent] = {
            "assessment": f"{incident_id}/{r.contingent}/{r.version}",
            "ledger_index": r.ledger_index,
            "violation": r.violation,
            "clauses": json.loads(r.clauses),
            "attribution": r.attribution,
            "severity": r.severity,
            "remarks": r.remarks,
            "submitted_by_role": r.role,
            "submitted_at": iso(r.submitted_at),
        }
    return views


def _key(view: dict[str, Any]) -> tuple[str, tuple[str, ...], str]:
    return view["violation"], tuple(view["clauses"]), view["attribution"]


def _highest(severities: list[str | None]) -> str | None:
    known = [s for s in severities if s is not None]
    return max(known, key=SEVERITIES.index) if known else None


def _finding(row: Any) -> Finding:
    return Finding(
        incident_id=row.incident_id,
        version=row.version,
        outcome=row.outcome,
        record=json.loads(row.record),
        made_at=row.made_at,
        ledger_index=row.ledger_index,
    )


def _current(connection: Connection, incident_id: str) -> Finding | None:
    row = connection.execute(
        select(findings)
        .where(findings.c.incident_id == incident_id)
        .order_by(findings.c.version.desc())
        .limit(1)
    ).first()
    return _finding(row) if row is not None else None


def determine(
    connection: Connection, mission: Mission, incident_id: str, *, at: datetime | None = None
) -> Finding | None:
    """Work out the joint result from the latest assessments, in the caller's transaction.

    None while a contingent has not submitted; the current finding when nothing changed.
    """
    when = moment(at)
    views = _latest_views(connection, incident_id)
    if set(views) < set(mission.contingent_ids()) or not views:
        return None
    current = _current(connection, incident_id)
    refs = {c: v["assessment"] for c, v in views.items()}
    if (
        current is not None
        and {c: v["assessment"] for c, v in current.record["views"].items()} == refs
    ):
        return current
    agreed = len({_key(v) for v in views.values()}) == 1
    first = next(iter(views.values()))
    version = (current.version if current is not None else 0) + 1
    outcome = FINDING if agreed else DISPUTED
    record: dict[str, Any] = {
        "incident": incident_id,
        "version": version,
        "outcome": outcome,
        # The joint result only where all agree; a dispute states no joint answer.
        "violation": first["violation"] if agreed else None,
        "clauses": first["clauses"] if agreed else None,
        "attribution": first["attribution"] if agreed else None,
        "severity": _highest([v["severity"] for v in views.values()]) if agreed else None,
        "differs_on": []
        if agreed
        else [
            name
            for i, name in enumerate(("violation", "clauses", "attribution"))
            if len({_key(v)[i] for v in views.values()}) > 1
        ],
        "views": views,
        "made_at": iso(when),
    }
    ref = f"{incident_id}/{version}"
    index = record_entry(connection, KIND_FINDING, ref, record, when)
    connection.execute(
        insert(findings).values(
            incident_id=incident_id,
            version=version,
            outcome=outcome,
            record=json.dumps(record, ensure_ascii=False, sort_keys=True),
            made_at=when,
            ledger_index=index,
        )
    )
    holds.hold(connection, incident_id, when)
    set_incident_status(connection, incident_id, outcome, when)
    return Finding(incident_id, version, outcome, record, when, index)


def current(
    connection: Connection,
    user: User,
    incident_id: str,
    *,
    released_to: tuple[str, ...] = (),
) -> Finding | None:
    """The latest finding or dispute of an incident, for a user allowed to read it."""
    require(user, "read_finding", released_to=released_to)
    incident_status(connection, incident_id)
    return _current(connection, incident_id)


def history(connection: Connection, user: User, incident_id: str) -> list[Finding]:
    """Every version, oldest first (an auditor's or a contingent's view)."""
    if user.contingent is None and user.role != "auditor":
        raise Forbidden(_("only the contingents and auditors read a finding's history"))
    require(user, "read_finding")
    rows = connection.execute(
        select(findings).where(findings.c.incident_id == incident_id).order_by(findings.c.version)
    )
    return [_finding(r) for r in rows]
