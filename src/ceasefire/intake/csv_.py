"""CSV: one observation per row, with a header row naming the columns.

The file is UTF-8 (a byte order mark is allowed), comma-separated, with RFC 4180 quoting.
Columns may come in any order; unknown, duplicate or missing required columns refuse the whole
file with one rejection for the header (record 0), because every row would be misread. An empty
cell means the field is absent. The mapping to the record:

==========================  ===================================================================
column                      record field
==========================  ===================================================================
id *                        ``id``
contingent *                ``contingent``
platform_id *               ``platform.id``
platform_type *             ``platform.type``
sortie                      ``sortie``
observed_at *               ``observed_at`` (ISO 8601 with an offset or Z)
observed_until              ``observed_until``
lat, lon, ce_m              ``location`` {lat, lon, ce_m}
observer_lat, observer_lon  ``observer`` {lat, lon} (instead of lat/lon/ce_m)
bearing_deg                 ``bearing_deg``
distance_min_m,             ``distance_m`` [min, max]
distance_max_m
category *                  ``category``
qualifiers                  ``qualifiers``: a JSON object (``{"weapon": "mortar"}``) or
                            ``key=value;key=value`` (values typed by the taxonomy: numbers,
                            true/false, words)
count                       ``count`` (whole number, default 1)
count_approx                ``count_approx``: true/false, yes/no or 1/0
sensed_by *                 ``sensed_by``
remarks                     ``remarks``
lang                        ``lang``
evidence_sha256             ``evidence[i].sha256``; several items separated by ``|``
evidence_media_type         ``evidence[i].media_type``, one per hash, ``|``-separated
evidence_uri                ``evidence[i].uri``, one per hash or empty, ``|``-separated
==========================  ===================================================================

(* = required column.) A rejection's ``record`` is the line on which the row starts and its
``field`` is the column name (``qualifiers.weapon`` for a qualifier). Lines longer than 1 MiB and
cells longer than 128 KiB (the ``csv`` module's limit) are refused; memory stays bounded.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator, Mapping
from typing import IO, Any

from ceasefire.i18n import _
from ceasefire.intake._common import (
    MAX_LINE_BYTES,
    JsonProblem,
    Stream,
    bounded_lines,
    decode_utf8,
    strict_json,
    validate,
)
from ceasefire.intake.errors import Rejection, raw_text
from ceasefire.observations.record import Observation, format_time
from ceasefire.observations.taxonomy import qualifier_from_text

COLUMNS: tuple[str, ...] = (
    "id",
    "contingent",
    "platform_id",
    "platform_type",
    "sortie",
    "track",
    "observed_at",
    "observed_until",
    "lat",
    "lon",
    "ce_m",
    "observer_lat",
    "observer_lon",
    "bearing_deg",
    "distance_min_m",
    "distance_max_m",
    "category",
    "qualifiers",
    "count",
    "count_approx",
    "sensed_by",
    "remarks",
    "lang",
    "evidence_sha256",
    "evidence_media_type",
    "evidence_uri",
)
REQUIRED_COLUMNS: tuple[str, ...] = (
    "id",
    "contingent",
    "platform_id",
    "platform_type",
    "observed_at",
    "category",
    "sensed_by",
)
LIST_SEPARATOR = "|"

_FIELD_TO_COLUMN: Mapping[str, str] = {
    "platform.id": "platform_id",
    "platform.type": "platform_type",
    "location": "lat",
    "location.lat": "lat",
    "location.lon": "lon",
    "location.ce_m": "ce_m",
    "observer": "observer_lat",
    "observer.lat": "observer_lat",
    "observer.lon": "observer_lon",
    "distance_m": "distance_min_m",
    "distance_m[0]": "distance_min_m",
    "distance_m[1]": "distance_max_m",
    "evidence": "evidence_sha256",
}


def column_of(field: str) -> str:
    """The CSV column that holds a record field (``location.lat`` -> ``lat``)."""
    if field in _FIELD_TO_COLUMN:
        return _FIELD_TO_COLUMN[field]
    if field.startswith("evidence["):
        return "evidence_" + field.rsplit(".", 1)[-1] if "." in field else "evidence_sha256"
    return field


class _RowError(ValueError):
    def __init__(self, column: str, message: str) -> None:
        super().__init__(message)
        self.column = column
        self.message = message


def _number(text: str) -> object:
    try:
        return float(text)
    except ValueError:
        return text  # the record reports it, naming the field


def _whole(text: str) -> object:
    try:
        return int(text)
    except ValueError:
        return text


def _flag(text: str) -> object:
    lowered = text.lower()
    if lowered in {"true", "yes", "1"}:
        return True
    if lowered in {"false", "no", "0"}:
        return False
    return text


def _qualifiers(text: str, category: str) -> dict[str, Any]:
    if text.startswith("{"):
        try:
            value = strict_json(text)
        except JsonProblem as problem:
            raise _RowError("qualifiers", str(problem)) from None
        if not isinstance(value, dict):
            raise _RowError("qualifiers", _("The column qualifiers must hold a JSON object."))
        return value
    result: dict[str, Any] = {}
    for part in text.split(";"):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        key = key.strip()
        if not sep or not key:
            raise _RowError(
                "qualifiers",
                _(
                    "The column qualifiers must hold key=value pairs separated by ';' "
                    "or a JSON object; {part} is neither."
                ).format(part=repr(part.strip()[:40])),
            )
        if key in result:
            raise _RowError(
                "qualifiers",
                _("The column qualifiers names {key} twice.").format(key=key),
            )
        result[key] = qualifier_from_text(category, key, value.strip())
    return result


def _evidence(cells: Mapping[str, str]) -> list[dict[str, Any]]:
    hashes = [h.strip() for h in cells.get("evidence_sha256", "").split(LIST_SEPARATOR)]
    hashes = [h for h in hashes if h]
    if not hashes:
        for column in ("evidence_media_type", "evidence_uri"):
            if cells.get(column, "").strip():
                raise _RowError(
                    column,
                    _("The column {column} is given without evidence_sha256.").format(
                        column=column
                    ),
                )
        return []
    types = [t.strip() for t in cells.get("evidence_media_type", "").split(LIST_SEPARATOR)]
    if len(types) != len(hashes):
        raise _RowError(
            "evidence_media_type",
            _(
                "The column evidence_media_type must hold one media type for each of the "
                "{count} hashes in evidence_sha256, separated by '|'."
            ).format(count=len(hashes)),
        )
    uri_cell = cells.get("evidence_uri", "").strip()
    uris = [u.strip() for u in uri_cell.split(LIST_SEPARATOR)] if uri_cell else []
    if uris and len(uris) != len(hashes):
        raise _RowError(
            "evidence_uri",
            _(
                "The column evidence_uri must hold one URI (or nothing) for each of the "
                "{count} hashes in evidence_sha256, separated by '|'."
            ).format(count=len(hashes)),
        )
    items: list[dict[str, Any]] = []
    for index, sha in enumerate(hashes):
        item: dict[str, Any] = {"sha256": sha, "media_type": types[index]}
        if uris and uris[index]:
            item["uri"] = uris[index]
        items.append(item)
    return items


def row_to_record(cells: Mapping[str, str]) -> dict[str, Any]:
    """The record (as JSON-like data) that a row's cells describe; raises ``_RowError``."""
    present = {k: v.strip() for k, v in cells.items() if v is not None and v.strip() != ""}
    record: dict[str, Any] = {}
    names = ("id", "contingent", "sortie", "track", "observed_at", "observed_until", "category")
    for name in names:
        if name in present:
            record[name] = present[name]
    for name in ("sensed_by", "lang"):
        if name in present:
            record[name] = present[name]
    if "remarks" in cells and cells["remarks"] is not None and cells["remarks"].strip():
        record["remarks"] = cells["remarks"]  # keep the remarks as written
    platform: dict[str, Any] = {}
    if "platform_id" in present:
        platform["id"] = present["platform_id"]
    if "platform_type" in present:
        platform["type"] = present["platform_type"]
    record["platform"] = platform
    if any(k in present for k in ("lat", "lon", "ce_m")):
        record["location"] = {
            key: _number(present[key]) for key in ("lat", "lon", "ce_m") if key in present
        }
    if any(k in present for k in ("observer_lat", "observer_lon")):
        record["observer"] = {
            key[len("observer_") :]: _number(present[key])
            for key in ("observer_lat", "observer_lon")
            if key in present
        }
    if "bearing_deg" in present:
        record["bearing_deg"] = _number(present["bearing_deg"])
    band = [key for key in ("distance_min_m", "distance_max_m") if key in present]
    if len(band) == 1:
        missing = "distance_max_m" if band[0] == "distance_min_m" else "distance_min_m"
        raise _RowError(
            missing,
            _("The column {column} is required when {other} is given.").format(
                column=missing, other=band[0]
            ),
        )
    if band:
        record["distance_m"] = [_number(present[key]) for key in band]
    if "qualifiers" in present:
        record["qualifiers"] = _qualifiers(present["qualifiers"], present.get("category", ""))
    if "count" in present:
        record["count"] = _whole(present["count"])
    if "count_approx" in present:
        record["count_approx"] = _flag(present["count_approx"])
    evidence = _evidence(present)
    if evidence:
        record["evidence"] = evidence
    return record


class _Lines:
    """Feeds the csv reader decoded lines, remembering which were too long or not UTF-8."""

    def __init__(self, stream: Stream, limit: int) -> None:
        self._lines = bounded_lines(stream, limit)
        self.bad: dict[int, str] = {}
        self.raw: list[str] = []
        self.number = 0
        self.limit = limit

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        number, content, too_long = next(self._lines)
        self.number = number
        if len(self.raw) < 3:
            self.raw.append(raw_text(content))
        if too_long:
            self.bad[number] = _("The line {line} is longer than {limit} bytes.").format(
                line=number, limit=self.limit
            )
            return "\n"
        text = decode_utf8(content, number == 1)
        if text is None:
            self.bad[number] = _("The line {line} is not valid UTF-8.").format(line=number)
            return "\n"
        return text + "\n"


def parse(
    stream: Stream, source: str, max_line_bytes: int = MAX_LINE_BYTES
) -> Iterator[Observation | Rejection]:
    """Yield an :class:`Observation` or a :class:`Rejection` for each data row."""
    lines = _Lines(stream, max_line_bytes)
    reader = csv.reader(lines, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as error:
        yield Rejection(
            source,
            0,
            "",
            _("The header row is not valid CSV: {reason}.").format(reason=error),
            raw_text(" | ".join(lines.raw)),
            "line",
        )
        return
    if 1 in lines.bad:
        yield Rejection(source, 0, "", lines.bad[1], raw_text(" | ".join(lines.raw)), "line")
        return
    names = [name.strip() for name in header]
    problem = _check_header(names)
    if problem is not None:
        column, message = problem
        yield Rejection(source, 0, column, message, raw_text(",".join(header)), "line")
        return
    last_line = lines.number
    while True:
        lines.raw = []
        start = last_line + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            last_line = lines.number
            for n in range(start, last_line + 1):
                lines.bad.pop(n, None)
            yield Rejection(
                source,
                start,
                "",
                _("The row on lines {first}-{last} is not valid CSV: {reason}.").format(
                    first=start, last=last_line, reason=error
                ),
                raw_text(" | ".join(lines.raw)),
                "line",
            )
            continue
        last_line = lines.number
        raw = raw_text(" | ".join(lines.raw))
        bad = [lines.bad.pop(n) for n in range(start, last_line + 1) if n in lines.bad]
        if bad:
            yield Rejection(source, start, "", bad[0], raw, "line")
            continue
        if not cells or all(not c.strip() for c in cells):
            continue  # a blank line
        if len(cells) != len(names):
            yield Rejection(
                source,
                start,
                "",
                _("The row has {cells} cells but the header names {columns} columns.").format(
                    cells=len(cells), columns=len(names)
                ),
                raw,
                "line",
            )
            continue
        try:
            record = row_to_record(dict(zip(names, cells, strict=True)))
        except _RowError as error:
            yield Rejection(source, start, error.column, error.message, raw, "line")
            continue
        yield validate(record, source, start, raw, "line", column_of)


def _check_header(names: list[str]) -> tuple[str, str] | None:
    seen: set[str] = set()
    for name in names:
        if name not in COLUMNS:
            return name, _(
                "The header names an unknown column {column}; known columns: {known}."
            ).format(column=repr(name), known=", ".join(COLUMNS))
        if name in seen:
            return name, _("The header names the column {column} twice.").format(column=name)
        seen.add(name)
    for name in REQUIRED_COLUMNS:
        if name not in seen:
            return name, _("The header lacks the required column {column}.").format(column=name)
    return None


def observation_to_row(observation: Observation) -> dict[str, str]:
    """The cells of one row for an observation (every column of :data:`COLUMNS`)."""
    row = dict.fromkeys(COLUMNS, "")
    row["id"] = observation.id
    row["contingent"] = observation.contingent
    row["platform_id"] = observation.platform.id
    row["platform_type"] = observation.platform.type
    row["sortie"] = observation.sortie or ""
    row["track"] = observation.track or ""
    row["observed_at"] = format_time(observation.observed_at)
    if observation.observed_until is not None:
        row["observed_until"] = format_time(observation.observed_until)
    if observation.location is not None:
        row["lat"] = repr(observation.location.lat)
        row["lon"] = repr(observation.location.lon)
        row["ce_m"] = repr(observation.location.ce_m)
    if observation.observer is not None:
        row["observer_lat"] = repr(observation.observer.lat)
        row["observer_lon"] = repr(observation.observer.lon)
    if observation.bearing_deg is not None:
        row["bearing_deg"] = repr(observation.bearing_deg)
    if observation.distance_m is not None:
        row["distance_min_m"] = repr(observation.distance_m[0])
        row["distance_max_m"] = repr(observation.distance_m[1])
    row["category"] = observation.category
    if observation.qualifiers:
        row["qualifiers"] = json.dumps(observation.qualifiers, ensure_ascii=False)
    row["count"] = str(observation.count)
    row["count_approx"] = "true" if observation.count_approx else "false"
    row["sensed_by"] = observation.sensed_by
    row["remarks"] = observation.remarks or ""
    row["lang"] = observation.lang or ""
    if observation.evidence:
        row["evidence_sha256"] = LIST_SEPARATOR.join(e.sha256 for e in observation.evidence)
        row["evidence_media_type"] = LIST_SEPARATOR.join(e.media_type for e in observation.evidence)
        if any(e.uri for e in observation.evidence):
            row["evidence_uri"] = LIST_SEPARATOR.join(e.uri or "" for e in observation.evidence)
    return row


def write(observations: Iterable[Observation], stream: IO[str]) -> int:
    """Write a header and one row per observation; return how many rows were written."""
    writer = csv.DictWriter(stream, fieldnames=list(COLUMNS), lineterminator="\r\n")
    writer.writeheader()
    count = 0
    for observation in observations:
        writer.writerow(observation_to_row(observation))
        count += 1
    return count


__all__ = [
    "COLUMNS",
    "LIST_SEPARATOR",
    "REQUIRED_COLUMNS",
    "column_of",
    "observation_to_row",
    "parse",
    "row_to_record",
    "write",
]
