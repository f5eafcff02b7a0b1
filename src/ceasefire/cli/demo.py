"""`ceasefire demo`: the whole center on the embedded default, printing where to look.

From simulated drones to incidents and the record: the built-in mission is loaded, a day of
monitoring is simulated for both contingents, each contingent's files are ingested as that
contingent, incidents are correlated and scored against the simulation's truth, assessed jointly
and decided with two keys; an urgent reaction one duty officer took alone and the other side
left unanswered is escalated to the heads by the escalation scheduler, on the simulated day's
clock. Each contingent's witness then runs on a node of its own (its own key directory and state
file, served over HTTP on 127.0.0.1 in a thread of this process), the ledger is checkpointed,
cosigned by both over HTTP (of their keys the center holds only the verifier keys) and
audited, and the same release goes to both parties and is verified offline.
"""

from __future__ import annotations

import json
import shutil
from contextlib import ExitStack
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table
from sqlalchemy import Engine

from ceasefire.center import Center, Settings
from ceasefire.cli.common import console, console_err
from ceasefire.geo.locate import describe
from ceasefire.i18n import LANGUAGES, _
from ceasefire.incidents.coverage import coverage
from ceasefire.intake import cot, jsonl
from ceasefire.ledger.bundle import verify_bundle
from ceasefire.ledger.cosign import make_checkpoint, verify_checkpoint
from ceasefire.ledger.keys import CENTER, WITNESSES_FILE, init_key, load_keys, origin_of
from ceasefire.ledger.release import incident_selections, write_release
from ceasefire.mission import DEFAULT_MISSION, Mission
from ceasefire.mission.model import SEVERITIES
from ceasefire.sim import simulate, write_scenario
from ceasefire.sim.score import read_truth, score
from ceasefire.store.incidents import IncidentFilter, list_incidents
from ceasefire.timeutil import parse_time
from ceasefire.workflow.assessments import submit
from ceasefire.workflow.audit import audit_all
from ceasefire.workflow.decisions import approve, propose
from ceasefire.workflow.findings import current
from ceasefire.workflow.roles import User, add_user
from ceasefire.workflow.scheduler import EscalationScheduler

if TYPE_CHECKING:
    from ceasefire.ledger.witness_http import WitnessNode

PLACES = (
    (39.991, 46.927, "2020-11-15T12:00:00+04:00"),
    (39.991, 46.927, "2020-11-25T12:00:00+04:00"),
    (39.760, 46.750, "2021-02-01T12:00:00+04:00"),
    (39.8153, 46.7519, "2021-02-01T12:00:00+04:00"),
)


def demo(
    workdir: Path = typer.Option(Path("var/demo"), "--dir", help="Where the demo keeps its data."),
    hours: float = typer.Option(24.0, "--hours", min=1.0, help="Hours of monitoring to simulate."),
    seed: int = typer.Option(1, "--seed"),
) -> None:
    """Run the whole center on the built-in mission and show where to look."""
    # A fresh start each time: the demo is a picture of the whole, not an accumulating store.
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    db_path = workdir / "ceasefire.db"
    center = Center(Settings(db=str(db_path), mission=DEFAULT_MISSION), note="demo")
    mission, engine, enricher = center.mission, center.engine, center.enricher
    center.version  # noqa: B018 (the mission is stored first, as the demo's)

    console.rule(f"[bold]{mission.name('en')}")
    for lang in LANGUAGES:
        console.print(f"  {lang}: {mission.name(lang)}")
    console.print(f"[yellow]{mission.disclaimer('en')}[/yellow]")

    console.rule(_("1. What a place was on a date"))
    for lat, lon, at in PLACES:
        answer = describe(enricher, lat, lon, parse_time(at), "en")
        console.print(
            f"  {lat} {lon} {at[:10]}: {answer['phrase']}; "
            + _("controlled by {party}").format(party=answer["controlled_by"] or "-")
        )

    console.rule(_("2. A day of monitoring, simulated"))
    sim_dir = workdir / "simulation"
    with console_err.status(_("simulating")):
        scenario = simulate(mission, hours=hours, seed=seed)
        summary = write_scenario(scenario, sim_dir)
    counts = summary["counts"]
    console.print(
        _("  {events} true events ({violations} violations); files in {path}").format(
            events=counts["events"], violations=counts["violations"], path=sim_dir
        )
    )

    console.rule(_("3. Each contingent's data into the center"))
    intake = center.intake(correlate="deferred")
    for contingent in mission.contingent_ids():
        intake.contingent = contingent
        folder = sim_dir / contingent
        with (folder / "observations.jsonl").open("rb") as f:
            intake.feed(jsonl.parse(f, f"{contingent}/observations.jsonl"), "observations.jsonl")
        with (folder / "tracks.cot").open("rb") as f:
            intake.feed(cot.parse(f, f"{contingent}/tracks.cot"), "tracks.cot")
    intake.contingent = None
    with (sim_dir / "complaints.jsonl").open("rb") as f:
        intake.feed(jsonl.parse(f, "complaints.jsonl"), "complaints.jsonl")
    with console_err.status(_("correlating")):
        intake.finish()
    totals = intake.result
    console.print(
        _(
            "  {accepted} observations accepted, {rejected} rejected, {tracks} drone track points"
        ).format(accepted=totals.accepted, rejected=totals.rejected, tracks=totals.track_points)
    )

    console.rule(_("4. Incidents"))
    found = list_incidents(engine, mission, IncidentFilter(), "en")
    ranked = sorted(found, key=lambda r: SEVERITIES.index(r["severity"] or "low"), reverse=True)
    table = Table(show_lines=False)
    for column in (_("incident"), _("category"), _("seen by"), _("where")):
        table.add_column(column, overflow="fold")
    for record in ranked[:10]:
        table.add_row(
            record["id"], record["category"], record["corroboration"], record["phrase"] or ""
        )
    console.print(table)
    scored = score(engine, read_truth(sim_dir / "truth.jsonl"))
    console.print(
        _(
            "  {n} incidents; against the simulation's truth: precision {p:.2f}, "
            "recall {r:.2f}, F1 {f1:.2f}, median location error {m} m"
        ).format(
            n=len(found),
            p=scored["precision"],
            r=scored["recall"],
            f1=scored["f1"],
            m=scored["median_location_error_m"],
        )
    )
    start = scenario.start
    watched = coverage(engine, mission, start, start + timedelta(hours=hours), enricher=enricher)
    console.print(
        _("  line of contact watched: {shares}; by every contingent {all:.0%}").format(
            shares=", ".join(
                f"{c} {v['covered_share']:.0%}" for c, v in watched["contingents"].items()
            ),
            all=watched["covered_share_all"],
        )
    )

    console.rule(_("5. Joint assessment and a two-key decision"))
    _workflow(engine, mission, ranked)

    console.rule(_("6. The record neither side can rewrite"))
    keys, nodes = workdir / "keys", workdir / "nodes"
    bundles = _record(engine, mission, found, workdir, keys, nodes)

    console.rule(_("Where to look"))
    console.print(_("  database:        {path}").format(path=db_path.resolve()))
    console.print(_("  simulation:      {path}").format(path=sim_dir.resolve()))
    db = f"--db {db_path}"
    console.print(_("  incidents:       ceasefire incidents {db} --lang ru").format(db=db))
    if found:
        console.print(
            _("  one incident:    ceasefire incident {id} {db}").format(id=found[0]["id"], db=db)
        )
    console.print(
        _("  the audit:       ceasefire verify {db} --keys {keys}").format(db=db, keys=keys)
    )
    # After the demo its witnesses are down: a node runs its own, the center names where.
    ports = {c: 8180 + i for i, c in enumerate(mission.contingent_ids())}
    for contingent, port in ports.items():
        console.print(
            _(
                "  {c}'s witness:    ceasefire witness serve --key {key} --state {state} "
                "--port {port}"
            ).format(
                c=contingent,
                key=nodes / contingent,
                state=nodes / contingent / "witness.db",
                port=port,
            )
        )
    console.print(
        _("  a checkpoint:    ceasefire checkpoint {db} --keys {keys} {witnesses}").format(
            db=db,
            keys=keys,
            witnesses=" ".join(f"--witness {c}=http://127.0.0.1:{p}" for c, p in ports.items()),
        )
    )
    if bundles:
        console.print(
            _("  a party's check: ceasefire verify --bundle {path}").format(path=bundles[0])
        )
    console.print(
        _("  the API:         ceasefire serve {db}  ->  http://127.0.0.1:8000/api/v1/docs").format(
            db=db
        )
    )
    console.print(_("  a place:         ceasefire where 39.76 46.75 --at 2021-02-01 --lang az"))


def _workflow(engine: Engine, mission: Mission, ranked: list[dict[str, Any]]) -> None:
    """Both contingents assess the gravest incident blind and agree; both heads approve the
    notice to both parties. On the next they differ, and the dissent is kept. Then a duty
    officer takes an urgent reaction alone, the other side does not answer, and it escalates."""
    if len(ranked) < 2:
        return
    people: dict[str, dict[str, User]] = {}
    with engine.begin() as db:
        for contingent in mission.contingent_ids():
            people[contingent] = {
                role: add_user(db, mission, f"{contingent.lower()}-{role}", role, contingent)
                for role in ("duty_officer", "head")
            }
    agreed, other = ranked[0], ranked[1]
    clause = mission.config.rules[0].clause if mission.config.rules else "1"

    # On the simulated day's clock, like the rest of the demo: each step some minutes after
    # the incident it is about.
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
    console.print(
        _("  {incident}: both assessed it blind; joint result: {outcome}").format(
            incident=agreed["id"], outcome=found.outcome if found else "-"
        )
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
        console.print(
            _("  {who} proposes {reaction}: {state}").format(
                who=people[first]["head"].name, reaction=decision.reaction, state=decision.state
            )
        )
        decision = approve(db, mission, people[second]["head"], decision.id, at=after(agreed, 55))
        console.print(
            _("  {who} approves: {state} (two keys, one from each contingent)").format(
                who=people[second]["head"].name, state=decision.state
            )
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
    console.print(
        _(
            "  {incident}: the contingents differ on attribution; result: {outcome}, "
            "both views kept"
        ).format(incident=other["id"], outcome=found.outcome if found else "-")
    )
    _unanswered(engine, mission, people, ranked[2] if len(ranked) > 2 else other)


def _unanswered(
    engine: Engine, mission: Mission, people: dict[str, dict[str, User]], incident: dict[str, Any]
) -> None:
    """A duty officer takes an urgent reaction alone, on the simulated day's clock, shortly
    after the incident; nobody of the other side answers, and the escalation scheduler's next
    pass after ``confirm_hours`` hands it to the heads."""
    policy = mission.config.policy
    reaction = next(
        (r for r in ("request_reobservation", "notify_peacekeepers") if r in policy.urgent),
        policy.urgent[0] if policy.urgent else None,
    )
    if reaction is None:
        return
    # Who saw it takes it; the other side's drones are asked to look again.
    taker = next((c for c in incident["contingents"] if c in people), mission.contingent_ids()[0])
    others = [c for c in mission.contingent_ids() if c != taker]
    taken_at = parse_time(incident["ended_at"]) + timedelta(minutes=10)
    with engine.begin() as db:
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
    console.print(
        _("  {who} takes {reaction} on {incident} alone at {time} (urgent): {state}").format(
            who=people[taker]["duty_officer"].name,
            reaction=_("{reaction} by {c}'s drones").format(
                reaction=decision.reaction, c=decision.contingent
            )
            if decision.contingent
            else decision.reaction,
            incident=incident["id"],
            time=f"{taken_at:%Y-%m-%d %H:%M} UTC",
            state=decision.state,
        )
    )
    # Nobody answers. The scheduler's pass just after the due time (its clock, not a sleep).
    late = decision.due_at + timedelta(minutes=1)
    escalated = EscalationScheduler(engine, mission, clock=lambda: late).run_once()
    done = next((d for d in escalated if d.id == decision.id), None)
    console.print(
        _(
            "  {others} did not answer within {hours:g} h: the escalation scheduler's pass at "
            "{time} escalated it to the heads: {state}"
        ).format(
            others=", ".join(others),
            hours=policy.confirm_hours,
            time=f"{late:%Y-%m-%d %H:%M} UTC",
            state=done.state if done else decision.state,
        )
    )


def _record(
    engine: Engine,
    mission: Mission,
    found: list[dict[str, Any]],
    workdir: Path,
    keys: Path,
    nodes: Path,
) -> list[Path]:
    """Checkpoint, cosigned by each contingent's witness on its own node; audit; release the
    gravest incident to both parties. The bundles written."""
    origin = origin_of(mission.id)
    with ExitStack() as running:  # the nodes stop when done, and on any error
        witnesses = _witness_nodes(running, mission, keys, nodes)
        ring = load_keys(keys, origin, mission.contingent_ids())
        for contingent, node in witnesses.items():
            console.print(
                _(
                    "  {c}'s own node: {path}, with its signer key ({key}) and its witness's "
                    "state ({state})"
                ).format(
                    c=contingent,
                    path=node.state_file.parent,
                    key=f"{contingent}.skey",
                    state=node.state_file.name,
                )
            )
        held = sorted((p.name for p in keys.iterdir() if p.is_file()), key=str.lower)
        console.print(
            _(
                "  the center's key directory: {path}, with {files}: no contingent's signer key"
            ).format(path=keys, files=", ".join(held))
        )
        checkpoint = make_checkpoint(engine, ring)
        cosigned = verify_checkpoint(checkpoint.note, ring).cosigned_at
        report = audit_all(engine, ring)
        console.print(
            _("  checkpoint: {size} entries, cosigned by {who}; audit: {verdict}").format(
                size=checkpoint.size,
                who=", ".join(
                    _("{c} (witness on its own node at {url})").format(c=c, url=witnesses[c].url)
                    for c in mission.contingent_ids()
                    if c in cosigned
                ),
                verdict=_("nothing edited, deleted, inserted or reordered")
                if report.ok
                else _("{n} findings").format(n=len(report.findings)),
            )
        )
        # Neutrality: both parties get the same release, and each verifies it offline.
        worst = next(
            (r for r in found if r["severity"] in ("critical", "high")),
            found[0] if found else None,
        )
        bundles: list[Path] = []
        if worst is None:
            return bundles
        for party in mission.party_ids():
            path = workdir / f"release-{worst['id']}-{party}.json"
            write_release(engine, ring, path, party, incident_selections(engine, worst["id"]))
            checked = verify_bundle(path.read_text(encoding="utf-8"))
            bundles.append(path)
            console.print(
                _(
                    "  release of {incident} to {party}: {n} records verified offline ({path})"
                ).format(incident=worst["id"], party=party, n=checked.entries, path=path)
            )
    same = {
        json.dumps([e["record"] for e in json.loads(p.read_text())["entries"]]) for p in bundles
    }
    console.print(_("  both parties received the same records: {same}").format(same=len(same) == 1))
    return bundles


def _witness_nodes(
    running: ExitStack, mission: Mission, keys: Path, nodes: Path
) -> dict[str, WitnessNode]:
    """Each contingent's witness on a node of its own, set up as docs/ledger.md says.

    Each node's directory holds its own signer key (``ceasefire witness init``), the center's
    verifier key and its witness's state file; the center's holds its own signer key, the
    contingents' verifier keys and ``witnesses.toml`` with where each witness answers. Every
    witness serves on 127.0.0.1, a free port, in a thread until ``running`` closes.
    """
    # imported here: the web stack is only needed while the witnesses serve
    from ceasefire.ledger.witness_http import WitnessNode

    origin = origin_of(mission.id)
    homes = {c: nodes / c for c in mission.contingent_ids()}
    keys.mkdir(parents=True, exist_ok=True)
    for contingent, home in homes.items():
        init_key(home, origin, contingent)  # `witness init` on its node: the .skey stays there
        shutil.copy(home / f"{contingent}.vkey", keys)  # its verifier key, handed to the center
    init_key(keys, origin, CENTER)  # `keys init`: the center's own key only, beside those
    started: dict[str, WitnessNode] = {}
    for contingent, home in homes.items():
        shutil.copy(keys / f"{CENTER}.vkey", home)  # the center's verifier key, handed over
        started[contingent] = running.enter_context(WitnessNode(home, home / "witness.db"))
    # on the way out, first ask every node to stop, then wait for each: they stop together
    for node in started.values():
        running.callback(node.signal_stop)
    lines = [f'{c} = "{node.url}"\n' for c, node in started.items()]
    (keys / WITNESSES_FILE).write_text(
        "# Each contingent's witness, on its own node.\n" + "".join(lines), encoding="utf-8"
    )
    return started
