"""What the commands share: output consoles, formats, common options."""

from __future__ import annotations

import gc
import json
import sys
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console

if TYPE_CHECKING:
    from ceasefire.center import Center, Settings

console = Console(highlight=False)
# Errors are not wrapped by Rich: a path or a command in them must stay whole to be copied.
console_err = Console(stderr=True, highlight=False, soft_wrap=True)


class Format(StrEnum):
    text = "text"
    json = "json"


def print_json(data: Any) -> None:
    """One JSON document on stdout (no colour, no wrapping: for programs)."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


MISSION_OPTION = typer.Option(
    None, "--mission", "-m", help="Built-in mission name or mission folder (default karabakh-2020)."
)
DB_OPTION = typer.Option(
    None,
    "--db",
    help="Database URL or SQLite path (default $CEASEFIRE_DB, else the embedded file).",
)
LANG_OPTION = typer.Option(None, "--lang", "-l", help="Language: en, ru, tr, az, hy.")
FORMAT_OPTION = typer.Option(Format.text, "--format")
SINCE_OPTION = typer.Option(None, "--since", help="ISO 8601; without offset: mission time.")
UNTIL_OPTION = typer.Option(None, "--until", help="ISO 8601; without offset: mission time.")


def period(
    since: str | None, until: str | None, timezone: str
) -> tuple[datetime | None, datetime | None]:
    """``--since`` and ``--until`` as times (without offset: in ``timezone``), None if not
    given."""
    from ceasefire.timeutil import parse_time  # babel: only for a command that reads times

    return (
        parse_time(since, timezone, field="--since") if since else None,
        parse_time(until, timezone, field="--until") if until else None,
    )


config_file: Path | None = None
"""The settings file given as ``ceasefire --config FILE`` (else $CEASEFIRE_CONFIG)."""


def settings(**options: Any) -> Settings:
    """The center's settings: the settings file, the environment, then these options."""
    from ceasefire.center import load_settings  # the whole center: only for a command that needs it

    return load_settings(config_file, **options)


def center(note: str = "", **options: Any) -> Center:
    """The center these settings describe (see :class:`ceasefire.center.Center`), closed
    when the command ends; ``note`` says why, should it store a new mission version."""
    from ceasefire.center import Center

    made = Center(settings(**options), note=note)
    _close_with_command(made.close)
    return made


_command: typer.Context | None = None
"""The context of the command line being run (set by the root callback, see :func:`begin`)."""


def begin(context: typer.Context) -> None:
    """Called by the root callback: what the command opens is closed when its context ends.

    Why not ``click.get_current_context()``: typer runs its own copy of click, whose contexts
    click's stack never sees, so nothing registered there was ever closed."""
    global _command
    _command = context

    def end() -> None:
        global _command
        _command = None

    context.call_on_close(end)


def _close_with_command(close: Callable[[], None]) -> None:
    if _command is not None:
        _command.call_on_close(close)


def freeze_startup_heap() -> None:
    """Leave what start-up built (the mission, the engine's grids, the web stack) out of every
    later garbage collection: the intake allocates many short-lived objects, and each full
    collection would otherwise walk the whole long-lived heap again (a quarter of the intake's
    time)."""
    gc.collect()
    gc.freeze()
