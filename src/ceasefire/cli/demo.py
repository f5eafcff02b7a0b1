"""`ceasefire demo`: the whole center on the embedded default, printing where to look."""

from __future__ import annotations

from pathlib import Path

import typer

from ceasefire.cli.common import console
from ceasefire.geo.engine import Enricher
from ceasefire.geo.locate import describe
from ceasefire.i18n import LANGUAGES, _
from ceasefire.mission import DEFAULT_MISSION, load_mission
from ceasefire.store import open_database
from ceasefire.store.missions import save_mission
from ceasefire.timeutil import parse_time

EXAMPLES = (
    ("Aghdam", 39.991, 46.927, "2020-11-15T12:00:00+04:00"),
    ("Aghdam", 39.991, 46.927, "2020-11-25T12:00:00+04:00"),
    ("Shusha", 39.760, 46.750, "2021-02-01T12:00:00+04:00"),
    ("Stepanakert", 39.8153, 46.7519, "2021-02-01T12:00:00+04:00"),
)


def demo(
    workdir: Path = typer.Option(Path("var/demo"), "--dir", help="Where the demo keeps its data."),
) -> None:
    """Run the center on the built-in mission and show where to look."""
    workdir.mkdir(parents=True, exist_ok=True)
    db_path = workdir / "ceasefire.db"
    mission = load_mission(DEFAULT_MISSION)
    engine = open_database(str(db_path))
    version, _new = save_mission(engine, mission, note="demo")
    console.rule(f"[bold]{mission.name('en')}")
    for lang in LANGUAGES:
        console.print(f"  {lang}: {mission.name(lang)}")
    console.print(
        _("Mission {id} v{v}: {zones} zones, {places} settlements, {clauses} clauses").format(
            id=mission.id,
            v=version.version,
            zones=len(mission.zones),
            places=len(mission.settlements),
            clauses=len(mission.config.clauses),
        )
    )
    console.print(f"[yellow]{mission.disclaimer('en')}[/yellow]")
    enricher = Enricher(mission)
    console.rule(_("Where: the same places on different dates"))
    for _name, lat, lon, at in EXAMPLES:
        when = parse_time(at)
        answer = describe(enricher, lat, lon, when, "en")
        console.print(
            f"  ceasefire where {lat} {lon} --at {at}\n"
            f"    → {answer['phrase']}; "
            + _("controlled by {party}; zones {zones}; line of contact {d:.1f} km").format(
                party=answer["controlled_by"] or "-",
                zones=", ".join(answer["zones"]) or "-",
                d=abs(answer["distance_to_line_m"] or 0) / 1000,
            )
        )
    lat, lon, at = 39.96, 46.90, "2021-02-01T12:00:00+04:00"
    console.print(f"  ceasefire where {lat} {lon} --at {at} --lang L")
    for lang in LANGUAGES:
        console.print(f"    {lang}: {describe(enricher, lat, lon, parse_time(at), lang)['phrase']}")
    console.rule(_("Where to look"))
    console.print(_("  database:      {path}").format(path=db_path.resolve()))
    console.print(_("  the mission:   ceasefire mission show --lang ru"))
    console.print(_("  a place:       ceasefire where 39.76 46.75 --at 2021-02-01 --format json"))
    console.print(_("  the engine:    ceasefire bench enrich --points 200000"))
