"""The center, assembled in one place: the store, the mission, the enricher, the intake, the
correlation, the escalation scheduler, the listeners, and what later capabilities plug in.

The command line, the HTTP API, the demo and the benches build a :class:`Center` from
:class:`~ceasefire.center.settings.Settings` and call its methods; none of them puts the parts
together by hand. A capability (a dispatcher, a node link, more routes) plugs in with one line:
a function ``plug(center)`` named in :data:`CAPABILITIES` (or in the ``ceasefire.capabilities``
entry point group, for a package a mission ships) that calls :meth:`Center.add_job` and
:meth:`Center.add_router`.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import cache, cached_property
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

from sqlalchemy import Connection, Engine

from ceasefire import __version__
from ceasefire.center.leased import call as _call
from ceasefire.center.leased import leased
from ceasefire.center.settings import Settings
from ceasefire.dissemination import acks, messages
from ceasefire.dissemination.acks import escalate_unacknowledged
from ceasefire.dissemination.audit import audit_all
from ceasefire.dissemination.messages import Message
from ceasefire.dissemination.notices import get_notice
from ceasefire.dissemination.outbox import notice_effects
from ceasefire.dissemination.refusals import InvalidField
from ceasefire.errors import InputError, Problem
from ceasefire.geo.engine import Enricher
from ceasefire.i18n import _
from ceasefire.incidents import follow
from ceasefire.incidents.service import Correlator
from ceasefire.ingest.listeners import CotListeners, serve_cot
from ceasefire.ingest.pipeline import BATCH, Intake, IntakeResult
from ceasefire.ingest.tls import server_context
from ceasefire.intake.errors import Rejection
from ceasefire.ledger import intake_keys
from ceasefire.ledger.audit import AuditReport
from ceasefire.ledger.checkpoint import CosignatureVerifier
from ceasefire.ledger.cosign import (
    StoredCheckpoint,
    VerifiedCheckpoint,
    make_checkpoint,
    rotate_key,
    verify_checkpoint,
)
from ceasefire.ledger.entry import KIND_OBSERVATION
from ceasefire.ledger.keys import (
    KeyRing,
    PartyWitness,
    Rotation,
    default_dir,
    load_keys,
    origin_of,
    witness_url,
)
from ceasefire.ledger.leaves import LeafCopy
from ceasefire.ledger.release import Release, Selection, write_release
from ceasefire.ledger.witness import WitnessError
from ceasefire.mission import Mission, load_mission
from ceasefire.reports import proof as report_proof
from ceasefire.reports.signing import SignedReport
from ceasefire.store import observations as store
from ceasefire.store import open_database, quarantine
from ceasefire.store.db import current_revision
from ceasefire.store.missions import (
    StoredVersion,
    mission_row,
    save_mission,
    stored_mission,
    versions,
)
from ceasefire.store.sorties import Sortie
from ceasefire.store.sorties import sorties as find_sorties
from ceasefire.witness.client import WitnessClient
from ceasefire.workflow import (
    assessments,
    blindness,
    decisions,
    findings,
    roles,
    screens,
    shifts,
)
from ceasefire.workflow.releases import check_recipient, incident_selections
from ceasefire.workflow.roles import User
from ceasefire.workflow.scheduler import DEFAULT_INTERVAL, EscalationScheduler, utc_now

if TYPE_CHECKING:
    from fastapi import APIRouter
    from starlette.types import ASGIApp

log = logging.getLogger(__name__)

CAPABILITIES: tuple[str, ...] = (
    "ceasefire.node.center:plug",
    "ceasefire.api.reports:plug",
    "ceasefire.web:plug",
    "ceasefire.api.notices:plug",
    "ceasefire.center.checkpointer:plug",
)
"""``module:function`` of each capability built into the center; each function takes the
Center and registers its background jobs and API routers. Add one line here to plug one in."""

ENTRY_POINTS = "ceasefire.capabilities"
"""The entry point group of capabilities from other packages (each names a ``plug(center)``)."""

Correlation = Literal["streaming", "deferred", "off"]
Answer = Literal["approve", "reject", "confirm", "contest"]
ANSWERS: dict[str, Callable[..., decisions.Decision]] = {
    "approve": decisions.approve,
    "reject": decisions.reject,
    "confirm": decisions.confirm,
    "contest": decisions.contest,
}
"""A contingent's answers to a decision: to a proposal, then to an urgent one."""
T = TypeVar("T")


@dataclass(frozen=True)
class FindingView:
    """An incident's joint finding or dispute as one user may see it."""

    incident_id: str
    views: dict[str, assessments.Assessment]
    """Each contingent's latest assessment this user may see (only their own while blind)."""
    blind: bool
    finding: findings.Finding | None


class Job(Protocol):
    """A background job of a running center: started once it serves, stopped when it stops.
    Either method may be a coroutine function (run on the server's event loop); a plain one
    that blocks (joining a thread) is run in a worker thread."""

    def start(self) -> Any: ...

    def stop(self) -> Any: ...


JobFactory = Callable[["Center"], Job | None]
RouterFactory = Callable[["Center"], "APIRouter"]
AppFactory = Callable[["Center"], "ASGIApp"]


class Center:
    """One monitoring center: built from settings; its methods are the center's verbs.

    ``mission``, ``engine``, ``enricher`` and ``lock`` may be handed in (tests, the API's
    ``create_app``); otherwise they are made from the settings. The mission is stored (once,
    if this version is new) the first time its row is needed.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        mission: Mission | None = None,
        engine: Engine | None = None,
        enricher: Enricher | None = None,
        lock: threading.Lock | None = None,
        note: str = "",
        capabilities: Iterable[str] | None = None,
    ) -> None:
        self.settings = settings or Settings()
        self.mission = mission if mission is not None else load_mission(self.settings.mission)
        self._owns_engine = engine is None
        self.engine = engine if engine is not None else open_database(self.settings.db)
        if enricher is not None:
            self.enricher = enricher
        # One lock for every writer in this process: the API, the listeners, the scheduler
        # and the jobs take turns on the store.
        self.lock = lock or threading.Lock()
        self.note = note
        self._jobs: list[JobFactory] = []
        self._routers: list[RouterFactory] = []
        self._apps: list[tuple[str, AppFactory]] = []
        for name in CAPABILITIES if capabilities is None else capabilities:
            _load(name)(self)
        if capabilities is None:
            for plug in _installed():
                plug(self)

    # -- what it owns ---------------------------------------------------------------------
    @cached_property
    def enricher(self) -> Enricher:
        """The mission's enricher, shared by everything of this center (it is read-only)."""
        return Enricher(self.mission)

    @cached_property
    def version(self) -> StoredVersion:
        """The stored version of the mission (stored now if it is new)."""
        stored, _new = save_mission(self.engine, self.mission, note=self.note)
        return stored

    @cached_property
    def mission_row(self) -> int:
        """The mission version's key in the store, which every observation row carries."""
        return mission_row(self.engine, self.version)

    def store_mission(self) -> tuple[StoredVersion, bool]:
        """Store the mission now: its version, and whether it is new (its files changed)."""
        return save_mission(self.engine, self.mission, note=self.note)

    def mission_versions(self, mission_id: str | None = None) -> list[StoredVersion]:
        """The stored versions of a mission (by default this center's), oldest first."""
        return versions(self.engine, mission_id or self.mission.id)

    def stored_mission(self, version: int | None = None, mission_id: str | None = None) -> Mission:
        """A mission as stored (by default this center's, its newest version)."""
        return stored_mission(self.engine, mission_id or self.mission.id, version)

    def close(self) -> None:
        if self._owns_engine:
            self.engine.dispose()

    def __enter__(self) -> Center:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plugging in ------------------------------------------------------------------------
    def add_job(self, factory: JobFactory, lease: str | None = None) -> None:
        """A background job of the running center, made when it starts serving (``None``: the
        capability has nothing to run with these settings). With ``lease``, a single writer:
        it runs in one center process at a time, the others standing by
        (:mod:`ceasefire.center.leased`)."""
        self._jobs.append(factory if lease is None else leased(lease, factory))

    def add_router(self, factory: RouterFactory) -> None:
        """API routes of a capability, included under the center's app; ``factory`` gets the
        Center and returns a FastAPI ``APIRouter`` (paths already under ``/api/v1``)."""
        self._routers.append(factory)

    def routers(self) -> list[APIRouter]:
        return [factory(self) for factory in self._routers]

    def add_app(self, path: str, factory: AppFactory) -> None:
        """An ASGI app of a capability (the web pages), mounted at ``path`` beside the API;
        paths under ``/api/`` stay the API's (its 404 and 405 answers included)."""
        self._apps.append((path, factory))

    def apps(self) -> list[tuple[str, ASGIApp]]:
        return [(path, factory(self)) for path, factory in self._apps]

    @asynccontextmanager
    async def jobs(self) -> AsyncIterator[list[Job]]:
        """Start every registered job; stop them, last first, on the way out."""
        started: list[Job] = []
        async with AsyncExitStack() as stack:
            for factory in self._jobs:
                job = factory(self)
                if job is None:
                    continue
                await _call(job.start)
                stack.push_async_callback(_call, job.stop)
                started.append(job)
            yield started

    # -- intake -----------------------------------------------------------------------------
    def intake(
        self,
        *,
        contingent: str | None = None,
        correlate: Correlation = "streaming",
        keep_outcomes: bool = False,
        on_reject: Callable[[Rejection], None] | None = None,
        batch_size: int = BATCH,
    ) -> Intake:
        """A new intake into this center's store: feed it adapter items, then ``finish``."""
        return Intake(
            self.engine,
            self.mission,
            self.mission_row,
            enricher=self.enricher,
            contingent=contingent,
            on_reject=on_reject,
            keep_outcomes=keep_outcomes,
            batch_size=batch_size,
            correlate=correlate,
        )

    def ingest(
        self,
        items: Iterable[Any],
        source: str,
        *,
        contingent: str | None = None,
        correlate: Correlation = "streaming",
    ) -> IntakeResult:
        """Check, enrich, store and log adapter items (and correlate them, unless ``off``)."""
        intake = self.intake(contingent=contingent, correlate=correlate)
        with self.lock:
            intake.feed(items, source)
            intake.finish()
        return intake.result

    # -- correlation ------------------------------------------------------------------------
    def follower_alive(self) -> bool:
        """Whether a running center's correlation follower works on this store."""
        with self.engine.connect() as connection:
            return follow.alive(connection)

    def correlator(self) -> Correlator:
        return Correlator(self.mission, self.mission_row, self.enricher)

    def correlate(self, since: datetime | None = None, until: datetime | None = None) -> int:
        """Correlate a period again (after a correction of geometry or thresholds); the
        number of incidents in it. Refused while a follower correlates this store."""
        if self.follower_alive():
            # Two writers of incidents at once could each undo the other's work.
            raise InputError(
                Problem(
                    file="correlate",
                    field="--db",
                    reason=_(
                        "a running center correlates this store (its correlation follower is "
                        "alive): stop `ceasefire serve` first"
                    ),
                )
            )
        return self.correlator().recorrelate(self.engine, since, until)

    def follower(self) -> follow.Follower:
        """A correlation follower in this process (the server runs it in its own)."""
        return follow.Follower(self.engine, self.mission, self.mission_row, self.enricher)

    def follower_process(self) -> follow.FollowerProcess:
        """The correlation follower in a process of its own, on this store and mission."""
        source = self.settings.mission or self.mission.source
        return follow.FollowerProcess(self.settings.db, source, self.mission_row)

    def backlog(self) -> int:
        """Observations a correlation follower has still to take."""
        with self.engine.connect() as db:
            return follow.behind(db)

    # -- workflow ---------------------------------------------------------------------------
    def escalation(
        self, interval: float | None = None, clock: Callable[[], datetime] = utc_now
    ) -> EscalationScheduler:
        """The scheduler escalating overdue decisions and unacknowledged notices (every
        ``interval`` seconds, by default the settings' ``escalate_every``), taking the
        center's write lock."""
        return EscalationScheduler(
            self.engine,
            self.mission,
            interval=interval or self.settings.escalate_every or DEFAULT_INTERVAL,
            lock=self.lock,
            clock=clock,
            also=[escalate_unacknowledged],  # notices not acknowledged in time
        )

    # -- the joint workflow: each step one transaction under the write lock ----------------
    def act(self, user: User | str, step: Callable[[Connection, User], T]) -> T:
        """``step(db, user)`` in one transaction under the center's write lock, so a step and
        its log entry commit together; ``user`` (or the user of that name) is the one acting,
        whose role and contingent the library checks."""
        with self.lock, self.engine.begin() as db:
            return step(db, user if isinstance(user, User) else roles.get_user(db, user))

    def read(self, user: User | str, step: Callable[[Connection, User], T]) -> T:
        """``step(db, user)`` on one connection, reading only."""
        with self.engine.connect() as db:
            return step(db, user if isinstance(user, User) else roles.get_user(db, user))

    def assess(
        self,
        user: User | str,
        incident_id: str,
        *,
        violation: str,
        clauses: list[str],
        attribution: str = assessments.NOT_ATTRIBUTED,
        severity: str | None = None,
        remarks: str = "",
        contingent: str | None = None,
        at: datetime | None = None,
        page: str | None = None,
    ) -> tuple[assessments.Assessment, str | None]:
        """Submit the user's contingent's assessment of an incident (a new version if one
        exists); with the incident's outcome after it (agreed, disputed, or None while a
        contingent has still to assess). ``page``: the stamp of the screen the form was sent
        from, refused if stale or locked by another officer (:func:`screens.check`)."""

        def step(db: Connection, acting: User) -> tuple[assessments.Assessment, str | None]:
            if page is not None:
                screens.check(db, self.mission, acting, incident_id, page)
            made = assessments.submit(
                db,
                self.mission,
                acting,
                incident_id,
                violation=violation,
                clauses=clauses,
                attribution=attribution,
                severity=severity,
                remarks=remarks,
                contingent=contingent,
                at=at,
            )
            found = findings._current(db, incident_id)
            return made, found.outcome if found is not None else None

        return self.act(user, step)

    def finding(self, user: User | str, incident_id: str) -> FindingView:
        """The incident's joint finding or dispute and the assessments ``user`` may see."""

        def step(db: Connection, acting: User) -> FindingView:
            return FindingView(
                incident_id,
                assessments.latest(db, self.mission, acting, incident_id),
                blindness.is_blind(db, self.mission, incident_id),
                findings.current(db, acting, incident_id),
            )

        return self.read(user, step)

    def unblind(
        self, user: User | str, incident_id: str, *, remarks: str = "", at: datetime | None = None
    ) -> tuple[set[str], bool]:
        """A head's key to end an incident's blind period early: the contingents that have
        agreed so far, and whether it is still blind."""

        def step(db: Connection, acting: User) -> tuple[set[str], bool]:
            agreed = blindness.lift(db, self.mission, acting, incident_id, remarks=remarks, at=at)
            return agreed, blindness.is_blind(db, self.mission, incident_id)

        return self.act(user, step)

    def decide(
        self,
        user: User | str,
        incident_id: str,
        reaction: str,
        *,
        party: str | None = None,
        contingent: str | None = None,
        urgent: bool = False,
        remarks: str = "",
        at: datetime | None = None,
        page: str | None = None,
    ) -> decisions.Decision:
        """Propose a reaction to an incident, or (``urgent``) take it at once. ``page``: the
        stamp of the screen the form was sent from, as for :meth:`assess`."""

        def step(db: Connection, acting: User) -> decisions.Decision:
            if page is not None:
                screens.check(db, self.mission, acting, incident_id, page)
            return decisions.propose(
                db,
                self.mission,
                acting,
                incident_id,
                reaction,
                party=party,
                contingent=contingent,
                urgent=urgent,
                remarks=remarks,
                at=at,
            )

        return self.decided(user, step)

    def decided(
        self, user: User | str, step: Callable[[Connection, User], decisions.Decision]
    ) -> decisions.Decision:
        """A decision verb: ``step`` as :meth:`act` runs it, then, in the same transaction,
        the notices of the decision if it took effect
        (:func:`ceasefire.dissemination.outbox.notice_effects`), so that a decision and its
        notices commit together and a command or a page that decided finds them. They are
        written in a savepoint: should that fail, the decision stands without them and the
        dispatcher writes them (as it does any other decision's without notices)."""
        with self.lock, self.engine.begin() as db:
            made = step(db, user if isinstance(user, User) else roles.get_user(db, user))
            try:
                with db.begin_nested():
                    notice_effects(db, self.mission, among=[made.id])
            except Exception:
                log.exception(_("Writing the notices of decisions failed: the dispatcher will."))
            return made

    def answer(
        self,
        user: User | str,
        decision_id: str,
        answer: Answer,
        *,
        remarks: str = "",
        at: datetime | None = None,
    ) -> decisions.Decision:
        """One contingent's answer to a decision: ``approve`` or ``reject`` a proposal,
        ``confirm`` or ``contest`` an urgent one; the decision after it."""
        answered = ANSWERS[answer]
        return self.decided(
            user,
            lambda db, acting: answered(
                db, self.mission, acting, decision_id, remarks=remarks, at=at
            ),
        )

    def list_decisions(
        self,
        user: User | str,
        *,
        incident_id: str | None = None,
        pending: bool = False,
        escalate: bool = False,
        at: datetime | None = None,
    ) -> list[decisions.Decision]:
        """The decisions as ``user`` may see them, oldest first; ``escalate``: every overdue
        proposal escalated first (as of ``at``)."""

        def step(db: Connection, acting: User) -> list[decisions.Decision]:
            if escalate:
                decisions.escalate_overdue(db, self.mission, at=at)
            return decisions.list_decisions(
                db, self.mission, acting, incident_id=incident_id, pending=pending
            )

        return self.act(user, step)

    # -- what the parties send back ----------------------------------------------------------
    def acknowledge(
        self,
        notice_id: str,
        *,
        token: str | None = None,
        signature: str | None = None,
        by: str = "",
        at: datetime | None = None,
    ) -> acks.Ack:
        """A notice's recipient acknowledges it, with its link's ``token`` or a note signed by
        its registered key (``signature``); logged. Refusals name the field."""
        with self.lock, self.engine.begin() as db:
            return acks.acknowledge(
                db,
                self.mission,
                notice_id,
                at=at or utc_now(),
                token=token,
                signature=signature,
                by=by,
            )

    def notice_digest(self, notice_id: str) -> str:
        """The SHA-256 of a stored notice's payload, which a signed acknowledgement signs."""
        with self.engine.connect() as db:
            return get_notice(db, notice_id).payload_hash

    def answer_notice(
        self, user: User | str, notice_id: str, text: object, *, at: datetime | None = None
    ) -> Message:
        """A party's liaison answers a request for an explanation to its party: logged, and
        told to every recipient of the request."""
        return self.act(
            user,
            lambda db, acting: messages.answer(
                db, self.mission, acting, notice_id, text, at or utc_now()
            ),
        )

    def file_complaint(
        self,
        user: User,
        body: object,
        *,
        at: datetime | None = None,
        correlate: Correlation = "streaming",
    ) -> Message:
        """A party's complaint: checked, stored as an observation (correlated unless the
        follower does it), then logged and told to every party in a transaction of its own.
        Sent again after a crash between the two, it completes (its id is its content's)."""
        made = messages.complaint(self.mission, user, body)
        intake = self.intake(keep_outcomes=True, correlate=correlate)
        with self.lock:
            intake.add(made.observation, "complaint", 1)
            intake.flush()
        refused = [o for o in intake.result.outcomes if o.status == "rejected"]
        if refused:
            field = {"remarks": "description"}.get(refused[0].field, refused[0].field)
            raise InvalidField(field, refused[0].reason)
        with self.lock, self.engine.begin() as db:
            return messages.record_complaint(db, self.mission, made, at or utc_now())

    # -- people and the roster ----------------------------------------------------------------
    def add_user(
        self,
        name: str,
        role: str,
        affiliation: str,
        password: str | None = None,
        *,
        by: User | str | None = None,
    ) -> User:
        """Add a user (logged without the password); ``by``: a head adding one of their
        contingent, None for the operator."""
        with self.lock, self.engine.begin() as db:
            actor = _user(db, by)
            return roles.add_user(db, self.mission, name, role, affiliation, password, by=actor)

    def disable_user(self, name: str, *, by: User | str | None = None) -> User:
        """Disable a user and revoke their tokens; their records stay theirs."""
        with self.lock, self.engine.begin() as db:
            return roles.disable_user(db, self.mission, name, by=_user(db, by))

    def users(self) -> list[User]:
        with self.engine.connect() as db:
            return roles.list_users(db)

    def issue_token(self, name: str, label: str = "", *, by: User | str | None = None) -> str:
        """A new API token for the user, shown once (only its hash is kept); ``by``: a head of
        the user's contingent, None for the operator or the user's own log-in."""
        with self.lock, self.engine.begin() as db:
            return roles.issue_token(db, name, label, by=_user(db, by))

    def add_shift(
        self, user: User | str, starts_at: datetime, ends_at: datetime, label: str = ""
    ) -> shifts.Shift:
        """Plan a shift; it stays flagged until every contingent has an officer on it."""
        return self.act(
            user,
            lambda db, acting: shifts.add_shift(
                db, self.mission, acting, starts_at, ends_at, label
            ),
        )

    def assign(self, user: User | str, shift_id: str, officer: str) -> shifts.Shift:
        """Put an officer of the user's own contingent on a shift."""
        return self.act(
            user, lambda db, acting: shifts.assign(db, self.mission, acting, shift_id, officer)
        )

    def roster(
        self, since: datetime | None = None, until: datetime | None = None
    ) -> list[shifts.Shift]:
        with self.engine.connect() as db:
            return shifts.roster(db, self.mission, since, until)

    def handover(self, user: User | str, at: datetime | None = None) -> dict[str, Any]:
        """The handover report: shifts and flags, open incidents, pending decisions, notices."""
        return self.read(
            user, lambda db, acting: shifts.handover_report(db, self.mission, acting, at=at)
        )

    # -- ledger -----------------------------------------------------------------------------
    def keyring(self, secret: bool = True, witnesses: dict[str, str] | None = None) -> KeyRing:
        """The keys of the center's log (see :func:`load_ring`)."""
        return load_ring(self.mission, self.settings, secret, witnesses)

    def rotate_key(self, holder: str) -> tuple[int, Rotation]:
        """Replace the key of a contingent (or ``center``) held in the center's key directory,
        logged first; the log's index of the change, and the change."""
        return rotate_key(self.engine, self.keyring(), holder)

    def checkpoint(
        self, witnesses: dict[str, str] | None = None
    ) -> tuple[StoredCheckpoint, VerifiedCheckpoint]:
        """The latest checkpoint cosigned by every contingent's witness, made now if the log
        grew (``witnesses``: URLs of contingents' witnesses to ask over HTTP)."""
        ring = self.keyring(witnesses=witnesses)
        stored = make_checkpoint(self.engine, ring, remote=WitnessClient)
        return stored, verify_checkpoint(stored.note, ring)

    def verify(
        self, witnesses: dict[str, str] | None = None, copies: Iterable[LeafCopy] = ()
    ) -> AuditReport:
        """Audit the store against its log and the cosigned checkpoints: every logged row of
        every room, each problem named by table and row. Each witness with a URL (the key
        directory's, or ``witnesses``) is asked for its copy of the leaf hashes, and those
        and ``copies`` (exported from a witness) name each rewritten entry."""
        ring = self.keyring(secret=False, witnesses=witnesses)
        held = list(copies)
        unasked: list[str] = []
        with WitnessClient() as client:
            for contingent, url in sorted(ring.witnesses.items()):
                try:
                    held.append(client.leaves(url, ring.origin))
                except WitnessError as e:
                    unasked.append(
                        _("no copy of leaf hashes from the witness of {c}: {error}").format(
                            c=contingent, error=e
                        )
                    )
        report = audit_all(self.engine, ring, held)
        report.notes.extend(unasked)
        return report

    def release(
        self,
        to: str,
        path: Path,
        *,
        incidents: Iterable[str] = (),
        observations: Iterable[str] | None = (),
        since: Iterable[int] = (),
        witnesses: dict[str, str] | None = None,
    ) -> Release:
        """Write a release bundle for party (or force) ``to`` at ``path`` and log it: the
        incidents' observations and findings and the ``observations`` refs (None: every
        observation), with inclusion proofs, a cosigned checkpoint and the keys."""
        check_recipient(self.mission, to)
        chosen = [
            Selection(KIND_OBSERVATION, None if observations is None else tuple(observations))
        ]
        incidents = list(incidents)
        for incident in incidents:
            chosen += incident_selections(self.engine, incident)
        ring = self.keyring(witnesses=witnesses)
        return write_release(
            self.engine, ring, path, to, chosen, list(since), WitnessClient, incidents
        )

    def report_proof(
        self, report: SignedReport, witnesses: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """The proof that a stored daily report is in the log (:mod:`ceasefire.reports.proof`):
        its entry with an inclusion proof at a cosigned checkpoint, made now if the log grew."""
        stored, _verified = self.checkpoint(witnesses)
        return report_proof.prove(self.engine, report, stored, self.mission.contingent_ids())

    # -- serving ----------------------------------------------------------------------------
    async def listeners(self, host: str, tcp: int | None, udp: int | None) -> CotListeners:
        """The CoT listeners, storing through an intake of their own (correlation left to
        the follower) under the center's write lock; over TLS too with ``cot_certs``, and
        each plain listener bound to its contingent when the settings name one."""
        s = self.settings
        for field, contingent in (
            ("cot_tcp_contingent", s.cot_tcp_contingent),
            ("cot_udp_contingent", s.cot_udp_contingent),
        ):
            if contingent is not None:
                self.mission.check_contingent(contingent, "settings", field)
        return await serve_cot(
            lambda: self.intake(correlate="off"),
            host,
            tcp,
            udp,
            tls_port=s.cot_tls_port if s.cot_certs is not None else None,
            tls=server_context(s.cot_certs) if s.cot_certs is not None else None,
            lock=self.lock,
            tcp_contingent=s.cot_tcp_contingent,
            udp_contingent=s.cot_udp_contingent,
        )

    def register_intake_key(self, vkey: str) -> intake_keys.Registered:
        """Register (or replace) a contingent node's intake verifier key; logged."""
        return intake_keys.register(self.engine, self.mission, vkey)

    def sorties(self, since: datetime | None = None, until: datetime | None = None) -> list[Sortie]:
        """The sorties flown (platform, contingent, start, end, points, length) in a period."""
        return list(find_sorties(self.engine, since, until))

    def quarantined(self, limit: int = 1000) -> list[dict[str, Any]]:
        """The observations correlation failed on and set aside, newest first, with why."""
        with self.engine.connect() as db:
            return quarantine.listing(db, limit)

    def status(self) -> dict[str, Any]:
        """What the center's health answer says: mission, database, schema, counts."""
        with self.engine.connect() as db:
            quarantined = quarantine.count(db)
        return {
            # degraded: a later stage set records aside (GET /quarantine says which and why)
            "status": "degraded" if quarantined else "ok",
            "version": __version__,
            "mission": self.mission.id,
            "mission_version": self.version.version,
            "database": self.engine.dialect.name,
            "schema_revision": current_revision(self.engine),
            "counts": {
                "observations": store.count_observations(self.engine),
                "track_points": store.count_track_points(self.engine),
                "by_contingent": store.counts_by_contingent(self.engine),
                "quarantined": quarantined,
            },
        }


def load_ring(
    mission: Mission,
    settings: Settings,
    secret: bool = True,
    witnesses: dict[str, str] | None = None,
) -> KeyRing:
    """The keys of a mission's log from the settings' key directory (default
    ``$CEASEFIRE_KEYS/MISSION``), with the witness URLs of the settings, then of ``witnesses``
    (the ``--witness`` options), over those of its ``witnesses.toml``."""
    folder = settings.keys or default_dir(mission.id)
    ring = load_keys(folder, origin_of(mission.id), mission.contingent_ids(), secret=secret)
    given = [("witnesses", c, url) for c, url in settings.witnesses.items()]
    given += [("--witness", c, url) for c, url in (witnesses or {}).items()]
    for where, contingent, url in given:
        if contingent not in ring.contingents:
            raise InputError(
                Problem(
                    file=where,
                    field=f"{contingent}={url}",
                    reason=_(
                        "expected CONTINGENT=URL with a contingent of the mission ({known})"
                    ).format(known=", ".join(ring.contingents)),
                )
            )
        ring.witnesses[contingent] = witness_url(url, where)
    return with_party_witnesses(ring, mission)


def with_party_witnesses(ring: KeyRing, mission: Mission) -> KeyRing:
    """``ring`` with the parties' inboxes as witnesses, as the mission names them, and whether
    their cosignatures are required (docs/ledger.md)."""
    for party in mission.config.parties:
        if party.witness is not None:
            where = f"mission.toml, parties {party.id} witness"
            ring.parties[party.id] = PartyWitness(
                witness_url(party.witness.url, where),
                CosignatureVerifier.from_vkey(party.witness.key),
            )
    ring.parties_required = mission.config.checkpoints.parties_required
    return ring


def _user(db: Connection, user: User | str | None) -> User | None:
    return roles.get_user(db, user) if isinstance(user, str) else user


@cache
def _installed() -> list[Callable[[Center], None]]:
    """The capabilities other installed packages declare (read once per process)."""
    return [point.load() for point in entry_points(group=ENTRY_POINTS)]


def _load(name: str) -> Callable[[Center], None]:
    module, _sep, function = name.partition(":")
    plug: Callable[[Center], None] = getattr(importlib.import_module(module), function)
    return plug


__all__ = [
    "ANSWERS",
    "CAPABILITIES",
    "ENTRY_POINTS",
    "Answer",
    "Center",
    "FindingView",
    "Job",
    "Settings",
]
