"""`ceasefire ingest FILE...`: observations from files into the center's store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, Any

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
from ceasefire.intake import cot as cot_
from ceasefire.intake import csv_, geojson_, jsonl, klv
from ceasefire.intake.errors import Rejection

FORMATS = ("jsonl", "geojson", "csv", "cot", "klv")
SUFFIXES = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".geojson": "geojson",
    ".json": "geojson",
    ".csv": "csv",
    ".cot": "cot",
    ".xml": "cot",
    ".klv": "klv",
    ".bin": "klv",
}


def format_of(path: Path, fmt: str | None) -> str:
    if fmt is not None:
        if fmt not in FORMATS:
            raise typer.BadParameter(f"choose one of {', '.join(FORMATS)}", param_hint="--format")
        return fmt
    found = SUFFIXES.get(path.suffix.lower())
    if found is None:
        raise InputError(
            Problem(
                file=str(path),
                field="--format",
                reason=_("cannot tell the format from the file name; give --format"),
            )
        )
    return found


def items(fmt: str, stream: IO[bytes], source: str, contingent: str | None) -> Any:
    if fmt == "jsonl":
        return jsonl.parse(stream, source)
    if fmt == "csv":
        return csv_.parse(stream, source)
    if fmt == "geojson":
        return geojson_.parse(stream, source)
    if fmt == "cot":
        return cot_.parse(stream, source)
    return klv.parse(stream, source, contingent=contingent)


class RejectFile:
    """Rejected records, one JSON object a line, written only if there is any."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[str] | None = None

    def write(self, rejection: Rejection) -> None:
        if self._file is None:
            self._file = self.path.open("w", encoding="utf-8")
        record = {
            "source": rejection.source,
            rejection.unit: rejection.record,
            "field": rejection.field,
            "reason": rejection.reason,
            "raw": rejection.raw,
        }
        self._file.write(json.dumps(record, ensure_ascii=False) + "\n")

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


def ingest(
    files: list[Path] = typer.Argument(..., help="Files to ingest.", exists=True, dir_okay=False),
    as_contingent: str = typer.Option(
        None, "--as", help="The submitting contingent: records of another are refused."
    ),
    fmt: str = typer.Option(None, "--format", help="jsonl, geojson, csv, cot or klv."),
    rejects: Path = typer.Option(
        None, "--rejects", help="Reject file (default: FILE.rejected.jsonl beside each input)."
    ),
    db: str = DB_OPTION,
    mission: str = MISSION_OPTION,
    as_json: bool = typer.Option(False, "--json", help="End with one JSON object of counts."),
) -> None:
    """Ingest observation files: accepted, duplicate and rejected counts; rejects to a file."""
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
            kind = format_of(path, fmt)
            sink = RejectFile(rejects or path.with_name(path.name + ".rejected.jsonl"))
            intake.on_reject = sink.write
            before = intake.result.summary()
            with progress.open(path, "rb", description=path.name) as stream:
                intake.feed(items(kind, stream, path.name, as_contingent), path.name)
            sink.close()
            if sink._file is not None:
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
