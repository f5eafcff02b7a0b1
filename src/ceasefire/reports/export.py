"""Exports of incidents and observations for GIS tools and analysts, streamed.

Every writer takes rows a chunk at a time from :mod:`ceasefire.reports.rows`, so memory stays
bounded however many rows there are:

- GeoJSON (RFC 7946) and GeoJSON Text Sequences (RFC 8142): one feature written at a time;
- CSV: one row at a time, ``lon`` and ``lat`` columns first;
- GeoPackage and KML: through GDAL (pyogrio), fed an Arrow stream of record batches, so GDAL
  writes each chunk as it comes (one transaction per batch in the GeoPackage);
- ACLED-compatible CSV (:mod:`ceasefire.reports.acled`): incidents only.

Observations as JSON Lines, GeoJSON, CSV and CoT keep the canonical record, so an export reads
back in unchanged (``ceasefire ingest``); that is ``ceasefire export``'s own business. The
flat rows here add each observation's enrichment (zones, who controlled the place, the
distance to the line, "4 km SW of Aghdam") for GIS use.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import IO, Any

import orjson
from sqlalchemy import Engine, select

from ceasefire.mission.model import Mission
from ceasefire.reports import acled
from ceasefire.reports.rows import (
    CHUNK,
    INCIDENT_FIELDS,
    OBSERVATION_FIELDS,
    Fields,
    IncidentKey,
    Selection,
    incident_page,
)
from ceasefire.reports.scope import EVERYTHING, Scope
from ceasefire.store.schema import observations

RS = "\x1e"  # RFC 8142 record separator


def _value(value: Any) -> Any:
    return utc_text(value) if isinstance(value, datetime) else value


def utc_text(moment: datetime) -> str:
    """The text of :func:`ceasefire.timeutil.iso` (UTC, seconds, Z) at a third of its cost:
    a page of 1,000 observations formats 2,000 times."""
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="seconds")[:19] + "Z"


@cache
def _times(fields: Fields) -> tuple[str, ...]:
    return tuple(name for name, kind in fields if kind == "time")


def feature(row: dict[str, Any], fields: Fields, times_as_text: bool = True) -> dict[str, Any]:
    """An RFC 7946 Point feature of a row, its times as text (only the time fields are), or
    left as UTC datetimes for an encoder that writes them so (the OGC API's: orjson)."""
    properties = {name: row[name] for name, _kind in fields}
    for name in _times(fields) if times_as_text else ():
        value = properties[name]
        if value is not None:
            properties[name] = utc_text(value)
    return {
        "type": "Feature",
        "id": row["id"],
        "geometry": {"type": "Point", "coordinates": [row["lon"], row["lat"]]},
        "properties": properties,
    }


def write_geojson(rows: Iterable[dict[str, Any]], fields: Fields, stream: IO[bytes]) -> int:
    """A FeatureCollection, one feature at a time; returns how many."""
    stream.write(b'{"type":"FeatureCollection","features":[')
    count = 0
    for row in rows:
        stream.write(b",\n" if count else b"\n")
        stream.write(orjson.dumps(feature(row, fields)))
        count += 1
    stream.write(b"\n]}\n")
    return count


def write_geojsonseq(rows: Iterable[dict[str, Any]], fields: Fields, stream: IO[bytes]) -> int:
    """RFC 8142: each feature preceded by a record separator and ended by a line feed."""
    count = 0
    for row in rows:
        stream.write(RS.encode() + orjson.dumps(feature(row, fields)) + b"\n")
        count += 1
    return count


def write_csv(rows: Iterable[dict[str, Any]], fields: Fields, stream: IO[str]) -> int:
    """A header, then one row per record: lon, lat, then the fields."""
    names = ["lon", "lat", *(name for name, _type in fields)]
    writer = csv.writer(stream, lineterminator="\r\n")
    writer.writerow(names)
    count = 0
    for row in rows:
        writer.writerow(["" if row[n] is None else _value(row[n]) for n in names])
        count += 1
    return count


def _arrow_schema(fields: Fields, driver: str) -> Any:
    import pyarrow as pa

    # KML holds text only; a GeoPackage keeps numbers and times typed for GIS tools.
    types = {
        "str": pa.string(),
        "int": pa.int64(),
        "float": pa.float64(),
        "bool": pa.bool_(),
        "time": pa.timestamp("ms", tz="UTC"),
    }
    columns = [
        pa.field(name, pa.string() if driver == "KML" else types[kind]) for name, kind in fields
    ]
    if driver == "KML":  # GDAL's KML driver shows these as each placemark's name and text
        columns += [pa.field("Name", pa.string()), pa.field("Description", pa.string())]
    wkb = pa.field("geometry", pa.binary(), metadata={"ARROW:extension:name": "geoarrow.wkb"})
    return pa.schema([*columns, wkb])


def _batches(
    rows: Iterable[dict[str, Any]], fields: Fields, driver: str, schema: Any, counter: list[int]
) -> Iterator[Any]:
    import pyarrow as pa
    import shapely

    def batch(chunk: list[dict[str, Any]]) -> Any:
        columns: list[Any] = []
        for name, _kind in fields:
            values = [r[name] for r in chunk]
            if driver == "KML":
                values = [None if v is None else str(_value(v)) for v in values]
            columns.append(pa.array(values, schema.field(name).type))
        if driver == "KML":
            columns.append(pa.array([r["id"] for r in chunk], pa.string()))
            columns.append(pa.array([r.get("phrase") or "" for r in chunk], pa.string()))
        points = shapely.points([r["lon"] for r in chunk], [r["lat"] for r in chunk])
        columns.append(pa.array(shapely.to_wkb(points), pa.binary()))
        counter[0] += len(chunk)
        return pa.record_batch(columns, schema=schema)

    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= CHUNK:
            yield batch(chunk)
            chunk = []
    if chunk:
        yield batch(chunk)


def write_ogr(
    rows: Iterable[dict[str, Any]], fields: Fields, path: Path, driver: str, layer: str
) -> int:
    """A GeoPackage (``GPKG``) or KML (``KML``) file through GDAL, written a batch at a time."""
    import pyarrow as pa
    import pyogrio

    schema = _arrow_schema(fields, driver)
    counter = [0]
    reader = pa.RecordBatchReader.from_batches(
        schema, _batches(rows, fields, driver, schema, counter)
    )
    path.unlink(missing_ok=True)
    pyogrio.write_arrow(
        reader,
        str(path),
        layer=layer,
        driver=driver,
        geometry_name="geometry",
        geometry_type="Point",
        crs="EPSG:4326",
        # 1.3: what the GDAL of Debian 12 (3.6) reads without a warning
        dataset_options={"VERSION": "1.3"} if driver == "GPKG" else None,
    )
    return counter[0]


def acled_rows(
    engine: Engine, mission: Mission, where: Selection, scope: Scope = EVERYTHING
) -> Iterator[dict[str, Any]]:
    """ACLED rows of every matching incident, a chunk at a time (in English)."""
    now = datetime.now(UTC)
    after: IncidentKey | None = None
    while True:
        items, after = incident_page(engine, mission, where, "en", scope=scope, after=after)
        members: dict[str, list[dict[str, Any]]] = {}
        with engine.connect() as db:
            found = db.execute(
                select(observations.c.incident_id, observations.c.record)
                .where(observations.c.incident_id.in_([i["id"] for i in items]))
                .order_by(observations.c.id)
            )
            for incident_id, record in found:
                members.setdefault(incident_id, []).append(json.loads(record))
        for item in items:
            records = members.get(item["id"], [])
            main = next((r for r in records if r["category"] == item["category"]), {})
            killed = max(
                (
                    int(r.get("qualifiers", {}).get("killed", 0))
                    for r in records
                    if r["category"] == "civilian_casualty"
                ),
                default=0,
            )
            yield acled.acled_row(
                item,
                main.get("qualifiers") or {},
                killed,
                mission,
                item["settlement_distance_m"],
                now,
            )
        if after is None:
            return


FIELDS = {"observations": OBSERVATION_FIELDS, "incidents": INCIDENT_FIELDS}

__all__ = [
    "FIELDS",
    "RS",
    "acled",
    "acled_rows",
    "feature",
    "write_csv",
    "write_geojson",
    "write_geojsonseq",
    "write_ogr",
]
