"""The signed webhook (channel ``http``): an HTTP POST of the notice's JSON, signed after the
Standard Webhooks specification in its asymmetric (Ed25519) form.

The body is the notice's canonical JSON exactly as logged; ``webhook-id`` is the notice id on
every attempt, so a receiver drops a repeat. A 2xx answer is a delivery; anything else (a
redirect included: a notice goes where the mission file says, not where an answer points) is
a failure the dispatcher retries. An address that is no http(s) URL is refused for good.

Connections are kept alive and reused, each recipient's apart: a slow recipient holds only its
own connections, never another's. Each connection carries one request at a time (HTTP/1.1,
no pipelining), so a queue's requests in flight are its open connections.

HTTP/1.1 is spoken with h11 (the protocol state machine httpx itself is built on) over the
event loop's transports: httpx's client cost about 1.9 ms of CPU a POST on this project's machine
(its pool, its transports, its per-request objects), ten times the 0.2 ms of the exchange
itself, and was the largest cost of a delivery.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

import h11
import httpx

from ceasefire import __version__
from ceasefire.dissemination.channels import Context, DeliveryFailed, Outgoing
from ceasefire.dissemination.webhooks import Signer, webhook_headers
from ceasefire.i18n import _

KEPT = 512
"""Idle connections kept per recipient and origin at most (the dispatcher bounds the requests
in flight in each queue, hence the connections open at once: a webhook queue's window widens
while its receiver answers slowly, up to ``Options.widen``, 256 by default; a connection
closed after each answer would cost a new one for each request)."""
CONNECT_TIMEOUT = 5.0
"""Seconds to open a connection at most (within the attempt's timeout)."""
MAX_ANSWER = 1 << 20
"""Bytes of an answer's body read at most (the body is not used: only the status is); a longer
answer's connection is closed rather than read to its end."""

Origin = tuple[str, str, str, int]
"""recipient, scheme, host, port"""


class _Broken(Exception):
    """The connection failed; ``answered``: whether any of the answer had come."""

    def __init__(self, error: BaseException, answered: bool) -> None:
        super().__init__(str(error))
        self.error = error
        self.answered = answered


class _Connection(asyncio.Protocol):
    """One connection to a receiver, the loop's transport feeding h11 as bytes come: a request
    is one write, its answer one wakeup of the sender, once h11 has the whole answer. Asyncio's
    streams cost a reader, a writer, their protocol and futures per connection, and a wakeup
    per read: a drain of 300 deliveries took 2.54 million instructions each, not 2.62-2.66
    (callgrind), and fewer objects stay alive for the garbage collector to traverse."""

    def __init__(self) -> None:
        self.http = h11.Connection(h11.CLIENT)
        self.transport: asyncio.Transport | None = None
        self.closed = False  # the transport closed, or the other end ended its side
        self.answered = False  # any of the answer awaited came
        self.waiting: asyncio.Future[_Answer] | None = None  # the answer of the request sent
        self._answer: _Answer | None = None
        self._read = 0
        self._lost = False
        self._gone: asyncio.Future[None] | None = None  # made only to wait for the close

    # -- the transport's calls
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if self.waiting is None:  # nothing asked: the connection is not one to reuse
            self.close()
            return
        self.answered = True
        self.http.receive_data(data)
        self._advance()

    def eof_received(self) -> bool:
        self.closed = True
        if self.waiting is not None:
            self.http.receive_data(b"")  # h11 tells an answer cut short from one that ended
            self._advance()
        return False  # the transport closes itself

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = self._lost = True
        if self._gone is not None and not self._gone.done():
            self._gone.set_result(None)
        if exc is not None:
            self._fail(exc)
        elif self.waiting is not None:
            self.http.receive_data(b"")
            self._advance()

    # -- the exchange
    def usable(self) -> bool:
        """Idle and still open at both ends (a server may have closed a kept connection)."""
        return not self.closed and self.transport is not None and not self.transport.is_closing()

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    async def wait_closed(self) -> None:
        if not self._lost and self.transport is not None:
            self._gone = asyncio.get_running_loop().create_future()
            await self._gone

    def ask(self, data: bytes) -> asyncio.Future[_Answer]:
        """Send a request's bytes; the future of its answer (failing with :class:`_Broken`)."""
        assert self.transport is not None and self.waiting is None
        self.waiting = asyncio.get_running_loop().create_future()
        self.answered, self._answer, self._read = False, None, 0
        self.transport.write(data)
        return self.waiting

    def _done(self, answer: _Answer) -> None:
        waiting, self.waiting = self.waiting, None
        if waiting is not None and not waiting.done():
            waiting.set_result(answer)

    def _fail(self, error: BaseException) -> None:
        waiting, self.waiting = self.waiting, None
        if waiting is not None and not waiting.done():
            waiting.set_exception(_Broken(error, self.answered))

    def _advance(self) -> None:
        """The events h11 has of the answer so far."""
        http = self.http
        try:
            while self.waiting is not None:
                event = http.next_event()
                if event is h11.NEED_DATA:
                    return
                if isinstance(event, h11.Response):
                    self._answer = _Answer(
                        event.status_code,
                        event.reason.decode("latin-1"),
                        dict(event.headers).get(b"location", b"?").decode("latin-1"),
                    )
                elif isinstance(event, h11.Data):
                    self._read += len(event.data)
                    if self._read > MAX_ANSWER:  # enough: the status is known, drop the rest
                        assert self._answer is not None
                        self.close()
                        self._done(self._answer)
                elif isinstance(event, h11.EndOfMessage):
                    assert self._answer is not None
                    self._done(self._answer)
                elif isinstance(event, h11.ConnectionClosed):
                    raise h11.RemoteProtocolError("the connection closed before the answer")
                # an informational answer (1xx): read on
        except h11.ProtocolError as e:
            self._fail(e)


@dataclass(frozen=True)
class _Address:
    """What a webhook's address gives every request to it (worked out once per address)."""

    scheme: str
    host: str
    port: int
    target: str
    head: tuple[tuple[bytes, bytes], ...]  # the headers every request to it carries first


@dataclass(frozen=True)
class _Answer:
    status: int
    reason: str
    location: str


class Webhook:
    name = "http"

    def __init__(
        self, signer: Signer, timeout: float = 10.0, verify: ssl.SSLContext | str | bool = True
    ) -> None:
        self.signer = signer
        self.timeout = timeout
        # made once for every connection (loading the CAs is dear), and now: a bad CA file is
        # an error when the dispatcher starts
        self.tls = httpx.create_ssl_context(verify=verify)
        self.agent = f"ceasefire/{__version__}".encode()
        self.idle: dict[Origin, list[_Connection]] = {}
        self.open: set[_Connection] = set()
        self.addresses: dict[str, _Address | None] = {}  # None: no http(s) URL

    async def _connect(self, origin: Origin) -> _Connection:
        _recipient, scheme, host, port = origin
        connection = _Connection()
        async with asyncio.timeout(min(self.timeout, CONNECT_TIMEOUT)):
            await asyncio.get_running_loop().create_connection(
                lambda: connection,
                host,
                port,
                ssl=self.tls if scheme == "https" else None,
                server_hostname=host if scheme == "https" else None,
            )
        self.open.add(connection)
        return connection

    def _drop(self, connection: _Connection) -> None:
        self.open.discard(connection)
        connection.close()

    async def _exchange(
        self, connection: _Connection, request: h11.Request, body: bytes
    ) -> _Answer:
        """One request and its answer on ``connection``; raises :class:`_Broken`."""
        http = connection.http
        try:
            data = (
                http.send(request) + http.send(h11.Data(data=body)) + http.send(h11.EndOfMessage())
            )
        except h11.ProtocolError as e:
            raise _Broken(e, False) from e
        return await connection.ask(data)

    async def _post(
        self, origin: Origin, target: str, body: bytes, headers: list[tuple[bytes, bytes]]
    ) -> _Answer:
        idle = self.idle.setdefault(origin, [])
        while True:
            connection = None
            while idle:
                kept = idle.pop()
                if kept.usable():
                    connection = kept
                    break
                self._drop(kept)
            reused = connection is not None
            if connection is None:
                connection = await self._connect(origin)
            request = h11.Request(method="POST", target=target, headers=headers)
            try:
                answer = await self._exchange(connection, request, body)
            except _Broken as e:
                self._drop(connection)
                # a kept connection the server closed meanwhile: once more on a new one (the
                # notice id makes a repeat harmless, should the server have taken it)
                if reused and not e.answered:
                    continue
                raise e.error from None
            except BaseException:  # a timeout, a cancellation: mid-exchange, unusable
                self._drop(connection)
                raise
            http = connection.http
            if (
                connection in self.open
                and connection.usable()
                and http.our_state is h11.DONE
                and http.their_state is h11.DONE
                and len(idle) < KEPT
            ):
                http.start_next_cycle()
                idle.append(connection)
            else:
                self._drop(connection)
            return answer

    def _address(self, address: str) -> _Address | None:
        """``address`` parsed (kept: a center sends to a few addresses, over and over)."""
        if address in self.addresses:
            return self.addresses[address]
        parts = urlsplit(address)
        try:
            port = parts.port
        except ValueError:  # a port out of range
            port = -1
        if parts.scheme not in ("http", "https") or not parts.hostname or port == -1:
            made = None
        else:
            authority = parts.netloc.rpartition("@")[2]
            made = _Address(
                scheme=parts.scheme,
                host=parts.hostname,
                port=port or (443 if parts.scheme == "https" else 80),
                target=(parts.path or "/") + (f"?{parts.query}" if parts.query else ""),
                head=(
                    (
                        b"host",
                        authority.encode("idna") if not authority.isascii() else authority.encode(),
                    ),
                    (b"user-agent", self.agent),
                    (b"accept", b"*/*"),
                    (b"content-type", b"application/json"),
                ),
            )
        if len(self.addresses) >= KEPT:  # addresses are the mission's: a bound all the same
            self.addresses.clear()
        self.addresses[address] = made
        return made

    async def send(self, outgoing: Outgoing) -> None:
        address = self._address(outgoing.address)
        if address is None:
            raise DeliveryFailed(
                _("not an http(s) URL: {address}").format(address=outgoing.address), retry=False
            )
        body = outgoing.payload.encode("utf-8")
        origin = (outgoing.recipient, address.scheme, address.host, address.port)
        target = address.target
        headers = [
            *address.head,
            (b"content-length", str(len(body)).encode()),
            *(
                (k.encode(), v.encode())
                for k, v in webhook_headers(self.signer, outgoing.notice_id, body).items()
            ),
        ]
        try:
            async with asyncio.timeout(self.timeout):
                answer = await self._post(origin, target, body, headers)
        except TimeoutError as e:
            raise DeliveryFailed(_("no answer in time ({error})").format(error="timeout")) from e
        except (h11.ProtocolError, OSError, asyncio.IncompleteReadError) as e:
            raise DeliveryFailed(
                _("the connection failed: {error}").format(error=f"{type(e).__name__}: {e}")
            ) from e
        if 200 <= answer.status < 300:
            return
        if answer.status in (301, 302, 303, 307, 308):
            raise DeliveryFailed(
                _("answered {status} redirecting to {location}: not followed").format(
                    status=answer.status, location=answer.location
                )
            )
        raise DeliveryFailed(
            _("answered {status} {reason}").format(status=answer.status, reason=answer.reason)
        )

    async def aclose(self) -> None:
        connections, self.open, self.idle = list(self.open), set(), {}
        for connection in connections:
            connection.close()
        for connection in connections:
            with contextlib.suppress(OSError, ssl.SSLError):
                await connection.wait_closed()


def make(context: Context) -> Webhook:
    """``options["verify"]``: how https receivers are checked, as httpx takes it (an
    ``ssl.SSLContext``, a CA bundle's path; default the system's CAs)."""
    return Webhook(context.signer, context.timeout, context.options.get("verify", True))
