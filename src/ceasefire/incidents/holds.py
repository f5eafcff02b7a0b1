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

from sqlalchemy import Connection, insert, select
from sqlalchemy.dialects import postgresql, sqlite

from ceasefire.incidents.tables import incident_holds

CHUNK = 500
"""Ids asked for in one statement (well under SQLite's limit on bound parameters)."""


def hold(connection: Connection, incident_id: str, at: datetime) -> None:
    """Mark ``incident_id`` held, in the caller's transaction; a second hold changes nothing
    (the first time is kept)."""
    values = {"incident_id": incident_id, "held_at": at}
    dialect = connection.dialect.name
    if dialect == "sqlite":
        connection.execute(sqlite.insert(incident_holds).values(values).on_conflict_do_nothing())
    elif dialect == "postgresql":
        connection.execute(
            postgresql.insert(incident_holds).values(values).on_conflict_do_nothing()
        )
    elif not held(connection, [incident_id]):
        connection.execute(insert(incident_holds).values(values))


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


__all__ = ["held", "hold"]
