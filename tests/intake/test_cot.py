"""CoT XML: the mapping both ways, hostile XML refused, malformed events refused, streams."""

from __future__ import annotations

import io
import re
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from intake_mutations import NUMBERED, mutated
from observation_strategies import FAST, GOOD, good_record, observations

from ceasefire.intake import Rejection, cot
from ceasefire.observations import Observation, TrackPoint, parse_observation
from ceasefire.observations.taxonomy import CATEGORIES

GOOD_OBSERVATION = parse_observation(GOOD)
GOOD_EVENT = cot.observation_to_cot(GOOD_OBSERVATION)
TRACK = TrackPoint(
    "orlan-10-07",
    datetime(2021, 2, 1, 10, 0, 5, tzinfo=UTC),
    39.91,
    46.85,
    2100.0,
    "RU-S-0042",
    "RU",
    "orlan-10",
)


def test_mapping_of_the_design_example() -> None:
    text = GOOD_EVENT.decode()
    assert 'uid="RU:RU-0001"' in text
    assert 'type="a-u-G-E-W"' in text
    assert 'how="m-i"' in text
    assert 'time="2021-02-01T10:32:00Z"' in text and 'stale="2021-02-02T10:32:00Z"' in text
    assert 'lat="39.93"' in text and 'ce="50.0"' in text and 'hae="9999999"' in text
    assert '<ceasefire v="1">' in text


def test_every_type_is_neutral_or_unknown_and_every_category_has_one() -> None:
    assert set(cot.CATEGORY_TYPES) == set(CATEGORIES)
    for kind in [*cot.CATEGORY_TYPES.values(), *cot.HEAVY_WEAPON_TYPES.values()]:
        assert re.match(r"^a-[nu]-[AG](-|$)", kind), kind
    heavy = parse_observation(
        good_record(category="movement_heavy_weapon", qualifiers={"weapon": "mlrs"})
    )
    assert cot.cot_type(heavy) == "a-u-G-E-W-X"


def test_bearing_reports_are_calculated() -> None:
    record = good_record(
        observer={"lat": 39.94, "lon": 46.79},
        bearing_deg=110.0,
        distance_m=[2000, 4000],
        sensed_by="post",
    )
    del record["location"]
    observation = parse_observation(record)
    event = cot.observation_to_event(observation)
    assert event.how == "h-c"
    assert (event.lat, event.lon, event.ce) == (
        observation.point().lat,
        observation.point().lon,
        observation.point().ce_m,
    )
    assert cot.parse_event(cot.event_to_xml(event), "s") == observation


@FAST
@given(observations)
def test_observation_cot_observation(observation: Observation) -> None:
    assert cot.parse_event(cot.observation_to_cot(observation), "rt") == observation


@FAST
@given(st.lists(observations, min_size=1, max_size=6))
def test_stream_of_events_with_odd_chunking(found: list[Observation]) -> None:
    data = b"\n".join(cot.observation_to_cot(o) for o in found) + b"\n"

    class Trickle(io.RawIOBase):
        def __init__(self) -> None:
            self.data = data

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
            n = min(len(buffer), 7, len(self.data))
            buffer[:n] = self.data[:n]
            self.data = self.data[n:]
            return n

    assert list(cot.parse(Trickle(), "tcp")) == found  # type: ignore[arg-type]


def test_track_points_both_ways() -> None:
    assert cot.parse_event(cot.track_to_cot(TRACK), "t") == TRACK
    foreign = (
        b'<event version="2.0" uid="ANY-123" type="a-u-A-M-F-Q" how="m-g" '
        b'time="2021-02-01T10:00:00.1234567Z" start="2021-02-01T10:00:00Z" '
        b'stale="2021-02-01T10:01:00Z"><point lat="39.9" lon="46.8" hae="9999999" ce="10" '
        b'le="9999999"/><detail><contact callsign="TB2-T1"/></detail></event>'
    )
    item = cot.parse_event(foreign, "t")
    assert item == TrackPoint("TB2-T1", datetime(2021, 2, 1, 10, tzinfo=UTC), 39.9, 46.8)
    missile = cot.parse_event(foreign.replace(b"a-u-A-M-F-Q", b"a-u-A-W-M"), "t")
    assert isinstance(missile, Rejection) and missile.field == "type"
    hostile = cot.parse_event(foreign.replace(b"a-u-A-M-F-Q", b"a-h-A-M-F-Q"), "t")
    assert isinstance(hostile, Rejection) and "affiliation 'h'" in hostile.reason


# -- hostile XML --------------------------------------------------------------------------------

BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
        for i in range(1, 10)
    )
    + b']><event uid="x" type="a-u-G" time="2021-02-01T10:00:00Z"><point lat="1" lon="1"/>'
    b"<detail><remarks>&lol9;</remarks></detail></event>"
)
QUADRATIC = (
    b'<?xml version="1.0"?><!DOCTYPE e [<!ENTITY a "'
    + b"a" * 100_000
    + b'">]><event>'
    + b"&a;" * 2000
    + b"</event>"
)
PARAMETER_ENTITY = (
    b'<?xml version="1.0"?><!DOCTYPE e [<!ENTITY % p SYSTEM "http://127.0.0.1:9/x.dtd"> %p;]>'
    b"<event/>"
)
EXTERNAL_DTD = b'<?xml version="1.0"?><!DOCTYPE event SYSTEM "http://127.0.0.1:9/cot.dtd"><event/>'
DEEP = b"<event>" + b"<a>" * 10_000 + b"</a>" * 10_000 + b"</event>"


def _external_entity(path: Path) -> bytes:
    return (
        b'<?xml version="1.0"?><!DOCTYPE event [<!ENTITY xxe SYSTEM "file://'
        + str(path).encode()
        + b'">]><event uid="x" type="a-u-G" time="2021-02-01T10:00:00Z">'
        b'<point lat="1" lon="1"/><detail><remarks>&xxe;</remarks></detail></event>'
    )


def test_hostile_xml_is_refused_quickly_without_expanding_anything(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    hostile = {
        "billion laughs": BILLION_LAUGHS,
        "quadratic blowup": QUADRATIC,
        "parameter entity": PARAMETER_ENTITY,
        "external DTD": EXTERNAL_DTD,
        "external entity": _external_entity(secret),
        "10,000-deep nesting": DEEP,
        "oversized": b"<event>" + b"<a/>" * 70_000 + b"</event>",
    }
    for name, document in hostile.items():
        started = time.perf_counter()
        item = cot.parse_event(document, "hostile")
        assert time.perf_counter() - started < 1.0, name
        assert isinstance(item, Rejection), name
        assert "TOP-SECRET" not in item.reason + item.raw
        if name == "10,000-deep nesting":
            assert "deeper than 16 levels" in item.reason
        elif name == "oversized":
            assert "larger than" in item.reason
        else:
            assert "document type declaration" in item.reason, (name, item.reason)
            assert "Forbidden" in item.reason


def test_hostile_xml_in_a_stream_does_not_stop_it(tmp_path: Path) -> None:
    hostile = [BILLION_LAUGHS, QUADRATIC, _external_entity(tmp_path / "x"), DEEP, EXTERNAL_DTD]
    data = GOOD_EVENT + b"".join(h + GOOD_EVENT for h in hostile)
    items = list(cot.parse(io.BytesIO(data), "tcp"))
    assert [i for i in items if isinstance(i, Observation)] == [GOOD_OBSERVATION] * 6
    rejections = [i for i in items if isinstance(i, Rejection)]
    assert len(rejections) == len(hostile)
    assert all(r.unit == "event" and r.reason for r in rejections)


def test_garbage_without_end_tag_does_not_grow_memory() -> None:
    splitter = cot.CotStreamSplitter()
    chunk = b"<event>" + b"z" * 65_536
    found: list[object] = []
    for _ in range(200):  # 13 MB without </event>
        found += splitter.feed(chunk)
        assert splitter.buffered <= cot.MAX_EVENT_BYTES + len(chunk)
    found += splitter.feed(GOOD_EVENT)
    found += splitter.close()
    assert len(found) == 2
    assert "without </event>" in found[0].reason  # type: ignore[attr-defined]
    assert cot.parse_event(found[1], "x") == GOOD_OBSERVATION  # type: ignore[arg-type]


# -- malformed events ---------------------------------------------------------------------------


def _replace(find: bytes, replace: bytes) -> bytes:
    assert find in GOOD_EVENT
    return GOOD_EVENT.replace(find, replace, 1)


EVENT_MUTATIONS: list[tuple[bytes, str]] = [
    (_replace(b'lat="39.93"', b'lat="91"'), "point.lat"),
    (_replace(b'lat="39.93"', b'lat="NaN"'), "point.lat"),
    (_replace(b'lat="39.93"', b'lat="x"'), "point.lat"),
    (_replace(b'lon="46.83"', b'lon="-190"'), "point.lon"),
    (_replace(b'lat="39.93"', b'lat="39.94"'), "point"),
    (_replace(b' lat="39.93"', b""), "point.lat"),
    (_replace(b'ce="50.0"', b'ce="-1"'), "point.ce"),
    (_replace(b'hae="9999999"', b'hae="inf"'), "point.hae"),
    (_replace(b'time="2021-02-01T10:32:00Z"', b'time="yesterday"'), "time"),
    (_replace(b'time="2021-02-01T10:32:00Z"', b'time="2021-02-01T10:32:00"'), "time"),
    (_replace(b' time="2021-02-01T10:32:00Z"', b""), "time"),
    (_replace(b'uid="RU:RU-0001"', b'uid="TR:RU-0001"'), "uid"),
    (_replace(b'uid="RU:RU-0001"', b'uid=""'), "uid"),
    (_replace(b'type="a-u-G-E-W"', b'type="a-h-G-E-W"'), "type"),
    (_replace(b'type="a-u-G-E-W"', b'type="a-f-G-E-W"'), "type"),
    (_replace(b'type="a-u-G-E-W"', b'type="b-m-p-s-m"'), "type"),
    (_replace(b'type="a-u-G-E-W"', b'type="a u"'), "type"),
    (_replace(b'<ceasefire v="1">', b'<ceasefire v="2">'), "detail.ceasefire"),
    (_replace(b'<ceasefire v="1">', b'<ceasefire v="1">x'), "detail.ceasefire"),
    (_replace(b"</ceasefire>", b'</ceasefire><ceasefire v="1">{}</ceasefire>'), "detail.ceasefire"),
    (re.sub(rb"<point[^>]*/>", b"", GOOD_EVENT), "point"),
    (GOOD_EVENT.replace(b"<event ", b"<evnt ").replace(b"</event>", b"</evnt>"), ""),
    (_replace(b"<detail>", b"<detail><unclosed>"), ""),
    (_replace(b"</event>", b"</event><event/>"), ""),
    (b"\x00\x01\x02 not xml", ""),
    (b"", ""),
    (re.sub(rb"<ceasefire v=.*</ceasefire>", b"", GOOD_EVENT), "type"),
]


def _detail_mutation(field: str, value: object) -> tuple[bytes, str]:
    record = mutated(field, value)
    text = GOOD_EVENT.decode()
    start = text.index('<ceasefire v="1">') + len('<ceasefire v="1">')
    end = text.index("</ceasefire>")
    import json
    from xml.sax.saxutils import escape

    body = escape(json.dumps(record, ensure_ascii=False))
    return (text[:start] + body + text[end:]).encode("utf-8", "surrogatepass"), (
        "detail.ceasefire." + field
    )


bad_events = st.one_of(
    st.sampled_from(EVENT_MUTATIONS),
    st.sampled_from(NUMBERED).map(lambda fv: _detail_mutation(*fv)),
    st.integers(1, len(GOOD_EVENT) - 1).map(lambda k: (GOOD_EVENT[:k], "")),
    st.binary(min_size=1, max_size=60).map(lambda b: (b, "")),
)


@FAST
@given(st.lists(bad_events, min_size=30, max_size=40))
def test_malformed_events_are_refused_with_a_reason(bad: list[tuple[bytes, str]]) -> None:
    for number, (data, field) in enumerate(bad, start=1):
        item = cot.parse_event(data, "e.cot", number)
        assert isinstance(item, Rejection), (data, field)
        assert item.record == number and item.reason and item.unit == "event"
        if field:
            assert item.field == field, (item, field)


@FAST
@given(
    st.lists(bad_events.filter(lambda c: not c[0].startswith(GOOD_EVENT)), min_size=30, max_size=40)
)
def test_malformed_events_in_a_stream_leave_good_ones_alone(bad: list[tuple[bytes, str]]) -> None:
    pieces = [GOOD_EVENT]
    for data, _field in bad:
        pieces += [data, GOOD_EVENT]
    items = list(cot.parse(io.BytesIO(b"\n".join(pieces)), "tcp"))
    found = [i for i in items if isinstance(i, Observation)]
    rejections = [i for i in items if isinstance(i, Rejection)]
    assert len(found) == len(bad) + 1
    assert all(o == GOOD_OBSERVATION for o in found)
    # one rejection for each bad piece (a blank one is only white space between events)
    assert len(rejections) == sum(1 for data, _ in bad if data.strip())
    assert all(r.reason for r in rejections)


@pytest.mark.parametrize("size", [1, 2, 3, 8, 100])
def test_end_tag_split_across_reads(size: int) -> None:
    splitter = cot.CotStreamSplitter()
    data = GOOD_EVENT * 3
    out: list[object] = []
    for offset in range(0, len(data), size):
        out += splitter.feed(data[offset : offset + size])
    out += splitter.close()
    assert out == [GOOD_EVENT] * 3


def test_an_unknown_encoding_in_the_xml_declaration_is_a_rejection() -> None:
    """Found by atheris (tools/fuzz.py cot): expat's LookupError escaped the parser."""
    data = b'<?xml version="1.0" encoding="UTF-9"?><event version="2.0"></event>'
    [item] = list(cot.parse(io.BytesIO(data), "fuzz"))
    assert isinstance(item, Rejection) and "UTF-9" in item.reason
