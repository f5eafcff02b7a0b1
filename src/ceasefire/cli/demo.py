"""`ceasefire demo`: the whole center on the embedded default, printing where to look.

From simulated drones to incidents and the record: the built-in mission is loaded, a day of
monitoring is simulated for both contingents, each contingent's files are ingested as that
contingent, incidents are correlated and scored against the simulation's truth, the ledger is
checkpointed and cosigned by both contingents and audited, and the same release goes to both
parties and is verified offline.
"""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import typer
from rich.table import Table
from sqlalchemy import Engine

from ceasefire.cli.common import console, console_err
from ceasefire.geo.engine import Enricher
from ceasefire.geo.locate import describe
from ceasefire.i18n import LANGUAGES, _
from ceasefire.incidents.coverage import coverage
from ceasefire.intake import cot, jsonl
from ceasefire.intake.pipeline import Intake
from ceasefire.ledger.audit import audit
from ceasefire.ledger.bundle import verify_bundle
from ceasefire.ledger.cosign import make_checkpoint
from ceasefire.ledger.keys import init_keys, load_keys, origin_of
from ceasefire.ledger.release import incident_selections, write_release
from ceasefire.mission import DEFAULT_MISSION, Mission, load_mission
from ceasefire.mission.model import SEVERITIES
from ceasefire.sim import simulate, write_scenario
from ceasefire.sim.score import read_truth, score
from ceasefire.store import open_database
from ceasefire.store.incidents import IncidentFilter, list_incidents
from ceasefire.store.missions import mission_row, save_mission
from ceasefire.timeutil import parse_time
from ceasefire.workflow.assessments import submit
from ceasefire.workflow.decisions import approve, propose
from ceasefire.workflow.findings import current
from ceasefire.workflow.roles import User, add_user

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
    mission = load_mission(DEFAULT_MISSION)
    engine = open_database(str(db_path))
    stored, _new = save_mission(engine, mission, note="demo")
    enricher = Enricher(mission)

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
    intake = Intake(engine, mission, mission_row(engine, stored), enricher, correlate="deferred")
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
    keys = workdir / "keys"
    init_keys(keys, origin_of(mission.id), mission.contingent_ids())
    ring = load_keys(keys, origin_of(mission.id), mission.contingent_ids())
    checkpoint = make_checkpoint(engine, ring)
    report = audit(engine, ring)
    console.print(
        _("  checkpoint: {size} entries, cosigned by {who}; audit: {verdict}").format(
            size=checkpoint.size,
            who=", ".join(mission.contingent_ids()),
            verdict=_("nothing edited, deleted, inserted or reordered")
            if report.ok
            else _("{n} findings").format(n=len(report.findings)),
        )
    )
    # Neutrality: both parties get the same release, and each verifies it offline.
    worst = next(
        (r for r in found if r["severity"] in ("critical", "high")), found[0] if found else None
    )
    bundles = []
    if worst is not None:
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
        console.print(
            _("  both parties received the same records: {same}").format(same=len(same) == 1)
        )

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
    notice to both parties. On the next they differ, and the dissent is kept."""
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
    with engine.begin() as db:
        for who in people.values():
            submit(
                db,
                mission,
                who["duty_officer"],
                agreed["id"],
                violation="yes",
                clauses=[clause],
                attribution="not_attributed",
                severity="high",
            )
        found = current(db, people["RU"]["head"], agreed["id"])
    console.print(
        _("  {incident}: both assessed it blind; joint result: {outcome}").format(
            incident=agreed["id"], outcome=found.outcome if found else "-"
        )
    )
    with engine.begin() as db:
        first, second = mission.contingent_ids()[:2]
        decision = propose(db, mission, people[first]["head"], agreed["id"], "notify_both_parties")
        console.print(
            _("  {who} proposes {reaction}: {state}").format(
                who=people[first]["head"].name, reaction=decision.reaction, state=decision.state
            )
        )
        decision = approve(db, mission, people[second]["head"], decision.id)
        console.print(
            _("  {who} approves: {state} (two keys, one from each contingent)").format(
                who=people[second]["head"].name, state=decision.state
            )
        )
    with engine.begin() as db:
        for contingent, who in people.items():
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
            )
        found = current(db, people["TR"]["head"], other["id"])
    console.print(
        _(
            "  {incident}: the contingents differ on attribution; result: {outcome}, "
            "both views kept"
        ).format(incident=other["id"], outcome=found.outcome if found else "-")
    )
