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

from sqlalchemy import Connection, bindparam, desc, select

from ceasefire.canonical import canonical_json
from ceasefire.incidents.tables import incidents
from ceasefire.ledger.tables import ledger
from ceasefire.store.schema import observations
from ceasefire.timeutil import iso
from ceasefire.workflow.tables import findings


def content_hash(facts: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(facts)).hexdigest()


# the statements, built once (building one cost more than SQLite's running it)
_INCIDENT = select(incidents).where(incidents.c.id == bindparam("incident_id"))
_SENSED = (
    select(observations.c.sensed_by, observations.c.contingent)
    .where(observations.c.incident_id == bindparam("incident_id"))
    .distinct()
)
_FINDING = (
    select(findings.c.record)
    .where(findings.c.incident_id == bindparam("incident_id"))
    .order_by(desc(findings.c.version))
    .limit(1)
)
_FINDING_BEFORE = _FINDING.where(findings.c.ledger_index < bindparam("before"))


def incident_facts(connection: Connection, incident_id: str) -> dict[str, Any] | None:
    """Where, when, what, how it was sensed and by whom; None for an unknown incident."""
    row = connection.execute(_INCIDENT, {"incident_id": incident_id}).first()
    if row is None:
        return None
    sensed = connection.execute(_SENSED, {"incident_id": incident_id}).all()
    return {
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


def finding_facts(
    connection: Connection, incident_id: str, before: int | None = None
) -> dict[str, Any] | None:
    """The joint finding, or that the contingents disagree (on what, never each side's view:
    the views stay inside the center); ``before``: as it stood before that log entry (a
    decision's, whose notices are written after it)."""
    if before is None:
        row = connection.execute(_FINDING, {"incident_id": incident_id}).first()
    else:
        row = connection.execute(
            _FINDING_BEFORE, {"incident_id": incident_id, "before": before}
        ).first()
    if row is None:
        return None
    record = json.loads(row.record)
    return {
        k: record[k]
        for k in ("outcome", "violation", "clauses", "attribution", "severity", "differs_on")
    }


def ledger_index_of(connection: Connection, kind: str, ref: str) -> int | None:
    """The index of the newest ledger entry of ``kind`` and ``ref`` (in this transaction)."""
    found = connection.execute(
        select(ledger.c["index"])
        .where(ledger.c.kind == kind, ledger.c.ref == ref)
        .order_by(desc(ledger.c["index"]))
        .limit(1)
    ).scalar_one_or_none()
    return int(found) if found is not None else None
