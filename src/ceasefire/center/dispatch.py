"""The center's dispatcher and its notices: what `ceasefire serve` runs beside the correlation
follower, what `ceasefire notices` and the API's ``/notices`` call.

The dispatcher runs in a process of its own (:class:`~ceasefire.dissemination.dispatcher.
DispatcherProcess`), started again if it dies, and holds the one dispatcher lease; its
channels are made when it starts, so a channel that cannot be loaded (or a center without its
signer key) is said then, not in the middle of sending.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from ceasefire.dissemination import channels as channels_
from ceasefire.dissemination import notices as notices_
from ceasefire.dissemination.dispatcher import (
    Counts,
    Dispatcher,
    DispatcherProcess,
    ProcessArgs,
    channel_options,
    lease_holder,
    options_of,
    wanted_channels,
)
from ceasefire.i18n import _
from ceasefire.ledger.errors import LedgerError
from ceasefire.ledger.keys import default_dir
from ceasefire.mission.model import Mission
from ceasefire.workflow import blindness, roles
from ceasefire.workflow.errors import NotFound
from ceasefire.workflow.roles import User
from ceasefire.workflow.scheduler import utc_now

if TYPE_CHECKING:
    from ceasefire.center.core import Center

log = logging.getLogger(__name__)

PROCESS_LEASE = "dispatcher-process"
"""The lease deciding which center runs the dispatcher process (a :class:`~ceasefire.center.
leased.LeasedJob`'s); the process itself sends under the lease ``dispatcher``, which also keeps
`ceasefire notices dispatch` out while it runs."""

WATCH_EVERY = 2.0
"""Seconds between looks at whether the dispatcher process still lives."""


def process_args(center: Center) -> ProcessArgs:
    s = center.settings
    return ProcessArgs(
        db=s.db,
        mission=s.mission or center.mission.source,
        keys=str(s.keys or default_dir(center.mission.id)),
        smtp=s.smtp,
        smtp_from=s.smtp_from,
        options=options_of(center.mission),
        parent=os.getpid(),
        tak_certs=str(s.tak_certs) if s.tak_certs else None,
    )


def channels_for(center: Center) -> dict[str, channels_.Channel]:
    """The channels the mission and the outbox need, made now (a clear error if one cannot
    be, or the center's signer key is missing)."""
    signer = center.keyring(secret=True).signer()
    context = channels_.Context(
        signer=signer,
        mission=center.mission.id,
        smtp=center.settings.smtp,
        smtp_from=center.settings.smtp_from,
        options=channel_options(center.settings.tak_certs),
    )
    return channels_.load(wanted_channels(center.engine, center.mission), context)


class DispatchJob:
    """The dispatcher process of a serving center, watched and started again if it dies."""

    def __init__(self, center: Center) -> None:
        self.center = center
        self.process = DispatcherProcess(process_args(center))
        self._watch: asyncio.Task[None] | None = None

    async def start(self) -> None:
        # The channels made once here, in the server: one that cannot be loaded stops the
        # start-up with its reason. Without the center's signer key nothing can be signed:
        # the notices wait in the outbox (nothing is lost) and the log says why.
        try:
            made = await asyncio.to_thread(channels_for, self.center)
        except LedgerError as e:
            log.error(
                _("Notices are not sent: {reason} (run `ceasefire keys init`)").format(reason=e)
            )
            return
        await channels_.close(made.values())
        self.process.start()
        self._watch = asyncio.create_task(self._keep_alive())

    async def _keep_alive(self) -> None:
        while True:
            await asyncio.sleep(WATCH_EVERY)
            self.process.keep_alive()

    async def stop(self) -> None:
        if self._watch is None:
            return
        self._watch.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._watch
        await asyncio.to_thread(self.process.stop)


def dispatch_job(center: Center) -> DispatchJob | None:
    """The job `ceasefire serve` runs, unless the settings turn dispatching off."""
    if not center.settings.dispatch:
        return None
    return DispatchJob(center)


def dispatch(center: Center, *, once: bool = False) -> Counts:
    """Send what the outbox holds in this process: every delivery due now once (``once``),
    or until none is pending (waiting out back-offs). Refused while a dispatcher runs."""

    async def run() -> Counts:
        made = channels_for(center)
        try:
            dispatcher = Dispatcher(
                center.engine,
                made,
                options=options_of(center.mission),
                lock=center.lock,
                mission=center.mission,
            )
            return await dispatcher.drain(once=once)
        finally:
            await channels_.close(made.values())

    return asyncio.run(run())


@dataclass(frozen=True)
class DispatcherState:
    holder: str | None  # who runs the dispatcher now (None: nobody)
    pending: int
    dead: int

    def record(self) -> dict[str, Any]:
        return {"dispatcher": self.holder, "pending": self.pending, "dead": self.dead}


def _reader(center: Center, user: User | str, action: str) -> Any:
    def check(db: Connection) -> User:
        acting = user if isinstance(user, User) else roles.get_user(db, user)
        roles.require(acting, action, contingent=acting.contingent)
        return acting

    return check


def list_notices(
    center: Center,
    user: User | str,
    *,
    status: str | None = None,
    incident_id: str | None = None,
    recipient: str | None = None,
    limit: int | None = None,
) -> list[notices_.Notice]:
    """The notices as a contingent's officer (or an auditor) reads them: every one, for both
    contingents alike (parity), with deliveries, dead letters and the parties' skew; but not
    those of a reaction one side took while its incident is blind, for anyone outside that
    side (:func:`ceasefire.workflow.blindness.withheld_notice`)."""
    with center.engine.connect() as db:
        acting = _reader(center, user, "read_notices")(db)
        shown = notices_seen(
            db, center.mission, acting, status=status, incident_id=incident_id, recipient=recipient
        )
    return shown if limit is None else shown[:limit]


def notices_seen(
    db: Connection,
    mission: Mission,
    user: User,
    *,
    status: str | None = None,
    incident_id: str | None = None,
    recipient: str | None = None,
) -> list[notices_.Notice]:
    """The notices ``user`` may read, on an open connection (the API's listing and the
    incident page ask the same): the blindness rule leaves out those of a reaction the other
    side took while its incident is blind, as if never sent."""
    found = notices_.list_notices(db, status=status, incident_id=incident_id, recipient=recipient)
    return [n for n in found if not blindness.withheld_notice(db, mission, user, n.cause)]


def get_notice(center: Center, user: User | str, notice_id: str) -> notices_.Notice:
    with center.engine.connect() as db:
        acting = _reader(center, user, "read_notices")(db)
        found = notices_.get_notice(db, notice_id)
        if blindness.withheld_notice(db, center.mission, acting, found.cause):
            # as if it did not exist: its existence would tell of the other side's view
            raise NotFound(_("no such notice: {id}").format(id=notice_id))
        return found


def retry_notice(
    center: Center, user: User | str, notice_id: str, at: datetime | None = None
) -> int:
    """A duty officer (of either contingent, alike) puts a notice's dead letters back in their
    queues; logged with who asked. How many deliveries."""

    def step(db: Connection, acting: User) -> int:
        roles.require(acting, "retry_notice", contingent=acting.contingent)
        return notices_.retry(db, notice_id, acting.name, at or utc_now())

    return center.act(user, step)


def dispatcher_state(center: Center, user: User | str | None = None) -> DispatcherState:
    """Who dispatches, and the deliveries pending and dead; as ``user`` reads them, without
    the deliveries of notices withheld from them (a count would tell of a blind reaction)."""
    from sqlalchemy import func, select

    from ceasefire.dissemination.tables import deliveries, notices

    with center.engine.connect() as db:
        acting = None if user is None else _reader(center, user, "read_notices")(db)
        counts: dict[str, int] = {}
        for cause, status, n in db.execute(
            select(notices.c.cause, deliveries.c.status, func.count())
            .select_from(deliveries.join(notices, deliveries.c.notice_id == notices.c.id))
            .group_by(notices.c.cause, deliveries.c.status)
        ):
            if acting is not None and blindness.withheld_notice(db, center.mission, acting, cause):
                continue
            counts[status] = counts.get(status, 0) + int(n)
        return DispatcherState(
            lease_holder(db),
            int(counts.get(notices_.PENDING, 0)),
            int(counts.get(notices_.DEAD, 0)),
        )


__all__ = [
    "PROCESS_LEASE",
    "DispatchJob",
    "DispatcherState",
    "dispatch",
    "dispatch_job",
    "dispatcher_state",
    "get_notice",
    "list_notices",
    "notices_seen",
    "retry_notice",
]
