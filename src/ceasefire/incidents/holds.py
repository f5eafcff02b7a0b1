"""Holds on incidents: which incidents a later room keeps records of.

Why: correlation renames an incident when a late report gives it an earlier first observation,
and removes one that it merges into another. An incident the workflow has records of (an
assessment, a finding, a decision) must keep its id and be kept (as superseded) rather than
deleted, or those records are stranded. The workflow is a later room: correlation cannot ask
it. So the workflow tells the incidents room, in the transaction of each record it writes of an
incident, by calling :func:`hold`; correlation reads its own table (:func:`held`). Data flows
one way, and nothing depends on which modules a process happened to import.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Exists, exists, insert, select
from sqlalchemy.dialects import postgresql, sqlite

from ceasefire.incidents.tables import incident_holds

CHUNK = 500
"""Ids asked for in one statement (well under SQLite's limit on bound parameters)."""


_HOLD = {
    "sqlite": sqlite.insert(incident_holds).on_conflict_do_nothing(),
    "postgresql": postgresql.insert(incident_holds).on_conflict_do_nothing(),
}
_INSERT = insert(incident_holds)
"""Built once: building them at each hold cost more than running them (every decision
proposed on a shared incident holds it)."""


def hold(connection: Connection, incident_id: str, at: datetime) -> None:
    """Mark ``incident_id`` held, in the caller's transaction; a second hold changes nothing
    (the first time is kept)."""
    values = {"incident_id": incident_id, "held_at": at}
    statement = _HOLD.get(connection.dialect.name)
    if statement is not None:
        connection.execute(statement, values)
    elif not held(connection, [incident_id]):
        connection.execute(_INSERT, values)


def is_held(incident_id: ColumnElement[Any]) -> Exists:
    """Whether the incident ``incident_id`` (a column or a bound value) is held, as an
    expression: a room that reads the incident anyway asks in the same statement, and
    holding one already held changes nothing (holds are never removed)."""
    return exists().where(incident_holds.c.incident_id == incident_id)


def held(connection: Connection, ids: Iterable[str]) -> set[str]:
    """The incidents among ``ids`` that are held."""
    ordered = sorted(set(ids))
    found: set[str] = set()
    for i in range(0, len(ordered), CHUNK):
        found |= set(
            connection.execute(
                select(incident_holds.c.incident_id).where(
                    incident_holds.c.incident_id.in_(ordered[i : i + CHUNK])
                )
            ).scalars()
        )
    return found


__all__ = ["held", "hold", "is_held"]
