"""Blindness: until every contingent has assessed an incident, neither sees the other's view.

Why: neither side should anchor on the other. The rule lives here, in the library, and every
read path asks it: assessments, decisions (a proposed reaction, the party it names and its
remarks reveal the proposer's view as surely as an assessment does), their ledger entries and
those of the notices an urgent decision sends, the handover report, the command line and the
API. Nor does the incident's status tell: it stays ``open`` until the blind period ends (an
``assessing`` incident would tell the other side that someone has assessed it).

A blind period ends when every contingent has submitted an assessment, or when a head of every
contingent has agreed to end it (:func:`lift`, two keys, each logged as kind ``unblind``). There
is no time-out: a side that never submits keeps the other's view hidden until both heads agree.
Whether it was lifted is read from the log itself, so no table can be edited to undo it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Exists, bindparam, exists, select

from ceasefire.i18n import _
from ceasefire.incidents import holds
from ceasefire.ledger import log
from ceasefire.ledger.tables import ledger
from ceasefire.mission.model import Mission
from ceasefire.timeutil import iso
from ceasefire.workflow._common import (
    ASSESSING,
    OPEN,
    incident_status,
    moment,
    record_entry,
    set_incident_status,
)
from ceasefire.workflow.errors import Conflict
from ceasefire.workflow.roles import User, require
from ceasefire.workflow.tables import assessments, decisions

KIND_UNBLIND = "unblind"
# Ledger entries that carry one contingent's view of an incident (a notice: when a decision
# on the incident caused it, e.g. an urgent reaction taken while the incident is blind).
VIEW_KINDS = ("assessment", "decision", "approval", "notice")
KIND_NOTICE = "notice"
WITHHELD_KIND = "withheld"
"""What a reader is told of the kind of an entry withheld from them: even the kind would say
that the other side has assessed (or decided) something."""


_SUBMITTED = (
    select(assessments.c.contingent)
    .where(assessments.c.incident_id == bindparam("incident_id"))
    .distinct()
)


def submitted(connection: Connection, incident_id: str) -> set[str]:
    """The contingents that have submitted an assessment of the incident."""
    rows = connection.execute(_SUBMITTED, {"incident_id": incident_id})
    return {str(c) for c in rows.scalars()}


def assessed_columns(contingents: Sequence[str], incident_id: ColumnElement[Any]) -> list[Exists]:
    """For each of ``contingents``, in order, whether it has submitted an assessment of the
    incident ``incident_id`` (a column or a bound value), as expressions: a verb that reads the
    incident anyway asks in the same statement, then passes what they say as ``assessed`` to
    :func:`is_blind` and its callers (those of ``contingents`` that did: the same answer as
    :func:`submitted`'s, which only counts for the mission's contingents)."""
    return [
        exists().where(assessments.c.incident_id == incident_id, assessments.c.contingent == c)
        for c in contingents
    ]


def lifted(connection: Connection, mission: Mission, incident_id: str) -> set[str]:
    """The contingents whose head agreed to end the incident's blind period (from the log)."""
    refs = {f"{incident_id}/{c}": c for c in mission.contingent_ids()}
    rows = connection.execute(
        select(ledger.c.ref).where(
            ledger.c.kind != "observation",  # lets the partial index on (kind, ref) serve
            ledger.c.kind == KIND_UNBLIND,
            ledger.c.ref.in_(list(refs)),
        )
    )
    return {refs[r] for r in rows.scalars()}


def is_blind(
    connection: Connection,
    mission: Mission,
    incident_id: str,
    *,
    assessed: set[str] | None = None,
) -> bool:
    """Whether each side still sees only its own view of the incident. ``assessed``: the
    mission's contingents that have assessed it, if the caller read them in this transaction
    under the log's lock (:func:`assessed_columns`; nothing can add one before it commits)."""
    everyone = set(mission.contingent_ids())
    if (submitted(connection, incident_id) if assessed is None else assessed) >= everyone:
        return False
    return not lifted(connection, mission, incident_id) >= everyone


def hold_when_shared(
    connection: Connection,
    mission: Mission,
    incident_id: str,
    at: datetime,
    *,
    assessed: set[str] | None = None,
    held: bool = False,
) -> None:
    """Hold the incident for correlation (:mod:`ceasefire.incidents.holds`: it then keeps its
    id through merges) once its records are everyone's, in the caller's transaction.
    ``assessed``: as :func:`is_blind`'s; ``held``: the caller found it held already in this
    transaction (holds are never removed: holding it again would change nothing).

    Why not at once: which id survives a merge is visible to both sides, and the other side
    can cause a merge with a late report of its own. A hold placed by one side's blind
    assessment (or urgent decision) would tell the other side *that* it has acted on the
    incident. Until the blind period ends the incident is correlated as if nobody had touched
    it (correlation keeps every incident it replaces, records and all, as superseded); the
    record that ends the period (the last side's assessment, the last head's key) holds it."""
    if held:
        return
    if not is_blind(connection, mission, incident_id, assessed=assessed):
        holds.hold(connection, incident_id, at)


def withheld(
    connection: Connection,
    mission: Mission,
    user: User,
    incident_id: str,
    contingent: str,
    *,
    assessed: set[str] | None = None,
) -> bool:
    """Whether ``contingent``'s view of the incident is hidden from ``user`` now
    (``assessed``: as :func:`is_blind`'s)."""
    if user.contingent is not None and user.contingent == contingent:
        return False
    return is_blind(connection, mission, incident_id, assessed=assessed)


def withheld_entry(
    connection: Connection, mission: Mission, user: User, kind: str, entry: str
) -> bool:
    """Whether a ledger entry carries a view the user may not read yet: the log must not undo
    blindness. Assessments, decisions, their steps, the notices a decision sent and every entry
    about such a notice (its deliveries, a retry: the dispatcher's, or any later kind that
    names a ``notice``) are the proposer's side's until the incident is no longer blind."""
    if kind == "observation":
        return False
    view = _view_of(connection, kind, json.loads(entry).get("record", {}))
    if view is None:
        return False
    incident, side = view
    return withheld(connection, mission, user, incident, side)


def withheld_notice(connection: Connection, mission: Mission, user: User, cause: str) -> bool:
    """Whether a notice caused by ``cause`` (a decision's id, for a reaction) is hidden from
    ``user`` now: the notices an urgent reaction sent while its incident is blind are its
    proposer's side's, as the decision is (listings leave them out, as if never sent)."""
    view = _view_of(connection, KIND_NOTICE, {"cause": cause})
    return view is not None and withheld(connection, mission, user, *view)


def _view_of(connection: Connection, kind: str, record: Any) -> tuple[str, str] | None:
    """(incident, contingent) whose view the entry carries, or None for an entry of nobody's."""
    if not isinstance(record, dict):
        return None
    if kind == "assessment":
        return str(record.get("incident") or ""), str(record.get("contingent") or "")
    if kind == "decision":
        return str(record.get("incident") or ""), str(record.get("proposer_contingent") or "")
    if kind in ("approval", "notice"):
        decision = record.get("decision") if kind == "approval" else record.get("cause")
        row = connection.execute(
            select(decisions.c.incident_id, decisions.c.proposer_contingent).where(
                decisions.c.id == str(decision or "")
            )
        ).first()
        if row is None:
            # A notice caused by something other than a decision (a complaint, an answer) is
            # nobody's view; a step whose decision cannot be found is kept back.
            return ("", "") if kind == "approval" else None
        return str(row.incident_id), str(row.proposer_contingent)
    notice = record.get("notice")
    if isinstance(notice, str) and notice:
        # The notice's own entry says what caused it: the log, not a table, is asked.
        sent = connection.execute(
            select(ledger.c.entry).where(
                ledger.c.kind != "observation",  # lets the partial index on (kind, ref) serve
                ledger.c.kind == KIND_NOTICE,
                ledger.c.ref == notice,
            )
        ).scalar()
        if sent is not None:
            return _view_of(connection, KIND_NOTICE, json.loads(sent).get("record", {}))
    return None


def lift(
    connection: Connection,
    mission: Mission,
    user: User,
    incident_id: str,
    *,
    remarks: str = "",
    at: datetime | None = None,
) -> set[str]:
    """A head gives their contingent's key to end the incident's blind period early.

    Logged as kind ``unblind``, ref ``<incident>/<contingent>``. The period ends once a head of
    every contingent has agreed; returns the contingents that have agreed so far.
    """
    when = moment(at)
    require(user, "lift_blindness", contingent=user.contingent)
    assert user.contingent is not None  # require() refuses users outside the contingents
    log.lock(connection)
    incident_status(connection, incident_id)  # NotFound for an unknown incident
    if not is_blind(connection, mission, incident_id):
        raise Conflict(_("incident {id} is not blind").format(id=incident_id))
    agreed = lifted(connection, mission, incident_id)
    if user.contingent in agreed:
        raise Conflict(
            _("{contingent} has already agreed to end the blind period of {id}").format(
                contingent=user.contingent, id=incident_id
            )
        )
    record = {
        "incident": incident_id,
        "contingent": user.contingent,
        "by": user.name,
        "role": user.role,
        "remarks": remarks,
        "at": iso(when),
    }
    record_entry(connection, KIND_UNBLIND, f"{incident_id}/{user.contingent}", record, when)
    agreed |= {user.contingent}
    everyone = set(mission.contingent_ids())
    hold_when_shared(connection, mission, incident_id, when)  # if this was the last key
    if (
        agreed >= everyone
        and submitted(connection, incident_id)
        and incident_status(connection, incident_id) == OPEN
    ):
        # The views given so far are everyone's now: the incident shows it is being assessed.
        set_incident_status(connection, incident_id, ASSESSING, when)
    return agreed
