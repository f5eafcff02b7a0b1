"""`ceasefire config show|validate`: the center's settings and where each came from."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer

from ceasefire.center.settings import (
    ENVIRONMENT,
    OPTIONS,
    Settings,
    config_path,
    env_name,
    load_with_origins,
)
from ceasefire.cli import common
from ceasefire.cli.common import Format, console, print_json
from ceasefire.errors import InputError, Problem
from ceasefire.i18n import _

app = typer.Typer(help="The center's settings: one TOML file, CEASEFIRE_* variables, options.")


@app.command("show")
def show(fmt: Format = typer.Option(Format.text, "--format", help="text (TOML) or json.")) -> None:
    """The settings in force, each with where it came from (file, variable or default)."""
    settings, origin = load_with_origins(common.config_file)
    values = settings.model_dump(mode="json")
    if fmt is Format.json:
        print_json(
            {"settings": values, "sources": {k: _source(k, origin) for k in Settings.model_fields}}
        )
        return
    # not through Rich: a long path in a comment must not be wrapped into a broken file
    sys.stdout.write(toml_text(values, {k: _source(k, origin) for k in values}) + "\n")


@app.command("validate")
def validate(
    file: Path = typer.Argument(
        None, dir_okay=False, help="The settings file (default: --config, else $CEASEFIRE_CONFIG)."
    ),
) -> None:
    """Check a settings file (with the CEASEFIRE_* variables over it): every problem, named."""
    path = config_path(file or common.config_file)
    if path is None:
        raise InputError(
            Problem(
                file="config validate",
                field="FILE",
                reason=_("no settings file: give FILE, --config or $CEASEFIRE_CONFIG"),
            )
        )
    load_with_origins(path)
    console.print(_("{file}: valid").format(file=path), markup=False, soft_wrap=True)


def _source(field: str, origin: dict[str, str]) -> str:
    where = origin.get(field)
    if where == ENVIRONMENT:
        return env_name(field)
    if where == OPTIONS:
        return "--" + field.replace("_", "-")
    return where or _("default")


def toml_text(values: dict[str, Any], sources: dict[str, str]) -> str:
    """The settings as a ``[center]`` table, a comment after each value naming its source
    (a file ``ceasefire --config`` reads as it is)."""
    lines = ["[center]"]
    tables = []
    for key, value in values.items():
        if isinstance(value, dict):
            tables.append((key, value))
        elif value is not None:
            lines.append(f"{key} = {json.dumps(value, ensure_ascii=False)}  # {sources[key]}")
        else:
            lines.append(f"# {key} is not set  # {sources[key]}")
    for key, table in tables:
        lines += ["", f"[center.{key}]  # {sources[key]}"]
        lines += [f"{k} = {json.dumps(v, ensure_ascii=False)}" for k, v in table.items()]
    return "\n".join(lines)
