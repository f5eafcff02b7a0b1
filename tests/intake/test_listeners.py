"""CoT listeners on 127.0.0.1, fed by a real TAK client library (pytak), on both databases."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
import warnings
from collections.abc import Awaitable, Callable, Iterable
from configparser import ConfigParser
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest
from sqlalchemy import Engine, func, select

import records
from ceasefire.ingest.listeners import (
    Control,
    CotListeners,
    StreamSession,
    Unreadable,
    decode_datagram,
    serve_cot,
)
from ceasefire.ingest.pipeline import Intake
from ceasefire.intake import cot, tak
from ceasefire.observations import Observation, TrackPoint
from ceasefire.store.schema import observations, track_points

with warnings.catch_warnings():
    # pytak warns at import that its optional aiohttp (for TAK Server enrolment) is missing
    warnings.simplefilter("ignore")
    pytak = pytest.importorskip("pytak")

HOST = "127.0.0.1"
T = TypeVar("T")


def observation(i: int, contingent: str = "RU", **changes: Any) -> Observation:
    return Observation.model_validate(records.explosion(i, contingent, "L", **changes))


def track(i: int) -> TrackPoint:
    return TrackPoint(
        platform_id="orlan-10-07",
        time=datetime(2021, 2, 1, 10, 0, tzinfo=UTC) + timedelta(seconds=i),
        lat=39.9 + i * 1e-4,
        lon=46.8,
        alt_m=1200.0,
        sortie="RU-S-0042",
        contingent="RU",
        platform_type="orlan-10",
    )


def run(coro: Awaitable[T], timeout: float = 20.0) -> T:
    async def bounded() -> T:
        return await asyncio.wait_for(coro, timeout)

    return asyncio.run(bounded())


def count(engine: Engine, table: Any) -> int:
    with engine.connect() as db:
        return int(db.execute(select(func.count()).select_from(table)).scalar_one())


async def until(check: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not await asyncio.to_thread(check):
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the listeners")
        await asyncio.sleep(0.05)


async def send_with_pytak(url: str, events: Iterable[bytes], tak_proto: int, **more: str) -> None:
    """Send events the way a TAK client does: pytak's TXWorker reading from its queue.
    ``more``: further pytak settings (its TLS client certificate, say)."""
    config = ConfigParser()
    config["test"] = {"COT_URL": url, "TAK_PROTO": str(tak_proto), **more}
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    worker = await pytak.txworker_factory(queue, config["test"])
    assert worker.use_protobuf == bool(tak_proto)
    for event in events:
        queue.put_nowait(event)
    try:
        while not queue.empty():
            await worker.run_once()
    finally:
        worker.writer.close()
        if hasattr(worker.writer, "wait_closed"):
            await worker.writer.wait_closed()


# -- over the network --------------------------------------------------------------------------


def test_pytak_over_tcp_xml_and_tak_protocol(
    engine: Engine, make_intake: Callable[[], Intake], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ceasefire.ingest.listeners")

    async def scenario() -> None:
        listeners = await serve_cot(make_intake, HOST, 0, None, tcp_contingent="RU")
        try:
            url = f"tcp://{HOST}:{listeners.tcp_port}"
            xml = [cot.observation_to_cot(observation(i)) for i in range(3)]
            # in another contingent's name: refused, this listener is RU's
            xml.append(cot.observation_to_cot(observation(9, "XX")))
            xml += [cot.track_to_cot(track(i)) for i in range(2)]
            await send_with_pytak(url, xml, tak_proto=0)
            # TAK_PROTO=1: pytak converts each event to protobuf in TAK stream framing
            proto = [cot.observation_to_cot(observation(i)) for i in range(3, 6)]
            proto += [cot.track_to_cot(track(i)) for i in range(10, 12)]
            await send_with_pytak(url, proto, tak_proto=1)
            await until(lambda: count(engine, observations) == 6)
            await until(lambda: count(engine, track_points) == 4)
            assert listeners.stats.refused == 1 and listeners.stats.disconnected == 0
        finally:
            await listeners.close()

    run(scenario())
    assert any("claims XX" in r.getMessage() for r in caplog.records)
    with engine.connect() as db:
        rows = db.execute(select(observations.c.source_id, observations.c.source)).all()
    assert {r.source_id for r in rows} == {f"RU-L{i:05d}" for i in range(6)}
    assert all(r.source.startswith("cot-tcp 127.0.0.1:") for r in rows)


def test_pytak_over_udp_xml_stream_and_mesh(
    engine: Engine, make_intake: Callable[[], Intake]
) -> None:
    async def scenario() -> None:
        listeners = await serve_cot(make_intake, HOST, None, 0, udp_contingent="RU")
        try:
            url = f"udp+wo://{HOST}:{listeners.udp_port}"
            await send_with_pytak(url, [cot.observation_to_cot(observation(1))], tak_proto=0)
            # pytak frames protobuf for a unicast address with stream framing, one per datagram
            await send_with_pytak(url, [cot.observation_to_cot(observation(2))], tak_proto=1)
            # a mesh frame (what goes to 239.2.3.1), passed through pytak as bytes
            mesh = [tak.observation_to_mesh(observation(3)), tak.track_to_mesh(track(1))]
            await send_with_pytak(url, mesh, tak_proto=0)
            await send_with_pytak(url, [b"\x00garbage", b"<event/>"], tak_proto=0)
            await until(lambda: count(engine, observations) == 3 and count(engine, track_points))
            await until(lambda: listeners.stats.refused == 2)
            await send_with_pytak(url, [cot.observation_to_cot(observation(4))], tak_proto=0)
            await until(lambda: count(engine, observations) == 4)
        finally:
            await listeners.close()

    run(scenario())


async def _connect(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection(HOST, port)


async def _closed_by_server(reader: asyncio.StreamReader, timeout: float = 5.0) -> bool:
    try:
        while await asyncio.wait_for(reader.read(65536), timeout):
            pass
    except ConnectionError:
        pass
    return True


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<event version="2.0" uid="x" type="a-u-G" time="2021-02-01T10:32:00Z"><point lat="1" lon="1"/>
<detail><remarks>&lol3;</remarks></detail></event>"""


def test_hostile_tcp_clients_are_refused_and_the_listener_goes_on(
    engine: Engine, make_intake: Callable[[], Intake], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ceasefire.ingest.listeners")

    async def scenario() -> None:
        listeners = await serve_cot(make_intake, HOST, 0, None, tcp_contingent="RU")
        port = listeners.tcp_port
        assert port is not None
        try:
            # billion laughs: refused unexpanded; the same client's next good event is taken
            reader, writer = await _connect(port)
            writer.write(BILLION_LAUGHS + cot.observation_to_cot(observation(1)))
            await writer.drain()
            await until(lambda: count(engine, observations) == 1)
            writer.close()

            # garbage from the first byte: disconnected at once
            reader, writer = await _connect(port)
            writer.write(b"\x00\x01GET / HTTP/1.0\r\n\r\n")
            await writer.drain()
            assert await _closed_by_server(reader)
            writer.close()

            # an event over 256 KiB: disconnected without holding it
            reader, writer = await _connect(port)
            huge = b'<event version="2.0" uid="big" type="a-u-G"><detail><remarks>'
            with contextlib.suppress(ConnectionError):  # the server may hang up mid-send
                writer.write(huge + b"A" * (cot.MAX_EVENT_BYTES + 100_000))
                await writer.drain()
            assert await _closed_by_server(reader)
            writer.close()

            # unreadable events in a row: disconnected after the limit
            reader, writer = await _connect(port)
            writer.write(b"<event><broken></event>" * 10)
            await writer.drain()
            assert await _closed_by_server(reader)
            writer.close()

            # and a good client is served afterwards
            _reader, writer = await _connect(port)
            writer.write(cot.observation_to_cot(observation(2)))
            await writer.drain()
            writer.close()
            await until(lambda: count(engine, observations) == 2)
            assert listeners.stats.disconnected == 3
        finally:
            await listeners.close()

    run(scenario())
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "document type declaration" in logged
    assert "does not start with a CoT event" in logged
    assert "without </event>" in logged
    assert "unreadable events in a row" in logged
    assert logged.count("disconnected") == 3


def test_tak_protocol_negotiation_then_protobuf(
    engine: Engine, make_intake: Callable[[], Intake]
) -> None:
    request = (
        b'<event version="2.0" uid="client" type="t-x-takp-q" how="m-g" '
        b'time="2021-02-01T10:32:00Z" start="2021-02-01T10:32:00Z" '
        b'stale="2021-02-01T10:33:00Z"><point lat="0" lon="0" hae="0" ce="9999999" '
        b'le="9999999"/><detail><TakControl><TakRequest version="1"/></TakControl></detail>'
        b"</event>"
    )

    async def scenario() -> None:
        listeners = await serve_cot(make_intake, HOST, 0, None, tcp_contingent="RU")
        assert listeners.tcp_port is not None
        try:
            reader, writer = await _connect(listeners.tcp_port)
            writer.write(request)
            await writer.drain()
            answer = await asyncio.wait_for(reader.readuntil(b"</event>"), 5)
            assert b'type="t-x-takp-r"' in answer and b'status="true"' in answer
            writer.write(tak.observation_to_stream(observation(7)))
            await writer.drain()
            await until(lambda: count(engine, observations) == 1)
            writer.close()
        finally:
            await listeners.close()

    run(scenario())


def test_a_full_queue_holds_tcp_senders_back_and_loses_nothing(
    engine: Engine, make_intake: Callable[[], Intake]
) -> None:
    lock = threading.Lock()

    async def scenario() -> None:
        listeners = await serve_cot(
            make_intake, HOST, 0, None, queue_size=4, lock=lock, tcp_contingent="RU"
        )
        assert listeners.tcp_port is not None
        try:
            lock.acquire()  # the store is busy (another writer): the queue fills up
            events = b"".join(cot.observation_to_cot(observation(i)) for i in range(300))
            _reader, writer = await _connect(listeners.tcp_port)
            writer.write(events)
            await asyncio.sleep(0.3)
            assert count(engine, observations) == 0
            assert listeners.stats.events < 300  # reading stopped while the queue was full
            lock.release()
            await writer.drain()
            writer.close()
            await until(lambda: count(engine, observations) == 300)
        finally:
            if lock.locked():
                lock.release()
            await listeners.close()

    run(scenario())


# -- decoding without sockets ----------------------------------------------------------------


def test_stream_session_framing_decisions() -> None:
    good = cot.observation_to_cot(observation(1))
    session = StreamSession("s")
    fed = session.feed(b"  \n" + good[:50])
    assert session.mode == "xml" and not fed.items
    fed = session.feed(good[50:])
    assert [type(i) for i, _n in fed.items] == [Observation] and fed.close is None

    tak_session = StreamSession("t")
    fed = tak_session.feed(tak.observation_to_stream(observation(2)) + b"\xbf\xff\xff\xff")
    assert tak_session.mode == "tak" and len(fed.items) == 1
    fed = tak_session.end()
    assert fed.rejections and "ended inside a frame" in fed.rejections[0].reason

    bad = StreamSession("b", max_unreadable=2)
    fed = bad.feed(b"<event>&undefined;</event>")
    assert fed.close is None and len(fed.rejections) == 1
    fed = bad.feed(b"<event><x></event>")
    assert fed.close is not None


def test_control_events_are_not_stored_or_refused() -> None:
    ping = (
        b'<event version="2.0" uid="p" type="t-x-c-t" time="2021-02-01T10:32:00Z">'
        b'<point lat="0" lon="0"/><detail/></event>'
    )
    assert isinstance(decode_datagram(ping, "u", 1), Control)
    fed = StreamSession("s").feed(ping)
    assert not fed.items and not fed.rejections and not fed.replies
    assert isinstance(decode_datagram(b"<event", "u", 2), Unreadable)


def test_listeners_close_cleanly_and_report_ports(make_intake: Callable[[], Intake]) -> None:
    async def scenario() -> CotListeners:
        listeners = await serve_cot(
            make_intake(), HOST, 0, 0, max_clients=1, tcp_contingent="RU", udp_contingent="RU"
        )
        assert listeners.tcp_port and listeners.udp_port
        async with listeners:
            _reader, writer = await _connect(listeners.tcp_port)  # an idle client
            await until(lambda: listeners.stats.connections == 1)
            second, extra = await _connect(listeners.tcp_port)  # one too many
            assert await _closed_by_server(second)
            extra.close()
        writer.close()
        return listeners

    run(scenario(), timeout=10)


def test_the_writer_retries_while_the_database_is_away(
    engine: Engine, make_intake: Callable[[], Intake], caplog: pytest.LogCaptureFixture
) -> None:
    from sqlalchemy.exc import OperationalError

    intake = make_intake()
    flush = intake.flush
    failures = [OperationalError("INSERT", {}, ConnectionError("server closed the connection"))]

    def flaky_flush() -> None:
        if failures:
            raise failures.pop()
        flush()

    intake.flush = flaky_flush  # type: ignore[method-assign]

    async def scenario() -> None:
        async with await serve_cot(intake, HOST, 0, None, tcp_contingent="RU") as listeners:
            assert listeners.tcp_port is not None
            _reader, writer = await _connect(listeners.tcp_port)
            writer.write(cot.observation_to_cot(observation(1)))
            await writer.drain()
            writer.close()
            await until(lambda: count(engine, observations) == 1)

    run(scenario())
    assert any("retrying" in r.getMessage() for r in caplog.records)
