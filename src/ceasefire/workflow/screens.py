"""What a form sent from a screen must still match: the page it was sent from.

A page carries its incident's stamp (:func:`stamp`); a form sent from a page that is no longer
current, or while another officer of the user's contingent holds the incident's edit lock, is
refused (:func:`check`), so nobody acts on what they have not seen. Programs with API tokens send
no stamp and are not held by it.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import Connection, select

from ceasefire.i18n import _
from ceasefire.incidents.tables import incidents
from ceasefire.mission.model import Mission
from ceasefire.timeutil import iso
from ceasefire.workflow import assessments, decisions, locks
from ceasefire.workflow.errors import Conflict
from ceasefire.workflow.roles import User


def stamp(db: Connection, mission: Mission, user: User, incident_id: str) -> str:
    """A short digest of what an incident's page shows this user: it changes with any new step
    the user may see, and with nothing the user may not (the other side's blind view: counting
    every assessment would tell, by a page refused as stale, that the other side has assessed)."""
    status, updated = db.execute(
        select(incidents.c.status, incidents.c.updated_at).where(incidents.c.id == incident_id)
    ).one()
    seen = [(a.contingent, a.version) for a in assessments.visible(db, mission, user, incident_id)]
    made = decisions.list_decisions(db, mission, user, incident_id=incident_id)
    steps = [(d.id, d.state, d.withheld, len(d.steps)) for d in made]
    text = f"{status}|{iso(updated)}|{seen}|{steps}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def check(db: Connection, mission: Mission, user: User, incident_id: str, sent: str) -> None:
    """Refuse a form sent with stamp ``sent`` when the page is stale or another officer of the
    user's contingent holds the incident's lock."""
    if sent != stamp(db, mission, user, incident_id):
        raise Conflict(
            _(
                "This incident changed since you opened the page; look at it again. What you "
                "typed is kept below."
            )
        )
    locks.check(db, user, incident_id)


__all__ = ["check", "stamp"]
