"""`ceasefire export`: observations and incidents out, for the center's own formats, GIS tools
and analysts (the library: :mod:`ceasefire.reports.export`)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import ExitStack
from enum import StrEnum
from pathlib import Path
from typing import IO

import orjson
import typer

from ceasefire.api.params import parse_bbox
from ceasefire.cli import common
from ceasefire.cli.common import DB_OPTION, LANG_OPTION, MISSION_OPTION, console_err
from ceasefire.errors import InputError, Problem
from ceasefire.i18n import _, current_language
from ceasefire.intake import csv_, geojson_, jsonl
from ceasefire.intake.cot import observation_to_cot
from ceasefire.observations import Observation
from ceasefire.reports import export as library
from ceasefire.reports.rows import (
    Selection,
    canonical_records,
    incident_rows,
    observation_rows,
)
from ceasefire.reports.scope import scope_for
from ceasefire.workflow.roles import get_user


class ExportFormat(StrEnum):
    jsonl = "jsonl"
    geojson = "geojson"
    geojsonseq = "geojsonseq"
    csv = "csv"
    cot = "cot"
    kml = "kml"
    gpkg = "gpkg"
    acled = "acled"


class Collection(StrEnum):
    observations = "observations"
    incidents = "incidents"


def _refuse(field: str, reason: str) -> InputError:
    return InputError(Problem(file="export", field=field, reason=reason))


def export(
    fmt: ExportFormat = typer.Option(ExportFormat.jsonl, "--format"),
    collection: Collection = typer.Option(
        Collection.observations,
        "--collection",
        help="observations or incidents (acled: incidents always).",
    ),
    out: Path = typer.Option(
        None, "--out", help="Write to this file instead of stdout (needed for kml and gpkg)."
    ),
    since: str = common.SINCE_OPTION,
    until: str = common.UNTIL_OPTION,
    bbox: str = typer.Option(None, "--bbox", help="minlon,minlat,maxlon,maxlat in degrees."),
    category: list[str] = typer.Option([], "--category", help="Repeat for several."),
    contingent: list[str] = typer.Option([], "--contingent", help="Repeat for several."),
    as_user: str = typer.Option(
        None, "--as-user", help="Export what this user may see (a party: what was released to it)."
    ),
    lang: str = LANG_OPTION,
    db: str = DB_OPTION,
    mission: str = MISSION_OPTION,
) -> None:
    """Write observations or incidents as JSON Lines, GeoJSON, GeoJSON Text Sequences, CSV,
    CoT, KML, GeoPackage or ACLED-compatible CSV."""
    center = common.center(db=db, mission=mission)
    m, engine = center.mission, center.engine
    tz = m.config.timezone
    area = None
    if bbox is not None:
        try:
            area = parse_bbox(bbox)
        except ValueError as error:
            raise _refuse("--bbox", str(error)) from None
    start, end = common.period(since, until, tz)
    window = Selection(
        since=start,
        until=end,
        bbox=area,
        categories=tuple(category),
        contingents=tuple(contingent),
    )
    if fmt in (ExportFormat.kml, ExportFormat.gpkg) and out is None:
        raise _refuse("--out", _("a {format} export needs --out FILE").format(format=fmt.value))
    if fmt is ExportFormat.acled:
        collection = Collection.incidents
    user = None
    if as_user is not None:
        with engine.connect() as conn:
            user = get_user(conn, as_user)
    scope = scope_for(engine, m, user)
    language = lang or current_language()
    canonical = collection is Collection.observations and fmt in (
        ExportFormat.jsonl,
        ExportFormat.geojson,
        ExportFormat.geojsonseq,
        ExportFormat.csv,
        ExportFormat.cot,
    )
    if not canonical and fmt in (ExportFormat.jsonl, ExportFormat.cot):
        raise _refuse("--format", _("{format} holds observations only").format(format=fmt.value))
    with ExitStack() as files:

        def binary() -> IO[bytes]:
            return files.enter_context(out.open("wb")) if out else sys.stdout.buffer

        def text() -> IO[str]:
            return (
                files.enter_context(out.open("w", encoding="utf-8", newline=""))
                if out
                else sys.stdout
            )

        if canonical:
            # The canonical records, readable back by `ceasefire ingest`.
            records: Iterator[Observation] = (
                Observation.model_validate(r) for r in canonical_records(engine, window, scope)
            )
            if fmt is ExportFormat.cot:
                stream = binary()
                count = sum(1 for o in records if stream.write(observation_to_cot(o) + b"\n"))
            elif fmt is ExportFormat.geojsonseq:
                stream = binary()
                count = sum(
                    1
                    for o in records
                    if stream.write(
                        library.RS.encode()
                        + orjson.dumps(geojson_.observation_to_feature(o))
                        + b"\n"
                    )
                )
            else:
                writer = {"jsonl": jsonl.write, "geojson": geojson_.write, "csv": csv_.write}
                count = writer[fmt.value](records, text())
            console_err.print(_("{n} observations exported").format(n=count))
            return
        fields = library.FIELDS[collection.value]
        if collection is Collection.incidents:
            rows = incident_rows(engine, m, window, language, scope)
        else:
            rows = observation_rows(engine, m, window, language, scope)
        if fmt is ExportFormat.acled:
            count = library.acled.write(library.acled_rows(engine, m, window, scope), text())
        elif fmt is ExportFormat.geojson:
            count = library.write_geojson(rows, fields, binary())
        elif fmt is ExportFormat.geojsonseq:
            count = library.write_geojsonseq(rows, fields, binary())
        elif fmt is ExportFormat.csv:
            count = library.write_csv(rows, fields, text())
        else:
            driver = "KML" if fmt is ExportFormat.kml else "GPKG"
            count = library.write_ogr(rows, fields, out, driver, collection.value)
    if collection is Collection.incidents:
        console_err.print(_("{n} incidents exported").format(n=count))
    else:
        console_err.print(_("{n} observations exported").format(n=count))
