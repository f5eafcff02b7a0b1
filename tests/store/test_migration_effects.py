"""Migration 0019: a store made before decisions' effects gets one for every decision that
took effect (urgent ones when taken, approved ones when approved), marked done where its
notices were already written (so none gets them twice); the others get theirs once, from the
next notice step."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import command
from test_migration_holds import incident, mission_key

from ceasefire.dissemination.outbox import notice_effects
from ceasefire.dissemination.tables import effect_notices, notices
from ceasefire.incidents.tables import incidents
from ceasefire.ledger.tables import ledger, ledger_head
from ceasefire.mission import load_mission
from ceasefire.store.db import alembic_config, create, upgrade
from ceasefire.workflow.tables import decision_effects, decisions

T0 = datetime(2021, 2, 1, 10, 0, tzinfo=UTC)


def decision(decision_id: str, tier: str, state: str, reaction: str) -> dict[str, object]:
    return {
        "id": decision_id,
        "incident_id": "INC-A",
        "reaction": reaction,
        "tier": tier,
        "state": state,
        "proposed_by": "x",
        "proposer_contingent": "RU",
        "proposed_at": T0,
        "due_at": T0 + timedelta(hours=9),
        "updated_at": T0 + timedelta(minutes=30),
        "remarks": "",
    }


def notice(notice_id: str, cause: str, recipient: str) -> dict[str, object]:
    return {
        "id": notice_id,
        "batch": "BAT-OLD",
        "kind": "incident",
        "cause": cause,
        "incident_id": "INC-A",
        "recipient": recipient,
        "recipient_kind": "party",
        "role": "addressee",
        "lang": "hy",
        "subject": "s",
        "body": "b",
        "payload": "{}",
        "content_hash": "c",
        "payload_hash": "p",
        "created_at": T0,
        "ack_due_at": T0,
        "ack_token": "t",
        "ledger_index": 9,
    }


def test_effects_backfilled_and_old_notices_never_doubled(database_url: str) -> None:
    engine = create(database_url)
    try:
        command.upgrade(alembic_config(engine), "0018")
        with engine.begin() as db:
            key = mission_key(db)
            db.execute(sa.insert(incidents).values(incident("INC-A", key)))
            rows = [
                decision("DEC-NOTICED", "two_key", "approved", "notify_both_parties"),
                decision("DEC-LOST", "joint", "approved", "notify_peacekeepers"),
                decision("DEC-URGENT", "urgent", "confirmed", "notify_peacekeepers"),
                decision("DEC-WAITING", "two_key", "proposed", "notify_both_parties"),
                decision("DEC-REJECTED", "joint", "rejected", "notify_peacekeepers"),
            ]
            db.execute(sa.insert(decisions), rows)
            entries = [("DEC-NOTICED", 3), ("DEC-NOTICED", 5), ("DEC-URGENT", 4),
                       ("DEC-URGENT", 7), ("DEC-LOST", 6)]  # fmt: skip
            db.execute(
                sa.insert(ledger),
                [
                    {"index": i, "kind": "decision", "ref": ref, "entry": "{}",
                     "leaf_hash": bytes(32), "appended_at": T0}
                    for ref, i in entries
                ],
            )  # fmt: skip
            db.execute(
                sa.insert(notices),
                [notice("NTC-1", "DEC-NOTICED", "AM"), notice("NTC-2", "DEC-NOTICED", "AZ")],
            )
        upgrade(engine)
        with engine.connect() as db:
            effects = {
                r.decision_id: (r.at, r.ledger_index)
                for r in db.execute(sa.select(decision_effects))
            }
            marked = {r.decision_id: r.batch for r in db.execute(sa.select(effect_notices))}
        assert effects == {
            "DEC-NOTICED": (T0 + timedelta(minutes=30), 5),  # approved: its last entry
            "DEC-LOST": (T0 + timedelta(minutes=30), 6),
            "DEC-URGENT": (T0, 4),  # taken: its first entry
        }
        assert marked == {"DEC-NOTICED": "BAT-OLD"}
        mission = load_mission("karabakh-2020")
        with engine.begin() as db:
            db.execute(sa.update(ledger_head).values(size=10))  # the entries above
        with engine.begin() as db:
            made = notice_effects(db, mission)
        assert sorted(made) == ["DEC-LOST", "DEC-URGENT"]
        with engine.connect() as db:
            causes = sorted(db.execute(sa.select(notices.c.cause)).scalars())
        assert causes.count("DEC-NOTICED") == 2  # the old notices, not doubled
        assert causes.count("DEC-LOST") == 1 and causes.count("DEC-URGENT") == 1  # to PK
    finally:
        engine.dispose()
