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

from dissemination_support import pending_delivery

from ceasefire import lease
from ceasefire.dissemination import channels
from ceasefire.dissemination.dispatcher import Dispatcher, Options
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
                pending_delivery(db, "NTC-warm", "AM/http", now)
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
