"""ceasefire.served: the sockets handed to uvicorn."""

from __future__ import annotations

import asyncio
import socket

from ceasefire.served import listening, settle


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

    before = gc.get_freeze_count()
    try:
        made = [[n] for n in range(1000)]
        settle()
        assert gc.get_freeze_count() >= before + len(made)
        later = [[n] for n in range(10)]
        assert any(x is later for x in gc.get_objects())
        assert not any(x is made for x in gc.get_objects())
    finally:
        gc.unfreeze()
