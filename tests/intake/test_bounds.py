"""Times and places bounded at intake, on every path: a record dated in the future or placed
outside the area of operations is refused with the field named (issues 18 and 19)."""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

import records
from ceasefire.ingest.pipeline import Intake
from ceasefire.intake import cot, csv_, geojson_, jsonl, klv, tak
from ceasefire.mission import Mission
from ceasefire.observations import Observation
from ceasefire.store.missions import mission_row, save_mission
from ceasefire.store.schema import observations, track_points


def observation(**changes: Any) -> Observation:
    return Observation.model_validate(records.explosion(1, "RU", "B", 0.0, **changes))


def _text(write: Callable[[list[Observation], io.StringIO], int]) -> Callable[..., bytes]:
    def encode(records: list[Observation]) -> bytes:
        out = io.StringIO()
        write(records, out)
        return out.getvalue().encode()

    return encode


def _each(encode: Callable[[Observation], bytes]) -> Callable[..., bytes]:
    return lambda records: b"".join(encode(r) for r in records)


# Every file and stream format that carries observations: encoded, then parsed back.
FORMATS: dict[str, tuple[Callable[[list[Observation]], bytes], Callable[..., Iterator[Any]]]] = {
    "jsonl": (_text(jsonl.write), jsonl.parse),
    "csv": (_text(csv_.write), csv_.parse),
    "geojson": (_text(geojson_.write), geojson_.parse),
    "cot": (_each(cot.observation_to_cot), cot.parse),
    "tak": (_each(tak.observation_to_stream), tak.parse_stream),
}

NOW = datetime.now(UTC).replace(microsecond=0)
IN_AN_HOUR = NOW + timedelta(hours=1)
LAST_HALF_HOUR = "9999-12-31T23:45:00Z"  # the poison record of issue 19


def _intake(engine: Engine, mission: Mission) -> Intake:
    stored, _ = save_mission(engine, mission)
    return Intake(engine, mission, mission_row(engine, stored), keep_outcomes=True)


def _stored(engine: Engine, table: Any = observations) -> int:
    with engine.connect() as db:
        return int(db.execute(select(func.count()).select_from(table)).scalar_one())


CASES = {
    "far future": (dict(observed_at=LAST_HALF_HOUR), "observed_at", "future"),
    "an hour ahead": (dict(observed_at=IN_AN_HOUR.isoformat()), "observed_at", "future"),
    "ends in the future": (
        dict(observed_at=NOW.isoformat(), observed_until=IN_AN_HOUR.isoformat()),
        "observed_until",
        "future",
    ),
    "lat and lon swapped": (
        dict(location={"lat": 46.83, "lon": 39.93, "ce_m": 50}),
        "location",
        "area of operations",
    ),
    "10 N 10 E": (dict(location={"lat": 10.0, "lon": 10.0, "ce_m": 50}), "location", "area"),
}


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_every_file_format_refuses_future_and_out_of_area_records(
    engine: Engine, demo_mission: Mission, fmt: str
) -> None:
    encode, parse = FORMATS[fmt]
    names = sorted(CASES)
    bad = [observation(id=f"RU-B{i:05d}", **CASES[name][0]) for i, name in enumerate(names)]
    good = observation(id="RU-GOOD", observed_at=NOW.isoformat())  # now: within the clock
    data = encode([*bad, good])
    result = _intake(engine, demo_mission).feed(parse(io.BytesIO(data), "f"), "f")
    assert (result.accepted, result.rejected) == (1, len(bad)), result.outcomes
    refused = sorted((o for o in result.outcomes if o.status == "rejected"), key=lambda o: o.record)
    for name, outcome in zip(names, refused, strict=True):
        _changes, field, words = CASES[name]
        if (fmt, name) == ("tak", "far future"):
            # TAK's stale time (a day later) is past the calendar: the frame is refused for it
            assert outcome.field == "cotEvent.staleTime"
            continue
        assert outcome.id == f"RU-B{names.index(name):05d}", outcome
        assert outcome.field == field, outcome
        assert words in outcome.reason, outcome
    assert _stored(engine) == 1


def test_a_small_clock_drift_is_tolerated(engine: Engine, demo_mission: Mission) -> None:
    soon = NOW + timedelta(seconds=60)
    result = _intake(engine, demo_mission).feed([observation(observed_at=soon.isoformat())], "f")
    assert result.accepted == 1


def test_the_area_can_be_a_warning_instead(engine: Engine, demo_mission: Mission) -> None:
    config = demo_mission.config.model_copy(
        update={"intake": demo_mission.config.intake.model_copy(update={"outside_area": "warn"})}
    )
    warned = dataclasses.replace(demo_mission, config=config)
    far = observation(location={"lat": 10.0, "lon": 10.0, "ce_m": 50})
    result = _intake(engine, warned).feed([far], "f")
    assert (result.accepted, result.warnings) == (1, 1)
    assert "area of operations" in result.outcomes[0].warning
    assert result.outcomes[0].warning.startswith("location: ")


def test_future_drone_track_points_are_refused(engine: Engine, demo_mission: Mission) -> None:
    packets = [
        klv.encode_packet(klv.KlvPacket(time=moment, sensor_lat=39.9, sensor_lon=46.8))
        for moment in (NOW - timedelta(minutes=1), IN_AN_HOUR)
    ]
    stream = io.BytesIO(b"".join(packets))
    items = klv.parse(stream, "f.klv", platform_id="orlan-10-07", contingent="RU")
    result = _intake(engine, demo_mission).feed(items, "f.klv")
    assert (result.track_points, result.rejected) == (1, 1)
    assert result.outcomes[0].field == "time" and "future" in result.outcomes[0].reason
    assert _stored(engine, track_points) == 1


def test_ingest_refuses_the_poison_record_and_exits_cleanly(
    cli: Any, tmp_path: Any, database_url: str
) -> None:
    path = tmp_path / "poison.jsonl"
    path.write_bytes(
        _text(jsonl.write)([observation(observed_at=LAST_HALF_HOUR), observation(id="RU-B00002")])
    )
    done = cli("ingest", str(path), "--db", database_url, "--json")
    assert done.code == 0, done.err
    assert done.json()["accepted"] == 1 and done.json()["rejected"] == 1
    rejected = (tmp_path / "poison.jsonl.rejected.jsonl").read_text()
    assert '"field": "observed_at"' in rejected and "future" in rejected


def test_where_warns_outside_the_area(cli: Any) -> None:
    done = cli("where", "10", "10", "--at", "2021-02-01T10:00:00Z")
    assert done.code == 0
    assert "outside the mission's area of operations" in done.err


def test_one_udp_datagram_cannot_poison_the_center(
    engine: Engine, demo_mission: Mission, caplog: pytest.LogCaptureFixture
) -> None:
    """The issue's unauthenticated path: one CoT datagram dated at the calendar's end."""
    import asyncio
    import logging
    import socket
    import time

    from ceasefire.ingest.listeners import serve_cot

    caplog.set_level(logging.INFO, logger="ceasefire.ingest.listeners")
    poison = cot.observation_to_cot(observation(observed_at=LAST_HALF_HOUR))
    good = cot.observation_to_cot(observation(id="RU-B00002"))

    async def scenario() -> None:
        listeners = await serve_cot(
            lambda: _intake(engine, demo_mission), "127.0.0.1", None, 0, udp_contingent="RU"
        )
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
                for datagram in (poison, good):
                    sender.sendto(datagram, ("127.0.0.1", listeners.udp_port))
            deadline = time.monotonic() + 20
            while await asyncio.to_thread(_stored, engine) < 1:
                assert time.monotonic() < deadline, "the good datagram was not stored"
                await asyncio.sleep(0.05)
            await listeners.drain()
        finally:
            await listeners.close()

    asyncio.run(scenario())
    assert _stored(engine) == 1
    assert any(
        "RU-B00001" in r.getMessage() and "observed_at" in r.getMessage() for r in caplog.records
    )
