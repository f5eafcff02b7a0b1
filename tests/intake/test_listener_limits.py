"""The CoT listener under a flood: time-outs, a budget per address and per contingent,
refusals at connect time (issue 19, finding 4). Loopback addresses stand for the contingents'
ground stations."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from test_cot_senders import certificates

import records
from ceasefire.ingest.listeners import serve_cot
from ceasefire.ingest.pipeline import Intake
from ceasefire.ingest.tls import server_context
from ceasefire.intake import cot
from ceasefire.observations import Observation
from ceasefire.store.schema import observations

RU_STATION, TR_STATION = "127.0.0.1", "127.0.0.2"


def event(i: int, contingent: str) -> bytes:
    return cot.observation_to_cot(Observation.model_validate(records.explosion(i, contingent, "F")))


def stored(engine: Engine) -> int:
    with engine.connect() as db:
        return int(db.execute(select(func.count()).select_from(observations)).scalar_one())


async def connect(port: int, source: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))


async def closed(reader: asyncio.StreamReader, within: float = 10.0) -> bool:
    """Whether the server ends the connection (EOF or reset) within ``within`` seconds."""
    try:
        while await asyncio.wait_for(reader.read(1024), within):
            pass
    except ConnectionError:
        return True
    except TimeoutError:
        return False
    return True


def test_a_flood_from_one_station_does_not_shut_out_the_other(
    engine: Engine, make_intake: Callable[[], Intake], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ceasefire.ingest.listeners")

    async def scenario() -> None:
        listeners = await serve_cot(
            make_intake,
            "127.0.0.1",
            0,
            None,
            max_clients=40,
            max_per_address=8,
            tcp_contingent="RU",
        )
        port = listeners.tcp_port
        assert port is not None
        flood = []
        try:
            # TR's station (or whoever holds its address) opens 30 connections and sits idle
            for _ in range(30):
                flood.append(await connect(port, TR_STATION))
            refused = [await closed(reader, 2.0) for reader, _w in flood[8:]]
            assert all(refused), "connections beyond the budget were not refused"
            # RU's station still gets in, and what it sends is stored
            _reader, writer = await connect(port, RU_STATION)
            writer.write(b"".join(event(i, "RU") for i in range(5)))
            await writer.drain()
            for _ in range(400):
                if await asyncio.to_thread(stored, engine) == 5:
                    break
                await asyncio.sleep(0.05)
            writer.close()
            assert listeners.stats.refused_connections == 22
        finally:
            for _r, w in flood:
                w.close()
            await listeners.close()

    asyncio.run(scenario())
    assert stored(engine) == 5
    assert sum("127.0.0.2 already holds 8 connections" in r.getMessage() for r in caplog.records)


def test_idle_and_trickling_clients_are_disconnected(
    engine: Engine, make_intake: Callable[[], Intake], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ceasefire.ingest.listeners")

    async def scenario() -> None:
        listeners = await serve_cot(
            make_intake,
            "127.0.0.1",
            0,
            None,
            idle_timeout=1.0,
            event_timeout=2.0,
            tcp_contingent="RU",
        )
        port = listeners.tcp_port
        assert port is not None
        try:
            idle, idle_writer = await connect(port, RU_STATION)
            assert await closed(idle, 10.0)
            idle_writer.close()
            trickle, writer = await connect(port, RU_STATION)
            whole = event(1, "RU")

            async def one_byte_at_a_time() -> None:
                for i in range(len(whole)):
                    writer.write(whole[i : i + 1])
                    await writer.drain()
                    await asyncio.sleep(0.1)  # ~1,000 bytes at 10 a second: 100 s

            sending = asyncio.create_task(one_byte_at_a_time())
            assert await closed(trickle, 20.0)
            sending.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await sending
            writer.close()
            # a client that keeps its events coming is not disturbed by either limit
            reader, steady = await connect(port, RU_STATION)
            for i in range(4):
                if i:
                    await asyncio.sleep(0.2)
                steady.write(event(10 + i, "RU"))
                await steady.drain()
            assert not await closed(reader, 0.1)
            steady.close()
            await listeners.drain()
        finally:
            await listeners.close()

    asyncio.run(scenario())
    messages = [r.getMessage() for r in caplog.records]
    assert any("idle for 1 s" in m for m in messages)
    assert any("an event was not complete within 2 s" in m for m in messages)
    assert stored(engine) == 4


def test_a_contingents_flood_from_many_addresses_leaves_the_other_its_share(
    engine: Engine,
    make_intake: Callable[[], Intake],
    cli: Any,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Over TLS each connection is its certificate's contingent's: TR's stations, from five
    addresses each within the per-address budget, open as many connections as the listener
    takes in all; TR holds its share and no more, and RU still connects and is stored."""
    caplog.set_level(logging.INFO, logger="ceasefire.ingest.listeners")
    certs = certificates(cli, tmp_path)

    def client_context(who: str) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(certs / "ca.pem"))
        context.load_cert_chain(certs / f"{who}.pem", certs / f"{who}.key")
        return context

    async def scenario() -> None:
        listeners = await serve_cot(
            make_intake,
            "127.0.0.1",
            None,
            None,
            tls_port=0,
            tls=server_context(certs),
            max_clients=40,
            max_per_address=8,
            max_per_contingent=16,
        )
        port = listeners.tls_port
        assert port is not None
        flood = []
        try:
            for station in range(5):
                for _ in range(8):
                    flood.append(
                        await asyncio.open_connection(
                            "127.0.0.1",
                            port,
                            ssl=client_context("TR"),
                            local_addr=(f"127.0.0.{2 + station}", 0),
                        )
                    )
            # the connections that stay open each wait the full 2 s: wait for all at once
            ended = await asyncio.gather(*(closed(reader, 2.0) for reader, _w in flood))
            assert ended.count(False) == 16 and listeners.stats.refused_connections == 24
            _reader, writer = await asyncio.open_connection(
                "127.0.0.1", port, ssl=client_context("RU"), local_addr=(RU_STATION, 0)
            )
            writer.write(b"".join(event(i, "RU") for i in range(5)))
            await writer.drain()
            for _ in range(400):
                if await asyncio.to_thread(stored, engine) == 5:
                    break
                await asyncio.sleep(0.05)
            writer.close()
        finally:
            for _r, w in flood:
                w.close()
            await listeners.close()

    asyncio.run(scenario())
    assert stored(engine) == 5
    assert sum("TR already holds 16 connections" in r.getMessage() for r in caplog.records)
