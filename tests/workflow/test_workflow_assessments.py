"""Assessments are blind until both submitted (or both heads end it), immutable, and
give a finding only where both agree; otherwise the incident is disputed with both views."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from workflow_support import T0, Center

from ceasefire.incidents.tables import incidents
from ceasefire.ledger.tables import ledger
from ceasefire.workflow import (
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    assessments,
    blindness,
    findings,
)
from ceasefire.workflow.tables import assessments as assessments_table

VIOLATION = {"violation": "yes", "clauses": ["1"], "attribution": "AZ", "severity": "high"}


def status(center: Center, incident_id: str = "INC-1") -> str:
    with center.engine.connect() as db:
        return str(
            db.execute(sa.select(incidents.c.status).where(incidents.c.id == incident_id)).scalar()
        )


def test_blind_until_both_submitted(center: Center) -> None:
    m, u = center.mission, center.users
    with center.engine.begin() as db:
        mine = assessments.submit(db, m, u["ru-do"], "INC-1", at=T0, **VIOLATION)
    # The status stays "open" while blind: "assessing" would tell TR that RU has assessed.
    assert mine.version == 1 and status(center) == "open"
    later = T0 + timedelta(hours=1)
    with center.engine.connect() as db:
        # The other side reads nothing of it, in the library, whatever the screen does.
        assert assessments.visible(db, m, u["tr-do"], "INC-1") == []
        assert assessments.latest(db, m, u["tr-head"], "INC-1") == {}
        assert assessments.visible(db, m, u["auditor"], "INC-1") == []
        assert [a.contingent for a in assessments.visible(db, m, u["ru-analyst"], "INC-1")] == [
            "RU"
        ]
        assert assessments.is_blind(db, m, "INC-1")
        assert findings.current(db, u["tr-do"], "INC-1") is None
    with center.engine.begin() as db:
        assessments.submit(db, m, u["tr-do"], "INC-1", at=later, **VIOLATION)
    with center.engine.connect() as db:
        side_by_side = assessments.latest(db, m, u["tr-do"], "INC-1")
        assert sorted(side_by_side) == ["RU", "TR"]
        # Liaisons see assessments only once released to them.
        with pytest.raises(Forbidden):
            assessments.visible(db, m, u["am-liaison"], "INC-1")
        assert assessments.visible(db, m, u["am-liaison"], "INC-1", released_to=("AM",))


def test_blind_has_no_time_out_only_both_heads_end_it(center: Center) -> None:
    m, u = center.mission, center.users
    with center.engine.begin() as db:
        assessments.submit(db, m, u["tr-head"], "INC-1", at=T0, remarks="TR's view", **VIOLATION)
    # Years later, RU (which never submitted) still reads nothing of TR's view.
    with center.engine.connect() as db:
        assert assessments.visible(db, m, u["ru-do"], "INC-1") == []
        assert assessments.is_blind(db, m, "INC-1")
    # Only a head may give a key; one side's key alone, or the same side twice, is not enough.
    with center.engine.begin() as db:
        for name in ("ru-do", "ru-analyst", "auditor", "pk-liaison"):
            with pytest.raises(Forbidden):
                blindness.lift(db, m, u[name], "INC-1", at=T0)
        assert blindness.lift(db, m, u["ru-head"], "INC-1", remarks="TR is away", at=T0) == {"RU"}
        with pytest.raises(Conflict):
            blindness.lift(db, m, u["ru-head2"], "INC-1", at=T0)
    with center.engine.connect() as db:
        assert assessments.visible(db, m, u["ru-do"], "INC-1") == []
    assert status(center) == "open"  # one key is not the end of the blind period
    with center.engine.begin() as db:
        assert blindness.lift(db, m, u["tr-head"], "INC-1", at=T0) == {"RU", "TR"}
        with pytest.raises(Conflict):  # nothing left to end
            blindness.lift(db, m, u["tr-head"], "INC-1", at=T0)
    with center.engine.connect() as db:
        seen = assessments.visible(db, m, u["ru-do"], "INC-1")
        assert [a.contingent for a in seen] == ["TR"]
        # Both keys are in the ledger, with who gave them.
        logged = db.execute(
            sa.select(ledger.c.ref, ledger.c.entry).where(ledger.c.kind == "unblind")
        ).all()
    assert [r.ref for r in logged] == ["INC-1/RU", "INC-1/TR"]
    assert '"by":"ru-head"' in logged[0].entry and "TR is away" in logged[0].entry
    # "open" while blind; once both heads agreed, TR's view is everyone's: "assessing"
    assert status(center) == "assessing"  # no finding without RU's view


def test_no_side_writes_the_other_sides_view_and_inputs_are_checked(center: Center) -> None:
    m, u = center.mission, center.users
    with center.engine.begin() as db:
        for name in ("ru-do", "ru-head"):
            with pytest.raises(Forbidden):
                assessments.submit(db, m, u[name], "INC-1", contingent="TR", at=T0, **VIOLATION)
        for name in ("ru-analyst", "am-liaison", "pk-liaison", "auditor"):
            with pytest.raises(Forbidden):
                assessments.submit(db, m, u[name], "INC-1", at=T0, **VIOLATION)
        bad = [
            {**VIOLATION, "clauses": ["99"]},
            {**VIOLATION, "attribution": "RU"},
            {**VIOLATION, "violation": "maybe"},
            {**VIOLATION, "severity": "apocalyptic"},
            {**VIOLATION, "clauses": []},
        ]
        for fields in bad:
            with pytest.raises(Invalid):
                assessments.submit(db, m, u["ru-do"], "INC-1", at=T0, **fields)
        with pytest.raises(NotFound):
            assessments.submit(db, m, u["ru-do"], "INC-404", at=T0, **VIOLATION)


def test_agreement_gives_a_finding_and_revisions_keep_the_old(center: Center) -> None:
    m, u = center.mission, center.users
    with center.engine.begin() as db:
        assessments.submit(db, m, u["ru-do"], "INC-1", at=T0, **VIOLATION)
        both = assessments.submit(
            db, m, u["tr-do"], "INC-1", at=T0, **{**VIOLATION, "severity": "critical"}
        )
    assert both.version == 1 and status(center) == "finding"
    with center.engine.connect() as db:
        found = findings.current(db, u["ru-head"], "INC-1")
    assert found is not None and found.agreed and found.version == 1
    assert (found.record["violation"], found.record["clauses"], found.record["attribution"]) == (
        "yes",
        ["1"],
        "AZ",
    )
    assert found.record["severity"] == "critical"  # the higher; each view keeps its own
    assert found.record["views"]["RU"]["severity"] == "high"
    # A revision is a new version; the first stays, and the finding is worked out again.
    with center.engine.begin() as db:
        revised = assessments.submit(
            db,
            m,
            u["ru-head"],
            "INC-1",
            at=T0 + timedelta(hours=2),
            **{**VIOLATION, "attribution": "not_attributed"},
        )
    assert revised.version == 2 and status(center) == "disputed"
    with center.engine.connect() as db:
        rows = db.execute(
            sa.select(
                assessments_table.c.contingent,
                assessments_table.c.version,
                assessments_table.c.attribution,
            ).order_by(assessments_table.c.id)
        ).all()
        assert [tuple(r) for r in rows] == [
            ("RU", 1, "AZ"),
            ("TR", 1, "AZ"),
            ("RU", 2, "not_attributed"),
        ]
        history = findings.history(db, u["auditor"], "INC-1")
    assert [(f.version, f.outcome) for f in history] == [(1, "finding"), (2, "disputed")]


def test_disagreement_is_disputed_with_both_views(center: Center) -> None:
    m, u = center.mission, center.users
    with center.engine.begin() as db:
        assessments.submit(db, m, u["ru-do"], "INC-1", at=T0, **VIOLATION)
        assessments.submit(
            db,
            m,
            u["tr-do"],
            "INC-1",
            at=T0,
            violation="undetermined",
            clauses=[],
            attribution="not_attributed",
            remarks="smoke only",
        )
    assert status(center) == "disputed"
    with center.engine.connect() as db:
        found = findings.current(db, u["tr-head"], "INC-1")
    assert found is not None and not found.agreed
    assert found.record["violation"] is None and found.record["attribution"] is None
    assert found.record["differs_on"] == ["violation", "clauses", "attribution"]
    views = found.record["views"]
    assert views["RU"]["violation"] == "yes" and views["RU"]["attribution"] == "AZ"
    assert views["TR"]["violation"] == "undetermined" and views["TR"]["remarks"] == "smoke only"
    # Working it out again from the same assessments makes no new version.
    with center.engine.begin() as db:
        assert findings.determine(db, m, "INC-1", at=T0).version == 1  # type: ignore[union-attr]
