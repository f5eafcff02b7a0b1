"""Each contingent's own assessment of an incident, blind until both have submitted.

Why blind: neither side should anchor on the other. Until every contingent has submitted (or a
head of every contingent agreed to end the blind period: :mod:`ceasefire.workflow.blindness`),
a user reads only their own contingent's assessments; the library enforces it, not the screens.

A draft stays with its author until submitted. A submitted assessment is never changed: a
revision is a new version and the old ones stay. After each submission the joint result is
worked out again (:func:`ceasefire.workflow.findings.determine`) in the same transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Connection, func, insert, select

from ceasefire.i18n import _
from ceasefire.ledger import log
from ceasefire.mission.model import SEVERITIES, Mission
from ceasefire.timeutil import iso
from ceasefire.workflow import findings
from ceasefire.workflow._common import (
    ASSESSING,
    OPEN,
    incident_status,
    moment,
    record_entry,
    set_incident_status,
)
from ceasefire.workflow.blindness import hold_when_shared, is_blind, withheld
from ceasefire.workflow.errors import Invalid
from ceasefire.workflow.roles import User, require
from ceasefire.workflow.tables import assessments

KIND_ASSESSMENT = "assessment"
NOT_ATTRIBUTED = "not_attributed"
Violation = Literal["yes", "no", "undetermined"]
VIOLATIONS: tuple[Violation, ...] = ("yes", "no", "undetermined")


@dataclass(frozen=True)
class Assessment:
    incident_id: str
    contingent: str
    version: int
    violation: str
    clauses: tuple[str, ...]
    attribution: str
    severity: str | None
    remarks: str
    submitted_by: str
    submitted_at: datetime
    ledger_index: int

    @property
    def ref(self) -> str:
        return f"{self.incident_id}/{self.contingent}/{self.version}"

    def record(self) -> dict[str, Any]:
        """The logged form (and the API's)."""
        return {
            "incident": self.incident_id,
            "contingent": self.contingent,
            "version": self.version,
            "violation": self.violation,
            "clauses": list(self.clauses),
            "attribution": self.attribution,
            "severity": self.severity,
            "remarks": self.remarks,
            "submitted_by": self.submitted_by,
            "submitted_at": iso(self.submitted_at),
        }


def _assessment(row: Any) -> Assessment:
    return Assessment(
        incident_id=row.incident_id,
        contingent=row.contingent,
        version=row.version,
        violation=row.violation,
        clauses=tuple(json.loads(row.clauses)),
        attribution=row.attribution,
        severity=row.severity,
        remarks=row.remarks,
        submitted_by=row.submitted_by,
        submitted_at=row.submitted_at,
        ledger_index=row.ledger_index,
    )


def _validate(
    mission: Mission,
    violation: str,
    clauses: list[str],
    attribution: str,
    severity: str | None,
) -> None:
    problems = []
    if violation not in VIOLATIONS:
        problems.append(
            _("violation must be one of {choices}").format(choices=", ".join(VIOLATIONS))
        )
    known = {c.id for c in mission.config.clauses}
    unknown = sorted(set(clauses) - known)
    if unknown:
        problems.append(_("no such clause in the agreement: {ids}").format(ids=", ".join(unknown)))
    if violation == "yes" and not clauses:
        problems.append(_("a violation names at least one clause"))
    parties = [*mission.party_ids(), NOT_ATTRIBUTED]
    if attribution not in parties:
        problems.append(
            _("attribution must be one of {choices}").format(choices=", ".join(parties))
        )
    if severity is not None and severity not in SEVERITIES:
        problems.append(
            _("severity must be one of {choices}").format(choices=", ".join(SEVERITIES))
        )
    if problems:
        raise Invalid("; ".join(problems))


def submit(
    connection: Connection,
    mission: Mission,
    user: User,
    incident_id: str,
    *,
    violation: str,
    clauses: list[str],
    attribution: str,
    severity: str | None = None,
    remarks: str = "",
    contingent: str | None = None,
    at: datetime | None = None,
) -> Assessment:
    """Submit the user's contingent's assessment (a new version if there was one).

    ``contingent`` defaults to the user's; naming the other side is refused, so no role can
    write, let alone overwrite, the other contingent's view.
    """
    when = moment(at)
    side = contingent if contingent is not None else user.contingent
    require(user, "submit_assessment", contingent=side)
    assert side is not None  # require() refuses users outside the contingents
    _validate(mission, violation, clauses, attribution, severity)
    # The log's writer lock first: versions are numbered and logged in one serial order.
    log.lock(connection)
    status = incident_status(connection, incident_id)
    latest = connection.execute(
        select(func.max(assessments.c.version)).where(
            assessments.c.incident_id == incident_id, assessments.c.contingent == side
        )
    ).scalar()
    made = Assessment(
        incident_id=incident_id,
        contingent=side,
        version=(latest or 0) + 1,
        violation=violation,
        clauses=tuple(sorted(set(clauses))),
        attribution=attribution,
        severity=severity,
        remarks=remarks,
        submitted_by=user.name,
        submitted_at=when,
        ledger_index=-1,
    )
    index = record_entry(connection, KIND_ASSESSMENT, made.ref, made.record(), when)
    connection.execute(
        insert(assessments).values(
            incident_id=incident_id,
            contingent=side,
            version=made.version,
            violation=violation,
            clauses=json.dumps(list(made.clauses)),
            attribution=attribution,
            severity=severity,
            remarks=remarks,
            submitted_by=user.name,
            submitted_at=when,
            ledger_index=index,
        )
    )
    hold_when_shared(connection, mission, incident_id, when)
    if status == OPEN and not is_blind(connection, mission, incident_id):
        # Only once the blind period is over: while it lasts, "assessing" would tell the other
        # side (and everyone outside) that this side has assessed, and when.
        set_incident_status(connection, incident_id, ASSESSING, when)
    findings.determine(connection, mission, incident_id, at=when)
    return replace(made, ledger_index=index)


def _all(connection: Connection, incident_id: str) -> list[Assessment]:
    rows = connection.execute(
        select(assessments)
        .where(assessments.c.incident_id == incident_id)
        .order_by(assessments.c.contingent, assessments.c.version)
    )
    return [_assessment(r) for r in rows]


def visible(
    connection: Connection,
    mission: Mission,
    user: User,
    incident_id: str,
    *,
    released_to: tuple[str, ...] = (),
) -> list[Assessment]:
    """Every version the user may read: their own side's always, the other side's once the
    assessment is no longer blind."""
    require(user, "read_assessments", released_to=released_to)
    incident_status(connection, incident_id)  # NotFound for an unknown incident
    return [
        a
        for a in _all(connection, incident_id)
        if not withheld(connection, mission, user, incident_id, a.contingent)
    ]


def latest(
    connection: Connection,
    mission: Mission,
    user: User,
    incident_id: str,
    *,
    released_to: tuple[str, ...] = (),
) -> dict[str, Assessment]:
    """The newest visible version of each side's assessment, by contingent (side by side)."""
    newest: dict[str, Assessment] = {}
    for a in visible(connection, mission, user, incident_id, released_to=released_to):
        newest[a.contingent] = a
    return newest


__all__ = ["KIND_ASSESSMENT", "Assessment", "is_blind", "latest", "submit", "visible"]
