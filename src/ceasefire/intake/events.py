"""One event at a time: the decoders the format registry gives the CoT listeners, which
receive events (an XML event cut from a stream or a datagram, a TAK message) rather than files.

Each decoder takes one event's bytes, its source and its number in that source, and returns
an item, a rejection, a :class:`Control` event (``t-x-...``: never stored) or
:class:`Unreadable` (bytes that are no event at all: a strike against a TCP client).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeAlias
from xml.etree.ElementTree import Element

from ceasefire.i18n import _
from ceasefire.intake import tak
from ceasefire.intake.cot import EventProblem, element_to_event, event_to_item, parse_xml
from ceasefire.intake.errors import RAW_LIMIT, Rejection, raw_text
from ceasefire.observations.record import Observation
from ceasefire.observations.track import TrackPoint

CONTROL_PREFIX = "t-x-"


@dataclass(frozen=True)
class Unreadable:
    """Bytes that could not be read as an event at all (a strike against a TCP client)."""

    rejection: Rejection


@dataclass(frozen=True)
class Control:
    """A CoT control event (``t-x-...``): never stored; a TAK request may need an answer."""

    type: str
    element: Element | None = None


Decoded: TypeAlias = Observation | TrackPoint | Rejection | Unreadable | Control
EventDecoder = Callable[[bytes, str, int], Decoded]
"""``decode(data, source, number)``: one event's bytes to what it is."""


def decode_xml(data: bytes, source: str, number: int) -> Decoded:
    """One CoT XML event to an item, a rejection, or a control event."""
    raw = raw_text(data)
    try:
        root = parse_xml(data)
    except EventProblem as problem:
        return Unreadable(Rejection(source, number, problem.field, problem.reason, raw, "event"))
    kind = root.get("type") or ""
    if root.tag == "event" and kind.startswith(CONTROL_PREFIX):
        return Control(kind, root)
    try:
        event = element_to_event(root)
    except EventProblem as problem:
        return Rejection(source, number, problem.field, problem.reason, raw, "event")
    return event_to_item(event, source, number, raw)


def decode_tak(payload: bytes, source: str, number: int) -> Decoded:
    """One serialised ``TakMessage`` to an item, a rejection, or a control event."""
    message = tak._tak_message()()
    try:
        message.ParseFromString(payload)
    except Exception:  # protobuf raises DecodeError, and others on hostile input
        reason = _("The bytes are not a valid TAK protobuf message.")
        raw = payload[:RAW_LIMIT].hex(" ")
        return Unreadable(Rejection(source, number, "", reason, raw, "frame"))
    if message.HasField("cotEvent") and message.cotEvent.type.startswith(CONTROL_PREFIX):
        return Control(str(message.cotEvent.type))
    return tak.decode_payload(payload, source, number)


__all__ = [
    "CONTROL_PREFIX",
    "Control",
    "Decoded",
    "EventDecoder",
    "Unreadable",
    "decode_tak",
    "decode_xml",
]
