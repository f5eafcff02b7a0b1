"""CoT proves its sender as HTTP does: over TLS (pytak with a client certificate issued by
`ceasefire certs issue`) every event is the certificate's contingent's, and plain TCP and UDP
listeners bound to one contingent refuse events claiming the other; drone positions without a
contingent are the connection's."""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from test_listeners import HOST, count, observation, run, send_with_pytak, track, until

from ceasefire.ingest.listeners import serve_cot
from ceasefire.ingest.pipeline import Intake
from ceasefire.ingest.tls import server_context
from ceasefire.intake import cot
from ceasefire.store.schema import observations, track_points


def certificates(cli: Any, tmp_path: Path) -> Path:
    """The documented commands: the authority and listener, then one client per contingent."""
    certs = tmp_path / "certs"
    assert cli("certs", "init", "--dir", str(certs)).code == 0
    for contingent in ("RU", "TR"):
        made = cli("certs", "issue", contingent, "--dir", str(certs))
        assert made.code == 0, made.err
    assert cli("certs", "issue", "XX", "--dir", str(certs)).code == 1
    assert oct((certs / "RU.key").stat().st_mode & 0o777) == "0o600"
    return certs


async def send_over_tls(url: str, events: Iterable[bytes], certs: Path, who: str) -> None:
    """pytak as a TAK client with its certificate, over tls://."""
    await send_with_pytak(
        url,
        events,
        0,
        PYTAK_TLS_CLIENT_CERT=str(certs / f"{who}.pem"),
        PYTAK_TLS_CLIENT_KEY=str(certs / f"{who}.key"),
        PYTAK_TLS_CLIENT_CAFILE=str(certs / "ca.pem"),
    )


def stored(engine: Engine) -> set[tuple[str, str]]:
    with engine.connect() as db:
        rows = db.execute(select(observations.c.contingent, observations.c.source)).all()
    return {(r.contingent, r.source.split(" ")[0]) for r in rows}


# pytak's own TLS context sets options Python deprecates (OP_NO_TLSv1): its warning, not ours.
@pytest.mark.filterwarnings("ignore:ssl.OP_NO_SSL:DeprecationWarning")
def test_pytak_over_tls_sends_for_its_certificates_contingent(
    engine: Engine, make_intake: Callable[[], Intake], cli: Any, tmp_path: Path
) -> None:
    certs = certificates(cli, tmp_path)
    stock = replace(track(1), contingent=None)  # a stock TAK client's drone: no contingent

    async def scenario() -> None:
        listeners = await serve_cot(
            make_intake, HOST, None, None, tls_port=0, tls=server_context(certs)
        )
        try:
            url = f"tls://{HOST}:{listeners.tls_port}"
            await send_over_tls(
                url,
                [
                    cot.observation_to_cot(observation(1, "RU")),
                    cot.observation_to_cot(observation(2, "TR")),  # TR's name, RU's certificate
                    cot.track_to_cot(stock),
                ],
                certs,
                "RU",
            )
            await send_over_tls(url, [cot.observation_to_cot(observation(3, "TR"))], certs, "TR")
            await until(lambda: count(engine, observations) == 2)
            await until(lambda: count(engine, track_points) == 1)
            # A client without a certificate gets no connection at all.
            context = ssl.create_default_context(cafile=str(certs / "ca.pem"))
            try:
                _reader, writer = await asyncio.open_connection(
                    HOST, listeners.tls_port, ssl=context
                )
                writer.write(cot.observation_to_cot(observation(4, "RU")))
                await writer.drain()
                await asyncio.sleep(0.3)
                writer.close()
            except (ssl.SSLError, ConnectionError):
                pass
            await listeners.drain()
            assert listeners.stats.refused == 1 and listeners.stats.connections == 2
        finally:
            await listeners.close()

    run(scenario())
    assert stored(engine) == {("RU", "cot-tls"), ("TR", "cot-tls")}
    with engine.connect() as db:
        assert db.execute(select(track_points.c.contingent)).scalars().all() == ["RU"]


def test_plain_listeners_bound_to_a_contingent_refuse_the_other(
    engine: Engine, make_intake: Callable[[], Intake]
) -> None:
    async def scenario() -> None:
        listeners = await serve_cot(
            make_intake, HOST, 0, 0, tcp_contingent="RU", udp_contingent="TR"
        )
        try:
            tcp = f"tcp://{HOST}:{listeners.tcp_port}"
            claims = [cot.observation_to_cot(observation(i, c)) for i, c in ((1, "RU"), (2, "TR"))]
            await send_with_pytak(
                tcp, [*claims, cot.track_to_cot(replace(track(1), contingent=None))], 0
            )
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
                for i, contingent in ((3, "RU"), (4, "TR")):
                    event = cot.observation_to_cot(observation(i, contingent))
                    sender.sendto(event, (HOST, listeners.udp_port))
            await until(lambda: count(engine, observations) == 2)
            await until(lambda: count(engine, track_points) == 1)
            await listeners.drain()
            assert listeners.stats.refused == 2
        finally:
            await listeners.close()

    run(scenario())
    with engine.connect() as db:
        rows = db.execute(select(observations.c.source_id)).scalars().all()
        assert sorted(rows) == ["RU-L00001", "TR-L00004"]
        assert db.execute(select(track_points.c.contingent)).scalars().all() == ["RU"]


def test_unbound_listeners_let_no_sender_claim_a_contingent(
    engine: Engine, make_intake: Callable[[], Intake]
) -> None:
    """Nothing proves who sends to a plain listener bound to no contingent: an event in RU's
    name is refused as one in TR's is (over TCP and UDP alike); a drone position in nobody's
    name is stored as nobody's."""

    async def scenario() -> None:
        listeners = await serve_cot(make_intake, HOST, 0, 0)
        try:
            tcp = f"tcp://{HOST}:{listeners.tcp_port}"
            claims = [cot.observation_to_cot(observation(i, c)) for i, c in ((1, "RU"), (2, "TR"))]
            claims.append(cot.track_to_cot(track(1)))  # a drone position in RU's name
            await send_with_pytak(
                tcp, [*claims, cot.track_to_cot(replace(track(2), contingent=None))], 0
            )
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
                for i, contingent in ((3, "RU"), (4, "TR")):
                    event = cot.observation_to_cot(observation(i, contingent))
                    sender.sendto(event, (HOST, listeners.udp_port))
            await until(lambda: listeners.stats.refused == 5)
            await until(lambda: count(engine, track_points) == 1)
            await listeners.drain()
        finally:
            await listeners.close()

    run(scenario())
    with engine.connect() as db:
        assert db.execute(select(observations.c.source_id)).scalars().all() == []
        assert db.execute(select(track_points.c.contingent)).scalars().all() == [None]
