"""`verify` audits the deliveries and their attempts against the log: an attempt's outcome
rewritten, a dead letter marked delivered, a delivery sent elsewhere, an attempt deleted or a
delivery dropped are each named with the table and the row."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from dissemination_support import make_center, mission_with_lines, notify_batches
from receivers import Receiver

from ceasefire.dissemination import channels, list_notices, retry
from ceasefire.dissemination.audit import audit_all
from ceasefire.dissemination.dispatcher import Dispatcher, Options
from ceasefire.ledger.keys import init_keys, load_keys, origin_of
from ceasefire.ledger.note import Ed25519Signer
from ceasefire.mission import load_mission

SIGNER = Ed25519Signer.generate("ceasefire.test/center")


def test_deliveries_and_attempts_are_audited(engine: sa.Engine, tmp_path: Path) -> None:
    with Receiver(key=SIGNER.vkey) as r:
        mission = load_mission(
            mission_with_lines(
                tmp_path, {"AM": r.url("flaky"), "AZ": r.url("az"), "PK": r.url("500")}
            )
        )
        make_center(engine, mission)
        notify_batches(engine, mission, 2)

        async def drain() -> None:
            made = channels.load(["http"], channels.Context(signer=SIGNER))
            try:
                await Dispatcher(engine, made, options=Options(attempts=2, base=0.01)).drain()
            finally:
                await channels.close(made.values())

        asyncio.run(drain())
        with engine.connect() as db:
            dead = list_notices(db, status="dead")
        with engine.begin() as db:
            retry(db, dead[0].id, "ru-do", datetime.now(UTC))
    origin = origin_of(mission.id)
    init_keys(tmp_path / "keys", origin, mission.contingent_ids())
    ring = load_keys(tmp_path / "keys", origin, mission.contingent_ids())

    def findings(*statements: str) -> list[str]:
        with engine.connect() as db:
            transaction = db.begin()
            try:
                for statement in statements:
                    db.exec_driver_sql(statement)
                return [str(f) for f in audit_all(db, ring).findings]
            finally:
                transaction.rollback()

    assert findings() == []
    retried = dead[0].deliveries[0].id
    other = dead[1].deliveries[0].id
    cases = {
        "outcome rewritten": (
            f"UPDATE delivery_attempts SET ok = 1 WHERE delivery_id = {other}",
            f"({other}/",
        ),
        "dead marked delivered": (
            f"UPDATE deliveries SET status = 'delivered' WHERE id = {other}",
            f"id {other} ",
        ),
        "retry undone": (
            f"UPDATE deliveries SET status = 'dead', attempts = 2 WHERE id = {retried}",
            f"id {retried} ",
        ),
        "sent elsewhere": (
            f"UPDATE deliveries SET address = 'http://evil.example/' WHERE id = {other}",
            "address",
        ),
        "attempt deleted": (
            f"DELETE FROM delivery_attempts WHERE delivery_id = {other} AND number = 1",
            f"{other}/1",
        ),
        "delivery dropped": (f"DELETE FROM deliveries WHERE id = {other}", dead[1].id),
    }
    for what, (statement, named) in cases.items():
        found = findings(statement)
        assert any(named in f for f in found), (what, found)
