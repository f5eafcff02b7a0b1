"""GeoJSON (RFC 7946): a FeatureCollection of Point features, one observation each.

Each feature's ``properties`` hold the record's fields (DESIGN.md section 5) except
``location``: its ``lat`` and ``lon`` come from the Point's coordinates ``[lon, lat]`` (an
altitude, if given, is ignored) and its ``ce_m`` from ``properties.ce_m``. A record given by
``observer``, ``bearing_deg`` and ``distance_m`` keeps them in ``properties``; its geometry is
then the derived point (written for maps, ignored on reading) or null. The feature's ``id`` is
used when ``properties.id`` is absent.

The file is read as a stream: one feature at a time is held in memory, and a feature larger
than 1 MiB is refused (and skipped without being held). Top-level members other than ``type``
and ``features`` (``bbox``, ``name``, ``crs``, ...) are skipped; each may be at most 1 MiB. A
rejection's ``record`` is the feature's position in ``features`` (from 1), or 0 for the file;
its ``field`` is ``properties.<field>`` or ``geometry.coordinates[i]``. A file that is not a
FeatureCollection, or whose structure breaks between features, ends with a rejection for the
file, since no later feature can be found reliably.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterable, Iterator
from typing import IO, Any

from ceasefire.i18n import _
from ceasefire.intake._common import CHUNK, JsonProblem, Stream, strict_json, validate
from ceasefire.intake.errors import RAW_LIMIT, Rejection
from ceasefire.observations.record import Observation

MAX_FEATURE_CHARS = 1024 * 1024
MAX_MEMBER_CHARS = 1024 * 1024

_STRUCTURE = re.compile(r'["{}\[\]]')
_IN_STRING = re.compile(r'["\\]')
_SCALAR_END = re.compile(r"[,\]}\s]")
_SPACE = " \t\r\n"


class _Broken(Exception):
    """The top-level structure is broken: nothing after this point can be trusted."""


class _Reader:
    """Reads JSON text in chunks and captures one value at a time with a size limit."""

    def __init__(self, stream: Stream) -> None:
        self._stream = stream
        self._decoder = codecs.getincrementaldecoder("utf-8")("strict")
        self.buffer = ""
        self.pos = 0
        self.consumed = 0
        self._eof = False
        self._first = True

    def _fill(self) -> bool:
        if self._eof:
            return False
        chunk = self._stream.read(CHUNK)
        if isinstance(chunk, str):
            text = chunk
            final = not chunk
        else:
            try:
                text = self._decoder.decode(bytes(chunk), final=not chunk)
            except UnicodeDecodeError:
                raise _Broken(_("The file is not valid UTF-8.")) from None
            final = not chunk
        if self._first and text:
            text = text.removeprefix("\ufeff")
            self._first = False
        self.consumed += self.pos
        self.buffer = self.buffer[self.pos :] + text
        self.pos = 0
        if final:
            self._eof = True
        return bool(text) or not final

    def peek(self) -> str:
        """The next character that is not white space, without taking it ('' at the end)."""
        while True:
            while self.pos < len(self.buffer) and self.buffer[self.pos] in _SPACE:
                self.pos += 1
            if self.pos < len(self.buffer):
                return self.buffer[self.pos]
            if not self._fill():
                return ""

    def expect(self, chars: str) -> str:
        char = self.peek()
        if not char or char not in chars:
            found = _("the end of the file") if not char else repr(char)
            raise _Broken(
                _(
                    "The file is not valid GeoJSON: expected {expected} at character {pos}, "
                    "found {found}."
                ).format(
                    expected=" or ".join(repr(c) for c in chars),
                    pos=self.consumed + self.pos + 1,
                    found=found,
                )
            )
        self.pos += 1
        return char

    def capture(self, limit: int) -> tuple[str | None, str, bool]:
        """The next JSON value's text (None if longer than ``limit``), its start, and whether
        it was complete (False if the file ended inside it)."""
        first = self.peek()
        scalar = first not in '{["'
        pieces: list[str] = []
        size = 0
        head = ""
        oversized = False
        depth = 0
        in_string = False
        escape = False
        done = False
        while not done:
            if self.pos >= len(self.buffer) and not self._fill():
                break
            buffer, i = self.buffer, self.pos
            if scalar:
                match = _SCALAR_END.search(buffer, i)
                end = match.start() if match else len(buffer)
                done = match is not None
            else:
                end = len(buffer)
                while i < len(buffer):
                    if escape:
                        escape = False
                        i += 1
                        continue
                    if in_string:
                        match = _IN_STRING.search(buffer, i)
                        if match is None:
                            i = len(buffer)
                            break
                        i = match.end()
                        if match.group() == "\\":
                            escape = True
                        else:
                            in_string = False
                            if depth == 0:
                                done = True
                                break
                    else:
                        match = _STRUCTURE.search(buffer, i)
                        if match is None:
                            i = len(buffer)
                            break
                        i = match.end()
                        char = match.group()
                        if char == '"':
                            in_string = True
                        elif char in "{[":
                            depth += 1
                        else:
                            depth -= 1
                            if depth <= 0:
                                done = True
                                break
                end = i
            piece = buffer[self.pos : end]
            self.pos = end
            if oversized:
                continue
            size += len(piece)
            if size > limit:
                oversized = True
                head = ("".join(pieces) + piece)[:RAW_LIMIT]
                pieces = []
            else:
                pieces.append(piece)
        if oversized:
            return None, head, done or scalar
        text = "".join(pieces)
        return text, text[:RAW_LIMIT], done or (scalar and bool(text))


def parse(
    stream: Stream,
    source: str,
    max_feature_chars: int = MAX_FEATURE_CHARS,
) -> Iterator[Observation | Rejection]:
    """Yield an :class:`Observation` or a :class:`Rejection` for each feature."""
    reader = _Reader(stream)
    seen_type: str | None = None
    number = 0
    try:
        reader.expect("{")
        if reader.peek() == "}":
            reader.pos += 1
        else:
            while True:
                key_text, _head, _done = reader.capture(4096)
                key = _loads_key(key_text)
                reader.expect(":")
                if key == "features":
                    reader.expect("[")
                    if reader.peek() == "]":
                        reader.pos += 1
                    else:
                        while True:
                            number += 1
                            text, head, complete = reader.capture(max_feature_chars)
                            yield _feature(text, head, complete, source, number, max_feature_chars)
                            if not complete:
                                return
                            if reader.expect(",]") == "]":
                                break
                else:
                    text, head, complete = reader.capture(MAX_MEMBER_CHARS)
                    if key == "type":
                        seen_type = _loads_member(text, key)
                        if seen_type != "FeatureCollection":
                            yield _not_collection(source, head)
                            return
                if reader.expect(",}") == "}":
                    break
        if reader.peek():
            raise _Broken(_("The file has more text after the end of the FeatureCollection."))
    except _Broken as broken:
        yield Rejection(source, 0, "", str(broken), "", "feature")
        return
    if seen_type is None:
        yield _not_collection(source, "")


def _not_collection(source: str, head: str) -> Rejection:
    return Rejection(
        source,
        0,
        "type",
        _("The file must be a GeoJSON FeatureCollection (its type must be FeatureCollection)."),
        head,
        "feature",
    )


def _loads_key(text: str | None) -> str:
    if text is None or not text.startswith('"'):
        raise _Broken(_("The file is not valid GeoJSON: a member name must be a string."))
    try:
        value = json.loads(text)
    except ValueError:
        raise _Broken(_("The file is not valid GeoJSON: a member name is not valid.")) from None
    if not isinstance(value, str):
        raise _Broken(_("The file is not valid GeoJSON: a member name must be a string."))
    return value


def _loads_member(text: str | None, key: str) -> str | None:
    if text is None:
        raise _Broken(_("The member {key} is too large.").format(key=key))
    try:
        value = strict_json(text)
    except JsonProblem as problem:
        raise _Broken(str(problem)) from None
    return value if isinstance(value, str) else None


def _rename(field: str) -> str:
    if field == "location.lat":
        return "geometry.coordinates[1]"
    if field == "location.lon":
        return "geometry.coordinates[0]"
    if field == "location.ce_m":
        return "properties.ce_m"
    if field in {"location", ""}:
        return "geometry" if field else ""
    return "properties." + field


def _feature(
    text: str | None,
    head: str,
    complete: bool,
    source: str,
    number: int,
    limit: int,
) -> Observation | Rejection:
    def reject(field: str, reason: str) -> Rejection:
        return Rejection(source, number, field, reason, head, "feature")

    if not complete:
        return reject("", _("The file ends inside this feature."))
    if text is None:
        return reject("", _("The feature is larger than {limit} characters.").format(limit=limit))
    try:
        feature = strict_json(text)
    except JsonProblem as problem:
        return reject("", str(problem))
    if not isinstance(feature, dict):
        return reject("", _("The feature must be a JSON object."))
    if feature.get("type") != "Feature":
        return reject("type", _("The field type of a feature must be Feature."))
    properties = feature.get("properties")
    if not isinstance(properties, dict):
        return reject("properties", _("The field properties must be an object."))
    record: dict[str, Any] = dict(properties)
    if "id" not in record and isinstance(feature.get("id"), str):
        record["id"] = feature["id"]
    geometry = feature.get("geometry")
    if "observer" not in record:
        if "location" in record:
            return reject(
                "properties.location",
                _(
                    "The field properties.location must not be given: the feature's "
                    "geometry is the location (with properties.ce_m)."
                ),
            )
        bad_point = _point(geometry)
        if bad_point is not None:
            return reject(*bad_point)
        assert isinstance(geometry, dict)
        coordinates = geometry["coordinates"]
        location: dict[str, Any] = {"lon": coordinates[0], "lat": coordinates[1]}
        if "ce_m" in record:
            location["ce_m"] = record.pop("ce_m")
        record["location"] = location
    elif geometry is not None:
        bad_point = _point(geometry)
        if bad_point is not None:
            return reject(*bad_point)
    return validate(record, source, number, head, "feature", _rename)


def _point(geometry: object) -> tuple[str, str] | None:
    if not isinstance(geometry, dict) or geometry.get("type") != "Point":
        return "geometry", _("The field geometry must be a GeoJSON Point.")
    coordinates = geometry.get("coordinates")
    if not isinstance(coordinates, list) or len(coordinates) not in (2, 3):
        return "geometry.coordinates", _(
            "The field geometry.coordinates must be [longitude, latitude] or "
            "[longitude, latitude, altitude]."
        )
    for index, value in enumerate(coordinates):
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"geometry.coordinates[{index}]", _(
                "The field geometry.coordinates[{index}] must be a number."
            ).format(index=index)
    return None


def observation_to_feature(observation: Observation) -> dict[str, Any]:
    """The GeoJSON Feature of an observation (the inverse of reading one)."""
    properties = observation.to_json_dict()
    location = properties.pop("location", None)
    point = observation.point()
    if location is not None:
        properties["ce_m"] = location["ce_m"]
    return {
        "type": "Feature",
        "id": observation.id,
        "geometry": {"type": "Point", "coordinates": [point.lon, point.lat]},
        "properties": properties,
    }


def write(observations: Iterable[Observation], stream: IO[str]) -> int:
    """Write a FeatureCollection, one feature at a time; return how many were written."""
    stream.write('{"type":"FeatureCollection","features":[')
    count = 0
    for observation in observations:
        if count:
            stream.write(",\n")
        else:
            stream.write("\n")
        stream.write(json.dumps(observation_to_feature(observation), ensure_ascii=False))
        count += 1
    stream.write("\n]}\n")
    return count


__all__ = [
    "MAX_FEATURE_CHARS",
    "observation_to_feature",
    "parse",
    "write",
]
