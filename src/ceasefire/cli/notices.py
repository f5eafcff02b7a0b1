"""`ceasefire notices [--status dead]|retry|dispatch|ack|answer` and `ceasefire complain`.

The list, the dead letters' retry and the dispatch over :mod:`ceasefire.center.dispatch`: both
contingents' officers list every notice alike (each channel's delivery, the dead letters, the
delay between the parties' deliveries); either contingent's duty officer retries a dead letter;
an operator sends what the outbox holds when no `ceasefire serve` does. What comes back over
the lines:

A thin layer over :mod:`ceasefire.dissemination.acks` and :mod:`ceasefire.dissemination.messages`
(the other commands on notices join the ``notices`` group). Whoever runs these has the database:
an acknowledgement still needs the notice's token or the recipient's own signer key, and
``--as-user`` names the party's liaison who answers or complains. A refusal names the option.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from ceasefire.center import dispatch as dispatch_
from ceasefire.cli import common
from ceasefire.cli.common import DB_OPTION, MISSION_OPTION, Format, console, print_json
from ceasefire.dissemination import acks, messages
from ceasefire.dissemination.dispatcher import LeaseHeld
from ceasefire.dissemination.notices import STATUSES, Notice
from ceasefire.dissemination.refusals import FieldRefusal
from ceasefire.errors import CeasefireError, InputError, Problem
from ceasefire.i18n import _, ngettext
from ceasefire.labels import label
from ceasefire.ledger.note import Ed25519Signer, KeyFormatError
from ceasefire.timeutil import parse_time, shown
from ceasefire.workflow import roles
from ceasefire.workflow.errors import WorkflowError

app = typer.Typer(
    help="Notices to the force and the parties: deliveries, dead letters, acknowledgements.",
    invoke_without_command=True,
)

AS_USER = typer.Option(..., "--as-user", help="The party's liaison acting.")
OPTIONS = {
    "token": "--token",
    "signature": "--key",
    "text": "--text",
    "description": "--description",
    "observed_at": "--at",
    "location": "--lat",
    "location.lat": "--lat",
    "location.lon": "--lon",
    "location.ce_m": "--ce-m",
    "category": "--category",
    "against": "--against",
}


def _refused(error: WorkflowError, source: str) -> InputError:
    """A library refusal as a command-line error naming the option at fault."""
    field = error.field if isinstance(error, FieldRefusal) else ""
    option = OPTIONS.get(field) or (
        "--evidence" if field.startswith("evidence") else field or source
    )
    return InputError(Problem(file=source, field=option, reason=str(error)))


def _now(at: str | None, timezone: str) -> datetime:
    return parse_time(at, timezone, field="--at") if at else datetime.now(UTC)


@app.callback()
def notices(
    ctx: typer.Context,
    as_user: str = typer.Option(None, "--as-user", help="The user reading (role checked)."),
    status: str = typer.Option(None, "--status", help="Only these: " + ", ".join(STATUSES)),
    incident: str = typer.Option(None, "--incident", help="Only this incident's."),
    recipient: str = typer.Option(None, "--recipient", help="Only this recipient's."),
    limit: int = typer.Option(None, "--limit", min=1, help="At most this many."),
    fmt: Format = typer.Option(Format.text, "--format"),
    db: str = DB_OPTION,
    mission: str = MISSION_OPTION,
) -> None:
    """The notices with each channel's delivery; ``--status dead``: the dead letters."""
    if ctx.invoked_subcommand is not None:
        return
    if as_user is None:
        raise typer.BadParameter(_("name the user reading with --as-user"))
    if status is not None and status not in STATUSES:
        raise typer.BadParameter(
            _("one of {choices}").format(choices=", ".join(STATUSES)), param_hint="--status"
        )
    with common.center(db=db, mission=mission) as center:
        found = dispatch_.list_notices(
            center,
            as_user,
            status=status,
            incident_id=incident,
            recipient=recipient,
            limit=limit,
        )
        state = dispatch_.dispatcher_state(center, as_user)
        zone = center.mission.config.timezone
    if fmt is Format.json:
        print_json({"notices": [n.record() for n in found], **state.record()})
        return
    _table(found, zone)
    console.print(ngettext("{n} notice", "{n} notices", len(found)).format(n=len(found)))
    console.print(
        _("dispatcher: {holder}; deliveries pending {pending}, dead letters {dead}").format(
            holder=state.holder or _("not running"), pending=state.pending, dead=state.dead
        )
    )


def _table(found: list[Notice], zone: str) -> None:
    table = Table(show_lines=False)
    table.add_column(_("notice"), no_wrap=True)  # an id is typed as printed: never cut
    for heading in (
        _("recipient"),
        _("kind"),
        _("status"),
        _("created"),
        _("deliveries"),
        _("parties' skew"),
    ):
        table.add_column(heading)
    for n in found:
        lines = []
        for d in n.deliveries:
            text = f"{d.channel} {label('notice_status', d.status)} ×{d.attempts}"
            if d.delivered_at is not None:
                text += " " + shown(d.delivered_at, zone)
            elif d.last_error:
                text += f": {d.last_error}"
            lines.append(text)
        skew = "" if n.party_skew_ms is None else f"{n.party_skew_ms:.0f} ms"
        if n.superseded_by:
            lines.append(
                _("incident {id} superseded by {successor}").format(
                    id=n.incident_id, successor=n.superseded_by
                )
            )
        table.add_row(
            n.id,
            f"{n.recipient} ({n.role})",
            label("notice_kind", n.kind),
            label("notice_status", n.status),
            shown(n.created_at, zone),
            "\n".join(lines),
            skew,
        )
    console.print(table)


@app.command("retry")
def retry(
    notice_id: str = typer.Argument(..., help="The notice (NTC-...) whose dead letters to resend."),
    as_user: str = typer.Option(..., "--as-user", help="The user acting (their role is checked)."),
    fmt: Format = typer.Option(Format.text, "--format"),
    db: str = DB_OPTION,
    mission: str = MISSION_OPTION,
) -> None:
    """Send a dead letter again: its dead deliveries go back to their queues (logged)."""
    with common.center(db=db, mission=mission) as center:
        count = dispatch_.retry_notice(center, as_user, notice_id)
    if fmt is Format.json:
        print_json({"notice": notice_id, "deliveries": count})
        return
    console.print(
        ngettext(
            "{n} delivery of {id} back in its queue",
            "{n} deliveries of {id} back in their queues",
            count,
        ).format(n=count, id=notice_id)
    )


@app.command("dispatch")
def dispatch(
    once: bool = typer.Option(
        False,
        "--once",
        help="Try each delivery due now once, then stop (default: until none "
        "is pending, waiting out back-offs).",
    ),
    fmt: Format = typer.Option(Format.text, "--format"),
    db: str = DB_OPTION,
    mission: str = MISSION_OPTION,
) -> None:
    """Send what the outbox holds, here and now (refused while a dispatcher runs)."""
    with common.center(db=db, mission=mission) as center:
        try:
            counts = dispatch_.dispatch(center, once=once)
        except LeaseHeld as e:
            raise CeasefireError(str(e)) from e
        state = dispatch_.dispatcher_state(center)
    if fmt is Format.json:
        print_json({**counts.record(), "pending": state.pending, "dead": state.dead})
        return
    console.print(
        _(
            "{attempts} attempts: {delivered} delivered, {failed} to try again, {dead} dead "
            "letters; {pending} deliveries pending"
        ).format(**counts.record(), pending=state.pending)
    )


@app.command("ack")
def ack(
    notice_id: str = typer.Argument(..., help="The notice id, e.g. NTC-1b726a4cfe30a067."),
    token: str = typer.Option(None, "--token", help="The token of the notice's link."),
    key: Path = typer.Option(
        None,
        "--key",
        dir_okay=False,
        help="The recipient's signer key file (.skey): sign the acknowledgement with it.",
    ),
    received: Path = typer.Option(
        None,
        "--received",
        dir_okay=False,
        help="The notice's JSON as received: sign its hash (default: the stored notice's).",
    ),
    by: str = typer.Option("", "--by", help="Who acknowledges (a name, logged)."),
    fmt: Format = typer.Option(Format.text, "--format"),
    db: str = DB_OPTION,
    mission: str = MISSION_OPTION,
) -> None:
    """Acknowledge a notice with its link's token or a signature of the recipient's key."""
    center = common.center(db=db, mission=mission)
    now = datetime.now(UTC)
    signature = None
    if key is not None:
        try:
            signer = Ed25519Signer.from_skey(key.read_text(encoding="utf-8").strip())
        except (OSError, KeyFormatError, ValueError) as error:
            raise InputError(Problem(file=str(key), field="--key", reason=str(error))) from None
        if received is not None:
            try:
                digest = acks.payload_digest(json.loads(received.read_text(encoding="utf-8")))
            except (OSError, ValueError) as error:
                raise InputError(
                    Problem(file=str(received), field="--received", reason=str(error))
                ) from None
        else:
            try:
                digest = center.notice_digest(notice_id)
            except WorkflowError as error:
                raise _refused(error, "notices ack") from None
        signature = acks.sign_ack(signer, notice_id, digest, now, by or signer.name)
    try:
        done = center.acknowledge(notice_id, token=token, signature=signature, by=by, at=now)
    except WorkflowError as error:
        raise _refused(error, "notices ack") from None
    if fmt is Format.json:
        print_json(done.record())
    else:
        console.print(
            _("{notice} acknowledged by {by} ({how}); ledger entry {index}.").format(
                notice=done.notice_id, by=done.by, how=done.how, index=done.ledger_index
            )
        )


@app.command("answer")
def answer(
    notice_id: str = typer.Argument(..., help="The request for an explanation answered."),
    text: str = typer.Option(..., "--text", help="The party's answer."),
    as_user: str = AS_USER,
    at: str = typer.Option(None, "--at", help="ISO 8601 time (default now)."),
    fmt: Format = typer.Option(Format.text, "--format"),
    db: str = DB_OPTION,
    mission: str = MISSION_OPTION,
) -> None:
    """A party's liaison answers a request for an explanation to its party."""
    center = common.center(db=db, mission=mission)
    when = _now(at, center.mission.config.timezone)
    try:
        made = center.answer_notice(as_user, notice_id, text, at=when)
    except WorkflowError as error:
        raise _refused(error, "notices answer") from None
    _said(made, fmt)


def _said(made: messages.Message, fmt: Format) -> None:
    if fmt is Format.json:
        print_json(made.record())
        return
    console.print(
        _("{id} received from {party} (ledger entry {index}); notices: {notices}").format(
            id=made.id,
            party=made.party,
            index=made.ledger_index,
            notices=", ".join(made.notices) or "-",
        )
    )


def complain(
    as_user: str = AS_USER,
    at: str = typer.Option(..., "--at", help="When it happened (ISO 8601)."),
    until: str = typer.Option(None, "--until", help="When it ended (ISO 8601)."),
    lat: float = typer.Option(..., "--lat", help="Latitude (WGS84)."),
    lon: float = typer.Option(..., "--lon", help="Longitude (WGS84)."),
    ce_m: float = typer.Option(1000.0, "--ce-m", help="Uncertainty of the place, metres."),
    category: str = typer.Option("other", "--category", help="A category of the taxonomy."),
    description: str = typer.Option(..., "--description", help="What happened."),
    evidence: list[str] = typer.Option(
        [], "--evidence", help="SHA-256 of a piece of evidence (repeat for more)."
    ),
    against: str = typer.Option(None, "--against", help="The party complained about."),
    fmt: Format = typer.Option(Format.text, "--format"),
    db: str = DB_OPTION,
    mission: str = MISSION_OPTION,
) -> None:
    """A party's liaison files a complaint: an alleged violation by another party."""
    from ceasefire.cli.common import center

    body: dict[str, Any] = {
        "observed_at": at,
        "location": {"lat": lat, "lon": lon, "ce_m": ce_m},
        "category": category,
        "description": description,
        "evidence": evidence,
    }
    if until is not None:
        body["observed_until"] = until
    if against is not None:
        body["against"] = against
    with center(db=db, mission=mission) as c:
        try:
            with c.engine.connect() as conn:
                user = roles.get_user(conn, as_user)
            made = c.file_complaint(user, body)
        except WorkflowError as error:
            raise _refused(error, "complain") from None
    _said(made, fmt)


__all__ = ["app", "complain"]
