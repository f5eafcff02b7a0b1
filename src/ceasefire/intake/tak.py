"""TAK protocol version 1: CoT events as protobuf ``TakMessage`` in mesh and stream framing.

=========  =====================================================  ============================
framing    bytes                                                  used for
=========  =====================================================  ============================
mesh       ``0xbf <varint protocol version = 1> 0xbf <TakMessage>``  one UDP datagram (multicast
                                                                  239.2.3.1:6969)
stream     ``0xbf <varint length> <TakMessage of that length>``   TCP (8087, 8089 with TLS),
                                                                  messages back to back
=========  =====================================================  ============================

The protobuf messages come from the ``takproto`` package (``takproto.proto.TakMessage``); the
framing is done here, with limits. A ``TakMessage``'s ``cotEvent`` maps to the same
:class:`~ceasefire.intake.cot.CotEvent` as CoT XML, so observations and drone track points
come out exactly as from :mod:`ceasefire.intake.cot` (see its mapping table):
``sendTime``/``startTime``/``staleTime`` are milliseconds since 1970; ``lat``, ``lon``, ``hae``,
``ce``, ``le`` are the point; ``detail.contact.callsign`` the callsign; ``detail.xmlDetail``
holds the other detail elements (``<ceasefire>``, ``<ceasefire_track>``, ``<remarks>``) as XML
text, which is parsed with the same defences as CoT XML.

Bad input never raises: a bad varint (more than 10 bytes, or over 64 bits), a length over
:data:`MAX_MESSAGE_BYTES`, a truncated frame, bytes that are not protobuf, a message without a
CoT event, or an unsupported protocol version each become a :class:`Rejection`.
:class:`TakStreamDecoder` resynchronises on the next ``0xbf`` and never holds more than one
message of at most :data:`MAX_MESSAGE_BYTES` plus one piece of input. XML sent before the
protocol is negotiated (``t-x-takp-v``, ``-q``, ``-r``) is the listener's business.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any
from xml.etree.ElementTree import tostring

from ceasefire.i18n import _
from ceasefire.intake._common import Discarded, Stream, split_stream
from ceasefire.intake.cot import (
    UNKNOWN,
    CotEvent,
    EventProblem,
    check_uid_and_type,
    detail_elements,
    detail_fields,
    event_to_item,
    observation_to_event,
    parse_xml,
    track_to_event,
)
from ceasefire.intake.errors import RAW_LIMIT, Rejection, raw_hex
from ceasefire.observations.record import Observation
from ceasefire.observations.track import TrackPoint

MAGIC = 0xBF
PROTOCOL_VERSION = 1
MAX_MESSAGE_BYTES = 1024 * 1024
MAX_VARINT_BYTES = 10

Item = Observation | TrackPoint | Rejection


def _tak_message() -> Any:
    """The ``TakMessage`` class of takproto (imported when first needed)."""
    try:
        module = importlib.import_module("takproto.proto")
    except ImportError as error:  # pragma: no cover - depends on the installation
        raise RuntimeError(
            "The TAK protocol needs the takproto package: pip install takproto"
        ) from error
    return module.TakMessage


class VarintError(ValueError):
    """A varint is longer than 10 bytes or larger than 64 bits."""


def encode_varint(value: int) -> bytes:
    """The protobuf base-128 varint of a non-negative integer below 2**64."""
    if value < 0 or value >= 1 << 64:
        raise ValueError(f"varint out of range: {value}")
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def decode_varint(data: bytes | bytearray, pos: int = 0) -> tuple[int, int] | None:
    """``(value, position after it)``, or None if ``data`` ends inside the varint.

    Raises :class:`VarintError` for a varint of more than 10 bytes or over 64 bits.
    """
    value = 0
    for count in range(MAX_VARINT_BYTES):
        if pos + count >= len(data):
            return None
        byte = data[pos + count]
        value |= (byte & 0x7F) << (7 * count)
        if not byte & 0x80:
            if value >= 1 << 64:
                raise VarintError(_("The varint is larger than 64 bits."))
            return value, pos + count + 1
    raise VarintError(_("The varint is longer than 10 bytes."))


# -- encoding ---------------------------------------------------------------------------------


def _milliseconds(moment: datetime) -> int:
    return round(moment.timestamp() * 1000)


def event_to_message(event: CotEvent) -> Any:
    """A ``TakMessage`` holding a CoT event."""
    message = _tak_message()()
    cot = message.cotEvent
    cot.type = event.type
    cot.uid = event.uid
    cot.how = event.how
    cot.sendTime = _milliseconds(event.time)
    cot.startTime = _milliseconds(event.start)
    cot.staleTime = _milliseconds(event.stale)
    cot.lat = event.lat
    cot.lon = event.lon
    cot.hae = event.hae
    cot.ce = event.ce
    cot.le = event.le
    if event.callsign is not None:
        cot.detail.contact.callsign = event.callsign
    extra = [e for e in detail_elements(event) if e.tag != "contact"]
    if extra:
        cot.detail.xmlDetail = "".join(tostring(e, encoding="unicode") for e in extra)
    return message


def observation_to_message(observation: Observation) -> Any:
    """The ``TakMessage`` of an observation."""
    return event_to_message(observation_to_event(observation))


def track_to_message(track: TrackPoint) -> Any:
    """The ``TakMessage`` of a drone position."""
    return event_to_message(track_to_event(track))


def encode_mesh(message: Any, version: int = PROTOCOL_VERSION) -> bytes:
    """Mesh framing: ``0xbf <varint version> 0xbf`` + the serialised message."""
    payload: bytes = message.SerializeToString()
    return bytes([MAGIC]) + encode_varint(version) + bytes([MAGIC]) + payload


def encode_stream(message: Any) -> bytes:
    """Stream framing: ``0xbf <varint length>`` + the serialised message."""
    payload: bytes = message.SerializeToString()
    return bytes([MAGIC]) + encode_varint(len(payload)) + payload


def observation_to_mesh(observation: Observation) -> bytes:
    return encode_mesh(observation_to_message(observation))


def observation_to_stream(observation: Observation) -> bytes:
    return encode_stream(observation_to_message(observation))


def track_to_mesh(track: TrackPoint) -> bytes:
    return encode_mesh(track_to_message(track))


def track_to_stream(track: TrackPoint) -> bytes:
    return encode_stream(track_to_message(track))


# -- decoding ---------------------------------------------------------------------------------


def _time(milliseconds: int, name: str) -> datetime:
    try:
        return datetime.fromtimestamp(milliseconds / 1000.0, UTC)
    except (OverflowError, OSError, ValueError):
        raise EventProblem(
            f"cotEvent.{name}",
            _("The field cotEvent.{name} is not a valid time in milliseconds since 1970.").format(
                name=name
            ),
        ) from None


def _coordinate(value: float, name: str, low: float, high: float) -> float:
    if not math.isfinite(value) or not low <= value <= high:
        raise EventProblem(
            f"cotEvent.{name}",
            _("The field cotEvent.{name} must be a finite number from {low} to {high}.").format(
                name=name, low=low, high=high
            ),
        )
    return float(value)


def message_to_event(message: Any) -> CotEvent:
    """The :class:`CotEvent` of a ``TakMessage``; raises :class:`EventProblem`."""
    if not message.HasField("cotEvent"):
        raise EventProblem("cotEvent", _("The TAK message holds no CoT event."))
    cot = message.cotEvent
    uid, kind = check_uid_and_type(cot.uid, cot.type)
    if not cot.sendTime and not cot.startTime:
        raise EventProblem("cotEvent.sendTime", _("The field cotEvent.sendTime is required."))
    time = _time(cot.sendTime or cot.startTime, "sendTime")
    start = _time(cot.startTime, "startTime") if cot.startTime else time
    stale = _time(cot.staleTime, "staleTime") if cot.staleTime else start
    fields: dict[str, Any] = {}
    if cot.HasField("detail"):
        xml_detail: str = cot.detail.xmlDetail
        if xml_detail:
            wrapped = b"<detail>" + xml_detail.encode("utf-8") + b"</detail>"
            fields = detail_fields(parse_xml(wrapped))
        if cot.detail.HasField("contact") and cot.detail.contact.callsign:
            fields["callsign"] = cot.detail.contact.callsign
    return CotEvent(
        uid=uid,
        type=kind,
        how=cot.how,
        time=time,
        start=start,
        stale=stale,
        lat=_coordinate(cot.lat, "lat", -90.0, 90.0),
        lon=_coordinate(cot.lon, "lon", -180.0, 180.0),
        hae=_coordinate(cot.hae, "hae", -1e7, UNKNOWN),
        ce=_coordinate(cot.ce, "ce", 0.0, UNKNOWN),
        le=_coordinate(cot.le, "le", 0.0, UNKNOWN),
        **fields,
    )


def decode_payload(payload: bytes, source: str, record: int, unit: str = "frame") -> Item:
    """A serialised ``TakMessage`` to an observation, a track point or a rejection."""
    raw = raw_hex(payload)
    message = _tak_message()()
    try:
        message.ParseFromString(payload)
    except Exception:  # protobuf raises DecodeError, and others on hostile input
        return Rejection(
            source, record, "", _("The bytes are not a valid TAK protobuf message."), raw, unit
        )
    try:
        event = message_to_event(message)
    except EventProblem as problem:
        return Rejection(source, record, problem.field, problem.reason, raw, unit)
    return event_to_item(event, source, record, raw, unit)


def decode_mesh(datagram: bytes, source: str, record: int = 1) -> Item:
    """One mesh datagram (``0xbf <version> 0xbf <TakMessage>``) to an item."""
    raw = raw_hex(datagram)

    def reject(reason: str) -> Rejection:
        return Rejection(source, record, "", reason, raw, "frame")

    if len(datagram) > MAX_MESSAGE_BYTES + 12:
        return reject(
            _("The datagram is larger than {limit} bytes.").format(limit=MAX_MESSAGE_BYTES)
        )
    if not datagram or datagram[0] != MAGIC:
        return reject(_("The datagram does not start with the TAK magic byte 0xbf."))
    try:
        decoded = decode_varint(datagram, 1)
    except VarintError as error:
        return reject(str(error))
    if decoded is None:
        return reject(_("The datagram ends inside its header."))
    version, pos = decoded
    if version != PROTOCOL_VERSION:
        return reject(
            _("TAK protocol version {version} is not supported (only version 1).").format(
                version=version
            )
        )
    if pos >= len(datagram) or datagram[pos] != MAGIC:
        return reject(_("The datagram's header does not end with the magic byte 0xbf."))
    return decode_payload(datagram[pos + 1 :], source, record)


def parse_mesh(datagrams: Iterable[bytes], source: str) -> Iterator[Item]:
    """Yield an item for each mesh datagram."""
    for number, datagram in enumerate(datagrams, start=1):
        yield decode_mesh(datagram, source, number)


class TakStreamDecoder:
    """Cuts a TAK stream (``0xbf <varint length> <payload>`` ...) into message payloads.

    :meth:`feed` returns complete payloads and :class:`Discarded` entries for bytes thrown
    away: garbage between frames (one entry per stretch), a bad varint, or a length over
    ``max_message_bytes``; after a bad header it resynchronises on the next ``0xbf``.
    """

    def __init__(self, max_message_bytes: int = MAX_MESSAGE_BYTES) -> None:
        self.max_message_bytes = max_message_bytes
        self._buffer = bytearray()
        self._garbage = 0
        self._garbage_head = b""
        self._resyncing = False

    def _skip(self, count: int) -> None:
        if not self._resyncing:
            if not self._garbage:
                self._garbage_head = bytes(self._buffer[:RAW_LIMIT])
            self._garbage += count
        del self._buffer[:count]

    def _flush_garbage(self, out: list[bytes | Discarded]) -> None:
        if self._garbage:
            out.append(
                Discarded(
                    _("{count} bytes between frames are not TAK frames and were discarded.").format(
                        count=self._garbage
                    ),
                    self._garbage_head,
                )
            )
        self._garbage = 0
        self._garbage_head = b""

    def _bad_header(self, out: list[bytes | Discarded], reason: str) -> None:
        self._flush_garbage(out)
        out.append(Discarded(reason, bytes(self._buffer[:RAW_LIMIT])))
        del self._buffer[:1]
        self._resyncing = True

    def feed(self, data: bytes) -> list[bytes | Discarded]:
        out: list[bytes | Discarded] = []
        self._buffer += data
        while self._buffer:
            if self._buffer[0] != MAGIC:
                index = self._buffer.find(bytes([MAGIC]))
                self._skip(len(self._buffer) if index < 0 else index)
                continue
            try:
                decoded = decode_varint(self._buffer, 1)
            except VarintError as error:
                self._bad_header(out, str(error))
                continue
            if decoded is None:
                break
            length, start = decoded
            if length > self.max_message_bytes:
                self._bad_header(
                    out,
                    _("The frame's length {length} is over the limit of {limit} bytes.").format(
                        length=length, limit=self.max_message_bytes
                    ),
                )
                continue
            if len(self._buffer) < start + length:
                break
            self._flush_garbage(out)
            self._resyncing = False
            out.append(bytes(self._buffer[start : start + length]))
            del self._buffer[: start + length]
        return out

    @property
    def buffered(self) -> int:
        """How many bytes are held, waiting for the rest of a frame."""
        return len(self._buffer)

    def close(self) -> list[bytes | Discarded]:
        """What is left at the end of the stream: garbage or a truncated frame."""
        out: list[bytes | Discarded] = []
        self._flush_garbage(out)
        if self._buffer:
            out.append(
                Discarded(
                    _("The stream ended inside a frame ({count} bytes).").format(
                        count=len(self._buffer)
                    ),
                    bytes(self._buffer[:RAW_LIMIT]),
                )
            )
            self._buffer.clear()
        self._resyncing = False
        return out


def parse_stream(
    stream: Stream, source: str, max_message_bytes: int = MAX_MESSAGE_BYTES
) -> Iterator[Item]:
    """Yield an item for each frame of a TAK stream (a binary file or a TCP connection)."""
    decoder = TakStreamDecoder(max_message_bytes)
    return split_stream(stream, decoder, decode_payload, source, raw_hex, "frame")


parse = parse_stream
"""The same name as the other adapters: ``tak.parse(stream, source)`` reads stream framing."""

__all__ = [
    "MAGIC",
    "MAX_MESSAGE_BYTES",
    "PROTOCOL_VERSION",
    "TakStreamDecoder",
    "VarintError",
    "decode_mesh",
    "decode_payload",
    "decode_varint",
    "encode_mesh",
    "encode_stream",
    "encode_varint",
    "event_to_message",
    "message_to_event",
    "observation_to_mesh",
    "observation_to_message",
    "observation_to_stream",
    "parse",
    "parse_mesh",
    "parse_stream",
    "track_to_mesh",
    "track_to_message",
    "track_to_stream",
]
