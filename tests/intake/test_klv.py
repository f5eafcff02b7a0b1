"""MISB ST 0601 KLV: spec example values, checksum, encoder round trips, corrupt packets."""

from __future__ import annotations

import io
import struct
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from observation_strategies import FAST

from ceasefire.intake import Rejection, klv
from ceasefire.observations import PointOfInterest, TrackPoint

# Item values of the ST 0601 example local set ("Conversions and Mappings" of ST 0601.x).
EXAMPLE_ITEMS = bytes.fromhex(
    "02 08 00 04 59 F4 A6 AA 4A A8"  # precision time stamp 2008-10-24T00:13:29.913Z
    "03 09 4D 49 53 53 49 4F 4E 30 31"  # mission id MISSION01
    "04 06 41 46 2D 31 30 31"  # tail number AF-101
    "0A 05 4D 51 31 2D 42"  # designation MQ1-B
    "0D 04 55 95 B6 6D"  # sensor latitude 60.1768229669783
    "0E 04 5B 53 60 C4"  # sensor longitude 128.426759042045
    "0F 02 C2 21"  # sensor true altitude 14190.72 m
    "17 04 F1 01 A2 29"  # frame centre latitude -10.5423886331461
    "18 04 14 BC 08 2B"  # frame centre longitude 29.157890122923
    "19 02 34 F3"  # frame centre elevation 3216.037 m
    "28 04 8F 69 52 62"  # target latitude -79.1638500518929
    "29 04 76 54 57 F2"  # target longitude 166.400812960416
    "2A 02 F8 23"  # target elevation 18389.05 m
    "2D 02 1A 95"  # target CE90 425.319 m
    "2E 02 26 11"  # target LE90 609.0718 m
    "3B 07 54 4F 50 20 47 55 4E"  # call sign TOP GUN
)


def _packet(items: bytes, fix_checksum: bool = True) -> bytes:
    body = items + b"\x01\x02"
    head = klv.UNIVERSAL_KEY + klv.encode_ber_length(len(body) + 2)
    value = klv.checksum(head + body) if fix_checksum else 0
    return head + body + struct.pack(">H", value)


EXAMPLE = _packet(EXAMPLE_ITEMS)


def test_checksum_matches_the_standards_example() -> None:
    # ST 0601: bytes 060E 2B34 0200 81BB sum to B4FD as 16-bit words
    assert klv.checksum(bytes.fromhex("060E2B34020081BB")) == 0xB4FD


def test_the_standards_example_values() -> None:
    packet = klv.decode_packet(EXAMPLE)
    assert packet.time == datetime(2008, 10, 24, 0, 13, 29, 913000, tzinfo=UTC)
    assert packet.mission_id == "MISSION01"
    assert packet.tail_number == "AF-101"
    assert packet.platform_designation == "MQ1-B"
    assert packet.call_sign == "TOP GUN"
    assert packet.sensor_lat == pytest.approx(60.1768229669783, abs=1e-9)
    assert packet.sensor_lon == pytest.approx(128.426759042045, abs=1e-9)
    assert packet.sensor_alt_m == pytest.approx(14190.72, abs=0.2)
    assert packet.frame_lat == pytest.approx(-10.5423886331461, abs=1e-9)
    assert packet.frame_lon == pytest.approx(29.157890122923, abs=1e-9)
    assert packet.frame_elevation_m == pytest.approx(3216.037, abs=0.2)
    assert packet.target_lat == pytest.approx(-79.1638500518929, abs=1e-9)
    assert packet.target_lon == pytest.approx(166.400812960416, abs=1e-9)
    assert packet.target_elevation_m == pytest.approx(18389.05, abs=0.2)
    # the standard's example values for CE90 / LE90 are two steps (0.125 m) off its bytes
    assert packet.target_ce90_m == pytest.approx(425.319, abs=0.2)
    assert packet.target_le90_m == pytest.approx(609.0718, abs=0.2)


def test_the_encoder_gives_the_standards_bytes() -> None:
    packet = klv.KlvPacket(
        time=datetime(2008, 10, 24, 0, 13, 29, 913000, tzinfo=UTC),
        mission_id="MISSION01",
        tail_number="AF-101",
        platform_designation="MQ1-B",
        sensor_lat=60.1768229669783,
        sensor_lon=128.426759042045,
        sensor_alt_m=14190.72,
        frame_lat=-10.5423886331461,
        frame_lon=29.157890122923,
        frame_elevation_m=3216.037,
        target_lat=-79.1638500518929,
        target_lon=166.400812960416,
        target_elevation_m=18389.05,
        call_sign="TOP GUN",
    )
    encoded = klv.encode_packet(packet)
    without_errors = EXAMPLE_ITEMS.replace(bytes.fromhex("2D021A95 2E022611"), b"")
    assert encoded == _packet(without_errors)


def test_items_of_a_packet() -> None:
    track, frame, target = klv.packet_items(klv.decode_packet(EXAMPLE), contingent="TR")
    assert isinstance(track, TrackPoint) and track.platform_id == "TOP GUN"
    assert track.sortie == "MISSION01" and track.contingent == "TR"
    assert isinstance(frame, PointOfInterest) and frame.kind == "frame_center"
    assert isinstance(target, PointOfInterest) and target.kind == "target"
    assert target.ce_m == pytest.approx(425.2, abs=0.1)
    items = list(klv.parse(io.BytesIO(EXAMPLE), "feed", sortie="TR-S-0107"))
    assert [type(i) for i in items] == [TrackPoint, PointOfInterest, PointOfInterest]
    assert all(getattr(i, "sortie", None) == "TR-S-0107" for i in items)


packets = st.builds(
    klv.KlvPacket,
    time=st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1)).map(
        lambda d: d.replace(tzinfo=UTC)
    ),
    mission_id=st.none() | st.from_regex(r"[A-Z]{2}-S-[0-9]{4}", fullmatch=True),
    call_sign=st.from_regex(r"[A-Za-z0-9][A-Za-z0-9 -]{0,15}", fullmatch=True),
    sensor_lat=st.floats(-90, 90),
    sensor_lon=st.floats(-180, 180),
    sensor_alt_m=st.none() | st.floats(-900, 19000),
    frame_lat=st.none() | st.floats(-90, 90),
    frame_lon=st.none() | st.floats(-180, 180),
    frame_elevation_m=st.none() | st.floats(-900, 19000),
    target_ce90_m=st.none() | st.floats(0, 4095),
    version=st.none() | st.integers(0, 255),
    other=st.lists(
        st.tuples(st.sampled_from([5, 6, 7, 48, 74, 128, 300]), st.binary(max_size=200)),
        max_size=2,
    ).map(tuple),
)


@FAST
@given(packets)
def test_encode_decode(packet: klv.KlvPacket) -> None:
    encoded = klv.encode_packet(packet)
    decoded = klv.decode_packet(encoded)
    assert klv.encode_packet(decoded) == encoded
    assert decoded.time == packet.time and decoded.call_sign == packet.call_sign
    assert decoded.sensor_lat == pytest.approx(packet.sensor_lat, abs=1e-7)
    assert decoded.sensor_lon == pytest.approx(packet.sensor_lon, abs=1e-7)
    if packet.sensor_alt_m is not None:
        assert decoded.sensor_alt_m == pytest.approx(packet.sensor_alt_m, abs=0.16)
    if packet.target_ce90_m is not None:
        assert decoded.target_ce90_m == pytest.approx(packet.target_ce90_m, abs=0.04)
    assert decoded.other == packet.other


GOOD = klv.encode_packet(
    klv.KlvPacket(
        time=datetime(2021, 2, 1, 10, 32, tzinfo=UTC),
        mission_id="TR-S-0107",
        call_sign="TB2-T1",
        sensor_lat=39.91,
        sensor_lon=46.85,
        sensor_alt_m=5200.0,
        frame_lat=39.93,
        frame_lon=46.83,
        frame_elevation_m=450.0,
    )
)
GOOD_ITEMS = klv.packet_items(klv.decode_packet(GOOD))


def _bad_checksum() -> bytes:
    return GOOD[:-2] + struct.pack(">H", (klv.checksum(GOOD[:-2]) + 1) & 0xFFFF)


BAD_PACKETS: list[tuple[bytes, str]] = [
    (_bad_checksum(), "tag 1"),
    (_packet(EXAMPLE_ITEMS, fix_checksum=False), "tag 1"),
    (klv.UNIVERSAL_KEY + b"\x80" + GOOD[17:], "length"),
    (klv.UNIVERSAL_KEY + b"\x89" + GOOD[17:], "length"),
    (klv.UNIVERSAL_KEY + b"\x83\xff\xff\xff" + GOOD[17:], "length"),
    (_packet(bytes.fromhex("02 08 00 04 59 F4 A6 AA 4A A8 0D 03 55 95 B6")), "tag 13"),
    (_packet(bytes.fromhex("0D 04 55 95 B6 6D 0E 04 5B 53 60 C4")), "tag 2"),
    (_packet(bytes.fromhex("02 08 00 04 59 F4 A6 AA 4A A8 3B 01 00")), "tag 59"),
    (_packet(bytes.fromhex("02 08 00 04 59 F4 A6 AA 4A A8 3B 02 FF FE")), "tag 59"),
    (_packet(bytes.fromhex("02 08 00 04 59 F4 A6 AA 4A A8 3B 02 41 42")), "tag 13"),
    (
        _packet(bytes.fromhex("02 08 00 04 59 F4 A6 AA 4A A8 02 08 00 04 59 F4 A6 AA 4A A8")),
        "tag 2",
    ),
    (
        _packet(
            bytes.fromhex(
                "02 08 FF FF FF FF FF FF FF FF 0D 04 55 95 B6 6D 0E 04 5B 53 60 C4 3B 01 41"
            )
        ),
        "tag 2",
    ),
    (_packet(bytes.fromhex("02 08 00 04 59 F4 A6 AA 4A A8 01 02 00 00")), "tag 1"),
    (klv.UNIVERSAL_KEY + b"\x06" + bytes.fromhex("02 08 00 04 59 F4"), "tag 2"),
    (klv.UNIVERSAL_KEY + b"\x04\x3b\x09AB", "tag 59"),
    (klv.UNIVERSAL_KEY + b"\x02\xff\xff", "tag"),
]


@st.composite
def corrupted(draw: st.DrawFn) -> tuple[bytes, str]:
    kind = draw(st.sampled_from(["flip", "cut", "listed", "garbage"]))
    if kind == "flip":
        position = draw(st.integers(0, len(GOOD) - 1))
        flip = draw(st.integers(1, 255))
        data = bytearray(GOOD)
        data[position] ^= flip
        return bytes(data), ""
    if kind == "cut":
        return GOOD[: draw(st.integers(1, len(GOOD) - 1))], ""
    if kind == "garbage":
        return draw(st.binary(min_size=1, max_size=80)), ""
    return draw(st.sampled_from(BAD_PACKETS))


@FAST
@given(st.lists(corrupted(), min_size=30, max_size=40))
def test_corrupt_packets_are_refused_and_the_parser_resynchronises(
    bad: list[tuple[bytes, str]],
) -> None:
    data = GOOD + b"".join(piece + GOOD for piece, _ in bad)
    items = list(klv.parse(io.BytesIO(data), "feed"))
    found = [i for i in items if not isinstance(i, Rejection)]
    rejections = [i for i in items if isinstance(i, Rejection)]
    assert found == GOOD_ITEMS * (len(bad) + 1)
    assert len(rejections) >= len(bad)
    assert all(r.reason and r.unit == "packet" for r in rejections)
    for _piece, field in bad:
        if field:
            assert any(r.field == field for r in rejections), field


def test_each_listed_corruption_names_its_part() -> None:
    for piece, field in BAD_PACKETS:
        items = list(klv.parse(io.BytesIO(piece), "feed"))
        assert items and isinstance(items[0], Rejection), piece
        assert items[0].field == field, (piece.hex(), items[0])


def test_truncated_packet_at_the_end() -> None:
    items = list(klv.parse(io.BytesIO(GOOD + GOOD[:30]), "feed"))
    assert items[:2] == GOOD_ITEMS
    assert isinstance(items[2], Rejection) and "ends inside a packet" in items[2].reason


def test_platform_from_the_feed_when_the_packet_names_none() -> None:
    anonymous = klv.encode_packet(
        klv.KlvPacket(time=datetime(2021, 2, 1, tzinfo=UTC), sensor_lat=39.9, sensor_lon=46.8)
    )
    (refused,) = list(klv.parse(io.BytesIO(anonymous), "feed"))
    assert isinstance(refused, Rejection) and refused.field == "tag 59"
    (track,) = list(klv.parse(io.BytesIO(anonymous), "feed", platform_id="orlan-10-07"))
    assert isinstance(track, TrackPoint) and track.platform_id == "orlan-10-07"


def test_encoder_refuses_values_out_of_range() -> None:
    base = klv.KlvPacket(time=datetime(2021, 2, 1, tzinfo=UTC), call_sign="X")
    for change in (
        {"sensor_lat": 91.0},
        {"sensor_lon": -181.0},
        {"sensor_alt_m": 20000.0},
        {"target_ce90_m": 5000.0},
        {"call_sign": "x" * 128},
        {"time": datetime(1969, 12, 31, tzinfo=UTC)},
    ):
        with pytest.raises(ValueError):
            klv.encode_packet(replace(base, **change))  # type: ignore[arg-type]


def test_memory_stays_bounded_on_garbage() -> None:
    parser = klv.KlvStreamParser("feed")
    for _ in range(100):
        assert parser.feed(b"\x00" * 65536) == []
        assert len(parser._buffer) < 16
    (garbage,) = parser.close()
    assert isinstance(garbage, Rejection) and "6553600 bytes" in garbage.reason
    later = GOOD[:-1] + bytes([GOOD[-1] ^ 1])
    assert klv.KlvStreamParser("f").feed(later + GOOD)[1:] == GOOD_ITEMS
    assert timedelta(0) < GOOD_ITEMS[0].time - datetime(2021, 1, 1, tzinfo=UTC)
