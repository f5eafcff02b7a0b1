"""The roster flags one-sided shifts; the handover lists what is open; every workflow record
is in the ledger, appended in its own transaction, and the audit still passes."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from workflow_support import T0, Center

from ceasefire.dissemination.outbox import notice_effects
from ceasefire.ledger.audit import audit
from ceasefire.ledger.cosign import make_checkpoint
from ceasefire.ledger.keys import init_keys, load_keys, origin_of
from ceasefire.ledger.tables import ledger
from ceasefire.workflow import Forbidden, Invalid, assessments, decisions, shifts
from ceasefire.workflow.tables import assessments as assessments_table
from ceasefire.workflow.tables import decision_steps, findings

VIOLATION = {"violation": "yes", "clauses": ["1"], "attribution": "AZ", "severity": "high"}


def test_roster_flags_and_handover(center: Center) -> None:
    m, u = center.mission, center.users
    center.new_incident("INC-2")
    with center.engine.begin() as db:
        day = shifts.add_shift(db, m, u["ru-do"], T0, T0 + timedelta(hours=12), "day", at=T0)
        night = shifts.add_shift(
            db, m, u["tr-do"], T0 + timedelta(hours=12), T0 + timedelta(hours=24), "night"
        )
        assert day.missing == ("RU", "TR")
        shifts.assign(db, m, u["ru-head"], day.id, "ru-do", at=T0)
        with pytest.raises(Forbidden):  # no side rosters the other's officers
            shifts.assign(db, m, u["ru-head"], day.id, "tr-do", at=T0)
        with pytest.raises(Invalid):
            shifts.assign(db, m, u["ru-head"], day.id, "ru-analyst", at=T0)
        day = shifts.assign(db, m, u["tr-do"], day.id, "tr-do", at=T0)
        assert day.missing == ()
        shifts.assign(db, m, u["tr-head"], night.id, "tr-do", at=T0)
        assessments.submit(db, m, u["ru-do"], "INC-1", at=T0, **VIOLATION)
        pending = decisions.propose(db, m, u["ru-head"], "INC-1", "notify_both_parties", at=T0)
        assert [s.missing for s in shifts.roster(db, m)] == [(), ("RU",)]
        with pytest.raises(Forbidden):
            shifts.handover_report(db, m, u["am-liaison"], at=T0)
        report = shifts.handover_report(db, m, u["tr-do"], at=T0 + timedelta(hours=11, minutes=30))
    assert report["shift"]["id"] == day.id and report["next_shift"]["id"] == night.id
    assert len(report["flags"]) == 1 and night.id in report["flags"][0]
    assert [(i["id"], i["status"]) for i in report["open_incidents"]] == [
        ("INC-1", "open"),  # RU assessed it, but it is blind: TR's report must not tell
        ("INC-2", "open"),
    ]
    assert [d["id"] for d in report["pending_decisions"]] == [pending.id]
    assert report["pending_decisions"][0]["overdue"] is False
    assert report["unacknowledged_notices"] == []


def test_every_record_is_in_the_ledger_and_the_audit_passes(center: Center, tmp_path: Path) -> None:
    m, u = center.mission, center.users
    with center.engine.begin() as db:
        assessments.submit(db, m, u["ru-do"], "INC-1", at=T0, **VIOLATION)
        assessments.submit(db, m, u["tr-do"], "INC-1", at=T0, **VIOLATION)
        d = decisions.propose(db, m, u["ru-head"], "INC-1", "notify_both_parties", at=T0)
        decisions.approve(db, m, u["tr-head"], d.id, at=T0)
        notice_effects(db, m)  # its notices, as the dispatcher writes them
    # A refused step leaves nothing behind, in the tables or the log.
    with center.engine.connect() as db:
        before = db.execute(sa.select(sa.func.count()).select_from(ledger)).scalar()
    with pytest.raises(Forbidden), center.engine.begin() as db:
        assessments.submit(db, m, u["ru-do"], "INC-1", contingent="TR", at=T0, **VIOLATION)
    with center.engine.connect() as db:
        assert db.execute(sa.select(sa.func.count()).select_from(ledger)).scalar() == before
        entries = {
            (r.kind, r.ref): json.loads(r.entry)["record"]
            for r in db.execute(sa.select(ledger.c.kind, ledger.c.ref, ledger.c.entry))
        }
        kinds = {k for k, _r in entries}
        assert {"user", "assessment", "finding", "decision", "approval"} <= kinds
        assert sum(1 for k, _r in entries if k == "user") == 12
        # Each stored row points at its own entry.
        for table, kind in ((assessments_table, "assessment"), (findings, "finding")):
            for row in db.execute(sa.select(table)):
                logged = db.execute(
                    sa.select(ledger.c.kind).where(ledger.c["index"] == row.ledger_index)
                ).scalar()
                assert logged == kind
        steps = db.execute(sa.select(decision_steps.c.ledger_index)).scalars().all()
        assert len(steps) == 3
        assert entries[("assessment", "INC-1/RU/1")]["attribution"] == "AZ"
        assert entries[("finding", "INC-1/1")]["outcome"] == "finding"
        assert entries[("decision", d.id)]["state"] == "approved"
    origin = origin_of(m.id)
    init_keys(tmp_path / "keys", origin, m.contingent_ids())
    ring = load_keys(tmp_path / "keys", origin, m.contingent_ids())
    make_checkpoint(center.engine, ring)
    report = audit(center.engine, ring)
    assert report.ok, [str(f) for f in report.findings]
