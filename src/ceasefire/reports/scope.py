"""Who sees which records on the read paths of this package (exports, OGC API, statistics,
reports), as in the HTTP API.

- The center's operator (the command line, with the database in hand), both contingents'
  analysts, duty officers and heads, and auditors read every observation and incident (parity).
- The peacekeeping force's liaison reads every observation (the API releases them all to the
  force) and the incidents released to the force.
- A party's liaison reads only what was released to that party: the observations in its
  release bundles, and the incidents one of whose records (an observation or the joint
  finding) was released to it.

Blindness: nothing here ever carries one contingent's assessment. An incident shows its joint
result only from ``findings``, which exist once every contingent has assessed
(:func:`ceasefire.workflow.findings.determine`); while an incident is blind, its finding
columns are empty.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import Engine, select
from sqlalchemy.sql.elements import ColumnElement

from ceasefire.incidents.tables import incidents
from ceasefire.ledger.tables import releases
from ceasefire.mission.model import Mission
from ceasefire.store.schema import observations
from ceasefire.workflow.roles import User, authorize
from ceasefire.workflow.tables import findings


@dataclass(frozen=True)
class Scope:
    """What one reader may see; None means every record of that kind."""

    observations: frozenset[int] | None = None
    """Log indexes of the observations the reader may see."""
    incidents: frozenset[str] | None = None
    """Ids of the incidents the reader may see."""

    def observation_condition(self) -> ColumnElement[bool] | None:
        if self.observations is None:
            return None
        return observations.c.ledger_index.in_(sorted(self.observations))

    def incident_condition(self) -> ColumnElement[bool] | None:
        if self.incidents is None:
            return None
        return incidents.c.id.in_(sorted(self.incidents))


EVERYTHING = Scope()
NOTHING = Scope(frozenset(), frozenset())


def released_indexes(engine: Engine, recipient: str) -> frozenset[int]:
    """The log indexes of every entry released to ``recipient`` (a party or the force)."""
    found: set[int] = set()
    with engine.connect() as db:
        for (bundle,) in db.execute(
            select(releases.c.bundle).where(releases.c.released_to == recipient)
        ):
            for entry in json.loads(bundle).get("entries", ()):
                found.add(int(entry["index"]))
    return frozenset(found)


def scope_for(engine: Engine, mission: Mission, user: User | None) -> Scope:
    """What ``user`` may see; None is the center's own operator."""
    if user is None or authorize(user, "read_incident"):
        return EVERYTHING
    if not authorize(user, "read_incident", released_to=(user.affiliation,)):
        return NOTHING
    indexes = released_indexes(engine, user.affiliation)
    force = mission.config.peacekeeping_force
    everything_observed = force is not None and user.affiliation == force.id
    wanted = sorted(indexes)
    ids: set[str] = set()
    with engine.connect() as db:
        for start in range(0, len(wanted), 5000):
            chunk = wanted[start : start + 5000]
            ids.update(
                db.execute(
                    select(findings.c.incident_id).where(findings.c.ledger_index.in_(chunk))
                ).scalars()
            )
            ids.update(
                i
                for i in db.execute(
                    select(observations.c.incident_id).where(observations.c.ledger_index.in_(chunk))
                ).scalars()
                if i is not None
            )
    return Scope(None if everything_observed else indexes, frozenset(ids))


__all__ = ["EVERYTHING", "NOTHING", "Scope", "released_indexes", "scope_for"]
