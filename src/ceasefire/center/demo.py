"""The demo scenario: the whole center on the built-in mission, step by step.

From simulated drones to incidents and the record: the built-in mission is loaded, a day of
monitoring is simulated for both contingents, each contingent's files are ingested as that
contingent, incidents are correlated and scored against the simulation's truth, assessed jointly
and decided with two keys; an urgent reaction one duty officer took alone and the other side
left unanswered is escalated to the heads by the escalation scheduler, on the simulated day's
clock. Each contingent's witness then runs on a node of its own (its own key directory and state
file, served over HTTP on 127.0.0.1 in a thread of this process), the ledger is checkpointed,
cosigned by both over HTTP (of their keys the center holds only the verifier keys) and
audited, and the same release goes to both parties and is verified offline.

The direct lines are real too: each party's inbox (:mod:`ceasefire.inbox`, its own key and
file) listens on 127.0.0.1 for the center's signed webhooks, and a local SMTP server
(aiosmtpd) takes the peacekeepers' e-mail; the dispatcher sends the decision's notices to
them, the parties' inboxes and the force acknowledge except one party, whose notice the
escalation scheduler hands to the heads. Each inbox is a witness of the center's log as well
(its own cosigner key and state file) and cosigns the checkpoint beside the contingents'
(the mission does not require it). These lines (the inboxes' addresses, the relay, the
parties' keys) are set on the mission in memory for this run only: the stored mission is the
built-in one.

The day ends as a center's does: the daily report of the simulated day (one language, PDF) is
made, signed by both contingents' heads with the keys on their nodes, logged, and covered by a
checkpoint their witnesses cosign; its notices then go over the same lines, each party's inbox
fetches the report, its signature and its proof from the center and checks them (verified), and
the peacekeepers' e-mail carries the report and its signature as attachments.

Each step is a method of :class:`Demo` that returns what it did as data; ``ceasefire demo``
calls them in order and renders the answers (a test or a web page can do the same).
"""

from __future__ import annotations

import asyncio
import dataclasses
import email
import json
import shutil
import socket
import time
from collections.abc import Collection
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from sqlalchemy import select

from ceasefire.center.core import Center, with_party_witnesses
from ceasefire.center.settings import Settings
from ceasefire.dissemination import channels as channels_
from ceasefire.dissemination.audit import audit_all
from ceasefire.dissemination.dispatcher import Dispatcher, Options
from ceasefire.dissemination.tables import deliveries, notices
from ceasefire.errors import CeasefireError
from ceasefire.geo.locate import describe
from ceasefire.i18n import _, current_language
from ceasefire.inbox import Inbox, init_inbox
from ceasefire.inbox.store import (
    TRUSTED_KEYS,
    WITNESS_STATE,
    Received,
    init_witness,
    witness_key_file,
)
from ceasefire.incidents.coverage import coverage
from ceasefire.incidents.queries import IncidentFilter, list_incidents
from ceasefire.ingest.pipeline import IntakeResult
from ceasefire.intake import cot, jsonl
from ceasefire.ledger.bundle import verify_bundle
from ceasefire.ledger.cosign import make_checkpoint, verify_checkpoint
from ceasefire.ledger.keys import (
    CENTER,
    WITNESSES_FILE,
    init_key,
    load_cosigner,
    load_keys,
    origin_of,
)
from ceasefire.ledger.note import Ed25519Signer
from ceasefire.ledger.release import write_release
from ceasefire.mission import DEFAULT_MISSION, Mission, load_mission
from ceasefire.mission.model import SEVERITIES, Contact, PartyWitness
from ceasefire.sim import simulate, write_scenario
from ceasefire.sim.score import read_scope, read_truth, score
from ceasefire.timeutil import parse_time
from ceasefire.witness.client import WitnessClient
from ceasefire.witness.server import OwnWitness
from ceasefire.workflow.assessments import submit
from ceasefire.workflow.decisions import approve, propose
from ceasefire.workflow.findings import current
from ceasefire.workflow.releases import incident_selections
from ceasefire.workflow.roles import User, add_user, list_users

if TYPE_CHECKING:
    from ceasefire.inbox.server import InboxNode
    from ceasefire.witness.server import WitnessNode

PLACES = (
    (39.991, 46.927, "2020-11-15T12:00:00+04:00"),
    (39.991, 46.927, "2020-11-25T12:00:00+04:00"),
    (39.760, 46.750, "2021-02-01T12:00:00+04:00"),
    (39.8153, 46.7519, "2021-02-01T12:00:00+04:00"),
)
"""Places whose answer changed with the handovers of November 2020."""


@dataclass(frozen=True)
class Place:
    lat: float
    lon: float
    at: str
    phrase: str
    controlled_by: str | None


@dataclass(frozen=True)
class Simulated:
    events: int
    violations: int
    folder: Path
    start: datetime


@dataclass(frozen=True)
class Incidents:
    found: list[dict[str, Any]]
    """Every incident, as ``ceasefire incidents --format json`` lists them."""
    ranked: list[dict[str, Any]]
    """The same, gravest first."""
    scored: dict[str, Any]
    """Against the simulation's truth (:func:`ceasefire.sim.score.score`)."""
    watched: dict[str, Any]
    """The line's coverage over the simulated period."""


@dataclass(frozen=True)
class Step:
    """One step of the joint workflow: ``kind`` names it, ``data`` holds what a reader needs.

    Kinds: ``agreed`` (incident, outcome), ``proposed`` (who, reaction, state), ``approved``
    (who, state), ``disputed`` (incident, outcome), ``taken`` (who, reaction, contingent,
    incident, time, state), ``escalated`` (others, hours, time, state)."""

    kind: str
    data: dict[str, Any]


@dataclass(frozen=True)
class Node:
    contingent: str
    url: str
    state_file: Path


@dataclass
class Record:
    """The ledger's part: the witness nodes, the checkpoint, the audit, the releases."""

    nodes: list[Node]
    held: list[str]
    """The files of the center's key directory."""
    size: int = 0
    cosigned_by: list[Node] = field(default_factory=list)
    parties_cosigned: list[str] = field(default_factory=list)
    """The parties whose inboxes cosigned the checkpoint as witnesses (not required)."""
    audit_ok: bool = False
    audit_findings: int = 0
    released: str | None = None
    """The incident released to both parties."""
    bundles: list[tuple[str, Path, int]] = field(default_factory=list)
    """(party, bundle file, records verified offline) of each release."""
    same: bool = False
    """Whether both parties received the same records."""


@dataclass(frozen=True)
class Sent:
    """One notice of the decision over its line: where it arrived, and what became of it."""

    notice: str
    recipient: str
    lang: str
    channel: str
    status: str  # the delivery's: delivered, pending, dead
    subject: str
    acknowledged_by: str | None
    escalated: bool


@dataclass
class Lines:
    """The direct lines' part: what was sent where, acknowledged, escalated."""

    sent: list[Sent]
    inboxes: dict[str, Path]
    """Each party's inbox folder (its key and ``inbox.db``)."""
    mail: list[Path]
    """The e-mails the local SMTP server took (``.eml``)."""
    escalated_at: datetime | None = None


@dataclass
class DayReport:
    """The day's end: the daily report made, signed by both heads, logged, proven and sent."""

    day: str
    lang: str
    format: str
    file: Path
    signature: Path
    """The note both contingents' heads signed (``FILE.sig``)."""
    proof: Path
    """The proof that the report is in the log (``FILE.proof.json``)."""
    trusted: Path
    """The verifier keys a reader checks it with (the center's and the contingents')."""
    sha256: str
    ledger_index: int
    signed_by: list[str]
    size: int = 0
    """The entries of the checkpoint that covers it."""
    cosigned_by: list[str] = field(default_factory=list)
    """The contingents, then the parties' inboxes, that cosigned that checkpoint."""
    sent: list[Sent] = field(default_factory=list)
    """Its notices to the parties and the force, over their lines."""
    received: dict[str, Received] = field(default_factory=dict)
    """Each party's inbox's copy of its notice, with the inbox's check of the report."""
    mail: list[tuple[Path, list[str]]] = field(default_factory=list)
    """Each e-mail that announced it, with the names of the files it carries."""


class _Mailbox:
    """An aiosmtpd handler keeping each message it takes as a file."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.files: list[Path] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{len(self.files) + 1:03d}.eml"
        path.write_bytes(bytes(envelope.content))
        self.files.append(path)
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Demo:
    """The demo in ``workdir`` (deleted and made anew: a picture of the whole, not an
    accumulating store), ``hours`` of monitoring simulated with ``seed``."""

    def __init__(
        self, workdir: Path, hours: float = 24.0, seed: int = 1, preset: str = "busy"
    ) -> None:
        if workdir.exists():
            shutil.rmtree(workdir)
        workdir.mkdir(parents=True)
        self.workdir, self.hours, self.seed = workdir, hours, seed
        self.preset = preset  # how busy the simulated day is (docs/simulator.md)
        self.db_path = workdir / "ceasefire.db"
        self.sim_dir = workdir / "simulation"
        self.keys, self.nodes = workdir / "keys", workdir / "nodes"
        self.inbox_dir, self.mail_dir = workdir / "inboxes", workdir / "mail"
        self._running = ExitStack()
        self._witnesses: dict[str, WitnessNode] | None = None
        self._witnessing = ExitStack()  # the witness nodes, from record() to report()
        try:
            mission = self._open_lines(load_mission(DEFAULT_MISSION))
            self.center = Center(
                Settings(db=str(self.db_path), mission=DEFAULT_MISSION),
                mission=mission,
                note="demo",
            )
        except BaseException:
            self._running.close()
            raise
        self.mission = self.center.mission
        self.center.version  # noqa: B018 (the mission is stored first, as the demo's)
        self._start: datetime | None = None
        self._intake = self.center.intake(correlate="deferred")

    def close(self) -> None:
        try:
            self.stop_witnesses()
        finally:
            try:
                self._running.close()
            finally:
                self.center.close()

    def witnesses(self, center_url: str | None = None) -> dict[str, WitnessNode]:
        """Each contingent's witness on its own node (:meth:`_witness_nodes`), started on the
        first call and serving until :meth:`stop_witnesses` (or :meth:`close`): the record's
        checkpoint and the day's report's are cosigned by the same nodes, at the addresses
        ``witnesses.toml`` names."""
        if self._witnesses is None:
            self._witnesses = self._witness_nodes(self._witnessing, center_url)
        return self._witnesses

    def stop_witnesses(self) -> None:
        """Stop the witness nodes (each keeps its key and state file for a later start)."""
        self._witnesses = None
        self._witnessing.close()

    def _open_lines(self, mission: Mission) -> Mission:
        """Start each party's inbox and the SMTP server; the mission with those lines (the
        parties by signed webhook to their inboxes, their inboxes' keys registered; the force
        by e-mail through the local relay)."""
        # imported here: only the lines need the servers
        try:
            from aiosmtpd.controller import Controller
        except ImportError:  # a dev dependency: `make demo` installs it
            raise CeasefireError(
                _("the demo's SMTP server needs aiosmtpd: pip install aiosmtpd")
            ) from None
        from ceasefire.inbox.server import InboxNode

        init_key(self.keys, origin_of(mission.id), CENTER)  # the center's key signs webhooks
        center_vkey = (self.keys / f"{CENTER}.vkey").read_text(encoding="utf-8").strip()
        self._mailbox = _Mailbox(self.mail_dir)
        self._smtp = Controller(self._mailbox, hostname="127.0.0.1", port=_free_port())
        self._smtp.start()
        self._running.callback(self._smtp.stop)
        self.inboxes: dict[str, InboxNode] = {}
        parties = []
        for party in mission.config.parties:
            folder = self.inbox_dir / party.id
            vkey = init_inbox(folder, party.id)
            (folder / "center.vkey").write_text(center_vkey + "\n", encoding="utf-8")
            inbox = Inbox(folder, party.id, center_vkey)
            self._running.callback(inbox.close)
            # the inbox witnesses the center's log too (its key and state file in its folder)
            witness_vkey = init_witness(folder, origin_of(mission.id), party.id)
            own = OwnWitness.open(
                witness_key_file(folder, party.id), folder / WITNESS_STATE, [center_vkey]
            )
            self._running.callback(own.close)
            node = InboxNode(
                inbox,
                lang=party.language,
                timezone=mission.config.timezone,
                witness=own.app(),
            )
            self._running.enter_context(node)
            self.inboxes[party.id] = node
            line = Contact(name=dict(party.names), channel="http", address=node.webhook_url)
            witness = PartyWitness(url=node.witness_url, key=witness_vkey)
            parties.append(
                party.model_copy(update={"contacts": [line], "keys": [vkey], "witness": witness})
            )
        config = mission.config.model_copy(update={"parties": parties})
        return dataclasses.replace(mission, config=config)

    def __enter__(self) -> Demo:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- 1. ---------------------------------------------------------------------------------
    def places(self, lang: str | None = None) -> list[Place]:
        """What a few places were on a date (control changed hands at the handovers), in
        ``lang`` (default: the language in force)."""
        lang = lang or current_language()
        answers = []
        for lat, lon, at in PLACES:
            answer = describe(self.center.enricher, lat, lon, parse_time(at), lang)
            answers.append(Place(lat, lon, at, answer["phrase"], answer["controlled_by"]))
        return answers

    # -- 2. ---------------------------------------------------------------------------------
    def simulate(self) -> Simulated:
        scenario = simulate(self.mission, hours=self.hours, seed=self.seed, preset=self.preset)
        counts = write_scenario(scenario, self.sim_dir)["counts"]
        self._start = scenario.start
        return Simulated(counts["events"], counts["violations"], self.sim_dir, scenario.start)

    # -- 3. ---------------------------------------------------------------------------------
    def ingest(self) -> None:
        """Each contingent's files as that contingent, then the parties' complaints, stored;
        :meth:`correlate` then correlates the period once."""
        intake = self._intake
        for contingent in self.mission.contingent_ids():
            intake.contingent = contingent
            folder = self.sim_dir / contingent
            with (folder / "observations.jsonl").open("rb") as f:
                intake.feed(
                    jsonl.parse(f, f"{contingent}/observations.jsonl"), "observations.jsonl"
                )
            with (folder / "tracks.cot").open("rb") as f:
                intake.feed(cot.parse(f, f"{contingent}/tracks.cot"), "tracks.cot")
        intake.contingent = None
        with (self.sim_dir / "complaints.jsonl").open("rb") as f:
            intake.feed(jsonl.parse(f, "complaints.jsonl"), "complaints.jsonl")

    def correlate(self) -> IntakeResult:
        """The period received correlated into incidents; what the intake took."""
        self._intake.finish()
        return self._intake.result

    # -- 4. ---------------------------------------------------------------------------------
    def incidents(self, lang: str | None = None) -> Incidents:
        """The incidents found, their place phrases in ``lang`` (default: the language in
        force), scored against the simulation's truth."""
        engine, mission = self.center.engine, self.mission
        found = list_incidents(engine, mission, IncidentFilter(), lang or current_language())
        ranked = sorted(found, key=lambda r: SEVERITIES.index(r["severity"] or "low"), reverse=True)
        truth = self.sim_dir / "truth.jsonl"
        scored = score(engine, read_truth(truth), read_scope(truth))
        start = self._start or mission.config.period.start
        watched = coverage(
            engine,
            mission,
            start,
            start + timedelta(hours=self.hours),
            enricher=self.center.enricher,
        )
        return Incidents(found, ranked, scored, watched)

    # -- 5. ---------------------------------------------------------------------------------
    def workflow(self, ranked: list[dict[str, Any]]) -> list[Step]:
        """Both contingents assess the gravest incident blind and agree; both heads approve
        the notice to both parties. On the next they differ, and the dissent is kept. Then a
        duty officer takes an urgent reaction alone, the other side does not answer, and it
        escalates. On the simulated day's clock: each step some minutes after its incident."""
        if len(ranked) < 2:
            return []
        engine, mission = self.center.engine, self.mission
        steps: list[Step] = []
        people: dict[str, dict[str, User]] = {}
        with engine.begin() as db:
            for contingent in mission.contingent_ids():
                people[contingent] = {
                    role: add_user(
                        db,
                        mission,
                        f"{contingent.lower()}-{role}",
                        role,
                        contingent,
                        demo_password(f"{contingent.lower()}-{role}"),
                    )
                    for role in ("duty_officer", "head")
                }
        agreed, other = ranked[0], ranked[1]
        clause = mission.config.rules[0].clause if mission.config.rules else "1"

        def after(incident: dict[str, Any], minutes: int) -> datetime:
            return parse_time(incident["ended_at"]) + timedelta(minutes=minutes)

        with engine.begin() as db:
            for n, who in enumerate(people.values()):
                submit(
                    db,
                    mission,
                    who["duty_officer"],
                    agreed["id"],
                    violation="yes",
                    clauses=[clause],
                    attribution="not_attributed",
                    severity="high",
                    at=after(agreed, 20 + 5 * n),
                )
            found = current(db, people["RU"]["head"], agreed["id"])
        steps.append(
            Step("agreed", {"incident": agreed["id"], "outcome": found.outcome if found else "-"})
        )
        with engine.begin() as db:
            first, second = mission.contingent_ids()[:2]
            decision = propose(
                db,
                mission,
                people[first]["head"],
                agreed["id"],
                "notify_both_parties",
                at=after(agreed, 40),
            )
            steps.append(
                Step(
                    "proposed",
                    {
                        "who": people[first]["head"].name,
                        "reaction": decision.reaction,
                        "state": decision.state,
                    },
                )
            )
            decision = approve(
                db, mission, people[second]["head"], decision.id, at=after(agreed, 55)
            )
            steps.append(
                Step("approved", {"who": people[second]["head"].name, "state": decision.state})
            )
        with engine.begin() as db:
            for n, (contingent, who) in enumerate(people.items()):
                party = mission.party_ids()[0] if contingent == first else "not_attributed"
                submit(
                    db,
                    mission,
                    who["duty_officer"],
                    other["id"],
                    violation="yes",
                    clauses=[clause],
                    attribution=party,
                    severity="medium",
                    at=after(other, 20 + 5 * n),
                )
            found = current(db, people["TR"]["head"], other["id"])
        steps.append(
            Step("disputed", {"incident": other["id"], "outcome": found.outcome if found else "-"})
        )
        steps += self._unanswered(people, ranked[2] if len(ranked) > 2 else other)
        return steps

    def _unanswered(
        self, people: dict[str, dict[str, User]], incident: dict[str, Any]
    ) -> list[Step]:
        """A duty officer takes an urgent reaction alone, shortly after the incident; nobody
        of the other side answers, and the escalation scheduler's next pass after
        ``confirm_hours`` hands it to the heads."""
        mission = self.mission
        policy = mission.config.policy
        reaction = next(
            (r for r in ("request_reobservation", "notify_peacekeepers") if r in policy.urgent),
            policy.urgent[0] if policy.urgent else None,
        )
        if reaction is None:
            return []
        # Who saw it takes it; the other side's drones are asked to look again.
        taker = next(
            (c for c in incident["contingents"] if c in people), mission.contingent_ids()[0]
        )
        others = [c for c in mission.contingent_ids() if c != taker]
        taken_at = parse_time(incident["ended_at"]) + timedelta(minutes=10)
        with self.center.engine.begin() as db:
            decision = propose(
                db,
                mission,
                people[taker]["duty_officer"],
                incident["id"],
                reaction,
                contingent=others[0] if reaction == "request_reobservation" else None,
                urgent=True,
                at=taken_at,
            )
        taken = Step(
            "taken",
            {
                "who": people[taker]["duty_officer"].name,
                "reaction": decision.reaction,
                "contingent": decision.contingent,
                "incident": incident["id"],
                "time": taken_at,
                "state": decision.state,
            },
        )
        # Nobody answers. The scheduler's pass just after the due time (its clock, not a sleep).
        late = decision.due_at + timedelta(minutes=1)
        scheduler = self.center.escalation(clock=lambda: late)
        # the decisions' pass only: the notices' is step 6's (lines), once they have been sent
        # and answered; else a notice due before this moment is escalated unsent, its recipient
        # then reported as not acknowledging in time although it did
        scheduler.also = ()
        escalated = scheduler.run_once()
        done = next((d for d in escalated if d.id == decision.id), None)
        return [
            taken,
            Step(
                "escalated",
                {
                    "others": others,
                    "hours": policy.confirm_hours,
                    "time": late,
                    "state": done.state if done else decision.state,
                },
            ),
        ]

    # -- 5b. --------------------------------------------------------------------------------
    def lines(self, center_url: str) -> Lines:
        """The decisions' notices over the direct lines: the dispatcher sends them (signed
        webhooks to the parties' inboxes, e-mail to the force through the local relay); every
        party's inbox but the first acknowledges with its key at the center's ``center_url``
        (the API, served by the caller), the force with the link of each e-mail; the first
        party leaves its notice unacknowledged, and the escalation scheduler's pass after its
        due time hands it to the heads."""
        engine, mission = self.center.engine, self.mission
        self._send()
        silent, *answering = mission.party_ids()
        for party in answering:
            inbox = self.inboxes[party].inbox
            inbox.center_url = center_url
            for received in inbox.notices():
                inbox.acknowledge(received.id, by=f"{party.lower()}-liaison")
        force = mission.config.peacekeeping_force
        with httpx.Client(timeout=10.0) as client:
            for path in self._mailbox.files:
                link = _ack_link(path)
                if link is not None and force is not None:
                    client.post(
                        center_url + link[0],
                        json={"token": link[1], "by": f"{force.id.lower()}-liaison"},
                    )
        with engine.connect() as db:
            due = db.execute(
                select(notices.c.ack_due_at).where(
                    notices.c.recipient == silent, notices.c.acked_at.is_(None)
                )
            ).scalars()
            latest = max(due, default=None)
        escalated_at = None
        if latest is not None:
            escalated_at = latest + timedelta(minutes=1)
            self.center.escalation(clock=lambda: escalated_at).run_once()
        folders = {p: node.inbox.folder for p, node in self.inboxes.items()}
        return Lines(self._sent(), folders, list(self._mailbox.files), escalated_at)

    def _send(self) -> None:
        """The dispatcher's pass over what waits in the outbox: signed webhooks to the
        parties' inboxes, e-mail to the force through the local relay."""
        signer = Ed25519Signer.from_skey(
            (self.keys / f"{CENTER}.skey").read_text(encoding="utf-8").strip()
        )
        context = channels_.Context(
            signer=signer, mission=self.mission.id, smtp=f"127.0.0.1:{self._smtp.port}"
        )
        asyncio.run(self._dispatch(context))

    def _sent(self, ids: Collection[str] | None = None) -> list[Sent]:
        """The notices to the parties and the force (those of ``ids`` if given) over their
        lines, and what became of each."""
        query = (
            select(notices, deliveries.c.channel, deliveries.c.status)
            .join(deliveries, deliveries.c.notice_id == notices.c.id)
            .where(notices.c.recipient_kind != "contingent")
            .order_by(notices.c.created_at, notices.c.recipient)
        )
        if ids is not None:
            query = query.where(notices.c.id.in_(sorted(ids)))
        with self.center.engine.connect() as db:
            rows = db.execute(query).all()
        return [
            Sent(
                r.id,
                r.recipient,
                r.lang,
                r.channel,
                r.status,
                r.subject,
                r.acked_by if r.acked_at is not None else None,
                r.escalated_at is not None,
            )
            for r in rows
        ]

    async def _dispatch(self, context: channels_.Context) -> None:
        made = channels_.load({"http", "email"}, context)
        try:
            await Dispatcher(
                self.center.engine,
                made,
                options=Options(attempts=3, base=0.05, cap=0.2),
                lock=self.center.lock,
                mission=self.mission,
            ).drain()
        finally:
            await channels_.close(made.values())

    # -- 6. ---------------------------------------------------------------------------------
    def record(self, found: list[dict[str, Any]], center_url: str | None = None) -> Record:
        """Checkpoint, cosigned by each contingent's witness on its own node (:meth:`witnesses`,
        left serving for :meth:`report`); audit; release
        the gravest incident to both parties, each release verified offline. Given the center's
        API (``center_url``), each witness reads the entries it cosigns and keeps their leaf
        hashes, so that ``verify`` can later name an entry rewritten behind its back."""
        engine, mission = self.center.engine, self.mission
        origin = origin_of(mission.id)
        witnesses = self.witnesses(center_url)  # serving until the day's report is made
        ring = load_keys(self.keys, origin, mission.contingent_ids())
        with_party_witnesses(ring, mission)  # the parties' inboxes, not required
        nodes = [Node(c, w.url, w.state_file) for c, w in witnesses.items()]
        held = sorted((p.name for p in self.keys.iterdir() if p.is_file()), key=str.lower)
        done = Record(nodes, held)
        checkpoint = make_checkpoint(engine, ring, remote=WitnessClient)
        cosigned = verify_checkpoint(checkpoint.note, ring).cosigned_at
        report = audit_all(engine, ring)
        done.size = checkpoint.size
        done.cosigned_by = [n for n in nodes if n.contingent in cosigned]
        done.parties_cosigned = [p for p in ring.parties if p in cosigned]
        done.audit_ok, done.audit_findings = report.ok, len(report.findings)
        # Neutrality: both parties get the same release, and each verifies it offline.
        worst = next(
            (r for r in found if r["severity"] in ("critical", "high")),
            found[0] if found else None,
        )
        if worst is None:
            return done
        done.released = worst["id"]
        for party in mission.party_ids():
            path = self.workdir / f"release-{worst['id']}-{party}.json"
            chosen = incident_selections(engine, worst["id"])
            write_release(
                engine, ring, path, party, chosen, remote=WitnessClient, incidents=[worst["id"]]
            )
            checked = verify_bundle(path.read_text(encoding="utf-8"))
            done.bundles.append((party, path, checked.entries))
        records = {
            json.dumps([e["record"] for e in json.loads(path.read_text())["entries"]])
            for _party, path, _n in done.bundles
        }
        done.same = len(records) == 1
        return done

    def _witness_nodes(
        self, running: ExitStack, center_url: str | None = None
    ) -> dict[str, WitnessNode]:
        """Each contingent's witness on a node of its own, set up as docs/ledger.md says.

        Each node's directory holds its own signer key (``ceasefire witness init``), the
        center's verifier key and its witness's state file; the center's holds its own signer
        key, the contingents' verifier keys and ``witnesses.toml`` with where each witness
        answers. Every witness serves on 127.0.0.1, a free port, in a thread until ``running``
        closes.
        """
        # imported here: the web stack is only needed while the witnesses serve
        from ceasefire.witness.server import CenterEntries, WitnessNode

        mission, keys = self.mission, self.keys
        origin = origin_of(mission.id)
        homes = {c: self.nodes / c for c in mission.contingent_ids()}
        keys.mkdir(parents=True, exist_ok=True)
        for contingent, home in homes.items():
            init_key(home, origin, contingent)  # `witness init` on its node: the .skey stays
            shutil.copy(home / f"{contingent}.vkey", keys)  # its verifier key, to the center
        init_key(keys, origin, CENTER)  # `keys init`: the center's own key only, beside those
        started: dict[str, WitnessNode] = {}
        for contingent, home in homes.items():
            shutil.copy(keys / f"{CENTER}.vkey", home)  # the center's verifier key, handed over
            leaves = None
            if center_url is not None:  # read as the contingent's head, as a node would be set up
                token = self.center.issue_token(f"{contingent.lower()}-head", "witness")
                leaves = CenterEntries(center_url, token)
            started[contingent] = running.enter_context(
                WitnessNode(home, home / "witness.db", leaves_from=leaves)
            )
        # on the way out, first ask every node to stop, then wait for each: they stop together
        for node in started.values():
            running.callback(node.signal_stop)
        lines = [f'{c} = "{node.url}"\n' for c, node in started.items()]
        (keys / WITNESSES_FILE).write_text(
            "# Each contingent's witness, on its own node.\n" + "".join(lines), encoding="utf-8"
        )
        return started

    # -- 7. ---------------------------------------------------------------------------------
    def report_day(self) -> date:
        """The day whose report (the 24 hours up to that day's cut-off, mission time) covers
        most of the simulated hours; the earliest of equals."""
        from ceasefire.reports.daily import period_of

        start = self._start or self.mission.config.period.start
        end = start + timedelta(hours=self.hours)
        first = start.date() - timedelta(days=1)
        best, most = start.date(), timedelta(0)
        for n in range((end.date() - first).days + 2):
            day = first + timedelta(days=n)
            try:
                period = period_of(self.mission, day)
            except CeasefireError:  # before the ceasefire: no report
                continue
            covered = min(end, period.end) - max(start, period.start)
            if covered > most:
                best, most = day, covered
        return best

    def report(self, center_url: str, lang: str | None = None, fmt: str = "pdf") -> DayReport:
        """The day's end: the daily report of :meth:`report_day` in ``lang`` (default: the
        language in force) as ``fmt``, signed by each contingent's head with the key on its
        node, logged; a checkpoint cosigned by the contingents' witnesses (and the parties'
        inboxes) covers it, and its proof is written beside it. Its notices then go over the
        lines: each party's inbox, trusting the contingents' keys it holds apart from the line,
        fetches the report from the center's API (``center_url``, served by the caller) and
        checks it; the force's e-mail carries the report and its signature."""
        # imported here: only the day's end makes a report (HTML, charts, PDF)
        from ceasefire.reports import daily as daily_report
        from ceasefire.reports import proof as report_proof
        from ceasefire.reports import signing

        engine, mission = self.center.engine, self.mission
        lang = lang or current_language()
        day = self.report_day()
        contingents = mission.contingent_ids()
        folder = self.workdir / "reports"
        folder.mkdir(exist_ok=True)
        path = folder / f"daily-{day.isoformat()}-{lang}.{fmt}"
        try:
            self.witnesses(center_url)  # each node with its key, as record() started them
            # each head signs on its own node: the center holds no contingent's signer key
            signers = [load_cosigner(self.nodes / c) for c in contingents]
            data = daily_report.render(engine, mission, day, lang, fmt)
            note = signing.sign(mission, day.isoformat(), lang, fmt, data, signers)
            stored = signing.store(engine, mission, day.isoformat(), lang, fmt, data, note)
            ring = load_keys(self.keys, origin_of(mission.id), contingents)
            with_party_witnesses(ring, mission)
            checkpoint = make_checkpoint(engine, ring, remote=WitnessClient)
            cosigned = verify_checkpoint(checkpoint.note, ring).cosigned_at
        finally:
            self.stop_witnesses()  # the day's last checkpoint: the nodes stop here
        path.write_bytes(data)
        signature = path.with_name(path.name + ".sig")
        signature.write_text(note, encoding="utf-8")
        proven = report_proof.prove(engine, stored, checkpoint, contingents)
        proof = Path(report_proof.proof_name(str(path)))
        proof.write_text(json.dumps(proven, indent=2) + "\n", encoding="utf-8")
        vkeys = [
            (self.keys / f"{h}.vkey").read_text(encoding="utf-8").strip()
            for h in (CENTER, *contingents)
        ]
        trusted = folder / "trusted.vkeys"
        trusted.write_text("\n".join(vkeys) + "\n", encoding="utf-8")
        done = DayReport(
            day=day.isoformat(),
            lang=lang,
            format=fmt,
            file=path,
            signature=signature,
            proof=proof,
            trusted=trusted,
            sha256=stored.sha256,
            ledger_index=stored.ledger_index,
            signed_by=list(contingents),
            size=checkpoint.size,
            cosigned_by=[c for c in [*contingents, *mission.party_ids()] if c in cosigned],
        )
        # Each party holds the contingents' verifier keys, got apart from the line (the
        # center's it has already), and reads the report from the center's API.
        for node in self.inboxes.values():
            node.inbox.center_url = center_url
            node.inbox.trusted_keys = vkeys[1:]
            (node.inbox.folder / TRUSTED_KEYS).write_text(
                "\n".join(vkeys[1:]) + "\n", encoding="utf-8"
            )
        mailed = len(self._mailbox.files)
        self._send()
        done.sent = self._sent(stored.notices)
        done.received = self._checked(set(stored.notices))
        done.mail = [(p, _attached(p)) for p in self._mailbox.files[mailed:]]
        return done

    def _checked(self, ids: Collection[str], wait: float = 30.0) -> dict[str, Received]:
        """Each party's copy of its notice among ``ids`` once its inbox has checked the report
        (it does so as soon as it has answered the webhook); checked here if not within
        ``wait`` seconds."""
        deadline = time.monotonic() + wait
        found: dict[str, Received] = {}
        for party, node in self.inboxes.items():
            inbox = node.inbox
            mine = next((n for n in inbox.notices() if n.id in ids), None)
            if mine is None:
                continue
            while mine.report_state is None and time.monotonic() < deadline:
                time.sleep(0.05)
                mine = inbox.get(mine.id) or mine
            if mine.report_state is None:
                inbox.check_report(mine.id)
                mine = inbox.get(mine.id) or mine
            found[party] = mine
        return found


__all__ = [
    "PLACES",
    "DayReport",
    "Demo",
    "Incidents",
    "Lines",
    "Node",
    "Place",
    "Record",
    "Sent",
    "Simulated",
    "Step",
]


def _ack_link(path: Path) -> tuple[str, str] | None:
    """(endpoint, token) of the notice attached to an e-mail, as a reader finds them."""
    message = email.message_from_bytes(path.read_bytes())
    for part in message.walk():
        if part.get_content_type() == "application/json":
            data = part.get_payload(decode=True)
            if isinstance(data, bytes):
                ack = json.loads(data).get("ack") or {}
                return str(ack.get("endpoint", "")), str(ack.get("token", ""))
    return None


def _attached(path: Path) -> list[str]:
    """The names of the files an e-mail carries."""
    message = email.message_from_bytes(path.read_bytes())
    return [name for part in message.walk() if (name := part.get_filename())]


def demo_password(name: str) -> str:
    """The demo's users' passwords: printed by the demo, so never for a real center."""
    return f"{name}-demo"


def people_of_every_role(run: Demo) -> list[User]:
    """Adds an analyst of each contingent, the liaisons and an auditor (to look at the pages
    with their eyes); every user of the demo, each with its password :func:`demo_password`."""
    engine, mission = run.center.engine, run.mission
    wanted = [(f"{c.lower()}-analyst", "analyst", c) for c in mission.contingent_ids()]
    force = mission.config.peacekeeping_force
    if force is not None:
        wanted.append((f"{force.id.lower()}-liaison", "liaison", force.id))
    wanted += [(f"{p.lower()}-liaison", "party_liaison", p) for p in mission.party_ids()]
    wanted.append(("auditor", "auditor", ""))
    with engine.begin() as db:
        for n, r, a in wanted:
            add_user(db, mission, n, r, a, demo_password(n))
        return list_users(db)
