"""`ceasefire mission validate|show|schema|load|versions`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from ceasefire.cli import common
from ceasefire.cli.common import DB_OPTION, LANG_OPTION, MISSION_OPTION, Format, console, print_json
from ceasefire.errors import InputError
from ceasefire.i18n import _, current_language, language
from ceasefire.labels import label
from ceasefire.mission import Mission, check_mission, load_mission
from ceasefire.mission.schema import mission_schema
from ceasefire.timeutil import iso, shown, shown_text

app = typer.Typer(help="Validate, show and load missions.", no_args_is_help=True)


@app.command()
def validate(
    path: str = typer.Argument(..., help="Mission folder, its mission.toml, or a built-in name."),
    fmt: Format = typer.Option(Format.text, "--format"),
) -> None:
    """Check a mission; list every problem with file, field and reason."""
    mission, problems = check_mission(path)
    if fmt is Format.json:
        print_json(
            {
                "valid": not problems,
                "problems": [
                    {"file": p.file, "record": p.record, "field": p.field, "reason": p.reason}
                    for p in problems
                ],
            }
        )
    elif problems:
        for p in problems:
            console.print(f"[red]✗[/red] {p}")
        console.print(_("{n} problem(s) found").format(n=len(problems)))
    else:
        assert mission is not None
        console.print(
            "[green]✓[/green] "
            + _("{id}: valid ({zones} zones, {places} settlements, {clauses} clauses)").format(
                id=mission.id,
                zones=len(mission.zones),
                places=len(mission.settlements),
                clauses=len(mission.config.clauses),
            )
        )
    if problems:
        raise typer.Exit(1)


def summary(mission: Mission, lang: str) -> dict[str, Any]:
    c = mission.config
    return {
        "id": c.id,
        "name": mission.name(lang),
        "names": c.name,
        "timezone": c.timezone,
        "languages": c.languages,
        "period": {
            "start": iso(c.period.start),
            "end": iso(c.period.end) if c.period.end else None,
        },
        "area": list(c.area),
        "contingents": [
            {"id": x.id, "name": x.names[lang], "language": x.language, "colour": x.colour}
            for x in mission.contingents_for(lang)
        ],
        "parties": [{"id": x.id, "name": x.names[lang], "language": x.language} for x in c.parties],
        "peacekeeping_force": {
            "id": c.peacekeeping_force.id,
            "name": c.peacekeeping_force.names[lang],
        }
        if c.peacekeeping_force
        else None,
        "clauses": [{"id": x.id, "text": x.text[lang]} for x in c.clauses],
        "zones": [
            {
                "id": z.id,
                "kind": z.kind,
                "name": z.names[lang],
                "party": z.party,
                "valid_from": iso(z.valid_from),
                "valid_until": iso(z.valid_until) if z.valid_until else None,
            }
            for z in mission.zones
        ],
        "settlements": len(mission.settlements),
        "digest": mission.digest,
        "disclaimer": mission.disclaimer(lang),
        "source": mission.source,
    }


@app.command()
def show(
    path: str = typer.Argument(
        None, help="Mission folder or built-in name (default karabakh-2020)."
    ),
    fmt: Format = typer.Option(Format.text, "--format"),
    lang: str = LANG_OPTION,
) -> None:
    """A readable summary of a mission."""
    mission = load_mission(path)
    lang = lang or current_language()
    if lang not in mission.languages:
        raise InputError(
            _("--lang: {lang} is not a working language of the mission").format(lang=lang)
        )
    data = summary(mission, lang)
    if fmt is Format.json:
        print_json(data)
        return
    with language(lang):
        _print_summary(data, mission.config.timezone)


def _print_summary(data: dict[str, Any], tz: str) -> None:
    console.print(f"[bold]{data['name']}[/bold]  ({data['id']})")
    period = data["period"]
    period_text = (
        _("from {start} to {end}").format(
            start=shown_text(period["start"], tz), end=shown_text(period["end"], tz)
        )
        if period["end"]
        else _("from {start}, with no end set").format(start=shown_text(period["start"], tz))
    )
    console.print(
        _("Period: {period}; time zone {tz}; languages {langs}").format(
            period=period_text, tz=data["timezone"], langs=", ".join(data["languages"])
        )
    )
    for title, key in ((_("Contingents"), "contingents"), (_("Parties"), "parties")):
        console.print(f"{title}: " + "; ".join(f"{x['id']} {x['name']}" for x in data[key]))
    if data["peacekeeping_force"]:
        force = data["peacekeeping_force"]
        console.print(_("Peacekeeping force") + f": {force['id']} {force['name']}")
    table = Table(title=_("Zones"), show_lines=False)
    # An id is folded, never cut short: it is what a user types.
    table.add_column(_("id"), overflow="fold")
    for column in (_("kind"), _("party"), _("valid from"), _("valid until"), _("name")):
        table.add_column(column)
    for z in data["zones"]:
        table.add_row(
            z["id"],
            label("zone_kind", z["kind"]),
            z["party"] or "",
            shown_text(z["valid_from"], tz),
            shown_text(z["valid_until"], tz),
            z["name"],
        )
    console.print(table)
    console.print(_("Agreement: {n} clauses").format(n=len(data["clauses"])))
    for clause in data["clauses"]:
        console.print(f"  {clause['id']}. {clause['text']}")
    console.print(_("Gazetteer: {n} settlements").format(n=data["settlements"]))
    if data["disclaimer"]:
        console.print(f"[yellow]{data['disclaimer']}[/yellow]")


@app.command()
def schema(
    out: Path = typer.Option(None, "--out", help="Write to this file instead of stdout."),
) -> None:
    """Print the JSON Schema of the mission file."""
    text = json.dumps(mission_schema(), indent=2, ensure_ascii=False) + "\n"
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")


@app.command()
def load(
    path: str = typer.Argument(
        None, help="Mission folder or built-in name (default karabakh-2020)."
    ),
    db: str = DB_OPTION,
    note: str = typer.Option("", "--note", help="Why this version (e.g. 'corrected line near X')."),
) -> None:
    """Store a mission in the database; changed files become a new version."""
    center = common.center(db=db, mission=path, note=note)
    mission = center.mission
    version, new = center.store_mission()
    if new:
        console.print(_("{id}: stored as version {v}").format(id=mission.id, v=version.version))
    else:
        console.print(_("{id}: unchanged, version {v}").format(id=mission.id, v=version.version))


@app.command("versions")
def list_versions(
    mission_id: str = typer.Argument("karabakh-2020"),
    db: str = DB_OPTION,
    fmt: Format = typer.Option(Format.text, "--format"),
) -> None:
    """The stored versions of a mission's geography."""
    center = common.center(db=db)
    rows = center.mission_versions(mission_id)
    tz = center.stored_mission(mission_id=mission_id).config.timezone if rows else "UTC"
    if fmt is Format.json:
        print_json(
            [
                {
                    "version": r.version,
                    "digest": r.digest,
                    "loaded_at": iso(r.loaded_at),
                    "source": r.source,
                    "note": r.note,
                }
                for r in rows
            ]
        )
        return
    table = Table()
    for column in (_("version"), _("loaded at"), _("digest"), _("note")):
        table.add_column(column)
    for r in rows:
        table.add_row(str(r.version), shown(r.loaded_at, tz), r.digest[:12], r.note)
    console.print(table)


def mission_for(mission: str | None, db: str | None, version: int | None) -> Mission:
    """The mission a command works on: from files, or as stored in the database."""
    if db is None and version is None:
        return load_mission(mission)
    return common.center(db=db, mission=mission).stored_mission(version)


__all__ = ["MISSION_OPTION", "app", "mission_for"]
