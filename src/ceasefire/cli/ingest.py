"""`ceasefire ingest FILE...`: observations from files into the center's store."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from ceasefire.cli import common
from ceasefire.cli.common import (
    DB_OPTION,
    MISSION_OPTION,
    console,
    console_err,
    freeze_startup_heap,
    print_json,
)
from ceasefire.errors import InputError, Problem
from ceasefire.i18n import _
from ceasefire.intake import formats
from ceasefire.intake.rejects import RejectFile


def ingest(
    files: list[Path] = typer.Argument(..., help="Files to ingest.", exists=True, dir_okay=False),
    as_contingent: str = typer.Option(
        None, "--as", help="The submitting contingent: records of another are refused."
    ),
    fmt: str = typer.Option(
        None,
        "--format",
        help="jsonl, geojson, csv, cot, klv or an installed format (default: from the file).",
    ),
    rejects: Path = typer.Option(
        None, "--rejects", help="Reject file (default: FILE.rejected.jsonl beside each input)."
    ),
    db: str = DB_OPTION,
    mission: str = MISSION_OPTION,
    as_json: bool = typer.Option(False, "--json", help="End with one JSON object of counts."),
) -> None:
    """Ingest observation files: accepted, duplicate and rejected counts; rejects to a file."""
    if fmt is not None and fmt not in formats.formats():
        choices = ", ".join(formats.formats())
        raise typer.BadParameter(f"choose one of {choices}", param_hint="--format")
    center = common.center(db=db, mission=mission)
    if as_contingent is not None and as_contingent not in center.mission.contingent_ids():
        raise InputError(
            Problem(file="ingest", field="--as", reason=_("not a contingent of the mission"))
        )
    followed = center.follower_alive()
    if followed:
        console_err.print(
            _("A running center's correlation follower puts these observations into incidents.")
        )
    # Without a running center, the period received is correlated once at the end.
    intake = center.intake(contingent=as_contingent, correlate="off" if followed else "deferred")
    freeze_startup_heap()
    reject_files: list[Path] = []
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=console_err,
        transient=True,
    )
    with progress:
        for path in files:
            kind = formats.of_file(path, fmt)
            sink = RejectFile(rejects or path.with_name(path.name + ".rejected.jsonl"))
            intake.on_reject = sink.write
            before = intake.result.summary()
            with sink, progress.open(path, "rb", description=path.name) as stream:
                intake.feed(kind.parse(stream, path.name, as_contingent), path.name)
            if sink.written:
                reject_files.append(sink.path)
            after = intake.result.summary()
            counts = {k: after[k] - before[k] for k in after}
            if not as_json:
                console.print(
                    _(
                        "{file}: {accepted} accepted, {duplicates} duplicates, {rejected} "
                        "rejected, {track_points} drone track points"
                    ).format(file=path.name, **counts)
                )
    with console_err.status(_("correlating")):
        intake.finish()
    totals = intake.result
    if as_json:
        print_json({**totals.summary(), "rejects": [str(p) for p in reject_files]})
    else:
        for path in reject_files:
            console.print(
                _("rejected records with line, field and reason: {path}").format(path=path)
            )
