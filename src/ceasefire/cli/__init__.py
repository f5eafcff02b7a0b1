"""The `ceasefire` command line: a thin layer over the library.

Exit codes: 0 ok, 1 the input was refused, 2 usage error, 3 internal error (see docs/cli.md).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

from ceasefire import __version__
from ceasefire.cli import bench, common, db, demo, ingest, mission, node, serve, sorties, where
from ceasefire.cli import certs as certs_cli
from ceasefire.cli import config as config_cli
from ceasefire.cli import export as export_cli
from ceasefire.cli import inbox as inbox_cli
from ceasefire.cli import incidents as incidents_cli
from ceasefire.cli import ledger as ledger_cli
from ceasefire.cli import notices as notices_cli
from ceasefire.cli import reports as reports_cli
from ceasefire.cli import simulate as simulate_cli
from ceasefire.cli import witness as witness_cli
from ceasefire.cli import worker as worker_cli
from ceasefire.cli import workflow as workflow_cli
from ceasefire.cli.common import console_err
from ceasefire.errors import CeasefireError
from ceasefire.i18n import LANGUAGES, set_language

app = typer.Typer(
    name="ceasefire",
    help="Joint ceasefire monitoring center.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(mission.app, name="mission")
app.add_typer(config_cli.app, name="config")
app.add_typer(bench.app, name="bench")
app.add_typer(db.app, name="db")
app.add_typer(ledger_cli.keys_app, name="keys")
app.add_typer(witness_cli.app, name="witness")
app.add_typer(node.app, name="node")
app.add_typer(certs_cli.app, name="certs")
app.command("checkpoint")(ledger_cli.checkpoint)
app.command("verify")(ledger_cli.verify)
app.command("backup")(db.backup)
app.command("restore")(db.restore)
app.command("release")(ledger_cli.release)
app.command("where")(where.where)
app.command("demo")(demo.demo)
app.command("ingest")(ingest.ingest)
app.command("serve")(serve.serve)
app.command("worker")(worker_cli.worker)
app.command("sorties")(sorties.sorties)
app.command("simulate")(simulate_cli.simulate)
app.command("incidents")(incidents_cli.incidents)
app.command("incident")(incidents_cli.incident)
app.command("correlate")(incidents_cli.correlate)
app.command("coverage")(incidents_cli.coverage)
app.command("quarantine")(incidents_cli.quarantine)
app.command("score")(incidents_cli.score)
app.command("export")(export_cli.export)
app.add_typer(reports_cli.app, name="report")
app.command("stats")(reports_cli.stats_command)
app.add_typer(workflow_cli.users_app, name="users")
app.add_typer(workflow_cli.shift_app, name="shift")
app.command("assess")(workflow_cli.assess)
app.command("finding")(workflow_cli.finding)
app.command("unblind")(workflow_cli.unblind)
app.command("decide")(workflow_cli.decide)
app.command("approve")(workflow_cli.approve)
app.command("confirm")(workflow_cli.confirm)
app.command("decisions")(workflow_cli.decisions_list)
app.add_typer(notices_cli.app, name="notices")
app.command("complain")(notices_cli.complain)
app.add_typer(inbox_cli.app, name="inbox")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"ceasefire {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    context: typer.Context,
    lang: str = typer.Option(
        None, "--lang", help="Language of messages: en, ru, tr, az, hy (default $CEASEFIRE_LANG)."
    ),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
    config: Path = typer.Option(
        None,
        "--config",
        dir_okay=False,
        help="The center's settings file (TOML; default $CEASEFIRE_CONFIG).",
    ),
) -> None:
    """Joint ceasefire monitoring center."""
    common.begin(context)
    common.config_file = config
    if lang is not None:
        if lang not in LANGUAGES:
            raise typer.BadParameter(f"choose one of {', '.join(LANGUAGES)}", param_hint="--lang")
        set_language(lang)


def main() -> None:
    """Entry point: usage errors exit 2 (typer); refused input 1; anything unexpected 3."""
    try:
        app()
    except CeasefireError as exc:
        console_err.print(f"[red]error:[/red] {exc}", markup=True, highlight=False)
        sys.exit(exc.exit_code)
    except Exception as exc:
        if os.environ.get("CEASEFIRE_DEBUG"):
            raise
        console_err.print(
            f"[red]internal error:[/red] {type(exc).__name__}: {exc}\n"
            "Set CEASEFIRE_DEBUG=1 to see the traceback, and please report it.",
            highlight=False,
        )
        sys.exit(3)
