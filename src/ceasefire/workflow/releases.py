"""What releasing an incident releases: the releasing side resolves it to ledger selections.

The ledger knows entries and proofs, not incidents or findings; the incident's observations
are the incidents room's to name, its finding this room's."""

from __future__ import annotations

from sqlalchemy import Engine, func, select

from ceasefire.errors import InputError, Problem
from ceasefire.i18n import _
from ceasefire.incidents.queries import incident_refs
from ceasefire.ledger.entry import KIND_OBSERVATION
from ceasefire.ledger.release import Selection
from ceasefire.workflow.findings import KIND_FINDING
from ceasefire.workflow.tables import findings


def incident_selections(engine: Engine, incident_id: str) -> list[Selection]:
    """What releasing an incident releases: its observations and its latest joint finding
    (or recorded dispute), each as logged."""
    with engine.connect() as db:
        refs = incident_refs(db, incident_id)
        if refs is None:
            raise InputError(
                Problem(
                    file="release",
                    field="INCIDENT",
                    record=incident_id,
                    reason=_("no such incident"),
                )
            )
        version = db.execute(
            select(func.max(findings.c.version)).where(findings.c.incident_id == incident_id)
        ).scalar()
    chosen = [Selection(KIND_OBSERVATION, refs)]
    if version is not None:
        chosen.append(Selection(KIND_FINDING, (f"{incident_id}/{version}",)))
    return chosen


__all__ = ["incident_selections"]
