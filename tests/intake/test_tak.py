"""TAK protocol v1: mesh and stream framing, protobuf, malformed frames refused."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from observation_strategies import FAST, GOOD, observations

from ceasefire.intake import Rejection, cot
from ceasefire.observations import Observation, TrackPoint, parse_observation

takproto = pytest.importorskip("takproto")
from ceasefire.intake import tak  # noqa: E402

GOOD_OBSERVATION = parse_observation(GOOD)
GOOD_FRAME = tak.observation_to_stream(GOOD_OBSERVATION)
TRACK = TrackPoint(
    "tb2-t1",
    datetime(2021, 2, 1, 10, 0, 5, 123000, tzinfo=UTC),
    39.91,
    46.85,
    5200.0,
    "TR-S-0107",
    "TR",
    "bayraktar-tb2",
)


@given(st.integers(min_value=0, max_value=2**64 - 1))
@FAST
def test_varint_round_trip(value: int) -> None:
    encoded = tak.encode_varint(value)
    assert tak.decode_varint(encoded) == (value, len(encoded))
    assert tak.decode_varint(encoded[:-1]) is None


def test_bad_varints() -> None:
    with pytest.raises(tak.VarintError):
        tak.decode_varint(b"\xff" * 11)
    with pytest.raises(tak.VarintError):
        tak.decode_varint(b"\xff" * 9 + b"\x7f")  # 70 bits
    with pytest.raises(ValueError):
        tak.encode_varint(-1)


@FAST
@given(observations)
def test_observation_mesh_and_stream_round_trips(observation: Observation) -> None:
    assert tak.decode_mesh(tak.observation_to_mesh(observation), "udp") == observation
    frames = tak.observation_to_stream(observation) * 2
    assert list(tak.parse_stream(io.BytesIO(frames), "tcp")) == [observation] * 2


def test_track_points_both_ways() -> None:
    assert tak.decode_mesh(tak.track_to_mesh(TRACK), "udp") == TRACK
    assert list(tak.parse_stream(io.BytesIO(tak.track_to_stream(TRACK)), "tcp")) == [TRACK]


def test_framing_is_what_takproto_expects() -> None:
    mesh = tak.observation_to_mesh(GOOD_OBSERVATION)
    assert mesh[:3] == b"\xbf\x01\xbf"
    assert takproto.parse_proto(bytearray(mesh)).cotEvent.uid == "RU:RU-0001"
    assert takproto.parse_proto(bytearray(GOOD_FRAME)).cotEvent.uid == "RU:RU-0001"
    # and the other way: takproto's own conversion of our CoT XML
    xml = cot.observation_to_cot(GOOD_OBSERVATION).decode()
    their_mesh = bytes(takproto.xml2proto(xml, takproto.TAKProtoVer.MESH))
    their_stream = bytes(takproto.xml2proto(xml, takproto.TAKProtoVer.STREAM))
    assert tak.decode_mesh(their_mesh, "udp") == GOOD_OBSERVATION
    assert list(tak.parse_stream(io.BytesIO(their_stream), "tcp")) == [GOOD_OBSERVATION]


def test_bad_mesh_datagrams() -> None:
    payload = tak.observation_to_message(GOOD_OBSERVATION).SerializeToString()
    cases = {
        b"": "magic",
        b"\x00\x01\xbf" + payload: "magic",
        b"\xbf\x02\xbf" + payload: "version 2",
        b"\xbf\x01\x00" + payload: "magic byte",
        b"\xbf": "header",
        b"\xbf" + b"\xff" * 12: "10 bytes",
        b"\xbf\x01\xbf\xff\xff\xff": "protobuf",
        b"\xbf\x01\xbf": "no CoT event",
    }
    for datagram, words in cases.items():
        item = tak.decode_mesh(datagram, "udp", 7)
        assert isinstance(item, Rejection) and item.record == 7, datagram
        assert words in item.reason, (datagram, item.reason)


def _message(**changes: object) -> bytes:
    message = tak.observation_to_message(GOOD_OBSERVATION)
    for name, value in changes.items():
        if name == "xmlDetail":
            message.cotEvent.detail.xmlDetail = value
        elif name == "clear":
            message.ClearField("cotEvent")
        else:
            setattr(message.cotEvent, name, value)
    payload: bytes = message.SerializeToString()
    return b"\xbf" + tak.encode_varint(len(payload)) + payload


BAD_FRAMES: list[tuple[bytes, str]] = [
    (b"\xbf" + b"\xff" * 11, "10 bytes"),
    (b"\xbf\xff\xff\xff\x7f", "over the limit"),
    (b"\xbf\x06" + b"\x08\x96\x01\xff\xff\xff", "protobuf"),
    (_message(clear=True), "no CoT event"),
    (_message(lat=91.0), "cotEvent.lat"),
    (_message(lon=float("nan")), "cotEvent.lon"),
    (_message(uid=""), "uid"),
    (_message(type="a-h-G"), "affiliation"),
    (_message(uid="TR:RU-0001"), "uid"),
    (_message(sendTime=0, startTime=0), "sendTime"),
    (_message(sendTime=2**63, startTime=2**63), "milliseconds"),
    (_message(xmlDetail='<!DOCTYPE x [<!ENTITY a "b">]><remarks>&a;</remarks>'), "well-formed"),
    (_message(xmlDetail="<remarks>&a;</remarks>"), "well-formed"),
    (_message(xmlDetail="<a>" * 100 + "</a>" * 100), "deeper"),
    (_message(xmlDetail="<ceasefire v='1'>{broken</ceasefire>"), "JSON"),
    (_message(xmlDetail="<unclosed>"), "well-formed"),
]

bad_frames = st.one_of(
    st.sampled_from(BAD_FRAMES),
    st.binary(min_size=1, max_size=40).map(lambda b: (b.replace(b"\xbf", b"\x00"), "")),
    st.binary(min_size=1, max_size=40).map(lambda b: (b"\xbf" + tak.encode_varint(len(b)) + b, "")),
)


@FAST
@given(st.lists(bad_frames, min_size=30, max_size=40))
def test_malformed_frames_are_refused_and_good_ones_kept(bad: list[tuple[bytes, str]]) -> None:
    data = GOOD_FRAME + b"".join(piece + GOOD_FRAME for piece, _ in bad)
    items = list(tak.parse_stream(io.BytesIO(data), "tcp"))
    found = [i for i in items if not isinstance(i, Rejection)]
    rejections = [i for i in items if isinstance(i, Rejection)]
    assert found == [GOOD_OBSERVATION] * (len(bad) + 1)
    assert len(rejections) >= len(bad)
    assert all(r.reason and r.unit == "frame" for r in rejections)
    for _piece, words in bad:
        if words:
            assert any(words in r.reason or words in r.field for r in rejections), words


def test_truncated_frame_at_the_end_and_memory_bound() -> None:
    data = GOOD_FRAME + GOOD_FRAME[:-5]
    items = list(tak.parse_stream(io.BytesIO(data), "tcp"))
    assert items[0] == GOOD_OBSERVATION
    assert isinstance(items[1], Rejection) and "ended inside a frame" in items[1].reason
    decoder = tak.TakStreamDecoder(max_message_bytes=1000)
    out = decoder.feed(b"\xbf" + tak.encode_varint(900) + b"x" * 100)
    assert out == []  # waiting for the rest, which is within the limit
    out = decoder.feed(b"\xbf" + tak.encode_varint(5000))
    assert out == []
    garbage = decoder.feed(b"\x00" * 1_000_000)  # no magic byte: nothing is kept
    assert garbage == [b"x" * 100 + b"\xbf" + tak.encode_varint(5000) + b"\x00" * 797]
    assert decoder.buffered == 0
    (rest,) = decoder.close()
    assert "bytes between frames" in rest.reason  # type: ignore[union-attr]
