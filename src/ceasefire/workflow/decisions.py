"""Decisions: reactions from the mission's catalogue, approved with parity.

Why tiers (the mission's ``[policy]``, :class:`ceasefire.mission.model.Policy`):

- ``two_key``: the heads of every contingent approve; one head alone, or two heads of the
  same contingent, never make a decision. A request for an explanation from one party is always
  two-key (neutrality), whatever the policy says.
- ``urgent``: either contingent's duty officer takes it alone, at once; every other contingent
  then confirms or contests within ``confirm_hours``.
- ``joint`` (everything else): a duty officer or head of every contingent approves.

A proposal nobody answered within ``escalate_hours`` (an urgent one within ``confirm_hours``)
escalates to the heads: :func:`escalate_overdue` takes the clock as an argument, so a
scheduler (and the tests) decide when "now" is.

Monitoring only: the catalogue (:data:`ceasefire.mission.model.REACTIONS`) is closed and every
reaction is a communication; no reaction recommends force. Every step is logged: the decision
as kind ``decision`` (at each change of state), each approval or answer as ``approval``.

Effects flow one way: a decision that takes effect (approved, or taken urgently) writes a row
of ``decision_effects`` in its own transaction, and nothing else; dissemination reads them
(:func:`effects_without`) and writes the notices, each effect's once
(:func:`ceasefire.dissemination.outbox.notice_effects`), whichever process decided.

Blind (:mod:`ceasefire.workflow.blindness`): while the incident is blind, a decision is its
proposer's side's. The other side sees that it exists, who proposed it, its state and due time,
but not the reaction, its tier, the party or contingent it names, nor any remarks; nor may it
answer it until the blind period ends.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Row,
    ScalarSelect,
    Select,
    bindparam,
    exists,
    func,
    select,
    update,
)

from ceasefire.i18n import _
from ceasefire.incidents import holds
from ceasefire.incidents.tables import incidents
from ceasefire.ledger import log
from ceasefire.ledger.entry import LogEntry
from ceasefire.mission.model import REACTIONS, Mission
from ceasefire.store import bulk
from ceasefire.timeutil import iso
from ceasefire.workflow import blindness
from ceasefire.workflow._common import SUPERSEDED, moment, no_such_incident
from ceasefire.workflow.errors import Conflict, Forbidden, Invalid, NotFound
from ceasefire.workflow.roles import User, require
from ceasefire.workflow.tables import decision_effects, decision_steps, decisions

_iso = lru_cache(maxsize=64)(iso)
""":func:`ceasefire.timeutil.iso`, remembered: a decision's verbs print the same few times
(proposed, due, each step's) again in every record they log. Equal times (the same instant)
print alike, whatever their zone, so a time found in the cache prints as it would anew."""


KIND_DECISION = "decision"
KIND_APPROVAL = "approval"

TWO_KEY, JOINT, URGENT = "two_key", "joint", "urgent"
PROPOSED, APPROVED, REJECTED = "proposed", "approved", "rejected"
TAKEN, CONFIRMED, CONTESTED, ESCALATED = "taken", "confirmed", "contested", "escalated"
STATES = (PROPOSED, APPROVED, REJECTED, TAKEN, CONFIRMED, CONTESTED, ESCALATED)
TIERS = (TWO_KEY, JOINT, URGENT)
VERDICTS = ("propose", "take", "approve", "reject", "confirm", "contest", "escalate")
"""The steps a decision's record lists (:class:`Step`)."""
PENDING = (PROPOSED, TAKEN, ESCALATED, CONTESTED)
"""States that still wait for someone (listed in the handover report)."""


@dataclass(frozen=True)
class Step:
    user: str
    contingent: str | None
    role: str | None
    verdict: str  # propose | take | approve | reject | confirm | contest | escalate
    at: datetime
    remarks: str
    ledger_index: int


@dataclass(frozen=True)
class Decision:
    id: str
    incident_id: str
    reaction: str
    party: str | None
    contingent: str | None
    tier: str
    state: str
    proposed_by: str
    proposer_contingent: str
    proposed_at: datetime
    due_at: datetime
    remarks: str
    steps: tuple[Step, ...] = ()
    withheld: bool = False
    """Seen by the other side of a blind incident: only what reveals nothing of the view."""

    def shown(self) -> dict[str, Any]:
        """What a reader gets (the API's and the command line's form)."""
        if not self.withheld:
            return {**self.record(), "withheld": False}
        return {
            "id": self.id,
            "incident": self.incident_id,
            "reaction": None,
            "party": None,
            "contingent": None,
            "tier": None,
            "state": self.state,
            "proposed_by": self.proposed_by,
            "proposer_contingent": self.proposer_contingent,
            "proposed_at": iso(self.proposed_at),
            "due_at": iso(self.due_at),
            "remarks": None,
            "steps": [],
            "withheld": True,
        }

    def record(self) -> dict[str, Any]:
        """The logged form."""
        return {
            "id": self.id,
            "incident": self.incident_id,
            "reaction": self.reaction,
            "party": self.party,
            "contingent": self.contingent,
            "tier": self.tier,
            "state": self.state,
            "proposed_by": self.proposed_by,
            "proposer_contingent": self.proposer_contingent,
            "proposed_at": _iso(self.proposed_at),
            "due_at": _iso(self.due_at),
            "remarks": self.remarks,
            "steps": [
                {
                    "user": s.user,
                    "contingent": s.contingent,
                    "role": s.role,
                    "verdict": s.verdict,
                    "at": _iso(s.at),
                    "remarks": s.remarks,
                }
                for s in self.steps
            ],
        }


def _tier(mission: Mission, reaction: str, urgent: bool) -> str:
    policy = mission.config.policy
    if reaction == "request_explanation" or reaction in policy.two_key:
        if urgent:
            raise Invalid(
                _("{reaction} needs both heads: it cannot be taken in the urgent tier").format(
                    reaction=reaction
                )
            )
        return TWO_KEY
    if urgent:
        if reaction not in policy.urgent:
            raise Invalid(
                _("{reaction} is not in the mission's urgent tier").format(reaction=reaction)
            )
        return URGENT
    return JOINT


def _check_target(
    mission: Mission, reaction: str, party: str | None, contingent: str | None
) -> None:
    if reaction not in REACTIONS:
        raise Invalid(
            _("unknown reaction {reaction}: choose one of {choices}").format(
                reaction=reaction, choices=", ".join(REACTIONS)
            )
        )
    if reaction == "request_explanation":
        if party not in mission.party_ids():
            raise Invalid(
                _("request_explanation names the party: one of {choices}").format(
                    choices=", ".join(mission.party_ids())
                )
            )
    elif party is not None:
        # Neutrality: notices go to both parties alike; only a two-key request names one.
        raise Invalid(_("only request_explanation names a party"))
    if reaction == "request_reobservation":
        if contingent not in mission.contingent_ids():
            raise Invalid(
                _("request_reobservation names whose drones: one of {choices}").format(
                    choices=", ".join(mission.contingent_ids())
                )
            )
    elif contingent is not None:
        raise Invalid(_("only request_reobservation names a contingent"))


_STEP_COLUMNS = (
    decision_steps.c.id.label("step_id"),
    decision_steps.c.user_name.label("step_user"),
    decision_steps.c.contingent.label("step_contingent"),
    decision_steps.c.role.label("step_role"),
    decision_steps.c.verdict.label("step_verdict"),
    decision_steps.c.at.label("step_at"),
    decision_steps.c.remarks.label("step_remarks"),
    decision_steps.c.ledger_index.label("step_ledger_index"),
)
_WITH_STEPS = decisions.outerjoin(decision_steps, decision_steps.c.decision_id == decisions.c.id)
_SELECT_DECISION = (
    select(decisions, *_STEP_COLUMNS)
    .select_from(_WITH_STEPS)
    .where(decisions.c.id == bindparam("decision_id"))
    .order_by(decision_steps.c.id)
)
"""A decision and its steps in one statement (a row per step, in order)."""
_UPDATE_DECISION = update(decisions).where(decisions.c.id == bindparam("decision_id"))
"""Built once: a statement built per call cost more of a decision's CPU than running it
(SQLAlchemy coerces every clause and makes its cache key again each time). The columns
:data:`_UPDATE_DECISION` sets are those of its parameters. The rows a verb inserts go to the
driver as they are (:func:`ceasefire.store.bulk.insert_rows`): SQLAlchemy's execution of an
INSERT cost four times the driver's own of the same row."""


def _decision_of(rows: Sequence[Row[Any]]) -> Decision:
    """The decision read by :data:`_SELECT_DECISION` (or a statement extending it)."""
    row = rows[0]
    return Decision(
        id=row.id,
        incident_id=row.incident_id,
        reaction=row.reaction,
        party=row.party,
        contingent=row.contingent,
        tier=row.tier,
        state=row.state,
        proposed_by=row.proposed_by,
        proposer_contingent=row.proposer_contingent,
        proposed_at=row.proposed_at,
        due_at=row.due_at,
        remarks=row.remarks,
        steps=tuple(
            Step(
                s.step_user,
                s.step_contingent,
                s.step_role,
                s.step_verdict,
                s.step_at,
                s.step_remarks,
                s.step_ledger_index,
            )
            for s in rows
            if s.step_id is not None
        ),
    )


def _no_such_decision(decision_id: str) -> NotFound:
    return NotFound(_("no such decision: {id}").format(id=decision_id))


def _load(connection: Connection, decision_id: str) -> Decision:
    rows = connection.execute(_SELECT_DECISION, {"decision_id": decision_id}).all()
    if not rows:
        raise _no_such_decision(decision_id)
    return _decision_of(rows)


def _assessed(contingents: Sequence[str], row: Row[Any]) -> set[str]:
    """Those of ``contingents`` that assessed the incident, from the last columns of ``row``
    (:func:`ceasefire.workflow.blindness.assessed_columns`, in the same order)."""
    flags = tuple(row)[len(row) - len(contingents) :]
    return {c for c, yes in zip(contingents, flags, strict=True) if yes}


@lru_cache(maxsize=16)
def _answer_reads(contingents: tuple[str, ...]) -> Select[Any]:
    """What an answer reads under the log's lock, in one statement: the decision and its
    steps (:data:`_SELECT_DECISION`), its incident's status and detail (superseded?), and
    which of ``contingents`` assessed the incident (blind?). Built once per mission."""
    incident = incidents.c.id == decisions.c.incident_id
    return (
        select(
            decisions,
            *_STEP_COLUMNS,
            incidents.c.status.label("incident_status"),
            incidents.c.detail.label("incident_detail"),
            *blindness.assessed_columns(contingents, decisions.c.incident_id),
        )
        .select_from(_WITH_STEPS.outerjoin(incidents, incident))
        .where(decisions.c.id == bindparam("decision_id"))
        .order_by(decision_steps.c.id)
    )


@lru_cache(maxsize=16)
def _proposal_reads(contingents: tuple[str, ...]) -> Select[Any]:
    """What a proposal reads under the log's lock, in one statement: the incident's status
    and detail (none: no such incident; superseded?), whether it is held, and which of
    ``contingents`` assessed it (blind?). Built once per mission."""
    return select(
        incidents.c.status,
        incidents.c.detail,
        holds.is_held(incidents.c.id).label("held"),
        *blindness.assessed_columns(contingents, incidents.c.id),
    ).where(incidents.c.id == bindparam("incident_id"))


def _hidden(
    connection: Connection,
    mission: Mission,
    user: User,
    decision: Decision,
    assessed: set[str] | None = None,
) -> bool:
    return blindness.withheld(
        connection,
        mission,
        user,
        decision.incident_id,
        decision.proposer_contingent,
        assessed=assessed,
    )


def _as_seen(
    connection: Connection, mission: Mission, user: User | None, decision: Decision
) -> Decision:
    """The decision as ``user`` may see it (None: the center itself sees everything)."""
    if user is not None and _hidden(connection, mission, user, decision):
        return replace(decision, withheld=True)
    return decision


def _refuse_superseded(incident_id: str, status: str | None, detail: str | None) -> None:
    """No decision is proposed or answered on an incident correlation has replaced: the
    reaction would go out on a record that no longer stands for the event. ``status`` and
    ``detail``: the incident's, read under the log's lock."""
    if status != SUPERSEDED:
        return
    successor = json.loads(detail or "{}").get("superseded_by") or "-"
    raise Conflict(
        _(
            "incident {id} was superseded by {successor}: its decisions can no longer be "
            "proposed or answered; propose the reaction on {successor}"
        ).format(id=incident_id, successor=successor)
    )


def _refuse_blind(
    connection: Connection, mission: Mission, user: User, d: Decision, assessed: set[str]
) -> None:
    if _hidden(connection, mission, user, d, assessed):
        raise Forbidden(
            _(
                "decision {id} is on incident {incident}, which is still blind: assess it "
                "first (or have the heads of every contingent end the blind period)"
            ).format(id=d.id, incident=d.incident_id)
        )


class _Entries:
    """A verb's log entries, appended at once when it has made them all (one append, one
    update of the log's head, where each step and state took one), and the rows of its steps,
    which name their entries' indexes. The entries, their order and their records are those
    the steps made one by one."""

    def __init__(self, at: datetime) -> None:
        self.at = at
        self.entries: list[LogEntry] = []
        self.steps: list[tuple[int, dict[str, Any]]] = []  # (entry's position, step row)

    def add(self, kind: str, ref: str, record: Any) -> int:
        """Queue an entry; its position among this verb's entries."""
        self.entries.append(LogEntry.of(kind, ref, record))
        return len(self.entries) - 1

    def write(self, connection: Connection, decision: Decision) -> tuple[Decision, range]:
        """Append the entries and insert the steps' rows; ``decision`` with its new steps'
        ledger indexes (its last steps, those queued here), and the entries' indexes."""
        indexes = log.append(connection, self.entries, at=self.at)
        if not self.steps:
            return decision, indexes
        rows = [{**row, "ledger_index": indexes[position]} for position, row in self.steps]
        bulk.insert_rows(connection, decision_steps, rows)
        kept = decision.steps[: len(decision.steps) - len(rows)]
        made = decision.steps[len(kept) :]
        steps = tuple(
            replace(step, ledger_index=row["ledger_index"])
            for step, row in zip(made, rows, strict=True)
        )
        self.entries, self.steps = [], []
        return replace(decision, steps=(*kept, *steps)), indexes


def _step(
    entries: _Entries,
    decision: Decision,
    user: User | None,
    verdict: str,
    remarks: str,
) -> Decision:
    """Queue a step of ``decision`` (as it stands, steps included: the caller read it under
    the log's lock) in ``entries``; the decision with that step added (its ledger index known
    once ``entries`` are written), as :func:`_load` would read it then."""
    at = entries.at
    count = len(decision.steps)
    record = {
        "decision": decision.id,
        "user": user.name if user is not None else None,
        "contingent": user.contingent if user is not None else None,
        "role": user.role if user is not None else None,
        "verdict": verdict,
        "at": _iso(at),
        "remarks": remarks,
    }
    position = entries.add(KIND_APPROVAL, f"{decision.id}/{count + 1}", record)
    step = Step(
        user.name if user is not None else "",
        user.contingent if user is not None else None,
        user.role if user is not None else None,
        verdict,
        at,
        remarks,
        -1,
    )
    entries.steps.append(
        (
            position,
            {
                "decision_id": decision.id,
                "user_name": step.user,
                "contingent": step.contingent,
                "role": step.role,
                "verdict": verdict,
                "at": at,
                "remarks": remarks,
            },
        )
    )
    return replace(decision, steps=(*decision.steps, step))


def _set_state(
    connection: Connection, entries: _Entries, decision: Decision, **values: Any
) -> tuple[Decision, int]:
    """Set ``values`` (columns of :class:`Decision`: ``state``, ``due_at``) in the row and in
    the decision, and queue its new log entry in ``entries``; the decision and the entry's
    position there."""
    connection.execute(
        _UPDATE_DECISION, {"decision_id": decision.id, "updated_at": entries.at, **values}
    )
    decision = replace(decision, **values)
    return decision, entries.add(KIND_DECISION, decision.id, decision.record())


@dataclass(frozen=True)
class Effect:
    """A decision that took effect, as the rooms after the workflow read it
    (:func:`effects_without`): what to act on, and the moment and log entry of the act."""

    decision_id: str
    incident_id: str
    reaction: str
    party: str | None
    contingent: str | None
    at: datetime
    ledger_index: int | None
    """The decision's log entry as it took effect (later steps add entries of their own)."""


def _took_effect(connection: Connection, decision: Decision, at: datetime, index: int) -> None:
    """Every path that makes a decision take effect passes here: the effect's row, in the
    decision's transaction. The rooms after the workflow act on it in their own time
    (dissemination writes the notices: :func:`ceasefire.dissemination.outbox.notice_effects`);
    the workflow knows nothing of them, and no process can decide without leaving it."""
    bulk.insert_rows(
        connection,
        decision_effects,
        [{"decision_id": decision.id, "at": at, "ledger_index": index}],
    )


def effects_count() -> ScalarSelect[int]:
    """How many decisions took effect, as a scalar subquery: a later room compares it with
    the count of its own rows in one statement (one snapshot), which is far cheaper than the
    anti-join of :func:`effects_without` when they agree."""
    return select(func.count()).select_from(decision_effects).scalar_subquery()


@lru_cache(maxsize=16)
def _effects_query(done: ColumnElement[Any], limit: int | None, among: int) -> Select[Any]:
    """:func:`effects_without`'s statement, built once for each room, limit and how many
    decisions it is among (0: all; 1: one, by equality: a decision verb's own; 2: several)
    (building it cost more than SQLite's running it on a thousand effects)."""
    e, d = decision_effects, decisions
    query = (
        select(e.c.decision_id, e.c.at, e.c.ledger_index, d.c.incident_id, d.c.reaction)
        .add_columns(d.c.party, d.c.contingent)
        .join(d, d.c.id == e.c.decision_id)
        .where(~exists().where(done == e.c.decision_id))
        .order_by(e.c.at, e.c.decision_id)
    )
    if among == 1:
        # an expanding IN is written anew at each run: 43 µs against 26 for the statement
        query = query.where(e.c.decision_id == bindparam("among"))
    elif among:
        query = query.where(e.c.decision_id.in_(bindparam("among", expanding=True)))
    return query if limit is None else query.limit(limit)


def effects_without(
    connection: Connection,
    done: ColumnElement[Any],
    *,
    limit: int | None = None,
    among: Sequence[str] | None = None,
) -> list[Effect]:
    """The effects a later room has not yet acted on, in the order they took effect; only
    those of the decisions ``among``, if given (found by their keys: the whole anti-join
    reads every effect, 5-7 ms at 20,000 on SQLite).

    ``done``: the column of decision ids in that room's own table of what it made of each
    effect; the query is an anti-join on it (an effect with no row there), so an effect that
    committed late is found as surely as any other (no "highest seen" cursor skips it). The
    workflow only receives the column: it imports nothing of the room that owns it."""
    if among is not None and not among:
        return []
    count = 0 if among is None else min(len(among), 2)
    query = _effects_query(done, limit, count)
    values = {} if among is None else {"among": among[0] if count == 1 else list(among)}
    return [
        Effect(
            decision_id=r.decision_id,
            incident_id=r.incident_id,
            reaction=r.reaction,
            party=r.party,
            contingent=r.contingent,
            at=r.at,
            ledger_index=None if r.ledger_index is None else int(r.ledger_index),
        )
        for r in connection.execute(query, values)
    ]


def _counts_for(decision: Decision, user: User) -> bool:
    """Whether the user's approval is a key for this decision's tier."""
    if decision.tier == TWO_KEY or decision.state == ESCALATED:
        return user.role == "head"
    return user.role in ("duty_officer", "head")


def _keys(decision: Decision, verdicts: tuple[str, ...]) -> set[str]:
    """Contingents that gave one of ``verdicts``; once escalated, only the heads' count."""
    heads_only = decision.tier == TWO_KEY or decision.state == ESCALATED
    return {
        s.contingent
        for s in decision.steps
        if s.verdict in verdicts and s.contingent and (s.role == "head" or not heads_only)
    }


def propose(
    connection: Connection,
    mission: Mission,
    user: User,
    incident_id: str,
    reaction: str,
    *,
    party: str | None = None,
    contingent: str | None = None,
    urgent: bool = False,
    remarks: str = "",
    at: datetime | None = None,
) -> Decision:
    """Propose a reaction (or, ``urgent``, take it at once as a duty officer).

    A proposer whose role counts for the tier gives their own contingent's key with it.
    """
    when = moment(at)
    require(user, "propose_decision", contingent=user.contingent)
    _check_target(mission, reaction, party, contingent)
    tier = _tier(mission, reaction, urgent)
    if tier == URGENT:
        require(user, "take_urgent", contingent=user.contingent)
    assert user.contingent is not None  # require() refuses users outside the contingents
    log.lock(connection)
    contingents = tuple(mission.contingent_ids())
    incident = connection.execute(
        _proposal_reads(contingents), {"incident_id": incident_id}
    ).first()
    if incident is None:
        raise no_such_incident(incident_id)
    _refuse_superseded(incident_id, incident.status, incident.detail)
    policy = mission.config.policy
    hours = policy.confirm_hours if tier == URGENT else policy.escalate_hours
    decision = Decision(
        id="DEC-" + secrets.token_hex(6),
        incident_id=incident_id,
        reaction=reaction,
        party=party,
        contingent=contingent,
        tier=tier,
        state=TAKEN if tier == URGENT else PROPOSED,
        proposed_by=user.name,
        proposer_contingent=user.contingent,
        proposed_at=when,
        due_at=when + timedelta(hours=hours),
        remarks=remarks,
    )
    bulk.insert_rows(
        connection,
        decisions,
        [
            {
                "id": decision.id,
                "incident_id": incident_id,
                "reaction": reaction,
                "party": party,
                "contingent": contingent,
                "tier": tier,
                "state": decision.state,
                "proposed_by": user.name,
                "proposer_contingent": user.contingent,
                "proposed_at": when,
                "due_at": decision.due_at,
                "updated_at": when,
                "remarks": remarks,
            }
        ],
    )
    blindness.hold_when_shared(
        connection,
        mission,
        incident_id,
        when,
        assessed=_assessed(contingents, incident),
        held=bool(incident.held),
    )
    entries = _Entries(when)
    decision = _step(entries, decision, user, "take" if tier == URGENT else "propose", remarks)
    position = entries.add(KIND_DECISION, decision.id, decision.record())
    if tier != URGENT and _counts_for(decision, user):
        decision = _step(entries, decision, user, "approve", "")
    decision, indexes = entries.write(connection, decision)
    if tier == URGENT:
        _took_effect(connection, decision, when, indexes[position])
    return decision


def approve(
    connection: Connection,
    mission: Mission,
    user: User,
    decision_id: str,
    *,
    remarks: str = "",
    at: datetime | None = None,
) -> Decision:
    """Give the user's contingent's key; the decision is approved when every contingent has."""
    return _answer(connection, mission, user, decision_id, "approve", remarks, at)


def reject(
    connection: Connection,
    mission: Mission,
    user: User,
    decision_id: str,
    *,
    remarks: str = "",
    at: datetime | None = None,
) -> Decision:
    """Refuse the user's contingent's key: with parity, one side's refusal ends the proposal."""
    return _answer(connection, mission, user, decision_id, "reject", remarks, at)


def confirm(
    connection: Connection,
    mission: Mission,
    user: User,
    decision_id: str,
    *,
    remarks: str = "",
    at: datetime | None = None,
) -> Decision:
    """The other side confirms an urgent decision."""
    return _answer(connection, mission, user, decision_id, "confirm", remarks, at)


def contest(
    connection: Connection,
    mission: Mission,
    user: User,
    decision_id: str,
    *,
    remarks: str = "",
    at: datetime | None = None,
) -> Decision:
    """The other side contests an urgent decision: recorded, and left to the heads."""
    return _answer(connection, mission, user, decision_id, "contest", remarks, at)


def _answer(
    connection: Connection,
    mission: Mission,
    user: User,
    decision_id: str,
    verdict: str,
    remarks: str,
    at: datetime | None,
) -> Decision:
    """A contingent's answer: ``approve`` or ``reject`` a proposal, ``confirm`` or ``contest``
    an urgent decision; each kind's own rules in :func:`_refuse_approval` and
    :func:`_refuse_response`."""
    when = moment(at)
    urgent = verdict in ("confirm", "contest")
    require(user, "respond_urgent" if urgent else "approve_decision", contingent=user.contingent)
    log.lock(connection)
    contingents = tuple(mission.contingent_ids())
    rows = connection.execute(_answer_reads(contingents), {"decision_id": decision_id}).all()
    if not rows:
        raise _no_such_decision(decision_id)
    decision = _decision_of(rows)
    _refuse_blind(connection, mission, user, decision, _assessed(contingents, rows[0]))
    _refuse_superseded(decision.incident_id, rows[0].incident_status, rows[0].incident_detail)
    if urgent:
        _refuse_response(decision, user)
    else:
        _refuse_approval(decision, user)
    if user.contingent in _keys(
        decision, ("confirm", "contest") if urgent else ("approve", "reject")
    ):
        raise Conflict(
            _("{contingent} has already answered decision {id}").format(
                contingent=user.contingent, id=decision_id
            )
        )
    entries = _Entries(when)
    decision = _step(entries, decision, user, verdict, remarks)
    took_effect = None
    if verdict == "reject":
        decision, _position = _set_state(connection, entries, decision, state=REJECTED)
    elif verdict == "contest":
        decision, _position = _set_state(connection, entries, decision, state=CONTESTED)
    elif urgent:
        others = set(mission.contingent_ids()) - {decision.proposer_contingent}
        if _keys(decision, ("confirm",)) >= others:
            decision, _position = _set_state(connection, entries, decision, state=CONFIRMED)
    elif _keys(decision, ("approve",)) >= set(mission.contingent_ids()):
        decision, took_effect = _set_state(connection, entries, decision, state=APPROVED)
    decision, indexes = entries.write(connection, decision)
    if took_effect is not None:
        _took_effect(connection, decision, when, indexes[took_effect])
    return decision


def _refuse_approval(decision: Decision, user: User) -> None:
    """A proposal's rules: approved or rejected while it waits, by a role that counts."""
    if decision.tier == URGENT:
        raise Conflict(_("an urgent decision is confirmed or contested, not approved"))
    if decision.state not in (PROPOSED, ESCALATED):
        raise Conflict(
            _("decision {id} is {state}: nothing to approve").format(
                id=decision.id, state=decision.state
            )
        )
    if not _counts_for(decision, user):
        raise Forbidden(
            _("decision {id} needs the heads of every contingent").format(id=decision.id)
        )


def _refuse_response(decision: Decision, user: User) -> None:
    """An urgent decision's rules: confirmed or contested by the other contingent while it
    waits (by its head once escalated)."""
    if decision.tier != URGENT or decision.state not in (TAKEN, ESCALATED):
        raise Conflict(
            _("decision {id} is not an urgent decision waiting for an answer").format(
                id=decision.id
            )
        )
    if user.contingent == decision.proposer_contingent:
        raise Conflict(_("the other contingent confirms or contests an urgent decision"))
    if decision.state == ESCALATED and user.role != "head":
        raise Forbidden(
            _("decision {id} was escalated: the heads answer it").format(id=decision.id)
        )


def escalate_overdue(
    connection: Connection, mission: Mission, *, at: datetime | None = None
) -> list[Decision]:
    """Escalate to the heads every proposal or urgent decision unanswered by its due time."""
    when = moment(at)
    log.lock(connection)
    due = connection.execute(
        select(decisions.c.id)
        .where(decisions.c.state.in_((PROPOSED, TAKEN)), decisions.c.due_at <= when)
        .order_by(decisions.c.due_at, decisions.c.id)
    ).scalars()
    escalated = []
    heads_due = when + timedelta(hours=mission.config.policy.escalate_hours)
    for decision_id in list(due):
        entries = _Entries(when)
        decision = _step(entries, _load(connection, decision_id), None, "escalate", "")
        decision, _position = _set_state(
            connection, entries, decision, state=ESCALATED, due_at=heads_due
        )
        escalated.append(entries.write(connection, decision)[0])
    return escalated


def get_decision(
    connection: Connection, mission: Mission, user: User, decision_id: str
) -> Decision:
    require(user, "read_decisions")
    return _as_seen(connection, mission, user, _load(connection, decision_id))


def list_decisions(
    connection: Connection,
    mission: Mission,
    user: User | None,
    *,
    incident_id: str | None = None,
    pending: bool = False,
) -> list[Decision]:
    """Decisions, oldest first, as ``user`` may see them (None: the center itself)."""
    if user is not None:
        require(user, "read_decisions")
    query = select(decisions.c.id).order_by(decisions.c.proposed_at, decisions.c.id)
    if incident_id is not None:
        query = query.where(decisions.c.incident_id == incident_id)
    if pending:
        query = query.where(decisions.c.state.in_(PENDING))
    return [
        _as_seen(connection, mission, user, _load(connection, i))
        for i in connection.execute(query).scalars()
    ]
