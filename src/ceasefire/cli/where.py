"""`ceasefire where LAT LON`: what a place was at a time."""

from __future__ import annotations

from datetime import UTC, datetime

import typer

from ceasefire.cli.common import (
    DB_OPTION,
    LANG_OPTION,
    MISSION_OPTION,
    Format,
    console,
    console_err,
    print_json,
)
from ceasefire.cli.mission import mission_for
from ceasefire.errors import InputError, Problem
from ceasefire.geo.engine import Enricher, check_points
from ceasefire.geo.locate import check_in_period, describe, inside_area, outside_area_reason
from ceasefire.geo.phrase import format_km
from ceasefire.i18n import _, current_language, language
from ceasefire.timeutil import parse_time, shown


def where(
    lat: float = typer.Argument(..., help="Latitude, decimal degrees (WGS 84)."),
    lon: float = typer.Argument(..., help="Longitude, decimal degrees (WGS 84)."),
    at: str = typer.Option(
        None, "--at", help="Time, ISO 8601 (default now); without offset in the mission's zone."
    ),
    lang: str = LANG_OPTION,
    fmt: Format = typer.Option(Format.text, "--format"),
    mission: str = MISSION_OPTION,
    db: str = DB_OPTION,
    version: int = typer.Option(None, "--version", help="Geometry version stored in --db."),
) -> None:
    """The zones containing a point at a time, who controls it, the line of contact, a phrase."""
    import numpy as np

    check_points(np.array([lat]), np.array([lon]), source="where")
    m = mission_for(mission, db, version)
    lang = lang or current_language()
    if lang not in m.languages:
        raise InputError(
            Problem(file="where", field="--lang", reason=_("not a working language of the mission"))
        )
    when = parse_time(at, m.config.timezone, field="--at") if at else datetime.now(UTC)
    check_in_period(m, when, field="--at")
    answer = describe(Enricher(m), lat, lon, when, lang)
    if not inside_area(m, lat, lon):
        with language(lang):
            warning = outside_area_reason(m, lat, lon)
            console_err.print(_("warning: {reason}").format(reason=warning), style="yellow")
        answer["warning"] = warning
    if fmt is Format.json:
        print_json(answer)
        return
    with language(lang):
        tz = m.config.timezone
        console.print(f"[bold]{answer['phrase']}[/bold]  ({lat:.5f}, {lon:.5f}, {shown(when, tz)})")
        if at and parse_time(at, "UTC") != when:
            console.print(
                _("--at {text} was read as a time of the mission's zone, {tz}").format(
                    text=at, tz=tz
                )
            )
        party = answer["controlled_by"]
        console.print(_("Controlled by: {party}").format(party=party or _("no party")))
        zones = answer["zone_details"]
        console.print(
            _("Zones: {zones}").format(
                zones="; ".join(f"{z['name']} ({z['id']})" for z in zones) or _("none")
            )
        )
        if answer["distance_to_line_m"] is not None:
            console.print(
                _("Line of contact: {km} km to the {direction}, on the {side} side").format(
                    km=format_km(answer["distance_to_line_m"], lang),
                    direction=answer["direction_to_line"],
                    side=answer["line_side"] or "?",
                )
            )
        else:
            console.print(_("Line of contact: none at that time"))
        if answer["disclaimer"]:
            console.print(f"[yellow]{answer['disclaimer']}[/yellow]")
