"""The log keeps a blind view back on every entry that carries it or points to it, for either
side: an urgent reaction takes effect at once and sends its notices (here to the force), and
the dispatcher logs each delivery and retry of those notices (naming the notice, its channel
and address); each of these entries is the proposer's side's until the blind period ends."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from workflow_support import T0, Center

from ceasefire.dissemination.outbox import notice_effects
from ceasefire.ledger import log
from ceasefire.ledger.entry import LogEntry
from ceasefire.ledger.tables import ledger
from ceasefire.workflow import assessments, blindness, decisions

VIOLATION = {"violation": "yes", "clauses": ["1"], "attribution": "AZ", "severity": "high"}


@pytest.mark.parametrize(("side", "other"), [("RU", "TR"), ("TR", "RU")])
def test_notices_of_a_blind_urgent_reaction_and_their_deliveries_stay_with_its_side(
    center: Center, side: str, other: str
) -> None:
    m, u = center.mission, center.users
    s, o = side.lower(), other.lower()
    with center.engine.begin() as db:
        assessments.submit(db, m, u[f"{s}-do"], "INC-1", at=T0, **VIOLATION)
        decisions.propose(
            db, m, u[f"{s}-do"], "INC-1", "notify_peacekeepers",
            urgent=True, at=T0,
        )  # fmt: skip
        notice_effects(db, m)  # its notices, as the dispatcher writes them
        [notice] = db.execute(
            sa.select(ledger.c.ref).where(ledger.c.kind == "notice").limit(1)
        ).scalars()
        # What the dispatcher and a retry log about that notice (their records' shape).
        about = {"notice": notice, "channel": "email", "address": "hq@example.org", "ok": True}
        log.append(db, [LogEntry.of("delivery", f"DLV-1/{s}", about)], at=T0)
        log.append(db, [LogEntry.of("retry", notice, {"notice": notice, "by": "x"})], at=T0)
        log.append(db, [LogEntry.of("delivery", "DLV-2/x", {"notice": "NTC-none"})], at=T0)

    def kept_back(reader: str) -> dict[str, bool]:
        with center.engine.connect() as db:
            rows = db.execute(
                sa.select(ledger.c.kind, ledger.c.entry).where(
                    ledger.c.kind.in_(
                        ["assessment", "decision", "approval", "notice", "delivery", "retry"]
                    )
                )
            ).all()
            found: dict[str, bool] = {}
            for r in rows:
                hidden = blindness.withheld_entry(db, m, u[reader], r.kind, r.entry)
                if '"NTC-none"' in r.entry:
                    assert not hidden  # a delivery of a notice the log does not hold: nobody's
                    continue
                found[r.kind] = found.get(r.kind, hidden) and hidden
            return found

    kinds = {"assessment", "decision", "approval", "notice", "delivery", "retry"}
    for reader in (f"{o}-do", f"{o}-head", f"{o}-analyst", "auditor", "pk-liaison", "az-liaison"):
        assert kept_back(reader) == dict.fromkeys(kinds, True), reader
    assert kept_back(f"{s}-analyst") == dict.fromkeys(kinds, False)
    with center.engine.begin() as db:
        assessments.submit(db, m, u[f"{o}-do"], "INC-1", at=T0, **VIOLATION)
    assert kept_back(f"{o}-analyst") == dict.fromkeys(kinds, False)
    assert kept_back("auditor") == dict.fromkeys(kinds, False)
