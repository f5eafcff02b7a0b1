"""Fuzzing at the edges, at a bounded budget (issue 19): coordinates at the poles and the
antimeridian, NaN and infinities, times at the ends of the calendar, invalid UTF-8 and lone
surrogates, through every parser and on into the intake. Nothing may raise; nothing dated in
the future or outside the area may be stored; what is stored must encode.

The budget: 25 examples a test (the same every run); CEASEFIRE_FUZZ_EXAMPLES=N explores more
with fresh examples."""

from __future__ import annotations

import contextlib
import io
import json
import math
import struct
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from observation_strategies import FAST, good_record
from sqlalchemy import Engine, select

from ceasefire.errors import InputError
from ceasefire.ingest.pipeline import Intake
from ceasefire.intake import Rejection, cot, csv_, geojson_, jsonl, klv, tak
from ceasefire.mission import Mission, check_mission
from ceasefire.observations import Observation, PointOfInterest, TrackPoint
from ceasefire.store import open_database
from ceasefire.store.missions import mission_row, save_mission
from ceasefire.store.schema import observations, track_points

ITEMS = (Observation, TrackPoint, PointOfInterest, Rejection)
BUDGET = settings(FAST, max_examples=FAST.max_examples * 5 // 8)

EDGE_LATS = [90.0, -90.0, 89.999999, -89.999999, 0.0, -0.0, 90.0000001, math.nan, math.inf]
EDGE_LONS = [180.0, -180.0, 179.999999, -179.999999, 0.0, 180.0000001, math.nan, -math.inf]
EDGE_TIMES = [
    "0001-01-01T00:00:00Z",
    "0001-01-01T00:00:00+23:59",  # before the calendar's start once in UTC
    "9999-12-31T23:59:59.999999Z",
    "9999-12-31T23:59:59-23:59",  # after its end once in UTC
    "9999-12-31T23:45:00Z",
    "2021-02-29T10:00:00Z",
    "2021-02-01T24:00:00Z",
    "1970-01-01T00:00:00Z",
    "2038-01-19T03:14:08Z",
]
NASTY_TEXT = ["\ud800", "a\udfffb", "\x00", "\u202e", "\ufeff", "é" * 300, "Ω\U0001f600"]

lats = st.one_of(st.sampled_from(EDGE_LATS), st.floats(allow_nan=True, allow_infinity=True))
lons = st.one_of(st.sampled_from(EDGE_LONS), st.floats(allow_nan=True, allow_infinity=True))
times = st.one_of(
    st.sampled_from(EDGE_TIMES),
    st.datetimes(timezones=st.just(UTC)).map(lambda t: t.isoformat()),
)
texts = st.one_of(st.sampled_from(NASTY_TEXT), st.text(max_size=20))


@st.composite
def edge_records(draw: st.DrawFn) -> dict[str, Any]:
    record = good_record()
    record["id"] = draw(st.one_of(st.just("RU-E1"), texts))
    record["location"] = {"lat": draw(lats), "lon": draw(lons), "ce_m": 50}
    record["observed_at"] = draw(times)
    if draw(st.booleans()):
        record["observed_until"] = draw(times)
    record["remarks"] = draw(texts)
    return record


def _json_text(record: dict[str, Any]) -> str:
    return json.dumps(record, allow_nan=True)  # NaN and Infinity as a careless sender writes them


def _csv(record: dict[str, Any]) -> bytes:
    flat = {
        "id": record["id"],
        "contingent": record["contingent"],
        "platform_id": record["platform"]["id"],
        "platform_type": record["platform"]["type"],
        "observed_at": record["observed_at"],
        "lat": repr(record["location"]["lat"]),
        "lon": repr(record["location"]["lon"]),
        "ce_m": "50",
        "category": record["category"],
        "sensed_by": record["sensed_by"],
        "remarks": record["remarks"],
    }
    head = ",".join(flat)
    row = ",".join('"' + str(v).replace('"', '""') + '"' for v in flat.values())
    return (head + "\n" + row + "\n").encode("utf-8", "surrogatepass")


def _cot(record: dict[str, Any]) -> bytes:
    lat, lon = record["location"]["lat"], record["location"]["lon"]
    when = record["observed_at"]
    uid = str(record["id"]).replace('"', "")
    remarks = str(record["remarks"]).replace("<", "").replace("&", "")
    return (
        f'<event version="2.0" uid="RU:{uid}" type="a-n-G" how="m-g" time="{when}" '
        f'start="{when}" stale="{when}"><point lat="{lat}" lon="{lon}" hae="0" ce="50" '
        f'le="9999999"/><detail><remarks>{remarks}</remarks></detail></event>'
    ).encode("utf-8", "surrogatepass")


ENCODINGS = {
    "jsonl": (lambda r: (_json_text(r) + "\n").encode("utf-8", "surrogatepass"), jsonl.parse),
    "geojson": (
        lambda r: json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "geometry": {
                            "type": "Point",
                            "coordinates": [r["location"]["lon"], r["location"]["lat"]],
                        },
                        "properties": {k: v for k, v in r.items() if k != "location"},
                    }
                ],
            },
            allow_nan=True,
        ).encode("utf-8", "surrogatepass"),
        geojson_.parse,
    ),
    "csv": (_csv, csv_.parse),
    "cot": (_cot, cot.parse),
}


@pytest.fixture(scope="module")
def store(demo_mission: Mission, demo_enricher: Any) -> Any:
    # in memory where the machine has it (/dev/shm): each example commits, and what is
    # tested is what gets stored, not how fast the disk syncs
    shm = Path("/dev/shm")
    with tempfile.TemporaryDirectory(dir=shm if shm.is_dir() else None) as folder:
        engine = open_database(f"sqlite:///{folder}/c.db")
        stored, _ = save_mission(engine, demo_mission)
        yield engine, mission_row(engine, stored), demo_enricher
        engine.dispose()


def _check_stored(engine: Engine, mission: Mission) -> None:
    """Nothing stored lies in the future or outside the area, and every record encodes."""
    latest = datetime.now(UTC) + timedelta(seconds=mission.config.intake.clock_tolerance_s)
    lon0, lat0, lon1, lat1 = mission.config.area
    with engine.connect() as db:
        for row in db.execute(select(observations)):
            assert row.observed_at <= latest
            assert lat0 <= row.lat <= lat1 and lon0 <= row.lon <= lon1
            row.record.encode("utf-8")
        for row in db.execute(select(track_points)):
            assert row.time <= latest


@pytest.mark.parametrize("fmt", sorted(ENCODINGS))
@settings(BUDGET)
@given(record=edge_records(), mangle=st.sampled_from(["", "bad-utf8", "truncate"]))
def test_edge_values_through_every_text_parser_into_the_store(
    store: Any, demo_mission: Mission, fmt: str, record: dict[str, Any], mangle: str
) -> None:
    engine, row, enricher = store
    encode, parse = ENCODINGS[fmt]
    data = encode(record)
    if mangle == "bad-utf8":
        data = data.replace(b"RU", b"R\xff\xfeU", 1)
    elif mangle == "truncate":
        data = data[: len(data) * 2 // 3]
    items = list(parse(io.BytesIO(data), "fuzz"))
    assert all(isinstance(item, ITEMS) for item in items)
    intake = Intake(engine, demo_mission, row, enricher, correlate="off", keep_outcomes=True)
    intake.feed(items, "fuzz")
    for outcome in intake.result.outcomes:  # every answer encodes (the API's promise)
        json.dumps(outcome._asdict(), ensure_ascii=False).encode("utf-8")
    _check_stored(engine, demo_mission)


tak_times = st.one_of(  # milliseconds since 1970, a uint64 on the wire
    st.sampled_from([0, 2**63 - 1, 2**64 - 1, 253402300799999, 253402300800000]),
    st.integers(min_value=0, max_value=2**64 - 1),
)


@settings(BUDGET)
@given(
    lat=lats,
    lon=lons,
    when=tak_times,
    uid=texts,
    mesh=st.booleans(),
)
def test_tak_frames_with_edge_values(
    store: Any, demo_mission: Mission, lat: float, lon: float, when: int, uid: str, mesh: bool
) -> None:
    engine, row, enricher = store
    message = tak.observation_to_message(Observation.model_validate(good_record()))
    event = message.cotEvent
    event.lat, event.lon = lat, lon
    event.sendTime = event.startTime = event.staleTime = when
    event.uid = uid.encode("utf-8", "replace").decode("utf-8")
    frame = tak.encode_mesh(message) if mesh else tak.encode_stream(message)
    if mesh:
        items = list(tak.parse_mesh([frame], "fuzz"))
    else:
        items = list(tak.parse_stream(io.BytesIO(frame), "fuzz"))
    assert all(isinstance(item, ITEMS) for item in items)
    Intake(engine, demo_mission, row, enricher, correlate="off").feed(items, "fuzz")
    _check_stored(engine, demo_mission)


@settings(BUDGET)
@given(
    when=st.integers(min_value=0, max_value=2**64 - 1),
    lat=st.integers(min_value=0, max_value=2**32 - 1),
    lon=st.integers(min_value=0, max_value=2**32 - 1),
    sign=st.text(max_size=12),
)
def test_klv_packets_with_edge_values(
    store: Any, demo_mission: Mission, when: int, lat: int, lon: int, sign: str
) -> None:
    """Raw values at their limits, as a broken encoder or a hostile feed sends them (the
    all-ones values are ST 0601's 'out of range'); the checksum is right, so they get in."""
    engine, row, enricher = store
    items = [
        (2, struct.pack(">Q", when)),
        (13, struct.pack(">I", lat)),
        (14, struct.pack(">I", lon)),
        (59, sign.encode("utf-8", "surrogatepass")[:60]),
    ]
    body = b"".join(klv.encode_tag(t) + klv.encode_ber_length(len(v)) + v for t, v in items)
    body += klv.encode_tag(1) + klv.encode_ber_length(2)  # the checksum's own tag and length
    head = klv.UNIVERSAL_KEY + klv.encode_ber_length(len(body) + 2)
    packet = head + body + struct.pack(">H", klv.checksum(head + body))
    parsed = list(klv.parse(io.BytesIO(packet), "fuzz", platform_id="p-1", contingent="RU"))
    assert all(isinstance(item, ITEMS) for item in parsed)
    Intake(engine, demo_mission, row, enricher, correlate="off").feed(parsed, "fuzz")
    _check_stored(engine, demo_mission)


MISSION_EDGES = st.one_of(
    st.sampled_from(
        [
            "period = { start = 9999-12-31T23:59:59-23:59 }",
            "period = { start = 0001-01-01T00:00:00+23:59 }",
            "area = [nan, 39.2, inf, 40.6]",
            "area = [180.0, -90.0, -180.0, 90.0]",
            'timezone = "Asia/\\ud800"',
            'id = "\\udfff"',
            "[intake]\nclock_tolerance_s = nan",
            '[intake]\noutside_area = "maybe"',
            "languages = []",
        ]
    ),
    st.text(max_size=40).map(lambda t: f"id = {json.dumps(t)}"),
)


@settings(BUDGET)
@given(change=MISSION_EDGES)
def test_the_mission_parser_refuses_edges_with_problems_not_crashes(
    tmp_path_factory: pytest.TempPathFactory, change: str
) -> None:
    source = Path(check_mission("karabakh-2020")[0].source)  # type: ignore[union-attr]
    folder = tmp_path_factory.mktemp("mission")
    for path in source.iterdir():
        (folder / path.name).write_bytes(path.read_bytes())
    text = (folder / "mission.toml").read_text()
    key = change.split("=", 1)[0].strip().lstrip("[").split("]")[0]
    lines = [line for line in text.splitlines() if not line.startswith(key + " ")]
    if change.startswith("["):
        lines.append(change)
    else:
        lines.insert(1, change)
    (folder / "mission.toml").write_text("\n".join(lines) + "\n", "utf-8", "surrogatepass")
    # problems are returned; a file refused as a whole (not TOML) raises InputError: a reason,
    # never a crash
    with contextlib.suppress(InputError):
        check_mission(folder)
