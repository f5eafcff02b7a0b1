"""Which incidents the workflow has taken up: those with an assessment, a finding or a
decision. Correlation asks (through the hook the center wires,
:func:`ceasefire.incidents.service.on_hold`) before it renames or removes an incident, so no
record of the workflow is stranded on an incident that is gone."""

from __future__ import annotations

from sqlalchemy import Connection, select

from ceasefire.workflow.tables import assessments, decisions, findings

_TABLES = (assessments, findings, decisions)


def taken_up(db: Connection, ids: list[str]) -> set[str]:
    """The incidents among ``ids`` that the workflow has records of."""
    taken: set[str] = set()
    for table in _TABLES:
        taken |= set(
            db.execute(
                select(table.c.incident_id).where(table.c.incident_id.in_(ids)).distinct()
            ).scalars()
        )
    return taken


__all__ = ["taken_up"]
