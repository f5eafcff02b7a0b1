"""A dispatcher process for the kill test: forked from a server that has the package loaded
and its queries worked out once already (:func:`_warm`), so that each of the many cycles
starts in milliseconds and is killed while it works, not while it starts."""

from __future__ import annotations

import asyncio
import os
import ssl
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from ceasefire import lease
from ceasefire.dissemination import channels
from ceasefire.dissemination.dispatcher import Dispatcher, Options
from ceasefire.dissemination.tables import deliveries, notices
from ceasefire.ledger.note import Ed25519Signer
from ceasefire.store import open_database

PRELOAD = ["kill_support"]
SSL = ssl.create_default_context()  # made once, in the server the processes are forked from


def run(url: str, skey: str, options: Options) -> None:
    """Dispatch until killed (the test sends SIGKILL at a random moment)."""
    engine = open_database(url, migrate=False)
    made = channels.load(
        ["http"], channels.Context(signer=Ed25519Signer.from_skey(skey), options={"verify": SSL})
    )
    dispatcher = Dispatcher(engine, made, options=options, holder=lease.holder(os.getppid()))
    asyncio.run(dispatcher.run(asyncio.Event()))


def _warm() -> None:
    """One failing delivery through a dispatcher on a scratch database: every query it makes
    is compiled once here, before the fork, instead of in every short-lived process."""
    with tempfile.TemporaryDirectory() as folder:
        engine = open_database(str(Path(folder) / "warm.db"))
        now = datetime.now(UTC)
        try:
            with engine.begin() as db:
                db.execute(
                    sa.insert(notices).values(
                        id="NTC-warm",
                        batch="BAT-warm",
                        kind="incident_notice",
                        cause="DEC-w",
                        recipient="AM",
                        recipient_kind="party",
                        role="addressee",
                        lang="en",
                        subject="",
                        body="",
                        payload="{}",
                        content_hash="",
                        payload_hash="",
                        created_at=now,
                        ack_due_at=now,
                        ack_token="",
                        ledger_index=0,
                    )
                )
                db.execute(
                    sa.insert(deliveries).values(
                        notice_id="NTC-warm",
                        channel="http",
                        address="http://127.0.0.1:9/",
                        queue="AM/http",
                        status="pending",
                        attempts=0,
                        next_at=now,
                        last_error="",
                        updated_at=now,
                    )
                )
            signer = Ed25519Signer.generate("warm/up")
            made = channels.load(["http"], channels.Context(signer=signer, options={"verify": SSL}))

            async def once() -> None:
                try:
                    await Dispatcher(engine, made, options=Options(attempts=1)).drain(once=True)
                finally:
                    await channels.close(made.values())

            asyncio.run(once())
        finally:
            engine.dispose()


_warm()
