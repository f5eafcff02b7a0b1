"""The registry of input formats: each has a name, file suffixes, a sniffer and a parser.

Everything that reads files of observations (``ceasefire ingest``, the :class:`Center`) finds the
format here, by name, by the file's suffix, or, when the suffix says nothing, by sniffing the
file's first bytes. A new format is one module with a ``parse`` plus one :class:`Format`: in
:data:`BUILTIN` for the center's own, or, for a format a mission ships in a package of its own,
an entry point in the group ``ceasefire.formats`` naming its :class:`Format`::

    [project.entry-points."ceasefire.formats"]
    mylog = "mission_formats.mylog:FORMAT"
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path

from ceasefire.errors import InputError, Problem
from ceasefire.i18n import _
from ceasefire.intake import cot, csv_, events, geojson_, jsonl, klv
from ceasefire.intake._common import IntakeItem, Stream
from ceasefire.intake.events import EventDecoder

ENTRY_POINTS = "ceasefire.formats"
SNIFF_BYTES = 4096
"""How much of a file's start the sniffers see."""

Parser = Callable[[Stream, str, str | None], Iterable[IntakeItem]]
"""``parse(stream, source, contingent)``: an item or a rejection for every record, never
raising on bad input. ``contingent`` is the submitting contingent, for formats whose records
do not name it (KLV); others ignore it."""


def _never(head: bytes) -> bool:
    return False


@dataclass(frozen=True)
class Format:
    """One input format."""

    name: str
    parse: Parser
    suffixes: tuple[str, ...] = ()
    """Lower-case file suffixes, with the dot."""
    sniff: Callable[[bytes], bool] = field(default=_never)
    """Whether a file starting with these bytes (at most :data:`SNIFF_BYTES`) is of this
    format; asked only when the suffix is none of a format's."""
    description: str = ""
    decoders: Mapping[str, EventDecoder] = field(default_factory=dict)
    """Per-event decoders by the events' encoding: one event's bytes to an item (or a
    rejection, a control event, unreadable bytes), for what receives events one at a time
    rather than files (the CoT listeners: ``cot`` has ``xml`` and ``tak``, the TAK protocol's
    protobuf messages)."""
    media_types: tuple[str, ...] = ()
    """Content types under which the HTTP intake (``POST /observations``) takes a body of
    this format; none: not over HTTP."""


def _is_klv(head: bytes) -> bool:
    return head.startswith(klv.UNIVERSAL_KEY)


def _is_cot(head: bytes) -> bool:
    return head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith((b"<?xml", b"<event"))


def _is_geojson(head: bytes) -> bool:
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    return text.startswith(b"{") and b'"FeatureCollection"' in text


def _is_jsonl(head: bytes) -> bool:
    return head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{") and not _is_geojson(head)


def _is_csv(head: bytes) -> bool:
    first = head.lstrip(b"\xef\xbb\xbf").split(b"\n", 1)[0].decode("utf-8", "replace")
    columns = {c.strip().strip('"') for c in first.split(",")}
    return set(csv_.REQUIRED_COLUMNS) <= columns


BUILTIN: tuple[Format, ...] = (
    Format(
        "jsonl",
        lambda stream, source, contingent: jsonl.parse(stream, source),
        (".jsonl", ".ndjson"),
        _is_jsonl,
        "JSON Lines, one canonical record a line",
        # over HTTP: a batch, a JSON array of the same records (docs/api.md)
        media_types=("application/json",),
    ),
    Format(
        "geojson",
        lambda stream, source, contingent: geojson_.parse(stream, source),
        (".geojson", ".json"),
        _is_geojson,
        "GeoJSON FeatureCollection of Points",
    ),
    Format(
        "csv",
        lambda stream, source, contingent: csv_.parse(stream, source),
        (".csv",),
        _is_csv,
        "CSV with the flat column mapping",
    ),
    Format(
        "cot",
        lambda stream, source, contingent: cot.parse(stream, source),
        (".cot", ".xml"),
        _is_cot,
        "Cursor on Target XML events",
        decoders={"xml": events.decode_xml, "tak": events.decode_tak},
    ),
    Format(
        "klv",
        lambda stream, source, contingent: klv.parse(stream, source, contingent=contingent),
        (".klv", ".bin"),
        _is_klv,
        "MISB ST 0601 UAS Datalink Local Set",
    ),
)


@functools.cache
def formats() -> dict[str, Format]:
    """Every format by name: the built-in ones, then those of installed packages (a package
    cannot replace a built-in format)."""
    found = {f.name: f for f in BUILTIN}
    for point in entry_points(group=ENTRY_POINTS):
        extra = point.load()
        if not isinstance(extra, Format):
            raise TypeError(f"entry point {point.name} of {ENTRY_POINTS} is not a Format")
        found.setdefault(extra.name, extra)
    return found


def get(name: str) -> Format:
    """The format called ``name``; ``InputError`` naming the choices otherwise."""
    known = formats()
    if name not in known:
        raise InputError(
            Problem(
                file="--format",
                field=name,
                reason=_("choose one of {names}").format(names=", ".join(known)),
            )
        )
    return known[name]


def of_file(path: Path, name: str | None = None) -> Format:
    """The format of a file: ``name`` if given, else by its suffix, else by its first bytes."""
    if name is not None:
        return get(name)
    suffix = path.suffix.lower()
    for candidate in formats().values():
        if suffix in candidate.suffixes:
            return candidate
    with path.open("rb") as f:
        head = f.read(SNIFF_BYTES)
    for candidate in formats().values():
        if candidate.sniff(head):
            return candidate
    raise InputError(
        Problem(
            file=str(path),
            field="--format",
            reason=_("cannot tell the format from the file name; give --format"),
        )
    )


def of_media_type(media_type: str) -> Format | None:
    """The format the HTTP intake reads a body of this content type as (``+json`` types are
    JSON); None: no registered format is taken over HTTP in this type."""
    wanted = "application/json" if media_type.endswith("+json") else media_type
    for candidate in formats().values():
        if wanted in candidate.media_types:
            return candidate
    return None


__all__ = [
    "BUILTIN",
    "ENTRY_POINTS",
    "Format",
    "Parser",
    "formats",
    "get",
    "of_file",
    "of_media_type",
]
