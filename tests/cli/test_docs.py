"""Every command and option is documented (a command nobody can find does not exist)."""

from __future__ import annotations

from pathlib import Path

import typer.main

from ceasefire.cli import app

DOCS = (Path(__file__).parents[2] / "docs" / "cli.md").read_text()


def walk(command, prefix):  # type: ignore[no-untyped-def]
    commands = getattr(command, "commands", None)
    if commands:
        for name, sub in commands.items():
            yield from walk(sub, [*prefix, name])
    else:
        yield prefix, command


def test_every_command_and_option_is_in_docs_cli_md() -> None:
    root = typer.main.get_command(app)
    missing = []
    commands = list(walk(root, ["ceasefire"]))
    assert len(commands) >= 9
    for path, command in commands:
        heading = "`" + " ".join(path)
        if heading not in DOCS:
            missing.append(" ".join(path))
        for param in command.params:
            for opt in getattr(param, "opts", []):
                if opt.startswith("--") and opt != "--help" and opt not in DOCS:
                    missing.append(f"{' '.join(path)} {opt}")
    assert not missing, f"undocumented in docs/cli.md: {missing}"
