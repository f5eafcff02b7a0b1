"""ceasefire.served: the sockets handed to uvicorn, and logs without the notices' tokens."""

from __future__ import annotations

import asyncio
import logging
import socket

import httpx
import pytest

from ceasefire.served import YOUNG_OBJECTS, hide_secrets, listening, settle

SECRET = "Zr0aQ7-the-links-secret_xyz"


def test_connections_of_a_listening_socket_send_at_once() -> None:
    """asyncio turns Nagle's algorithm off only on connections accepted from a socket whose
    protocol is IPPROTO_TCP; a bare socket.socket() leaves it 0, and a response written in two
    parts then waited for the client's delayed ACK (about 40 ms a map view)."""
    seen: list[int] = []

    async def main() -> None:
        sock = listening()
        assert sock.proto == socket.IPPROTO_TCP

        async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            accepted = writer.get_extra_info("socket")
            seen.append(accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        server = await asyncio.start_server(answer, sock=sock)
        async with server:
            host, port = sock.getsockname()[:2]
            reader, writer = await asyncio.open_connection(host, port)
            await reader.read()
            writer.close()
            await writer.wait_closed()

    asyncio.run(main())
    assert seen and seen[0] != 0


def test_settle_leaves_the_collector_only_what_comes_after() -> None:
    import gc

    before, threshold = gc.get_freeze_count(), gc.get_threshold()
    try:
        made = [[n] for n in range(1000)]
        settle()
        assert gc.get_freeze_count() >= before + len(made)
        later = [[n] for n in range(10)]
        assert any(x is later for x in gc.get_objects())
        assert not any(x is made for x in gc.get_objects())
        # what a request makes is collected in larger generations (a batch's objects live
        # until it is answered: they were walked again and again)
        assert gc.get_threshold() == (YOUNG_OBJECTS, *threshold[1:])
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)


def test_the_logs_of_served_requests_keep_no_notice_token(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A notice's token in a URL (its acknowledgement link, the daily report it points to) is
    the party's credential: uvicorn's access log (as ``ceasefire serve`` writes it) and httpx's
    request log (``ceasefire inbox serve`` fetching its report) keep the path, not the token.
    ``tests/api/test_serve.py`` checks the log of a real ``ceasefire serve``."""
    hide_secrets()
    path = f"/api/v1/notices/NTC-0123456789abcdef/report/proof?token={SECRET}&x=1"
    access = logging.getLogger("uvicorn.access")
    access.addHandler(caplog.handler)  # uvicorn's own set-up may stop it from propagating
    try:
        # an earlier uvicorn.Config in this process may have set the access log's level higher
        with caplog.at_level(logging.INFO), caplog.at_level(logging.INFO, "uvicorn.access"):
            # the call uvicorn's h11 and httptools protocols make for each response
            access.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", path, "1.1", 403)
            answer = httpx.Response(200, text="ok")
            with httpx.Client(transport=httpx.MockTransport(lambda _request: answer)) as client:
                client.get(f"http://center.example{path}")
                client.get(f"http://center.example/api/v1/notices/NTC-1/ack?token={SECRET}")
    finally:
        access.removeHandler(caplog.handler)
    records = {id(r): r for r in caplog.records}.values()  # handled here and by the root
    said = [r.getMessage() for r in records if r.name in ("uvicorn.access", "httpx")]
    assert len(said) == 3, said
    assert not [m for m in said if SECRET in m], said
    assert (
        '"GET /api/v1/notices/NTC-0123456789abcdef/report/proof?token=[redacted]&x=1' in (said[0])
    )
    assert "report/proof?token=[redacted]&x=1" in said[1] and "200 OK" in said[1]
    assert "/ack?token=[redacted]" in said[2]
