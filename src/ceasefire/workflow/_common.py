"""What the workflow modules share: the clock, the ledger append, the incident's status."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select, update

from ceasefire.i18n import _
from ceasefire.incidents.tables import incidents
from ceasefire.ledger import log
from ceasefire.ledger.entry import LogEntry
from ceasefire.workflow.errors import NotFound

# Incident statuses the workflow sets (the correlator creates incidents as "open").
OPEN, ASSESSING, FINDING, DISPUTED = "open", "assessing", "finding", "disputed"
SUPERSEDED = "superseded"  # set by correlation (incidents/service.py) when an incident gives way


def moment(at: datetime | None) -> datetime:
    """The time of a step: the caller's clock (tests pass one in), else now, always aware UTC."""
    if at is None:
        return datetime.now(UTC)
    if at.tzinfo is None:
        raise ValueError("naive datetime: every time in ceasefire carries its offset")
    return at.astimezone(UTC)


def record_entry(connection: Connection, kind: str, ref: str, record: Any, at: datetime) -> int:
    """Append one record to the log in the caller's transaction; its index."""
    return log.append(connection, [LogEntry.of(kind, ref, record)], at=at)[0]


def incident_status(connection: Connection, incident_id: str) -> str:
    status = connection.execute(
        select(incidents.c.status).where(incidents.c.id == incident_id)
    ).scalar_one_or_none()
    if status is None:
        raise no_such_incident(incident_id)
    return str(status)


def no_such_incident(incident_id: str) -> NotFound:
    return NotFound(_("no such incident: {id}").format(id=incident_id))


def set_incident_status(
    connection: Connection, incident_id: str, status: str, at: datetime
) -> None:
    connection.execute(
        update(incidents).where(incidents.c.id == incident_id).values(status=status, updated_at=at)
    )
