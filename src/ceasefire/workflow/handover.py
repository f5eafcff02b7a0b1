"""The handover of a shift, confirmed by the outgoing officer of every contingent.

Why both: the report says what the next shift inherits (open incidents, pending decisions,
notices not yet acknowledged); a handover one side alone signed would let the other say it was
never told. Each contingent's officer on the shift confirms once; the confirmation is logged
(kind ``handover``, ref ``<shift>/<contingent>``) with the ids of what was handed over, so the
record says what each side confirmed. The handover is complete when every contingent has.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from ceasefire.i18n import _
from ceasefire.mission.model import Mission
from ceasefire.workflow._common import moment, record_entry
from ceasefire.workflow.errors import Conflict, Forbidden
from ceasefire.workflow.roles import User, require
from ceasefire.workflow.shifts import get_shift, handover_report
from ceasefire.workflow.tables import handover_confirmations

KIND_HANDOVER = "handover"


@dataclass(frozen=True)
class Confirmation:
    shift_id: str
    contingent: str
    user: str
    at: datetime
    ledger_index: int


def confirmations(connection: Connection, shift_id: str) -> dict[str, Confirmation]:
    """Each contingent's confirmation of the shift's handover, by contingent."""
    rows = connection.execute(
        select(handover_confirmations).where(handover_confirmations.c.shift_id == shift_id)
    )
    return {
        r.contingent: Confirmation(
            r.shift_id, r.contingent, r.user_name, r.confirmed_at, r.ledger_index
        )
        for r in rows
    }


def confirm_handover(
    connection: Connection,
    mission: Mission,
    user: User,
    shift_id: str,
    *,
    at: datetime | None = None,
) -> Confirmation:
    """The user, an officer on the shift, confirms its handover for their contingent."""
    when = moment(at)
    require(user, "manage_roster", contingent=user.contingent)
    shift = get_shift(connection, mission, shift_id)
    if (user.contingent, user.name) not in shift.officers:
        raise Forbidden(
            _("only an officer on shift {id} confirms its handover").format(id=shift_id)
        )
    assert user.contingent is not None
    if user.contingent in confirmations(connection, shift_id):
        raise Conflict(
            _("{contingent} has confirmed the handover of shift {id} already").format(
                contingent=user.contingent, id=shift_id
            )
        )
    report = handover_report(connection, mission, user, at=when)
    record: dict[str, Any] = {
        "event": "handover_confirmed",
        "shift": shift_id,
        "contingent": user.contingent,
        "by": user.name,
        "open_incidents": [i["id"] for i in report["open_incidents"]],
        "pending_decisions": [d["id"] for d in report["pending_decisions"]],
        "unacknowledged_notices": len(report["unacknowledged_notices"]),
    }
    index = record_entry(connection, KIND_HANDOVER, f"{shift_id}/{user.contingent}", record, when)
    connection.execute(
        insert(handover_confirmations).values(
            shift_id=shift_id,
            contingent=user.contingent,
            user_name=user.name,
            confirmed_at=when,
            ledger_index=index,
        )
    )
    return Confirmation(shift_id, user.contingent, user.name, when, index)
