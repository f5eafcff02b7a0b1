"""`ceasefire export`: stored observations out, in every format the center reads."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import IO

import typer
from sqlalchemy import Engine

from ceasefire.cli.common import DB_OPTION, MISSION_OPTION, console_err
from ceasefire.i18n import _
from ceasefire.intake import csv_, geojson_, jsonl
from ceasefire.intake.cot import observation_to_cot
from ceasefire.mission import load_mission
from ceasefire.observations import Observation
from ceasefire.store import open_database
from ceasefire.store.observations import MAX_LIMIT, ObservationFilter, query_observations
from ceasefire.timeutil import parse_time


class ExportFormat(StrEnum):
    jsonl = "jsonl"
    geojson = "geojson"
    csv = "csv"
    cot = "cot"


def stored(engine: Engine, where: ObservationFilter) -> Iterator[Observation]:
    """Every matching observation, page by page (memory stays bounded)."""
    after = None
    while True:
        page = query_observations(engine, where, after=after, limit=MAX_LIMIT)
        for item in page.items:
            yield Observation.model_validate(item.record)
        if page.after is None:
            return
        after = page.after


def export(
    fmt: ExportFormat = typer.Option(ExportFormat.jsonl, "--format"),
    out: Path = typer.Option(None, "--out", help="Write to this file instead of stdout."),
    since: str = typer.Option(None, "--since", help="ISO 8601; without offset: mission time."),
    until: str = typer.Option(None, "--until", help="ISO 8601; without offset: mission time."),
    category: list[str] = typer.Option([], "--category", help="Repeat for several."),
    contingent: list[str] = typer.Option([], "--contingent", help="Repeat for several."),
    db: str = DB_OPTION,
    mission: str = MISSION_OPTION,
) -> None:
    """Write stored observations as JSON Lines, GeoJSON, CSV or CoT events."""
    tz = load_mission(mission).config.timezone
    where = ObservationFilter(
        since=parse_time(since, tz, field="--since") if since else None,
        until=parse_time(until, tz, field="--until") if until else None,
        categories=tuple(category),
        contingents=tuple(contingent),
    )
    records = stored(open_database(db), where)
    if fmt is ExportFormat.cot:
        binary: IO[bytes] = out.open("wb") if out else sys.stdout.buffer
        # One event a line; counted as written, so memory stays flat however many.
        count = sum(1 for o in records if binary.write(observation_to_cot(o) + b"\n"))
        if out:
            binary.close()
    else:
        writer = {"jsonl": jsonl.write, "geojson": geojson_.write, "csv": csv_.write}[fmt.value]
        text: IO[str] = out.open("w", encoding="utf-8", newline="") if out else sys.stdout
        count = writer(records, text)
        if out:
            text.close()
    console_err.print(_("{n} observations exported").format(n=count))
