"""`ceasefire demo`: the whole center on the embedded default, printing where to look.

The scenario is :class:`ceasefire.center.demo.Demo`'s (see there); this command runs its steps
in order and renders what each did.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from ceasefire.center.demo import (
    DayReport,
    Demo,
    Lines,
    Record,
    Step,
    demo_password,
    people_of_every_role,
)
from ceasefire.cli.common import console, console_err
from ceasefire.cli.simulate import PresetName
from ceasefire.i18n import LANGUAGES, _, current_language, ngettext
from ceasefire.labels import label
from ceasefire.timeutil import shown


def demo(
    workdir: Path = typer.Option(Path("var/demo"), "--dir", help="Where the demo keeps its data."),
    hours: float = typer.Option(24.0, "--hours", min=1.0, help="Hours of monitoring to simulate."),
    seed: int = typer.Option(1, "--seed"),
    preset: PresetName = typer.Option(
        "busy", "--preset", help="How busy the simulated day is (docs/simulator.md)."
    ),
) -> None:
    """Run the whole center on the built-in mission and show where to look."""
    # Absolute, so that the commands printed under "where to look" work from any folder.
    with Demo(workdir.resolve(), hours, seed, preset.value) as run:
        _show(run)


def _show(run: Demo) -> None:
    mission = run.mission
    console.rule(f"[bold]{mission.name('en')}")
    for lang in LANGUAGES:
        console.print(f"  {lang}: {mission.name(lang)}")
    console.print(f"[yellow]{mission.disclaimer(current_language())}[/yellow]")

    console.rule(_("1. What a place was on a date"))
    for place in run.places():
        console.print(
            f"  {place.lat} {place.lon} {place.at[:10]}: {place.phrase}; "
            + _("controlled by {party}").format(party=place.controlled_by or "-")
        )

    console.rule(_("2. A day of monitoring, simulated"))
    with console_err.status(_("simulating")):
        simulated = run.simulate()
    console.print(
        _("  {events} true events ({violations} violations); files in {path}").format(
            events=simulated.events, violations=simulated.violations, path=simulated.folder
        )
    )

    console.rule(_("3. Each contingent's data into the center"))
    run.ingest()
    with console_err.status(_("correlating")):
        totals = run.correlate()
    console.print(
        _(
            "  {accepted} observations accepted, {rejected} rejected, {tracks} drone track points"
        ).format(accepted=totals.accepted, rejected=totals.rejected, tracks=totals.track_points)
    )

    console.rule(_("4. Incidents"))
    incidents = run.incidents()
    table = Table(show_lines=False)
    for column in (_("incident"), _("category"), _("seen by"), _("where")):
        table.add_column(column, overflow="fold")
    for row in incidents.ranked[:10]:
        table.add_row(
            row["id"],
            label("category", row["category"]),
            label("corroboration", row["corroboration"]),
            row["phrase"] or "",
        )
    console.print(table)
    scored, watched = incidents.scored, incidents.watched
    console.print(
        _(
            "  {n} incidents; against the simulation's truth: precision {p:.2f}, "
            "recall {r:.2f}, F1 {f1:.2f}, median location error {m} m"
        ).format(
            n=len(incidents.found),
            p=scored["precision"],
            r=scored["recall"],
            f1=scored["f1"],
            m=scored["median_location_error_m"],
        )
    )
    console.print(
        _("  line of contact watched: {shares}; by every contingent {all:.0%}").format(
            shares=", ".join(
                f"{c} {v['covered_share']:.0%}" for c, v in watched["contingents"].items()
            ),
            all=watched["covered_share_all"],
        )
    )

    console.rule(_("5. Joint assessment and a two-key decision"))
    for step in run.workflow(incidents.ranked):
        console.print(_step(step, mission.config.timezone))

    console.rule(_("6. Direct lines: the decision's notices, acknowledged or escalated"))
    # imported here: only steps 6 and 7 serve the center's API (the acknowledgements, the
    # witnesses' reading of the entries they cosign)
    from ceasefire.api.app import center_app
    from ceasefire.served import ServedApp

    with ServedApp(center_app(run.center), name="center API") as api:
        lines = run.lines(api.url)
        _show_lines(run, lines)

        _show_nodes(run)

        console.rule(_("7. The record neither side can rewrite"))
        # the witnesses read the entries they cosign from the center's API
        record = run.record(incidents.found, api.url)
        _show_record(run, record)

        console.rule(_("8. The day ends: its report, signed by both heads"))
        # the parties' inboxes fetch the report, its signature and its proof from the API
        with console_err.status(_("making the daily report")):
            report = run.report(api.url)
    _show_report(run, report)

    console.rule(_("Where to look"))
    _where_to_look(run, incidents.found, record, report)


def _step(step: Step, timezone: str) -> str:
    """One step of the joint workflow, as a line."""
    d = step.data
    if step.kind == "agreed":
        return _("  {incident}: both assessed it blind; joint result: {outcome}").format(
            incident=d["incident"], outcome=label("incident_status", d["outcome"])
        )
    if step.kind == "proposed":
        return _("  {who} proposes {reaction}: {state}").format(
            who=d["who"],
            reaction=label("reaction", d["reaction"]),
            state=label("decision_state", d["state"]),
        )
    if step.kind == "approved":
        return _("  {who} approves: {state} (two keys, one from each contingent)").format(
            who=d["who"], state=label("decision_state", d["state"])
        )
    if step.kind == "disputed":
        return _(
            "  {incident}: the contingents differ on attribution; result: {outcome}, "
            "both views kept"
        ).format(incident=d["incident"], outcome=label("incident_status", d["outcome"]))
    if step.kind == "taken":
        reaction = (
            _("{reaction} by {c}'s drones").format(
                reaction=label("reaction", d["reaction"]), c=d["contingent"]
            )
            if d["contingent"]
            else label("reaction", d["reaction"])
        )
        return _("  {who} takes {reaction} on {incident} alone at {time} (urgent): {state}").format(
            who=d["who"],
            reaction=reaction,
            incident=d["incident"],
            time=shown(d["time"], timezone),
            state=label("decision_state", d["state"]),
        )
    return _(
        "  {others} did not answer within {hours:g} h: the escalation scheduler's pass at "
        "{time} escalated it to the heads: {state}"
    ).format(
        others=", ".join(d["others"]),
        hours=d["hours"],
        time=shown(d["time"], timezone),
        state=label("decision_state", d["state"]),
    )


def _show_lines(run: Demo, lines: Lines) -> None:
    timezone = run.mission.config.timezone
    states = {
        "delivered": _("delivered"),
        "pending": _("not yet delivered"),
        "dead": _("given up (a dead letter)"),
    }
    channels = {"http": _("signed webhook"), "email": _("e-mail")}
    table = Table(show_lines=False)
    for column in (
        _("notice"),
        _("to"),
        _("language"),
        _("line"),
        _("delivery"),
        _("acknowledged by"),
    ):
        table.add_column(column, overflow="fold")
    for sent in lines.sent:
        table.add_row(
            sent.notice,
            sent.recipient,
            sent.lang,
            channels.get(sent.channel, sent.channel),
            states.get(sent.status, sent.status),
            sent.acknowledged_by or (_("escalated to the heads") if sent.escalated else "-"),
        )
    console.print(table)
    for party, folder in lines.inboxes.items():
        received = [s for s in lines.sent if s.recipient == party and s.status == "delivered"]
        console.print(
            ngettext(
                "  {party}'s inbox took {n} signed notice, in {lang}: {path}",
                "  {party}'s inbox took {n} signed notices, in {lang}: {path}",
                len(received),
            ).format(
                party=party,
                n=len(received),
                lang=", ".join(sorted({s.lang for s in received})) or "-",
                path=folder,
            )
        )
    console.print(
        ngettext(
            "  the peacekeepers' e-mail: {n} message through the local SMTP server, in {path}",
            "  the peacekeepers' e-mail: {n} messages through the local SMTP server, in {path}",
            len(lines.mail),
        ).format(n=len(lines.mail), path=run.mail_dir)
    )
    escalated = sorted({s.recipient for s in lines.sent if s.escalated})
    if escalated and lines.escalated_at is not None:
        console.print(
            _(
                "  {parties} did not acknowledge in time: the escalation scheduler's pass at "
                "{time} handed the notice to the heads of both contingents"
            ).format(parties=", ".join(escalated), time=shown(lines.escalated_at, timezone))
        )


def _show_record(run: Demo, record: Record) -> None:
    for node in record.nodes:
        console.print(
            _(
                "  {c}'s own node: {path}, with its signer key ({key}) and its witness's "
                "state ({state})"
            ).format(
                c=node.contingent,
                path=node.state_file.parent,
                key=f"{node.contingent}.skey",
                state=node.state_file.name,
            )
        )
    console.print(
        _("  the center's key directory: {path}, with {files}: no contingent's signer key").format(
            path=run.keys, files=", ".join(record.held)
        )
    )
    console.print(
        _("  checkpoint: {size} entries, cosigned by {who}; audit: {verdict}").format(
            size=record.size,
            who=", ".join(
                _("{c} (witness on its own node at {url})").format(c=n.contingent, url=n.url)
                for n in record.cosigned_by
            ),
            verdict=_("nothing edited, deleted, inserted or reordered")
            if record.audit_ok
            else _("{n} findings").format(n=record.audit_findings),
        )
    )
    if record.parties_cosigned:
        console.print(
            _("  the parties' inboxes cosigned it too, as witnesses (not required): {who}").format(
                who=", ".join(record.parties_cosigned)
            )
        )
    for party, path, entries in record.bundles:
        console.print(
            _("  release of {incident} to {party}: {n} records verified offline ({path})").format(
                incident=record.released, party=party, n=entries, path=path
            )
        )
    if record.bundles:
        console.print(
            _("  both parties received the same records: {same}").format(same=record.same)
        )


def _show_report(run: Demo, report: DayReport) -> None:
    from ceasefire.inbox.server import report_state

    console.print(
        _("  the daily report of {day} ({lang}, {format}): {path}").format(
            day=report.day, lang=report.lang, format=report.format.upper(), path=report.file
        )
    )
    console.print(
        _(
            "  signed by the heads of {who}, each with the key on its own node ({sig}); "
            "SHA-256 {sha}, ledger entry {index}"
        ).format(
            who=", ".join(report.signed_by),
            sig=report.signature.name,
            sha=report.sha256,
            index=report.ledger_index,
        )
    )
    console.print(
        _(
            "  checkpoint: {size} entries, cosigned by {who}; the proof that the report is in "
            "the log: {proof}"
        ).format(size=report.size, who=", ".join(report.cosigned_by), proof=report.proof.name)
    )
    channels = {"http": _("signed webhook"), "email": _("e-mail")}
    for sent in report.sent:
        received = report.received.get(sent.recipient)
        if received is not None:
            console.print(
                _(
                    "  {party}'s inbox took the report's notice by {line}, in {lang}: {state}"
                ).format(
                    party=sent.recipient,
                    line=channels.get(sent.channel, sent.channel),
                    lang=received.lang,
                    state=report_state(received),
                )
            )
    for path, files in report.mail:
        console.print(
            _("  the peacekeepers' e-mail {path} carries {files}").format(
                path=path.name, files=", ".join(files)
            )
        )


def _where_to_look(
    run: Demo, found: list[dict[str, object]], record: Record, report: DayReport
) -> None:
    db_path, keys, nodes = run.db_path, run.keys, run.nodes
    console.print(_("  database:        {path}").format(path=db_path.resolve()))
    console.print(_("  simulation:      {path}").format(path=run.sim_dir.resolve()))
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
    ports = {c: 8180 + i for i, c in enumerate(run.mission.contingent_ids())}
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
    if record.bundles:
        console.print(
            _("  a party's check: ceasefire verify --bundle {path}").format(
                path=record.bundles[0][1]
            )
        )
    console.print(
        _("  the API:         ceasefire serve {db}  ->  http://127.0.0.1:8000/api/v1/docs").format(
            db=db
        )
    )
    console.print(_("  a place:         ceasefire where 39.76 46.75 --at 2021-02-01 --lang az"))
    console.print(_("  the daily report: {path}").format(path=report.file))
    console.print(
        _("    its signature {sig}, its proof {proof}").format(
            sig=report.signature.name, proof=report.proof.name
        )
    )
    console.print(
        _("  check it offline: ceasefire report verify {path} --trusted-keys {keys}").format(
            path=report.file, keys=report.trusted
        )
    )
    for n, party in enumerate(run.mission.party_ids()):
        console.print(
            _("  {party}'s inbox:      ceasefire inbox list --party {party} --dir {path}").format(
                party=party, path=run.inbox_dir / party
            )
        )
        received = report.received.get(party)
        port = 8300 + n
        console.print(
            _(
                "  {party}'s inbox page: ceasefire inbox serve --party {party} --dir {path} "
                "--port {port}  ->  http://127.0.0.1:{port}/ (the report: {state})"
            ).format(
                party=party,
                path=run.inbox_dir / party,
                port=port,
                state=_report_word(received.report_state if received else None),
            )
        )

    console.rule(_("The center's pages"))
    console.print(
        _("  serve them:      ceasefire serve {db}  ->  http://127.0.0.1:8000/").format(db=db)
    )
    table = Table(show_lines=False)
    # The names and passwords are typed in as printed: never wrapped or cut.
    table.add_column(_("user"), no_wrap=True)
    table.add_column(_("role"))
    table.add_column(_("affiliation"))
    table.add_column(_("password"), no_wrap=True)
    for user in people_of_every_role(run):
        table.add_row(
            user.name, label("role", user.role), user.affiliation or "-", demo_password(user.name)
        )
    console.print(table)


def _report_word(state: str | None) -> str:
    """A report check's outcome in a word or two (the inbox's page says it at length)."""
    from ceasefire.inbox.reports import FAILED, NOT_YET, VERIFIED

    words = {
        VERIFIED: _("verified"),
        NOT_YET: _("not yet provable"),
        FAILED: _("check failed"),
    }
    return words.get(state or "", _("not checked"))


def _show_nodes(run: Demo) -> None:
    """Live: each contingent's drones through its own HQ node, one cut off a while."""
    from ceasefire.node.demo import LIVE_HOURS, live_through_nodes

    console.rule(_("Live: each contingent's drones through its own HQ node"))
    with console_err.status(_("forwarding")):
        nodes = live_through_nodes(run)
    console.print(
        _("  {hours:g} more hours simulated; each node signs with its contingent's key").format(
            hours=LIVE_HOURS
        )
    )
    for n in nodes:
        if n.failed_tries:
            console.print(
                _("  {c}'s link down for {tries} tries: {waiting} records kept").format(
                    c=n.contingent, tries=n.failed_tries, waiting=n.backlog_while_cut
                )
            )
        console.print(
            _(
                "  {c} node: {taken} observations and {tracks} track points signed; at the "
                "center {accepted} of them accepted, {duplicates} twice, {backlog} waiting; "
                "in order: {in_order}"
            ).format(
                c=n.contingent,
                taken=n.taken,
                tracks=n.track_points,
                accepted=n.accepted,
                duplicates=n.duplicates,
                backlog=n.backlog,
                in_order=n.in_order,
            )
        )
