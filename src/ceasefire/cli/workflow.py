"""`ceasefire users|assess|finding|decide|approve|confirm|decisions|shift`: the joint workflow.

A thin layer over :mod:`ceasefire.workflow`. Whoever runs these commands has the database, so
``--as-user`` names the person acting; the library checks that person's role and contingent.
"""

from __future__ import annotations

import sys
from datetime import datetime
from enum import StrEnum
from typing import Any

import typer
from rich.table import Table

from ceasefire.center.core import Answer
from ceasefire.cli import common
from ceasefire.cli.common import (
    DB_OPTION,
    FORMAT_OPTION,
    MISSION_OPTION,
    Format,
    console,
    print_json,
)
from ceasefire.i18n import _, ngettext
from ceasefire.labels import label
from ceasefire.mission import Mission
from ceasefire.timeutil import parse_time, shown, shown_text
from ceasefire.workflow import decisions

users_app = typer.Typer(help="People and programs of the center.", no_args_is_help=True)
shift_app = typer.Typer(help="The duty roster and the handover.", no_args_is_help=True)

AS_USER = typer.Option(..., "--as-user", help="The user acting (their role is checked).")
AT_OPTION = typer.Option(None, "--at", help="ISO 8601 time of the step (default now).")
REMARKS = typer.Option("", "--remarks")


class Verdict(StrEnum):
    yes = "yes"
    no = "no"
    undetermined = "undetermined"


def _at(text: str | None, mission: Mission) -> datetime | None:
    return parse_time(text, mission.config.timezone, field="--at") if text else None


def _show(data: Any, fmt: Format, lines: list[str]) -> None:
    if fmt is Format.json:
        print_json(data)
    else:
        for line in lines:
            console.print(line)


# --- users --------------------------------------------------------------------------------


@users_app.command("add")
def users_add(
    name: str = typer.Argument(..., help="Lower-case name, e.g. ru-do-1."),
    role: str = typer.Option(
        ..., "--role", help="analyst, duty_officer, head, liaison, party_liaison or auditor."
    ),
    affiliation: str = typer.Option(
        "", "--affiliation", help="Contingent, force or party id (empty for auditors)."
    ),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read a password from the first line of stdin."
    ),
    by: str = typer.Option(None, "--by", help="A head adding a user of their contingent."),
    db: str = DB_OPTION,
    mission: str = MISSION_OPTION,
) -> None:
    """Add a user (logged in the ledger without the password)."""
    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    with common.center(db=db, mission=mission) as center:
        user = center.add_user(name, role, affiliation, password, by=by or None)
    console.print(
        _("added {name} ({role} of {affiliation})").format(
            name=user.name, role=user.role, affiliation=user.affiliation or "-"
        )
    )


@users_app.command("list")
def users_list(
    fmt: Format = FORMAT_OPTION,
    db: str = DB_OPTION,
) -> None:
    """The users, with role, affiliation and whether disabled."""
    found = common.center(db=db).users()
    if fmt is Format.json:
        print_json([u.__dict__ for u in found])
        return
    table = Table()
    for column in (_("user"), _("role"), _("affiliation"), _("disabled")):
        table.add_column(column)
    for u in found:
        table.add_row(u.name, u.role, u.affiliation, _("yes") if u.disabled else "")
    console.print(table)


@users_app.command("disable")
def users_disable(
    name: str = typer.Argument(...),
    by: str = typer.Option(None, "--by", help="A head disabling a user of their contingent."),
    db: str = DB_OPTION,
    mission: str = MISSION_OPTION,
) -> None:
    """Disable a user and revoke their tokens; their records stay theirs."""
    with common.center(db=db, mission=mission) as center:
        center.disable_user(name, by=by or None)
    console.print(_("disabled {name}").format(name=name))


@users_app.command("token")
def users_token(
    name: str = typer.Argument(...),
    label: str = typer.Option("", "--label", help="What the token is for."),
    db: str = DB_OPTION,
) -> None:
    """Issue an API token for a user; it is printed once and only its hash is kept."""
    token = common.center(db=db).issue_token(name, label)
    sys.stdout.write(token + "\n")


# --- assessments and findings ---------------------------------------------------------------


def assess(
    incident_id: str = typer.Argument(..., help="The incident id."),
    as_user: str = AS_USER,
    violation: Verdict = typer.Option(..., "--violation"),
    clause: list[str] = typer.Option([], "--clause", help="A clause id (repeat for several)."),
    attribution: str = typer.Option(
        "not_attributed", "--attribution", help="A party id or not_attributed."
    ),
    severity: str = typer.Option(None, "--severity", help="low, medium, high or critical."),
    remarks: str = REMARKS,
    at: str = AT_OPTION,
    fmt: Format = FORMAT_OPTION,
    db: str = DB_OPTION,
    mission: str = MISSION_OPTION,
) -> None:
    """Submit your contingent's assessment of an incident (a new version if one exists)."""
    with common.center(db=db, mission=mission) as center:
        made, outcome = center.assess(
            as_user,
            incident_id,
            violation=violation.value,
            clauses=clause,
            attribution=attribution,
            severity=severity,
            remarks=remarks,
            at=_at(at, center.mission),
        )
    line = _("{contingent} assessment of {incident}, version {version}").format(
        contingent=made.contingent, incident=incident_id, version=made.version
    )
    _show({**made.record(), "outcome": outcome}, fmt, [line])


def finding(
    incident_id: str = typer.Argument(..., help="The incident id."),
    as_user: str = AS_USER,
    fmt: Format = FORMAT_OPTION,
    db: str = DB_OPTION,
    mission: str = MISSION_OPTION,
) -> None:
    """The joint finding or dispute, and the assessments you may see, side by side."""
    with common.center(db=db, mission=mission) as center:
        seen = center.finding(as_user, incident_id)
    views, blind, found = seen.views, seen.blind, seen.finding
    data = {
        "incident": incident_id,
        "blind": blind,
        "assessments": {c: a.record() for c, a in views.items()},
        "finding": found.record if found is not None else None,
    }
    if fmt is Format.json:
        print_json(data)
        return
    table = Table(title=incident_id)
    table.add_column("")
    for contingent in views:
        table.add_column(contingent)
    for key, title in _assessment_rows():
        table.add_row(title, *(_assessment_value(key, a.record()[key]) for a in views.values()))
    console.print(table)
    if blind:
        console.print(_("blind: the other side's assessment is not shown yet"))
    if found is None:
        console.print(_("no finding yet"))
    elif found.agreed:
        console.print(
            _("joint finding: {v}, clauses {c}, attribution {a}").format(
                v=label("violation", found.record["violation"]),
                c=", ".join(found.record["clauses"]) or "-",
                a=found.record["attribution"],
            )
        )
    else:
        console.print(
            _("disputed: the contingents differ on {what}").format(
                what=", ".join(found.record["differs_on"])
            )
        )


def _assessment_rows() -> list[tuple[str, str]]:
    """The rows of an assessment table: the record's key and its label."""
    return [
        ("version", _("version")),
        ("violation", _("violation")),
        ("clauses", _("clauses")),
        ("attribution", _("attribution")),
        ("severity", _("severity")),
        ("remarks", _("remarks")),
    ]


def _assessment_value(key: str, value: Any) -> str:
    if key in ("violation", "severity") and isinstance(value, str):
        return label(key, value)
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "-"
    return "-" if value in (None, "") else str(value)


def unblind(
    incident_id: str = typer.Argument(..., help="The incident id."),
    as_user: str = AS_USER,
    remarks: str = REMARKS,
    at: str = AT_OPTION,
    fmt: Format = FORMAT_OPTION,
    db: str = DB_OPTION,
    mission: str = MISSION_OPTION,
) -> None:
    """A head's key to end an incident's blind period before every contingent has assessed."""
    with common.center(db=db, mission=mission) as center:
        when = _at(at, center.mission)
        agreed, blind = center.unblind(as_user, incident_id, remarks=remarks, at=when)
    line = (
        _("{incident} is still blind: agreed so far by {contingents}")
        if blind
        else _("{incident} is no longer blind: agreed by {contingents}")
    ).format(incident=incident_id, contingents=", ".join(sorted(agreed)))
    _show({"incident": incident_id, "agreed": sorted(agreed), "blind": blind}, fmt, [line])


# --- decisions --------------------------------------------------------------------------------


def _decision_lines(d: decisions.Decision, timezone: str) -> list[str]:
    if d.withheld:
        reaction, tier = _("withheld: the incident is still blind"), "-"
    else:
        reaction, tier = label("reaction", d.reaction), label("tier", d.tier)
    line = _("{id}: {reaction} on {incident}, {tier}, {state} (due {due})").format(
        id=d.id,
        reaction=reaction,
        incident=d.incident_id,
        tier=tier,
        state=label("decision_state", d.state),
        due=shown(d.due_at, timezone),
    )
    if d.withheld:
        return [line]
    keys = "; ".join(
        f"{label('step', s.verdict)}: {s.contingent or '-'} ({s.user or '-'})" for s in d.steps
    )
    return [line, "  " + keys]


def decide(
    incident_id: str = typer.Argument(..., help="The incident id."),
    reaction: str = typer.Option(..., "--reaction", help="A reaction of the catalogue."),
    as_user: str = AS_USER,
    party: str = typer.Option(None, "--party", help="request_explanation: which party."),
    contingent: str = typer.Option(
        None, "--contingent", help="request_reobservation: whose drones."
    ),
    urgent: bool = typer.Option(False, "--urgent", help="Take it now (duty officer)."),
    remarks: str = REMARKS,
    at: str = AT_OPTION,
    fmt: Format = FORMAT_OPTION,
    db: str = DB_OPTION,
    mission: str = MISSION_OPTION,
) -> None:
    """Propose a reaction to an incident, or take an urgent one."""
    with common.center(db=db, mission=mission) as center:
        d = center.decide(
            as_user,
            incident_id,
            reaction,
            party=party,
            contingent=contingent,
            urgent=urgent,
            remarks=remarks,
            at=_at(at, center.mission),
        )
    _show(d.shown(), fmt, _decision_lines(d, center.mission.config.timezone))


def approve(
    decision_id: str = typer.Argument(..., help="The decision id, e.g. DEC-1a2b3c4d5e6f."),
    as_user: str = AS_USER,
    reject: bool = typer.Option(False, "--reject", help="Refuse your contingent's key."),
    remarks: str = REMARKS,
    at: str = AT_OPTION,
    fmt: Format = FORMAT_OPTION,
    db: str = DB_OPTION,
    mission: str = MISSION_OPTION,
) -> None:
    """Give (or refuse) your contingent's key to a proposed decision."""
    _answer("reject" if reject else "approve", decision_id, as_user, remarks, at, fmt, db, mission)


def confirm(
    decision_id: str = typer.Argument(..., help="The urgent decision's id."),
    as_user: str = AS_USER,
    contest: bool = typer.Option(False, "--contest", help="Contest instead of confirming."),
    remarks: str = REMARKS,
    at: str = AT_OPTION,
    fmt: Format = FORMAT_OPTION,
    db: str = DB_OPTION,
    mission: str = MISSION_OPTION,
) -> None:
    """Confirm (or contest) the other contingent's urgent decision."""
    _answer(
        "contest" if contest else "confirm", decision_id, as_user, remarks, at, fmt, db, mission
    )


def _answer(
    answer: Answer,
    decision_id: str,
    as_user: str,
    remarks: str,
    at: str | None,
    fmt: Format,
    db: str | None,
    mission: str | None,
) -> None:
    """One answer to a decision (approve, reject, confirm, contest) and the decision after it."""
    with common.center(db=db, mission=mission) as center:
        when = _at(at, center.mission)
        d = center.answer(as_user, decision_id, answer, remarks=remarks, at=when)
    _show(d.shown(), fmt, _decision_lines(d, center.mission.config.timezone))


def decisions_list(
    as_user: str = AS_USER,
    incident: str = typer.Option(None, "--incident", help="Only this incident's."),
    pending: bool = typer.Option(False, "--pending", help="Only those still waiting."),
    escalate: bool = typer.Option(
        False, "--escalate", help="First escalate every overdue proposal."
    ),
    at: str = AT_OPTION,
    fmt: Format = FORMAT_OPTION,
    db: str = DB_OPTION,
    mission: str = MISSION_OPTION,
) -> None:
    """The decisions, with their tier, state and every key given."""
    with common.center(db=db, mission=mission) as center:
        found = center.list_decisions(
            as_user,
            incident_id=incident,
            pending=pending,
            escalate=escalate,
            at=_at(at, center.mission) if escalate else None,
        )
    if fmt is Format.json:
        print_json([d.shown() for d in found])
        return
    for d in found:
        for line in _decision_lines(d, center.mission.config.timezone):
            console.print(line)
    console.print(ngettext("{n} decision", "{n} decisions", len(found)).format(n=len(found)))


# --- shifts -----------------------------------------------------------------------------------


@shift_app.command("add")
def shift_add(
    start: str = typer.Option(..., "--start", help="ISO 8601; without offset: mission time."),
    end: str = typer.Option(..., "--end", help="ISO 8601; without offset: mission time."),
    label: str = typer.Option("", "--label"),
    as_user: str = AS_USER,
    db: str = DB_OPTION,
    mission: str = MISSION_OPTION,
) -> None:
    """Plan a shift; it stays flagged until every contingent has an officer on it."""
    with common.center(db=db, mission=mission) as center:
        tz = center.mission.config.timezone
        s = center.add_shift(
            as_user,
            parse_time(start, tz, field="--start"),
            parse_time(end, tz, field="--end"),
            label,
        )
    sys.stdout.write(s.id + "\n")


@shift_app.command("assign")
def shift_assign(
    shift_id: str = typer.Argument(...),
    officer: str = typer.Argument(..., help="A duty officer or head of your contingent."),
    as_user: str = AS_USER,
    db: str = DB_OPTION,
    mission: str = MISSION_OPTION,
) -> None:
    """Put an officer of your own contingent on a shift."""
    with common.center(db=db, mission=mission) as center:
        s = center.assign(as_user, shift_id, officer)
    missing = ", ".join(s.missing) or "-"
    console.print(_("{id}: missing {missing}").format(id=s.id, missing=missing))


@shift_app.command("roster")
def shift_roster(
    since: str = common.SINCE_OPTION,
    until: str = common.UNTIL_OPTION,
    fmt: Format = FORMAT_OPTION,
    db: str = DB_OPTION,
    mission: str = MISSION_OPTION,
) -> None:
    """The shifts with their officers; shifts missing a contingent are flagged."""
    with common.center(db=db, mission=mission) as center:
        tz = center.mission.config.timezone
        found = center.roster(*common.period(since, until, tz))
    if fmt is Format.json:
        print_json([s.record() for s in found])
        return
    table = Table()
    for column in (_("shift"), _("start"), _("end"), _("officers"), _("missing")):
        table.add_column(column)
    for s in found:
        table.add_row(
            s.id,
            shown(s.starts_at, tz),
            shown(s.ends_at, tz),
            ", ".join(f"{c}: {u}" for c, u in s.officers),
            ", ".join(s.missing),
        )
    console.print(table)


@shift_app.command("handover")
def shift_handover(
    as_user: str = AS_USER,
    at: str = AT_OPTION,
    fmt: Format = FORMAT_OPTION,
    db: str = DB_OPTION,
    mission: str = MISSION_OPTION,
) -> None:
    """The handover report: shifts and flags, open incidents, pending decisions, notices."""
    with common.center(db=db, mission=mission) as center:
        report = center.handover(as_user, at=_at(at, center.mission))
    if fmt is Format.json:
        print_json(report)
        return
    tz = center.mission.config.timezone
    console.print(_("handover at {at}").format(at=shown_text(report["at"], tz)))
    for flag in report["flags"]:
        console.print("[red]!![/red] " + flag)
    console.print(_("open incidents: {n}").format(n=len(report["open_incidents"])))
    for i in report["open_incidents"]:
        console.print(
            f"  {i['id']}  {label('incident_status', i['status'])}  "
            f"{label('category', i['category'])}  {shown_text(i['started_at'], tz)}"
        )
    console.print(_("pending decisions: {n}").format(n=len(report["pending_decisions"])))
    for d in report["pending_decisions"]:
        overdue = " " + _("overdue") if d["overdue"] else ""
        console.print(
            f"  {d['id']}  {label('reaction', d['reaction'])}  {label('tier', d['tier'])}  "
            f"{label('decision_state', d['state'])}{overdue}"
        )
    console.print(_("unacknowledged notices: {n}").format(n=len(report["unacknowledged_notices"])))
