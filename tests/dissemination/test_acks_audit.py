"""`verify` audits the acknowledgements, escalations and the parties' answers against the log:
an acknowledgement forged, cleared or reattributed with SQL, an escalation erased, an answer's
words changed are each named with the table and the notice or message."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from dissemination_support import T0, Center, notice_rows

from ceasefire.center import Center as RealCenter
from ceasefire.dissemination import acks, messages
from ceasefire.dissemination.audit import audit_all
from ceasefire.ledger.keys import init_keys, load_keys, origin_of


def test_acknowledgements_escalations_and_answers_are_audited(
    center: Center, tmp_path: Path
) -> None:
    m = center.mission
    center.incident("INC-1")
    center.assess("INC-1")
    decision = center.decide("INC-1", "request_explanation", party="AZ")
    rows = notice_rows(center.engine, cause=decision.id)
    now = T0 + timedelta(hours=1, minutes=10)
    with center.engine.begin() as db:
        acks.acknowledge(db, m, rows["AZ"].id, at=now, token=rows["AZ"].ack_token, by="az")
        answer = messages.answer(db, m, center.users["az-liaison"], rows["AZ"].id, "No.", now)
    due = max(r.ack_due_at for r in rows.values()) + timedelta(minutes=1)
    with RealCenter(mission=m, engine=center.engine, capabilities=()) as real:
        real.escalation(clock=lambda: due).run_once()
    origin = origin_of(m.id)
    init_keys(tmp_path / "keys", origin, m.contingent_ids())
    ring = load_keys(tmp_path / "keys", origin, m.contingent_ids())

    def findings(*statements: str) -> list[str]:
        with center.engine.connect() as db:
            transaction = db.begin()
            try:
                for statement in statements:
                    db.exec_driver_sql(statement)
                return [str(f) for f in audit_all(db, ring).findings]
            finally:
                transaction.rollback()

    assert findings() == []
    az, am = rows["AZ"].id, rows["AM"].id
    cases = {
        "reattributed": (f"UPDATE notices SET acked_by = 'am' WHERE id = '{az}'", az),
        "cleared": (f"UPDATE notices SET acked_at = NULL WHERE id = '{az}'", az),
        "forged": (
            f"UPDATE notices SET acked_at = escalated_at, acked_by = 'am', "
            f"ack_index = (SELECT ack_index FROM notices WHERE id = '{az}') WHERE id = '{am}'",
            am,
        ),
        "escalation erased": (f"UPDATE notices SET escalated_at = NULL WHERE id = '{am}'", am),
        "answer edited": ("UPDATE party_messages SET text = 'Yes.'", answer.id),
    }
    for what, (statement, named) in cases.items():
        found = findings(statement)
        assert any(named in f for f in found), (what, found)
