"""Decisions: two-key needs the heads of both contingents, the urgent tier is confirmed or
contested by the other side, unanswered proposals escalate (the clock is passed in)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa
from workflow_support import T0, Center, assess_both

from ceasefire.incidents.holds import held
from ceasefire.incidents.tables import incidents
from ceasefire.ledger import log
from ceasefire.mission.model import REACTIONS, Policy
from ceasefire.workflow import Conflict, Forbidden, Invalid, NotFound, assessments, decisions

VIEW = {"violation": "yes", "clauses": ["1"], "attribution": "AZ"}


@pytest.fixture(autouse=True)
def _not_blind(center: Center) -> None:
    """Both sides assessed INC-1, so each sees (and may answer) the other's decisions."""
    assess_both(center, "INC-1")


def test_two_key_needs_both_heads(center: Center) -> None:
    m, u = center.mission, center.users
    with center.engine.begin() as db:
        d = decisions.propose(db, m, u["ru-head"], "INC-1", "notify_both_parties", at=T0)
        # One head alone: proposed, not approved.
        assert d.tier == "two_key" and d.state == "proposed"
        # The same head again, or another head of the same contingent: refused.
        for name in ("ru-head", "ru-head2"):
            with pytest.raises(Conflict):
                decisions.approve(db, m, u[name], d.id, at=T0)
        # A duty officer's approval is not a key of a two-key decision.
        with pytest.raises(Forbidden):
            decisions.approve(db, m, u["tr-do"], d.id, at=T0)
        for name in ("am-liaison", "auditor", "tr-analyst"):
            with pytest.raises(Forbidden):
                decisions.approve(db, m, u[name], d.id, at=T0)
        assert decisions.get_decision(db, m, u["tr-do"], d.id).state == "proposed"
        done = decisions.approve(db, m, u["tr-head"], d.id, at=T0 + timedelta(minutes=5))
    assert done.state == "approved"
    assert [(s.verdict, s.contingent) for s in done.steps] == [
        ("propose", "RU"),
        ("approve", "RU"),
        ("approve", "TR"),
    ]
    with center.engine.begin() as db, pytest.raises(Conflict):
        decisions.approve(db, m, u["tr-head"], d.id, at=T0)


def test_two_key_proposed_by_a_duty_officer_and_rejected(center: Center) -> None:
    m, u = center.mission, center.users
    with center.engine.begin() as db:
        d = decisions.propose(db, m, u["tr-do"], "INC-1", "request_explanation", party="AM", at=T0)
        assert [s.verdict for s in d.steps] == ["propose"]
        assert decisions.approve(db, m, u["tr-head"], d.id, at=T0).state == "proposed"
        assert decisions.reject(db, m, u["ru-head"], d.id, at=T0).state == "rejected"


def test_neutrality_and_catalogue(center: Center) -> None:
    m, u = center.mission, center.users
    with center.engine.begin() as db:
        bad = [
            ("request_explanation", {}),  # names no party
            ("request_explanation", {"party": "RU"}),
            ("request_explanation", {"party": "AM", "urgent": True}),  # never one-sided
            ("notify_peacekeepers", {"party": "AZ"}),
            ("request_reobservation", {}),
            ("fire_mission", {}),
            ("notify_both_parties", {"urgent": True}),
        ]
        for reaction, extra in bad:
            with pytest.raises(Invalid):
                decisions.propose(db, m, u["ru-do"], "INC-1", reaction, at=T0, **extra)  # type: ignore[arg-type]
    # The policy cannot move a request to one party out of the two-key tier.
    with pytest.raises(ValueError):
        Policy(two_key=["notify_both_parties"], urgent=["request_explanation"])
    # Monitoring only: the catalogue is communications.
    assert all(r.startswith(("record", "notify", "request", "escalate")) for r in REACTIONS)


def test_joint_tier_needs_an_officer_of_each_side(center: Center) -> None:
    m, u = center.mission, center.users
    with center.engine.begin() as db:
        d = decisions.propose(db, m, u["ru-do"], "INC-1", "record_only", at=T0)
        assert d.tier == "joint" and d.state == "proposed"
        with pytest.raises(Conflict):
            decisions.approve(db, m, u["ru-do2"], d.id, at=T0)
        assert decisions.approve(db, m, u["tr-do"], d.id, at=T0).state == "approved"


def test_urgent_tier_confirmed_or_contested_by_the_other_side(center: Center) -> None:
    m, u = center.mission, center.users
    with center.engine.begin() as db:
        d = decisions.propose(db, m, u["ru-do"], "INC-1", "notify_peacekeepers", urgent=True, at=T0)
        assert d.tier == "urgent" and d.state == "taken"
        assert d.due_at == T0 + timedelta(hours=m.config.policy.confirm_hours)
        # Heads do not take urgent decisions alone; the own side does not confirm itself.
        with pytest.raises(Forbidden):
            decisions.propose(db, m, u["tr-head"], "INC-1", "notify_peacekeepers", urgent=True)
        for name in ("ru-do2", "ru-head"):
            with pytest.raises(Conflict):
                decisions.confirm(db, m, u[name], d.id, at=T0)
        with pytest.raises(Conflict):
            decisions.approve(db, m, u["tr-head"], d.id, at=T0)
        assert decisions.confirm(db, m, u["tr-do"], d.id, at=T0).state == "confirmed"
        e = decisions.propose(
            db,
            m,
            u["tr-do"],
            "INC-1",
            "request_reobservation",
            contingent="RU",
            urgent=True,
            at=T0,
        )
        contested = decisions.contest(db, m, u["ru-do"], e.id, remarks="no drone free", at=T0)
        assert contested.state == "contested"
        assert contested.steps[-1].remarks == "no drone free"
        with pytest.raises(Conflict):
            decisions.confirm(db, m, u["ru-head"], e.id, at=T0)
        pending = decisions.list_decisions(db, m, u["auditor"], pending=True)
    assert [p.id for p in pending] == [e.id]


def test_unanswered_proposals_escalate_to_the_heads(center: Center) -> None:
    m, u = center.mission, center.users
    policy = m.config.policy
    with center.engine.begin() as db:
        joint = decisions.propose(db, m, u["ru-do"], "INC-1", "record_only", at=T0)
        urgent = decisions.propose(
            db, m, u["tr-do"], "INC-1", "escalate_to_heads", urgent=True, at=T0
        )
        # Not yet due: nothing moves.
        almost = T0 + timedelta(hours=policy.confirm_hours) - timedelta(seconds=1)
        assert decisions.escalate_overdue(db, m, at=almost) == []
        first = decisions.escalate_overdue(db, m, at=T0 + timedelta(hours=policy.confirm_hours))
        assert [(d.id, d.state) for d in first] == [(urgent.id, "escalated")]
        second = decisions.escalate_overdue(db, m, at=T0 + timedelta(hours=policy.escalate_hours))
        assert [(d.id, d.state) for d in second] == [(joint.id, "escalated")]
        assert second[0].steps[-1].verdict == "escalate"
        # Escalated: only the heads answer now.
        with pytest.raises(Forbidden):
            decisions.approve(db, m, u["tr-do"], joint.id, at=T0)
        with pytest.raises(Forbidden):
            decisions.confirm(db, m, u["ru-do"], urgent.id, at=T0)
        assert decisions.approve(db, m, u["tr-head"], joint.id).state == "escalated"
        assert decisions.approve(db, m, u["ru-head"], joint.id).state == "approved"
        assert decisions.confirm(db, m, u["ru-head"], urgent.id).state == "confirmed"


def test_answers_read_the_decision_its_incident_and_blindness_under_one_lock(
    center: Center, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A proposal and its answer read what they check (the incident, superseded or not, held
    or not, blind or not; the decision and its steps) in one statement each, under the log's
    lock, which a transaction takes once: the same refusals, in the same order, as reading
    each apart."""
    m, u = center.mission, center.users
    blind = center.new_incident("INC-BLIND")
    with center.engine.begin() as db:
        assessments.submit(db, m, u["ru-do"], blind, at=T0, **VIEW)
        d = decisions.propose(db, m, u["ru-head"], blind, "notify_both_parties", at=T0)
        assert held(db, [blind]) == set()  # blind: not held by one side's proposal
    with center.engine.begin() as db:
        with pytest.raises(Forbidden, match="still blind"):
            decisions.approve(db, m, u["tr-head"], d.id, at=T0)
        with pytest.raises(Conflict):  # its own side sees it: the next rule refuses
            decisions.approve(db, m, u["ru-head2"], d.id, at=T0)
    with center.engine.begin() as db:
        assessments.submit(db, m, u["tr-do"], blind, at=T0, **VIEW)
    head: list[int] = []  # the log's head grown (locked: 0), each an UPDATE of ledger_head
    grow = log._grow
    monkeypatch.setattr(log, "_grow", lambda db, by: head.append(by) or grow(db, by))
    with center.engine.begin() as db:
        again = decisions.propose(db, m, u["ru-head"], blind, "notify_both_parties", at=T0)
        assert held(db, [blind]) == {blind}  # shared now: held by the proposal
        done = decisions.approve(db, m, u["tr-head"], again.id, at=T0)
        assert done.state == "approved"
        assert len(head) == 3  # the lock once, then each verb's append
        assert decisions.approve(db, m, u["tr-head"], d.id, at=T0).state == "approved"
    with center.engine.begin() as db:
        db.execute(
            sa.update(incidents)
            .where(incidents.c.id == blind)
            .values(status="superseded", detail=json.dumps({"superseded_by": "INC-1"}))
        )
        waiting = decisions.propose(db, m, u["ru-do"], "INC-1", "record_only", at=T0)
    with center.engine.begin() as db:
        with pytest.raises(Conflict, match="superseded by INC-1"):
            decisions.propose(db, m, u["ru-head"], blind, "record_only", at=T0)
        with pytest.raises(NotFound, match="no such incident"):
            decisions.propose(db, m, u["ru-head"], "INC-NONE", "record_only", at=T0)
        with pytest.raises(NotFound, match="no such decision"):
            decisions.approve(db, m, u["tr-head"], "DEC-NONE", at=T0)
        assert decisions.approve(db, m, u["tr-do"], waiting.id, at=T0).state == "approved"
