"""What the adapters share: reading streams in bounded pieces, strict JSON, validation."""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import IO, Any, Protocol, TypeAlias, TypeVar

import orjson

from ceasefire.i18n import _
from ceasefire.intake.errors import Rejection, raw_text
from ceasefire.observations.record import Observation, ObservationError, parse_observation
from ceasefire.observations.track import PointOfInterest, TrackPoint

IntakeItem: TypeAlias = Observation | TrackPoint | PointOfInterest | Rejection
"""What an adapter yields."""

Stream: TypeAlias = IO[bytes] | IO[str]
"""A binary or text stream (an open file, ``io.BytesIO``, ``sys.stdin``, a socket file)."""

MAX_LINE_BYTES = 1024 * 1024
CHUNK = 64 * 1024

_Item = TypeVar("_Item")


@dataclass(frozen=True)
class Discarded:
    """Bytes a stream splitter threw away (garbage, an oversized or broken frame), and why."""

    reason: str
    head: bytes
    field: str = ""


class JsonProblem(ValueError):
    """Strict JSON was refused: NaN, infinity, duplicate keys, or not JSON at all."""


def _no_constant(name: str) -> object:
    raise JsonProblem(
        _("The value {name} is not allowed in JSON: numbers must be finite.").format(name=name)
    )


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JsonProblem(
            _("The number {text} is too large: numbers must be finite.").format(text=text[:40])
        )
    return value


def _unique_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)  # in C; fewer keys than pairs only when a key is given twice
    if len(result) == len(pairs):
        return result
    seen: set[str] = set()
    for key, _value in pairs:
        if key in seen:
            raise JsonProblem(
                _("The key {key} appears twice in one JSON object.").format(key=json.dumps(key))
            )
        seen.add(key)
    raise AssertionError("unreachable: a shorter dict has a repeated key")


_DECODERS = threading.local()


def _decoder() -> json.JSONDecoder:
    """This thread's strict decoder, made once: ``json.loads`` with hooks builds a new decoder
    and scanner at every call, about a third of the cost of a CoT event's detail (2 of 7 µs).
    One a thread: a scanner keeps a memo of keys while it scans."""
    decoder: json.JSONDecoder | None = getattr(_DECODERS, "decoder", None)
    if decoder is None:
        decoder = _DECODERS.decoder = json.JSONDecoder(
            parse_constant=_no_constant, parse_float=_finite_float, object_pairs_hook=_unique_object
        )
    return decoder


_DIGITS = bytes(0x30 if 0x30 <= b <= 0x39 else 0x20 for b in range(256))
"""Each digit to 0, every other byte to a space (for bytes.translate, in C)."""
_LONG_NUMBER = b"0" * 19


def _fast_json(text: str | bytes) -> object:
    """What :func:`strict_json` returns, parsed by orjson in C (4 to 5 times as fast as the
    json module with its hooks); :data:`_SLOW` when only the strict parser can tell.

    orjson refuses NaN, infinity, numbers that overflow a double, invalid UTF-8, lone
    surrogates and a byte order mark (the strict parser then says why, or decodes what it
    may: another encoding, a BOM). Where the two could differ the strict parser decides:
    - an integer of 19 digits or more (orjson turns one beyond 64 bits into a float): any run
      of 19 digits, in a string too, sends the text there;
    - a key given twice (orjson keeps the last): every pair of an object has its colon, and
      orjson writes a parsed value back with exactly the colons it holds (pairs and the
      colons in strings), so the text has more colons than the parsed value written back
      exactly when a pair was dropped; an escaped colon (``\\u003a``) would count in one
      and not the other, so a text with ``\\u003`` goes to the strict parser;
    - nesting deeper than orjson writes back (255 levels).
    """
    if isinstance(text, str):
        try:
            text = text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate
            return _SLOW
    if b"\\u003" in text or _LONG_NUMBER in text.translate(_DIGITS):
        return _SLOW
    colons = text.count(b":")
    try:
        value = orjson.loads(text)
        if orjson.dumps(value).count(b":") != colons:
            return _SLOW  # a key given twice: the strict parser names it
    except (orjson.JSONDecodeError, orjson.JSONEncodeError):
        return _SLOW
    return value


_SLOW = object()


def strict_json(text: str | bytes) -> object:
    """Parse JSON refusing NaN, Infinity, numbers that overflow and duplicate keys.

    Raises :class:`JsonProblem` with a plain sentence.
    """
    value = _fast_json(text)
    if value is not _SLOW:
        return value
    try:
        # What json.loads does before it decodes, with the shared decoder.
        if isinstance(text, bytes | bytearray):
            text = text.decode(json.detect_encoding(text), "surrogatepass")
        elif text.startswith("\ufeff"):
            raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
        return _decoder().decode(text)
    except JsonProblem:
        raise
    except json.JSONDecodeError as error:
        raise JsonProblem(
            _("The text is not valid JSON: {reason} at character {position}.").format(
                reason=error.msg, position=error.pos + 1
            )
        ) from None
    except RecursionError:
        raise JsonProblem(_("The JSON is nested too deeply.")) from None
    except (ValueError, UnicodeDecodeError) as error:  # e.g. an integer of 5000 digits
        raise JsonProblem(_("The text is not valid JSON: {reason}.").format(reason=error)) from None


def validate(
    data: object,
    source: str,
    record: int,
    raw: str,
    unit: str,
    rename: Callable[[str], str] | None = None,
) -> Observation | Rejection:
    """An :class:`Observation`, or a :class:`Rejection` naming the first bad field.

    ``rename`` maps a record field path to the name the input format uses (a CSV column, a
    GeoJSON member). When several fields are bad the reason says how many more there are.
    """
    try:
        return parse_observation(data)
    except ObservationError as error:
        first = error.problems[0]
        reason = first.message
        if len(error.problems) > 1:
            reason += " " + _("({count} more problems in this record: {fields}.)").format(
                count=len(error.problems) - 1,
                fields=", ".join(p.field or "-" for p in error.problems[1:6]),
            )
        field = first.field
        if rename is not None:
            field = rename(first.field)
            if first.field and field != first.field:
                reason = reason.replace(first.field, field, 1)
        return Rejection(source, record, field, reason, raw, unit)


def read_chunks(stream: Stream, size: int = CHUNK) -> Iterator[bytes]:
    """The stream's content as bytes, ``size`` at a time (text streams are encoded as UTF-8)."""
    while True:
        chunk = stream.read(size)
        if not chunk:
            return
        if isinstance(chunk, str):
            yield chunk.encode("utf-8", "surrogatepass")
        else:
            yield bytes(chunk)


class Splitter(Protocol):
    """Cuts a byte stream into pieces (CoT events, TAK frames) as it arrives."""

    def feed(self, data: bytes) -> list[bytes | Discarded]: ...

    def close(self) -> list[bytes | Discarded]: ...


def split_stream(
    stream: Stream,
    splitter: Splitter,
    parse: Callable[[bytes, str, int], _Item],
    source: str,
    raw: Callable[[bytes], str],
    unit: str,
) -> Iterator[_Item | Rejection]:
    """An item for each piece ``splitter`` cuts from the stream, numbered from 1 in order:
    ``parse(piece, source, number)``, or for a piece it threw away a rejection of the
    ``unit`` (``raw`` shows its head)."""
    number = 0

    def items(pieces: list[bytes | Discarded]) -> Iterator[_Item | Rejection]:
        nonlocal number
        for piece in pieces:
            number += 1
            if isinstance(piece, Discarded):
                yield Rejection(source, number, piece.field, piece.reason, raw(piece.head), unit)
            else:
                yield parse(piece, source, number)

    for chunk in read_chunks(stream, CHUNK):
        yield from items(splitter.feed(chunk))
    yield from items(splitter.close())


def bounded_lines(stream: Stream, limit: int = MAX_LINE_BYTES) -> Iterator[tuple[int, bytes, bool]]:
    """``(line number, content, too_long)`` for each line, never holding more than ``limit``.

    The content has no line ending. A line longer than ``limit`` is read to its end and thrown
    away; its first bytes come back with ``too_long`` set. For a text stream the limit counts
    characters.
    """
    number = 0
    while True:
        line = stream.readline(limit + 1)
        if not line:
            return
        number += 1
        data = line.encode("utf-8", "surrogatepass") if isinstance(line, str) else bytes(line)
        complete = data.endswith(b"\n")
        content = data[:-1] if complete else data
        if len(line) - (1 if complete else 0) > limit:
            while not complete:
                more = stream.readline(CHUNK)
                if not more:
                    break
                complete = (more[-1:] == "\n") if isinstance(more, str) else more.endswith(b"\n")
            yield number, content[: 4 * 1024], True
            continue
        yield number, content.rstrip(b"\r"), False


def decode_utf8(data: bytes, first: bool) -> str | None:
    """UTF-8 text, without a byte order mark on the first line; None if not UTF-8."""
    if first and data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def as_mapping(value: object) -> Mapping[str, Any] | None:
    return value if isinstance(value, dict) else None


__all__ = [
    "CHUNK",
    "MAX_LINE_BYTES",
    "Discarded",
    "IntakeItem",
    "JsonProblem",
    "Stream",
    "as_mapping",
    "bounded_lines",
    "decode_utf8",
    "raw_text",
    "read_chunks",
    "strict_json",
    "validate",
]
