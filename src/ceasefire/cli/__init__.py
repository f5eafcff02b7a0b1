"""The `ceasefire` command line: a thin layer over the library.

Exit codes: 0 ok, 1 the input was refused, 2 usage error, 3 internal error (see docs/cli.md).
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterator, Mapping, MutableMapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
import typer.main
from typer.core import TyperGroup

from ceasefire import __version__
from ceasefire.errors import CeasefireError
from ceasefire.i18n import LANGUAGES, set_language

if TYPE_CHECKING:
    from typer import _click as click  # typer's own copy of click, whose types it uses

COMMANDS: dict[str, str] = {
    # the commands, then the groups of commands: the order of `ceasefire --help`
    "checkpoint": "ceasefire.cli.ledger:checkpoint",
    "verify": "ceasefire.cli.ledger:verify",
    "backup": "ceasefire.cli.db:backup",
    "restore": "ceasefire.cli.db:restore",
    "release": "ceasefire.cli.ledger:release",
    "where": "ceasefire.cli.where:where",
    "demo": "ceasefire.cli.demo:demo",
    "ingest": "ceasefire.cli.ingest:ingest",
    "serve": "ceasefire.cli.serve:serve",
    "worker": "ceasefire.cli.worker:worker",
    "sorties": "ceasefire.cli.sorties:sorties",
    "simulate": "ceasefire.cli.simulate:simulate",
    "incidents": "ceasefire.cli.incidents:incidents",
    "incident": "ceasefire.cli.incidents:incident",
    "correlate": "ceasefire.cli.incidents:correlate",
    "coverage": "ceasefire.cli.incidents:coverage",
    "quarantine": "ceasefire.cli.incidents:quarantine",
    "score": "ceasefire.cli.incidents:score",
    "export": "ceasefire.cli.export:export",
    "stats": "ceasefire.cli.reports:stats_command",
    "assess": "ceasefire.cli.workflow:assess",
    "finding": "ceasefire.cli.workflow:finding",
    "unblind": "ceasefire.cli.workflow:unblind",
    "decide": "ceasefire.cli.workflow:decide",
    "approve": "ceasefire.cli.workflow:approve",
    "confirm": "ceasefire.cli.workflow:confirm",
    "decisions": "ceasefire.cli.workflow:decisions_list",
    "complain": "ceasefire.cli.notices:complain",
    "mission": "ceasefire.cli.mission:app",
    "config": "ceasefire.cli.config:app",
    "bench": "ceasefire.cli.bench:app",
    "db": "ceasefire.cli.db:app",
    "keys": "ceasefire.cli.ledger:keys_app",
    "witness": "ceasefire.cli.witness:app",
    "node": "ceasefire.cli.node:app",
    "certs": "ceasefire.cli.certs:app",
    "report": "ceasefire.cli.reports:app",
    "users": "ceasefire.cli.workflow:users_app",
    "shift": "ceasefire.cli.workflow:shift_app",
    "notices": "ceasefire.cli.notices:app",
    "inbox": "ceasefire.cli.inbox:app",
}
"""Each command (or group of commands) as ``module:attribute``: a Typer app or a function.
A command's module is imported only when that command runs (or the help lists it), so
``ceasefire --version`` or ``ceasefire mission validate`` does not import the web stack, the
geometry and the store. Add a command here."""


def _load(name: str, where: str) -> click.Command:
    module, _sep, attribute = where.partition(":")
    target = getattr(importlib.import_module(module), attribute)
    if isinstance(target, typer.Typer):
        command: click.Command = typer.main.get_group(target)  # as add_typer made it
    else:
        single = typer.Typer(add_completion=False)
        single.command(name)(target)
        command = typer.main.get_command(single)
    command.name = name
    return command


class _Commands(MutableMapping[str, Any]):
    """The root's commands, each made from its module the first time it is asked for."""

    def __init__(self, made: Mapping[str, click.Command]) -> None:
        self._made = dict(made)

    def __getitem__(self, name: str) -> click.Command:
        if name not in self._made:
            if name not in COMMANDS:
                raise KeyError(name)
            self._made[name] = _load(name, COMMANDS[name])
        return self._made[name]

    def __setitem__(self, name: str, command: click.Command) -> None:
        self._made[name] = command

    def __delitem__(self, name: str) -> None:
        del self._made[name]

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys([*COMMANDS, *self._made]))

    def __len__(self) -> int:
        return len(dict.fromkeys([*COMMANDS, *self._made]))


class _LazyGroup(TyperGroup):
    """The root command: its commands' names are known, their modules imported on use."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = _Commands(self.commands)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)  # the names only: nothing imported


app = typer.Typer(
    name="ceasefire",
    help="Joint ceasefire monitoring center.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=_LazyGroup,
)


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
    from ceasefire.cli import common

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
        from ceasefire.cli.common import console_err

        console_err.print(f"[red]error:[/red] {exc}", markup=True, highlight=False)
        sys.exit(exc.exit_code)
    except Exception as exc:
        if os.environ.get("CEASEFIRE_DEBUG"):
            raise
        from ceasefire.cli.common import console_err

        console_err.print(
            f"[red]internal error:[/red] {type(exc).__name__}: {exc}\n"
            "Set CEASEFIRE_DEBUG=1 to see the traceback, and please report it.",
            highlight=False,
        )
        sys.exit(3)
