"""`ceasefire inbox init|serve|list|ack`: a party's end of the direct line.

A thin layer over :mod:`ceasefire.inbox`: the party makes its key once (``init``, and gives
the printed verifier key to the mission, ``keys`` of the party), then runs ``serve``, which
takes the center's webhooks, shows the notices and acknowledges them signed with that key.
"""

from __future__ import annotations

from pathlib import Path

import typer

from ceasefire.cli.common import MISSION_OPTION, Format, console, console_err, print_json
from ceasefire.errors import InputError, Problem
from ceasefire.i18n import _, language
from ceasefire.inbox.store import (
    CENTER_KEY,
    DB_FILE,
    FAILED,
    WITNESS_STATE,
    Inbox,
    init_inbox,
    init_witness,
    read_trusted_keys,
    read_vkey,
    rows,
    witness_key_file,
)
from ceasefire.ledger.keys import origin_of
from ceasefire.mission import Mission, load_mission
from ceasefire.served import log_to_stderr

app = typer.Typer(help="A party's inbox at its end of the direct line.", no_args_is_help=True)

PARTY = typer.Option(..., "--party", help="The party whose inbox this is, e.g. AZ.")
DIR = typer.Option(None, "--dir", help="The inbox's folder (default ./inbox-PARTY).")
PORT = 8300
TRUSTED = typer.Option(
    None,
    "--trusted-keys",
    help="The contingents' verifier keys (ceasefire keys show), got apart from the center's "
    "line, to check the daily reports with (default DIR/trusted.vkeys).",
)


def _party(mission: Mission, party: str) -> str:
    if party not in mission.party_ids():
        raise InputError(
            Problem(
                file="inbox",
                field="--party",
                reason=_("not a party of the mission: one of {choices}").format(
                    choices=", ".join(mission.party_ids())
                ),
            )
        )
    return party


def _folder(directory: Path | None, party: str) -> Path:
    return directory if directory is not None else Path(f"inbox-{party}")


def _language(mission: Mission, party: str) -> str:
    return next(p.language for p in mission.config.parties if p.id == party)


@app.command("init")
def init(
    party: str = PARTY,
    directory: Path = DIR,
    mission: str = MISSION_OPTION,
) -> None:
    """Make the inbox's folder, the party's signer key and its witness key; print their
    verifier keys."""
    m = load_mission(mission)
    folder = _folder(directory, _party(m, party))
    vkey = init_inbox(folder, party)
    witness_vkey = init_witness(folder, origin_of(m.id), party)
    console_err.print(
        _("register this key in the mission (keys of party {party}), then run inbox serve:").format(
            party=party
        )
    )
    typer.echo(vkey)
    console_err.print(
        _(
            "to witness the center's log, register this key and the inbox's address + /witness "
            "in the mission (parties {party} witness key and url):"
        ).format(party=party)
    )
    typer.echo(witness_vkey)


@app.command("serve")
def serve(
    party: str = PARTY,
    directory: Path = DIR,
    key: str = typer.Option(
        None,
        "--key",
        help="The center's verifier key: a vkey string or a file (default DIR/center.vkey).",
    ),
    center: str = typer.Option(
        "http://127.0.0.1:8000", "--center", help="The center's address, for acknowledgements."
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(PORT, "--port", help="HTTP port (the webhook is POST /webhook)."),
    tolerance: float = typer.Option(
        300.0, "--tolerance", help="Seconds a webhook's timestamp may be from this clock."
    ),
    lang: str = typer.Option(None, "--lang", help="The page's language (default the party's)."),
    witness: bool = typer.Option(
        True,
        "--witness/--no-witness",
        help="Cosign the center's checkpoints at /witness when the party's witness key is in "
        "DIR (inbox init makes it).",
    ),
    trusted_keys: Path = TRUSTED,
    mission: str = MISSION_OPTION,
) -> None:
    """Receive the center's webhooks, show the notices, acknowledge them; until interrupted."""
    import uvicorn

    from ceasefire.inbox.server import WITNESS_PREFIX, create_app
    from ceasefire.witness.server import OwnWitness

    m = load_mission(mission)
    folder = _folder(directory, _party(m, party))
    if not 1 <= port <= 65535:
        raise InputError(
            Problem(file="inbox serve", field="--port", reason=_("a port is 1 to 65535"))
        )
    center_key = read_vkey(key if key is not None else folder / CENTER_KEY)
    # the party's witness, where its key is (inbox init makes it): only checkpoints, the
    # center's key the one log it follows
    witness_key = witness_key_file(folder, party)
    own = (
        OwnWitness.open(witness_key, folder / WITNESS_STATE, [center_key])
        if witness and witness_key.exists()
        else None
    )
    inbox = Inbox(
        folder,
        party,
        center_key,
        center,
        tolerance=tolerance,
        trusted_keys=read_trusted_keys(trusted_keys, folder),
    )
    shown_lang = lang or _language(m, party)
    log_to_stderr()
    with language(shown_lang):
        console.print(
            _(
                "inbox of {party} in {dir}: webhooks to http://{host}:{port}/webhook, "
                "the notices on http://{host}:{port}/"
            ).format(party=party, dir=folder, host=host, port=port)
        )
        if own is not None:
            console.print(
                _("witness of the center's log: http://{host}:{port}{prefix}").format(
                    host=host, port=port, prefix=WITNESS_PREFIX
                )
            )
    try:
        app = create_app(
            inbox, shown_lang, m.config.timezone, own.app() if own is not None else None
        )
        uvicorn.run(app, host=host, port=port, log_level="info")
    finally:
        inbox.close()
        if own is not None:
            own.close()


@app.command("list")
def list_notices(
    party: str = PARTY,
    directory: Path = DIR,
    fmt: Format = typer.Option(Format.text, "--format"),
    mission: str = MISSION_OPTION,
) -> None:
    """The notices the inbox received, newest first, and whether each is acknowledged."""
    m = load_mission(mission)
    folder = _folder(directory, _party(m, party))
    if not (folder / DB_FILE).exists():
        raise InputError(
            Problem(file=str(folder / DB_FILE), field="--dir", reason=_("no inbox here"))
        )
    from ceasefire.inbox.server import report_state

    found = list(rows(folder))
    if fmt is Format.json:
        print_json([n.record() for n in found])
        return
    with language(_language(m, party)):
        for n in found:
            state = (
                _("acknowledged {time} by {by}").format(time=n.acked_at, by=n.acked_by)
                if n.acked_at
                else _("not acknowledged; due by {time}").format(time=n.ack_due_at)
            )
            console.print(f"{n.id}  {n.received_at}  {state}", soft_wrap=True)
            console.print(f"  {n.subject}", soft_wrap=True)
            if report_state(n):
                console.print(f"  {report_state(n)}", soft_wrap=True)
            if n.ack_error:
                console.print(f"  {n.ack_error}", soft_wrap=True)


@app.command("check")
def check(
    notice_id: str = typer.Argument(
        None, help="A daily report's notice (default: every one not yet verified)."
    ),
    party: str = PARTY,
    directory: Path = DIR,
    key: str = typer.Option(None, "--key", help="The center's verifier key (as for serve)."),
    center: str = typer.Option("http://127.0.0.1:8000", "--center", help="The center's address."),
    trusted_keys: Path = TRUSTED,
    fmt: Format = typer.Option(Format.text, "--format"),
    mission: str = MISSION_OPTION,
) -> None:
    """Check the daily reports announced to the inbox: fetch each from the center, check both
    contingents' signatures, its SHA-256 and the proof that it is in the center's log."""
    from ceasefire.inbox.server import report_state

    m = load_mission(mission)
    folder = _folder(directory, _party(m, party))
    center_key = read_vkey(key if key is not None else folder / CENTER_KEY)
    with (
        language(_language(m, party)),
        Inbox(
            folder,
            party,
            center_key,
            center,
            trusted_keys=read_trusted_keys(trusted_keys, folder),
        ) as inbox,
    ):
        done = [inbox.check_report(notice_id)] if notice_id else inbox.recheck(failed=True)
        if fmt is Format.json:
            print_json([c.__dict__ for c in done])
            return
        for c in done:
            found = inbox.get(c.notice_id)
            assert found is not None
            console.print(f"{c.notice_id}  {report_state(found)}", soft_wrap=True)
    if any(c.state == FAILED for c in done):
        raise typer.Exit(1)


@app.command("ack")
def ack(
    notice_id: str = typer.Argument(..., help="The notice id."),
    party: str = PARTY,
    directory: Path = DIR,
    key: str = typer.Option(None, "--key", help="The center's verifier key (as for serve)."),
    center: str = typer.Option("http://127.0.0.1:8000", "--center", help="The center's address."),
    by: str = typer.Option("", "--by", help="Who acknowledges (a name)."),
    fmt: Format = typer.Option(Format.text, "--format"),
    mission: str = MISSION_OPTION,
) -> None:
    """Acknowledge a received notice: signed with the party's key, sent to the center."""
    m = load_mission(mission)
    folder = _folder(directory, _party(m, party))
    center_key = read_vkey(key if key is not None else folder / CENTER_KEY)
    with Inbox(folder, party, center_key, center) as inbox:
        done = inbox.acknowledge(notice_id, by)
    if fmt is Format.json:
        print_json(done.record())
    elif done.acked_at:
        console.print(_("{id} acknowledged at {time}").format(id=done.id, time=done.acked_at))
    if not done.acked_at:
        raise InputError(Problem(file=notice_id, field="notice", reason=done.ack_error))


__all__ = ["app"]
