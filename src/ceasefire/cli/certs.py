"""`ceasefire certs init|issue`: certificates for CoT over TLS, one per contingent's clients."""

from __future__ import annotations

from pathlib import Path

import typer

from ceasefire.cli.common import MISSION_OPTION, console
from ceasefire.i18n import _
from ceasefire.ingest.tls import init_certs, issue_cert
from ceasefire.mission import load_mission

app = typer.Typer(help="Certificates for CoT over TLS (port 8089).", no_args_is_help=True)
DIR_OPTION = typer.Option(..., "--dir", help="Where the certificates are kept.")


@app.command("init")
def init(
    directory: Path = DIR_OPTION,
    host: list[str] = typer.Option(
        ["127.0.0.1", "localhost"], "--host", help="A name or address of the listener (repeat)."
    ),
    mission: str = MISSION_OPTION,
) -> None:
    """Make the mission's CoT authority (ca.pem) and the listener's certificate (server.pem)."""
    m = load_mission(mission)
    init_certs(directory, m.id, tuple(host))
    console.print(_("CoT authority and listener certificate in {dir}").format(dir=directory))


@app.command("issue")
def issue(
    contingent: str = typer.Argument(..., help="The contingent whose clients use it, e.g. RU."),
    directory: Path = DIR_OPTION,
    name: str = typer.Option(None, "--name", help="File name (default: the contingent)."),
    mission: str = MISSION_OPTION,
) -> None:
    """Issue a client certificate naming the contingent (its OU): CONTINGENT.pem and .key."""
    m = load_mission(mission)
    m.check_contingent(contingent, "certs issue", "CONTINGENT")
    path = issue_cert(directory, contingent, name)
    console.print(
        _("certificate for {contingent}: {path}").format(contingent=contingent, path=path)
    )
