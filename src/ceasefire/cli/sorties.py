"""`ceasefire sorties`: drone flights from their track points."""

from __future__ import annotations

import typer
from rich.table import Table

from ceasefire.cli import common
from ceasefire.cli.common import DB_OPTION, MISSION_OPTION, Format, console, print_json
from ceasefire.i18n import _
from ceasefire.timeutil import shown


def sorties(
    since: str = common.SINCE_OPTION,
    until: str = common.UNTIL_OPTION,
    db: str = DB_OPTION,
    mission: str = MISSION_OPTION,
    fmt: Format = typer.Option(Format.text, "--format"),
    track: bool = typer.Option(False, "--track", help="With --format json: include the tracks."),
) -> None:
    """The sorties flown: platform, contingent, start, end, points and length."""
    center = common.center(db=db, mission=mission)
    tz = center.mission.config.timezone
    start, end = common.period(since, until, tz)
    found = center.sorties(start, end)
    if fmt is Format.json:
        print_json([s.as_dict(with_track=track) for s in found])
        return
    table = Table()
    for column in (
        _("sortie"),
        _("platform"),
        _("contingent"),
        _("start"),
        _("end"),
        _("points"),
        _("km"),
    ):
        table.add_column(column)
    for s in found:
        table.add_row(
            s.id,
            s.platform_id,
            s.contingent or "",
            shown(s.start, tz),
            shown(s.end, tz),
            str(len(s.track)),
            f"{s.length_km:.1f}",
        )
    console.print(table)
