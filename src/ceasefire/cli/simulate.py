"""`ceasefire simulate --out DIR`: a simulated period of monitoring, with its ground truth."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from ceasefire.cli.common import MISSION_OPTION, console, console_err, print_json
from ceasefire.errors import InputError, Problem
from ceasefire.i18n import _
from ceasefire.mission import load_mission
from ceasefire.sim.presets import PRESETS
from ceasefire.sim.scenario import DEFAULT_START, MAX_HOURS, STAGES, check_request, write_scenario
from ceasefire.sim.scenario import simulate as run
from ceasefire.timeutil import parse_time

PresetName = StrEnum("PresetName", {name: name for name in PRESETS})  # type: ignore[misc]


def simulate(
    out: Path = typer.Option(..., "--out", help="Folder to write the files into."),
    mission: str = MISSION_OPTION,
    hours: float = typer.Option(24.0, "--hours", help=f"Hours to simulate (at most {MAX_HOURS})."),
    seed: int = typer.Option(1, "--seed", help="Random seed: the same seed gives the same files."),
    start: str = typer.Option(
        None, "--start", help="Start, ISO 8601 (default 2021-02-01T00:00:00Z)."
    ),
    preset: PresetName = typer.Option(
        "quiet", "--preset", help="How busy: quiet (the default), busy, bad-day, escalation."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print scenario.json's counts as JSON."),
) -> None:
    """Simulate sorties, true events, the observations and complaints; write them to --out."""
    m = load_mission(mission)
    begin = parse_time(start, m.config.timezone, field="--start") if start else DEFAULT_START
    try:
        check_request(m, hours, begin)
    except ValueError as error:
        field = "--hours" if "hours" in str(error) else "--start"
        raise InputError(Problem(file="simulate", field=field, reason=str(error))) from None
    if out.exists() and not out.is_dir():
        raise InputError(Problem(file=str(out), field="--out", reason=_("not a folder")))
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console_err,
        transient=True,
    )
    with progress:
        task = progress.add_task(_("simulating"), total=len(STAGES) + 1)

        def stage(name: str) -> None:
            progress.update(task, description=name)
            progress.advance(task)

        scenario = run(m, hours=hours, seed=seed, start=begin, progress=stage, preset=preset.value)
        progress.update(task, description=_("writing"))
        summary = write_scenario(scenario, out)
        progress.advance(task)
    counts = summary["counts"]
    if as_json:
        print_json(counts)
        return
    console.print(
        _(
            "{events} events ({violations} violations), seen by none {none}, by one contingent "
            "{one}, by several {several}"
        ).format(
            events=counts["events"],
            violations=counts["violations"],
            none=counts["seen_by_none"],
            one=counts["seen_by_one"],
            several=counts["seen_by_several"],
        )
    )
    for contingent, numbers in counts["observations"].items():
        console.print(
            _(
                "{contingent}: {total} observations, {sorties} sorties, {points} track points"
            ).format(
                contingent=contingent,
                total=numbers["total"],
                sorties=counts["sorties"].get(contingent, 0),
                points=counts["track_points"].get(contingent, 0),
            )
        )
    console.print(
        _("complaints: {true} true, {false} false; files in {out}").format(
            true=counts["complaints"]["true"], false=counts["complaints"]["false"], out=out
        )
    )
