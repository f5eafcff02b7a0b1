"""MISB ST 0601 UAS Datalink Local Set (KLV): drone position and sensor aim, and an encoder.

A packet is the 16-byte universal key ``06 0E 2B 34 02 0B 01 01 0E 01 03 01 01 00 00 00``, a
BER length (short form, or long form ``0x81``-``0x88``) and items of BER-OID tag, BER length and
value. The last item must be the checksum (tag 1, 2 bytes): the low 16 bits of the sum of the
packet's bytes taken as big-endian 16-bit words (even offsets high, odd offsets low), from the
first byte of the key up to and including the checksum item's length byte. It is always
verified; a packet whose checksum does not match is refused.

========  =========================  ======================================================
tag       item                       mapping (ST 0601)
========  =========================  ======================================================
1         checksum                   uint16, see above
2         precision time stamp       uint64, microseconds since 1970-01-01 UTC
3         mission id                 text (used as the sortie unless one is given)
4         platform tail number       text
10        platform designation       text (e.g. ``MQ1-B``)
13, 14    sensor latitude/longitude  int32 mapped to +-90 / +-180 degrees
                                     (-2**31 = error: taken as absent)
15        sensor true altitude       uint16 mapped to -900..19000 m (MSL)
23, 24    frame centre lat/lon       as 13, 14
25        frame centre elevation     as 15
40, 41    target location lat/lon    as 13, 14
42        target location elevation  as 15
45, 46    target error CE90 / LE90   uint16 mapped to 0..4095 m
59        platform call sign         text
65        UAS LS version number      uint8
========  =========================  ======================================================

Other tags are kept as raw bytes (:attr:`KlvPacket.other`) and written back by the encoder.
Each good packet yields a :class:`~ceasefire.observations.TrackPoint` (the platform, from tags
13-15) and a :class:`~ceasefire.observations.PointOfInterest` for the frame centre (23-25) and,
if present, for the target location (40-42, with CE90/LE90 from 45/46). The platform id is the
call sign (59), else the tail number (4), else the designation (10), else the ``platform_id``
given to :func:`parse`.

Bad checksums, bad lengths, truncated packets and items that do not fit become a
:class:`Rejection`; the parser then resynchronises on the next universal key, also one found
inside the refused packet, so a corrupted length does not swallow the packets after it.
Bytes that are not part of any packet are reported once per stretch. Memory stays below
:data:`MAX_PACKET_BYTES` plus one piece of input. (KLV inside an MPEG transport stream must be
demultiplexed first; this module reads the KLV bytes.)
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ceasefire.i18n import _
from ceasefire.intake._common import CHUNK, Stream, read_chunks
from ceasefire.intake.errors import Rejection, raw_hex
from ceasefire.observations.track import PointOfInterest, TrackPoint

UNIVERSAL_KEY = bytes.fromhex("060E2B34020B01010E01030101000000")
MAX_PACKET_BYTES = 64 * 1024
RAW_BYTES = 64
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

TAG_CHECKSUM = 1
TAG_TIME = 2
TAG_MISSION_ID = 3
TAG_TAIL_NUMBER = 4
TAG_DESIGNATION = 10
TAG_SENSOR_LAT = 13
TAG_SENSOR_LON = 14
TAG_SENSOR_ALT = 15
TAG_FRAME_LAT = 23
TAG_FRAME_LON = 24
TAG_FRAME_ELEVATION = 25
TAG_TARGET_LAT = 40
TAG_TARGET_LON = 41
TAG_TARGET_ELEVATION = 42
TAG_TARGET_CE90 = 45
TAG_TARGET_LE90 = 46
TAG_CALL_SIGN = 59
TAG_VERSION = 65

_INT32_MAX = 2**31 - 1
_INT32_ERROR = -(2**31)
_ALTITUDE_MIN, _ALTITUDE_SPAN = -900.0, 19900.0
_ERROR_SPAN = 4095.0


class KlvError(ValueError):
    """A packet cannot be read: the tag (``tag 13``) or part at fault, and why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class KlvPacket:
    """The items of one ST 0601 packet that this program uses (values in SI units)."""

    time: datetime
    mission_id: str | None = None
    tail_number: str | None = None
    platform_designation: str | None = None
    call_sign: str | None = None
    sensor_lat: float | None = None
    sensor_lon: float | None = None
    sensor_alt_m: float | None = None
    frame_lat: float | None = None
    frame_lon: float | None = None
    frame_elevation_m: float | None = None
    target_lat: float | None = None
    target_lon: float | None = None
    target_elevation_m: float | None = None
    target_ce90_m: float | None = None
    target_le90_m: float | None = None
    version: int | None = None
    other: tuple[tuple[int, bytes], ...] = ()
    """Items of other tags, as (tag, value bytes), in packet order."""


# -- primitives ---------------------------------------------------------------------------------


def checksum(data: bytes | bytearray) -> int:
    """ST 0601 checksum: 16-bit running sum of big-endian words (even bytes high)."""
    return ((sum(data[0::2]) << 8) + sum(data[1::2])) & 0xFFFF


def encode_ber_length(length: int) -> bytes:
    """BER length: one byte below 128, else ``0x80 | n`` and n big-endian bytes."""
    if length < 0:
        raise ValueError("negative length")
    if length < 128:
        return bytes([length])
    body = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def decode_ber_length(data: bytes | bytearray, pos: int) -> tuple[int, int] | None:
    """``(length, position after it)``, None if ``data`` ends inside it; raises KlvError."""
    if pos >= len(data):
        return None
    first = data[pos]
    if first < 0x80:
        return first, pos + 1
    count = first & 0x7F
    if count == 0 or count > 8:
        raise KlvError(
            "length", _("The BER length byte 0x{byte:02x} is not allowed.").format(byte=first)
        )
    if pos + 1 + count > len(data):
        return None
    return int.from_bytes(data[pos + 1 : pos + 1 + count], "big"), pos + 1 + count


def encode_tag(tag: int) -> bytes:
    """BER-OID tag: base-128, high bit set on every byte but the last."""
    if tag < 1:
        raise ValueError("tags start at 1")
    out = [tag & 0x7F]
    tag >>= 7
    while tag:
        out.append(0x80 | (tag & 0x7F))
        tag >>= 7
    return bytes(reversed(out))


def _decode_tag(data: bytes, pos: int, end: int) -> tuple[int, int]:
    tag = 0
    for count in range(4):
        if pos + count >= end:
            break
        byte = data[pos + count]
        tag = (tag << 7) | (byte & 0x7F)
        if not byte & 0x80:
            return tag, pos + count + 1
    raise KlvError("tag", _("An item's tag is cut off or longer than 4 bytes."))


def _lat_bytes(degrees: float, limit: float) -> bytes:
    if not -limit <= degrees <= limit:
        raise ValueError(f"{degrees} is outside +-{limit}")
    return struct.pack(">i", round(degrees / limit * _INT32_MAX))


def _lat_value(raw: bytes, limit: float) -> float | None:
    value = int.from_bytes(raw, "big", signed=True)
    if value == _INT32_ERROR:
        return None
    return value * limit / _INT32_MAX


def _lat90_bytes(degrees: float) -> bytes:
    return _lat_bytes(degrees, 90.0)


def _lon180_bytes(degrees: float) -> bytes:
    return _lat_bytes(degrees, 180.0)


def _text_bytes(text: str) -> bytes:
    raw = text.encode("utf-8")
    if not 1 <= len(raw) <= 127:
        raise ValueError(f"text {text!r} must be 1 to 127 bytes")
    return raw


def _byte(value: int) -> bytes:
    return bytes([value])


def _altitude_bytes(metres: float) -> bytes:
    scaled = round((metres - _ALTITUDE_MIN) * 65535 / _ALTITUDE_SPAN)
    if not 0 <= scaled <= 65535:
        raise ValueError(f"altitude {metres} m is outside -900..19000")
    return struct.pack(">H", scaled)


def _altitude_value(raw: bytes) -> float:
    return int.from_bytes(raw, "big") * _ALTITUDE_SPAN / 65535 + _ALTITUDE_MIN


def _error_bytes(metres: float) -> bytes:
    scaled = round(metres * 65535 / _ERROR_SPAN)
    if not 0 <= scaled <= 65535:
        raise ValueError(f"error {metres} m is outside 0..4095")
    return struct.pack(">H", scaled)


def _error_value(raw: bytes) -> float:
    return int.from_bytes(raw, "big") * _ERROR_SPAN / 65535


def _text(raw: bytes, tag: int) -> str:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise KlvError(
            f"tag {tag}", _("The text of tag {tag} is not valid UTF-8.").format(tag=tag)
        ) from None
    if not text.strip() or any(ord(c) < 32 for c in text):
        raise KlvError(
            f"tag {tag}",
            _("The text of tag {tag} is empty or holds control characters.").format(tag=tag),
        )
    return text


_LENGTHS = {
    TAG_TIME: 8,
    TAG_SENSOR_LAT: 4,
    TAG_SENSOR_LON: 4,
    TAG_SENSOR_ALT: 2,
    TAG_FRAME_LAT: 4,
    TAG_FRAME_LON: 4,
    TAG_FRAME_ELEVATION: 2,
    TAG_TARGET_LAT: 4,
    TAG_TARGET_LON: 4,
    TAG_TARGET_ELEVATION: 2,
    TAG_TARGET_CE90: 2,
    TAG_TARGET_LE90: 2,
    TAG_VERSION: 1,
}
_TEXT_TAGS = {TAG_MISSION_ID, TAG_TAIL_NUMBER, TAG_DESIGNATION, TAG_CALL_SIGN}


# -- packets ------------------------------------------------------------------------------------


def encode_packet(packet: KlvPacket) -> bytes:
    """The bytes of an ST 0601 packet: key, BER length, items (time first), checksum last.

    Raises ``ValueError`` for a value outside its mapping's range.
    """
    micros = (packet.time - EPOCH) // timedelta(microseconds=1)
    if not 0 <= micros < 2**64:
        raise ValueError("time before 1970")
    items: list[tuple[int, bytes]] = [(TAG_TIME, struct.pack(">Q", micros))]
    fields: list[tuple[int, object, Callable[[Any], bytes]]] = [
        (TAG_MISSION_ID, packet.mission_id, _text_bytes),
        (TAG_TAIL_NUMBER, packet.tail_number, _text_bytes),
        (TAG_DESIGNATION, packet.platform_designation, _text_bytes),
        (TAG_SENSOR_LAT, packet.sensor_lat, _lat90_bytes),
        (TAG_SENSOR_LON, packet.sensor_lon, _lon180_bytes),
        (TAG_SENSOR_ALT, packet.sensor_alt_m, _altitude_bytes),
        (TAG_FRAME_LAT, packet.frame_lat, _lat90_bytes),
        (TAG_FRAME_LON, packet.frame_lon, _lon180_bytes),
        (TAG_FRAME_ELEVATION, packet.frame_elevation_m, _altitude_bytes),
        (TAG_TARGET_LAT, packet.target_lat, _lat90_bytes),
        (TAG_TARGET_LON, packet.target_lon, _lon180_bytes),
        (TAG_TARGET_ELEVATION, packet.target_elevation_m, _altitude_bytes),
        (TAG_TARGET_CE90, packet.target_ce90_m, _error_bytes),
        (TAG_TARGET_LE90, packet.target_le90_m, _error_bytes),
        (TAG_CALL_SIGN, packet.call_sign, _text_bytes),
        (TAG_VERSION, packet.version, _byte),
    ]
    for tag, value, encode in fields:
        if value is not None:
            items.append((tag, encode(value)))
    items.extend(packet.other)
    body = b"".join(encode_tag(t) + encode_ber_length(len(v)) + v for t, v in items)
    body += encode_tag(TAG_CHECKSUM) + encode_ber_length(2)
    head = UNIVERSAL_KEY + encode_ber_length(len(body) + 2)
    return head + body + struct.pack(">H", checksum(head + body))


def decode_packet(data: bytes) -> KlvPacket:
    """Read one whole packet (key to checksum); raises :class:`KlvError` naming the part."""
    if not data.startswith(UNIVERSAL_KEY):
        raise KlvError("key", _("The packet does not start with the ST 0601 universal key."))
    decoded = decode_ber_length(data, len(UNIVERSAL_KEY))
    if decoded is None:
        raise KlvError("length", _("The packet ends inside its length."))
    length, start = decoded
    end = start + length
    if end != len(data):
        raise KlvError(
            "length",
            _("The packet's length says {length} bytes but {actual} follow.").format(
                length=length, actual=len(data) - start
            ),
        )
    items: list[tuple[int, int, int]] = []  # tag, value start, value end
    pos = start
    while pos < end:
        tag, pos = _decode_tag(data, pos, end)
        item_length = decode_ber_length(data, pos)
        if item_length is None:
            raise KlvError(f"tag {tag}", _("The length of tag {tag} is cut off.").format(tag=tag))
        size, pos = item_length
        if pos + size > end:
            raise KlvError(
                f"tag {tag}",
                _("The value of tag {tag} ({size} bytes) runs past the end of the packet.").format(
                    tag=tag, size=size
                ),
            )
        items.append((tag, pos, pos + size))
        pos += size
    if not items or items[-1][0] != TAG_CHECKSUM or items[-1][2] - items[-1][1] != 2:
        raise KlvError("tag 1", _("The packet must end with the checksum item (tag 1, 2 bytes)."))
    checksum_start = items[-1][1]
    (stated,) = struct.unpack(">H", data[checksum_start : checksum_start + 2])
    computed = checksum(data[:checksum_start])
    if stated != computed:
        raise KlvError(
            "tag 1",
            _("The checksum is 0x{stated:04x} but the packet sums to 0x{computed:04x}.").format(
                stated=stated, computed=computed
            ),
        )
    return _packet_from_items(data, items[:-1])


def _packet_from_items(data: bytes, items: list[tuple[int, int, int]]) -> KlvPacket:
    values: dict[str, Any] = {}
    other: list[tuple[int, bytes]] = []
    seen: set[int] = set()
    for tag, begin, finish in items:
        raw = data[begin:finish]
        if tag == TAG_CHECKSUM:
            raise KlvError("tag 1", _("The checksum item must be the last item, and only once."))
        if tag in _LENGTHS or tag in _TEXT_TAGS:
            if tag in seen:
                raise KlvError(f"tag {tag}", _("Tag {tag} appears twice.").format(tag=tag))
            seen.add(tag)
        expected = _LENGTHS.get(tag)
        if expected is not None and len(raw) != expected:
            raise KlvError(
                f"tag {tag}",
                _("Tag {tag} must be {expected} bytes long, not {actual}.").format(
                    tag=tag, expected=expected, actual=len(raw)
                ),
            )
        if tag == TAG_TIME:
            (micros,) = struct.unpack(">Q", raw)
            try:
                values["time"] = EPOCH + timedelta(microseconds=micros)
            except OverflowError:
                raise KlvError("tag 2", _("The time stamp (tag 2) is out of range.")) from None
        elif tag in _TEXT_TAGS:
            if not 1 <= len(raw) <= 127:
                raise KlvError(
                    f"tag {tag}", _("Tag {tag} must hold 1 to 127 bytes.").format(tag=tag)
                )
            name = {
                TAG_MISSION_ID: "mission_id",
                TAG_TAIL_NUMBER: "tail_number",
                TAG_DESIGNATION: "platform_designation",
                TAG_CALL_SIGN: "call_sign",
            }[tag]
            values[name] = _text(raw, tag)
        elif tag in (TAG_SENSOR_LAT, TAG_FRAME_LAT, TAG_TARGET_LAT):
            name = {TAG_SENSOR_LAT: "sensor_lat", TAG_FRAME_LAT: "frame_lat"}.get(tag, "target_lat")
            values[name] = _lat_value(raw, 90.0)
        elif tag in (TAG_SENSOR_LON, TAG_FRAME_LON, TAG_TARGET_LON):
            name = {TAG_SENSOR_LON: "sensor_lon", TAG_FRAME_LON: "frame_lon"}.get(tag, "target_lon")
            values[name] = _lat_value(raw, 180.0)
        elif tag in (TAG_SENSOR_ALT, TAG_FRAME_ELEVATION, TAG_TARGET_ELEVATION):
            name = {
                TAG_SENSOR_ALT: "sensor_alt_m",
                TAG_FRAME_ELEVATION: "frame_elevation_m",
            }.get(tag, "target_elevation_m")
            values[name] = _altitude_value(raw)
        elif tag == TAG_TARGET_CE90:
            values["target_ce90_m"] = _error_value(raw)
        elif tag == TAG_TARGET_LE90:
            values["target_le90_m"] = _error_value(raw)
        elif tag == TAG_VERSION:
            values["version"] = raw[0]
        else:
            other.append((tag, raw))
    time = values.pop("time", None)
    if not isinstance(time, datetime):
        raise KlvError("tag 2", _("The packet has no precision time stamp (tag 2)."))
    return KlvPacket(time=time, other=tuple(other), **values)


def packet_items(
    packet: KlvPacket,
    platform_id: str | None = None,
    sortie: str | None = None,
    contingent: str | None = None,
    platform_type: str | None = None,
) -> list[TrackPoint | PointOfInterest]:
    """The track point and points of interest of a packet; raises :class:`KlvError`."""
    platform = packet.call_sign or packet.tail_number or packet.platform_designation or platform_id
    if not platform:
        raise KlvError(
            "tag 59",
            _(
                "The packet names no platform: no call sign (tag 59), tail number (tag 4) or "
                "designation (tag 10), and none was given for this feed."
            ),
        )
    sortie = sortie or packet.mission_id
    out: list[TrackPoint | PointOfInterest] = []
    if packet.sensor_lat is not None and packet.sensor_lon is not None:
        out.append(
            TrackPoint(
                platform_id=platform,
                time=packet.time,
                lat=packet.sensor_lat,
                lon=packet.sensor_lon,
                alt_m=packet.sensor_alt_m,
                sortie=sortie,
                contingent=contingent,
                platform_type=platform_type,
            )
        )
    if packet.frame_lat is not None and packet.frame_lon is not None:
        out.append(
            PointOfInterest(
                kind="frame_center",
                platform_id=platform,
                time=packet.time,
                lat=packet.frame_lat,
                lon=packet.frame_lon,
                elevation_m=packet.frame_elevation_m,
                sortie=sortie,
            )
        )
    if packet.target_lat is not None and packet.target_lon is not None:
        out.append(
            PointOfInterest(
                kind="target",
                platform_id=platform,
                time=packet.time,
                lat=packet.target_lat,
                lon=packet.target_lon,
                elevation_m=packet.target_elevation_m,
                ce_m=packet.target_ce90_m,
                le_m=packet.target_le90_m,
                sortie=sortie,
            )
        )
    if not out:
        raise KlvError(
            "tag 13",
            _(
                "The packet has no position: neither sensor latitude and longitude "
                "(tags 13, 14) nor frame centre (tags 23, 24)."
            ),
        )
    return out


# -- streams ------------------------------------------------------------------------------------


class KlvStreamParser:
    """Finds and reads packets in a byte stream; see :func:`parse`."""

    def __init__(
        self,
        source: str,
        platform_id: str | None = None,
        sortie: str | None = None,
        contingent: str | None = None,
        platform_type: str | None = None,
        max_packet_bytes: int = MAX_PACKET_BYTES,
    ) -> None:
        self.source = source
        self.platform_id = platform_id
        self.sortie = sortie
        self.contingent = contingent
        self.platform_type = platform_type
        self.max_packet_bytes = max_packet_bytes
        self.number = 0
        self._buffer = bytearray()
        self._garbage = 0
        self._garbage_head = b""
        self._resyncing = False

    def _reject(self, field: str, reason: str, raw: bytes) -> Rejection:
        self.number += 1
        return Rejection(self.source, self.number, field, reason, raw_hex(raw), "packet")

    def _skip(self, count: int) -> None:
        if count <= 0:
            return
        if not self._resyncing:
            if not self._garbage:
                self._garbage_head = bytes(self._buffer[:RAW_BYTES])
            self._garbage += count
        del self._buffer[:count]

    def _flush_garbage(self, out: list[TrackPoint | PointOfInterest | Rejection]) -> None:
        if self._garbage:
            out.append(
                self._reject(
                    "",
                    _("{count} bytes are not part of an ST 0601 packet and were skipped.").format(
                        count=self._garbage
                    ),
                    self._garbage_head,
                )
            )
        self._garbage = 0
        self._garbage_head = b""

    def feed(self, data: bytes) -> list[TrackPoint | PointOfInterest | Rejection]:
        """Items for every packet completed by ``data``."""
        self._buffer += data
        return self._process(final=False)

    def close(self) -> list[TrackPoint | PointOfInterest | Rejection]:
        """Items for what is left at the end of the stream (truncated packets, garbage)."""
        out = self._process(final=True)
        if self._buffer:
            self._skip(len(self._buffer))
        self._flush_garbage(out)
        self._resyncing = False
        return out

    def _process(self, final: bool) -> list[TrackPoint | PointOfInterest | Rejection]:
        out: list[TrackPoint | PointOfInterest | Rejection] = []
        key_length = len(UNIVERSAL_KEY)
        while True:
            index = self._buffer.find(UNIVERSAL_KEY)
            if index < 0:
                keep = 0 if final else key_length - 1
                self._skip(len(self._buffer) - keep)
                return out
            self._skip(index)
            try:
                decoded = decode_ber_length(self._buffer, key_length)
            except KlvError as error:
                self._bad(out, error, bytes(self._buffer[: key_length + 9]))
                continue
            if decoded is None:
                if final:
                    self._truncated(out)
                    continue
                return out
            length, start = decoded
            total = start + length
            if total > self.max_packet_bytes:
                self._bad(
                    out,
                    KlvError(
                        "length",
                        _(
                            "The packet's length {length} is over the limit of {limit} bytes."
                        ).format(length=length, limit=self.max_packet_bytes),
                    ),
                    bytes(self._buffer[:start]),
                )
                continue
            if len(self._buffer) < total:
                if final:
                    self._truncated(out)
                    continue
                return out
            packet = bytes(self._buffer[:total])
            try:
                items = packet_items(
                    decode_packet(packet),
                    self.platform_id,
                    self.sortie,
                    self.contingent,
                    self.platform_type,
                )
            except KlvError as error:
                self._bad(out, error, packet)
                continue
            except ValueError as error:  # a value the record types refuse (kept as a guard)
                self._bad(out, KlvError("", str(error)), packet)
                continue
            self._flush_garbage(out)
            self._resyncing = False
            del self._buffer[:total]
            self.number += 1
            out.extend(items)

    def _bad(
        self, out: list[TrackPoint | PointOfInterest | Rejection], error: KlvError, raw: bytes
    ) -> None:
        """Refuse the packet at the buffer's start and resynchronise on the next key."""
        self._flush_garbage(out)
        out.append(self._reject(error.field, error.reason, raw))
        del self._buffer[:1]  # the next key may lie inside the refused packet
        self._resyncing = True

    def _truncated(self, out: list[TrackPoint | PointOfInterest | Rejection]) -> None:
        self._bad(
            out,
            KlvError(
                "length",
                _("The stream ends inside a packet ({count} bytes).").format(
                    count=len(self._buffer)
                ),
            ),
            bytes(self._buffer),
        )


def parse(
    stream: Stream,
    source: str,
    platform_id: str | None = None,
    sortie: str | None = None,
    contingent: str | None = None,
    platform_type: str | None = None,
    max_packet_bytes: int = MAX_PACKET_BYTES,
) -> Iterator[TrackPoint | PointOfInterest | Rejection]:
    """Yield the track points and points of interest of every packet in a KLV byte stream,
    and a :class:`Rejection` for each refused packet or stretch of other bytes.

    ``platform_id``, ``sortie``, ``contingent`` and ``platform_type`` describe the feed when
    the packets do not (a call sign in tag 59 wins over ``platform_id``; ``sortie`` wins over
    the mission id in tag 3).
    """
    parser = KlvStreamParser(
        source, platform_id, sortie, contingent, platform_type, max_packet_bytes
    )
    for chunk in read_chunks(stream, CHUNK):
        yield from parser.feed(chunk)
    yield from parser.close()


__all__ = [
    "MAX_PACKET_BYTES",
    "UNIVERSAL_KEY",
    "KlvError",
    "KlvPacket",
    "KlvStreamParser",
    "checksum",
    "decode_ber_length",
    "decode_packet",
    "encode_ber_length",
    "encode_packet",
    "encode_tag",
    "packet_items",
    "parse",
]
