"""The facts a notice states, the same for every recipient: gathered once per cause.

Why separate from rendering: parity means every recipient gets the same content, each in its
own language. The facts are language-free (ids, codes, numbers, UTC times); their canonical
hash (``content_hash``) is equal across a batch, which is what the parity test checks and what
a party can compare with the other party's notice.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import ColumnElement, Connection, ScalarSelect, bindparam, desc, select

from ceasefire.canonical import canonical_json
from ceasefire.incidents.tables import incidents
from ceasefire.ledger.tables import ledger
from ceasefire.store.schema import observations
from ceasefire.timeutil import iso
from ceasefire.workflow.tables import findings


def content_hash(facts: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(facts)).hexdigest()


def _finding_record(incident: ColumnElement[Any], before: bool) -> ScalarSelect[Any]:
    """The record of the incident's newest finding (before the log entry ``before``)."""
    query = (
        select(findings.c.record)
        .where(findings.c.incident_id == incident)
        .order_by(desc(findings.c.version))
        .limit(1)
    )
    if before:
        query = query.where(findings.c.ledger_index < bindparam("before"))
    return query.scalar_subquery()


# the statements, built once (building one cost more than SQLite's running it)
_INCIDENT_AND_FINDING = {
    before: select(
        incidents, _finding_record(incidents.c.id, before).label("finding_record")
    ).where(incidents.c.id == bindparam("incident_id"))
    for before in (False, True)
}
"""The incident and its finding's record in one statement (a statement run through
SQLAlchemy costs more than SQLite's answer to it)."""
_SENSED = (
    select(observations.c.sensed_by, observations.c.contingent)
    .where(observations.c.incident_id == bindparam("incident_id"))
    .distinct()
)


def incident_facts(
    connection: Connection, incident_id: str, before: int | None = None
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The incident (where, when, what, how it was sensed and by whom) and its joint finding,
    or that the contingents disagree (on what, never each side's view: the views stay inside
    the center); ``before``: the finding as it stood before that log entry (a decision's,
    whose notices are written after it). (None, None) for an unknown incident."""
    values: dict[str, Any] = {"incident_id": incident_id}
    if before is not None:
        values["before"] = before
    row = connection.execute(_INCIDENT_AND_FINDING[before is not None], values).first()
    if row is None:  # no incident, and no finding of it (its foreign key)
        return None, None
    sensed = connection.execute(_SENSED, {"incident_id": incident_id}).all()
    incident = {
        "id": row.id,
        "category": row.category,
        "categories": json.loads(row.categories),
        "started_at": iso(row.started_at),
        "ended_at": iso(row.ended_at),
        "location": {"lat": round(row.lat, 5), "lon": round(row.lon, 5), "ce_m": round(row.ce_m)},
        "settlement": row.settlement_id,
        "settlement_distance_m": (
            round(row.settlement_distance_m) if row.settlement_distance_m is not None else None
        ),
        "settlement_bearing_deg": (
            round(row.settlement_bearing_deg, 1) if row.settlement_bearing_deg is not None else None
        ),
        "controlled_by": row.controlled_by,
        "sensed_by": sorted({s for s, _c in sensed}),
        "contingents": sorted(set(json.loads(row.contingents)) | {c for _s, c in sensed}),
        "corroboration": row.corroboration,
        "severity": row.severity,
        "rules": json.loads(row.rules),
    }
    if row.finding_record is None:
        return incident, None
    record = json.loads(row.finding_record)
    finding = {
        k: record[k]
        for k in ("outcome", "violation", "clauses", "attribution", "severity", "differs_on")
    }
    return incident, finding


def ledger_index_of(connection: Connection, kind: str, ref: str) -> int | None:
    """The index of the newest ledger entry of ``kind`` and ``ref`` (in this transaction)."""
    found = connection.execute(
        select(ledger.c["index"])
        .where(ledger.c.kind == kind, ledger.c.ref == ref)
        .order_by(desc(ledger.c["index"]))
        .limit(1)
    ).scalar_one_or_none()
    return int(found) if found is not None else None
