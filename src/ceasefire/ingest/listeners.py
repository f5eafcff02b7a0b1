"""CoT listeners: TAK clients, drone ground stations and posts send events over TCP and UDP.

========  =======  ===========================================================================
socket    default  what a client sends
========  =======  ===========================================================================
TCP       8087     CoT XML events back to back (cut at ``</event>``); or TAK protocol v1
                   stream framing (``0xbf <varint length> <TakMessage>``) when the stream's
                   first byte is ``0xbf``; or XML first and TAK after negotiating it
                   (``t-x-takp-q`` answered by ``t-x-takp-r``)
UDP       6969     one CoT XML event per datagram, or one TAK mesh frame
                   (``0xbf 0x01 0xbf <TakMessage>``); a stream frame in one datagram (what
                   pytak sends to a unicast address) is read as well
TLS       8089     as over TCP, from clients with a certificate of the mission's authority
                   (:mod:`ceasefire.ingest.tls`), whose ``OU`` names their contingent
========  =======  ===========================================================================

Who sends is proven as over HTTP: a TLS connection is its certificate's contingent's, and a
plain TCP or UDP listener may be bound to one contingent by configuration. On a bound
connection an event claiming another contingent is refused (field ``contingent``) and a drone
position without one is attributed to the connection's. An unbound plain listener proves
nobody: it refuses every event in a contingent's name (field ``contingent``) and stores only
drone positions in nobody's name (which count for nobody's coverage); it says so in the log
when it starts.

The events map to observations and drone track points as :mod:`ceasefire.intake.cot` describes.
Control traffic (``t-x-...``: pings, protocol negotiation) is answered or ignored, never stored.

Everything received goes through one :class:`~ceasefire.ingest.pipeline.Intake`, so it is
checked, enriched and stored exactly as a file is by ``ceasefire ingest``. One writer task owns
the intake and runs its storage work in a thread; connections hand items to it over a bounded
queue. When the queue is full a TCP connection stops reading (TCP flow control slows the
sender: nothing is dropped); UDP has no flow control, so a datagram that finds the queue full is
dropped and counted in a log line. The writer stores whatever has arrived as soon as its
previous batch is committed, up to :data:`MAX_BATCH` items a batch, so an item waits for at most
one batch. While the database is unreachable it retries, and the queue holds TCP senders back.

Bad input never stops a listener. Every refused event is logged with its reason. A TCP client
whose stream loses its framing (bytes that are not CoT, an event over the size limit, a broken
TAK frame) is disconnected, and so is one that sends :data:`MAX_UNREADABLE` unreadable events
in a row (not well-formed XML, a DTD or entity as in "billion laughs", bytes that are not
protobuf); other clients do not notice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, TypeAlias
from xml.etree.ElementTree import Element, SubElement, tostring

from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError

from ceasefire.i18n import _
from ceasefire.ingest.pipeline import Intake
from ceasefire.ingest.tls import contingent_of
from ceasefire.intake import formats, tak
from ceasefire.intake._common import Discarded
from ceasefire.intake.cot import MAX_EVENT_BYTES, CotStreamSplitter
from ceasefire.intake.errors import Rejection, raw_text
from ceasefire.intake.events import Control, Decoded, EventDecoder, Unreadable
from ceasefire.observations import format_time
from ceasefire.observations.record import Observation
from ceasefire.observations.track import TrackPoint

log = logging.getLogger(__name__)

TCP_PORT = 8087
UDP_PORT = 6969
QUEUE_SIZE = 10_000
"""Items waiting for the writer; beyond this TCP connections wait and UDP datagrams drop."""
MAX_BATCH = 1000
"""The most items the writer stores in one go."""
MAX_CLIENTS = 256
MAX_PER_ADDRESS = 64
"""Connections one source address may hold: a flood from one never shuts out the others (the
other contingent's ground stations, posts)."""
UNPROVEN = ""
"""The sender class of a connection whose contingent nothing proves (a plain listener bound
to none): it has a budget of its own, as a contingent has."""
IDLE_TIMEOUT = 180.0
"""Seconds without a byte after which a TCP client is disconnected (TAK clients ping more
often than that)."""
EVENT_TIMEOUT = 30.0
"""Seconds within which an event, once begun, must be complete: a client trickling bytes
(one a second) cannot hold its connection."""
MAX_UNREADABLE = 5
"""Unreadable events in a row after which a TCP client is disconnected."""
READ_SIZE = 64 * 1024
REPLY_TIMEOUT = 5.0
TAKP_REQUEST = "t-x-takp-q"
TAKP_RESPONSE = "t-x-takp-r"

Stored: TypeAlias = Observation | TrackPoint
Entry: TypeAlias = tuple[Stored, str, int]
"""An item for the writer, with its source and its number in that source."""


def bind(item: Stored, contingent: str | None, source: str, number: int) -> Stored | Rejection:
    """The item as the connection's contingent sends it: a drone position without one is
    that contingent's; anything claiming another is refused. ``contingent`` None: unbound, so
    nothing proves who sends: an event in any contingent's name is refused (a drone position
    in nobody's name is stored as nobody's)."""
    if contingent is None:
        if item.contingent is None:
            return item
        return Rejection(
            source,
            number,
            "contingent",
            _(
                "this listener is bound to no contingent, so nothing proves that {claimed} "
                "sends this event: bind the listener to {claimed} or send over TLS"
            ).format(claimed=item.contingent),
            unit="event",
        )
    if isinstance(item, TrackPoint) and item.contingent is None:
        return replace(item, contingent=contingent)
    if item.contingent != contingent:
        return Rejection(
            source,
            number,
            "contingent",
            _("this connection sends for {bound}; the event claims {claimed}").format(
                bound=contingent, claimed=item.contingent or "-"
            ),
            unit="event",
        )
    return item


IntakeSource: TypeAlias = Intake | Callable[[], Intake]


# -- decoding: the registry's per-event decoders (ceasefire.intake.formats) -------------------


def decoder(encoding: str, name: str = "cot") -> EventDecoder:
    """The registered format's per-event decoder of an encoding (CoT's ``xml`` or ``tak``)."""
    return formats.get(name).decoders[encoding]


def decode_datagram(data: bytes, source: str, number: int) -> Decoded:
    """One UDP datagram: a CoT XML event, a TAK mesh frame, or a TAK stream frame."""
    if data[:1] == bytes([tak.MAGIC]):
        decode_tak = decoder("tak")
        if data[1:3] == bytes([tak.PROTOCOL_VERSION, tak.MAGIC]):
            return decode_tak(data[3:], source, number)
        with contextlib.suppress(tak.VarintError):
            decoded = tak.decode_varint(data, 1)
            if decoded is not None and decoded[0] + decoded[1] == len(data):
                return decode_tak(data[decoded[1] :], source, number)
        return tak.decode_mesh(data, source, number)  # refused, with the mesh reading's reason
    return decoder("xml")(data.strip(), source, number)


def _control_event(kind: str, child: Element) -> bytes:
    now = datetime.now(UTC)
    root = Element(
        "event",
        {
            "version": "2.0",
            "uid": "ceasefire",
            "type": kind,
            "how": "m-g",
            "time": format_time(now),
            "start": format_time(now),
            "stale": format_time(now + timedelta(minutes=1)),
        },
    )
    SubElement(
        root, "point", {"lat": "0", "lon": "0", "hae": "0", "ce": "9999999", "le": "9999999"}
    )
    SubElement(SubElement(root, "detail"), "TakControl").append(child)
    return bytes(tostring(root, encoding="utf-8", xml_declaration=True))


@dataclass
class Fed:
    """What a piece of a TCP stream gave: items, refusals, answers to send, and whether to hang
    up (with the reason)."""

    items: list[tuple[Stored, int]] = field(default_factory=list)
    """Each item with its number in the stream."""
    rejections: list[Rejection] = field(default_factory=list)
    replies: list[bytes] = field(default_factory=list)
    close: str | None = None


class StreamSession:
    """The decoding state of one TCP connection (independent of sockets, so testable alone).

    The first byte that is not white space decides the framing: ``0xbf`` is TAK stream
    framing, ``<`` is CoT XML, anything else is not CoT and ends the connection.
    """

    def __init__(self, source: str, max_unreadable: int = MAX_UNREADABLE) -> None:
        self.source = source
        self.max_unreadable = max_unreadable
        self.mode: Literal["start", "xml", "tak"] = "start"
        self.number = 0
        self.unreadable = 0
        self._splitter = CotStreamSplitter()
        self._decode_xml, self._decode_tak = decoder("xml"), decoder("tak")
        # a TAK frame gets the same size limit as an XML event
        self._frames = tak.TakStreamDecoder(MAX_EVENT_BYTES)

    def feed(self, data: bytes) -> Fed:
        fed = Fed()
        if self.mode == "start":
            data = data.lstrip()
            if not data:
                return fed
            if data[0] == tak.MAGIC:
                self.mode = "tak"
            elif data[:1] == b"<":
                self.mode = "xml"
            else:
                self.number += 1
                reason = _("The stream does not start with a CoT event or a TAK frame.")
                fed.rejections.append(
                    Rejection(self.source, self.number, "", reason, raw_text(data), "event")
                )
                fed.close = reason
                return fed
        pieces = self._splitter.feed(data) if self.mode == "xml" else self._frames.feed(data)
        self._pieces(pieces, fed)
        return fed

    def pending(self) -> bool:
        """Whether part of an event or frame has arrived and waits for the rest."""
        if self.mode == "xml":
            return self._splitter.pending()
        return self.mode == "tak" and self._frames.buffered > 0

    def end(self) -> Fed:
        """The end of the stream: what is left is a truncated event or frame."""
        fed = Fed()
        if self.mode == "xml":
            self._pieces(self._splitter.close(), fed)
        elif self.mode == "tak":
            self._pieces(self._frames.close(), fed)
        fed.close = None  # the client is gone anyway
        return fed

    def _pieces(self, pieces: list[bytes | Discarded], fed: Fed) -> None:
        unit = "event" if self.mode == "xml" else "frame"
        for piece in pieces:
            self.number += 1
            if isinstance(piece, Discarded):
                head = raw_text(piece.head) if unit == "event" else piece.head.hex(" ")
                fed.rejections.append(
                    Rejection(self.source, self.number, piece.field, piece.reason, head, unit)
                )
                fed.close = piece.reason  # the framing is lost: nothing after it can be trusted
                return
            if self.mode == "xml":
                decoded = self._decode_xml(piece, self.source, self.number)
            else:
                decoded = self._decode_tak(piece, self.source, self.number)
            if isinstance(decoded, Unreadable):
                fed.rejections.append(decoded.rejection)
                self.unreadable += 1
                if self.unreadable >= self.max_unreadable:
                    fed.close = _("{count} unreadable events in a row.").format(
                        count=self.unreadable
                    )
                    return
                continue
            self.unreadable = 0
            if isinstance(decoded, Rejection):
                fed.rejections.append(decoded)
            elif isinstance(decoded, Control):
                self._control(decoded, fed)
            else:
                fed.items.append((decoded, self.number))

    def _control(self, control: Control, fed: Fed) -> None:
        if control.type != TAKP_REQUEST or self.mode != "xml" or control.element is None:
            return  # pings and the like need no answer
        request = control.element.find("detail/TakControl/TakRequest")
        accepted = request is not None and request.get("version") == str(tak.PROTOCOL_VERSION)
        fed.replies.append(
            _control_event(
                TAKP_RESPONSE, Element("TakResponse", {"status": "true" if accepted else "false"})
            )
        )
        if accepted:
            # The client waits for the answer before it switches, so nothing is buffered.
            self.mode = "tak"


# -- the writer -------------------------------------------------------------------------------


def describe(rejection: Rejection) -> str:
    """A refusal for the log: where, why, and the start of the input (to find it again)."""
    raw = rejection.raw[:120]
    return f"{rejection} | {raw}" if raw else str(rejection)


class _LogLimiter:
    """At most ``per_second`` refusal lines a second; the rest are summed up in one line."""

    def __init__(self, per_second: int = 50) -> None:
        self.per_second = per_second
        self._window = 0.0
        self._count = 0
        self._suppressed = 0
        self._lock = threading.Lock()

    def warning(self, message: str) -> None:
        with self._lock:
            now = time.monotonic()
            if now - self._window >= 1.0:
                if self._suppressed:
                    log.warning(
                        _("{count} more refusals were not logged one by one.").format(
                            count=self._suppressed
                        )
                    )
                self._window, self._count, self._suppressed = now, 0, 0
            self._count += 1
            if self._count > self.per_second:
                self._suppressed += 1
                return
        log.warning(message)


@dataclass
class ListenerStats:
    """Counters of one set of listeners (the stored counts are the intake's)."""

    connections: int = 0
    disconnected: int = 0
    events: int = 0
    refused: int = 0
    refused_connections: int = 0
    udp_dropped: int = 0


class _Writer:
    """The single owner of the intake: stores queued items in batches, in a thread."""

    def __init__(
        self,
        intake: Intake,
        limiter: _LogLimiter,
        queue_size: int,
        max_batch: int,
        lock: threading.Lock | None,
    ) -> None:
        self.intake = intake
        self.queue: asyncio.Queue[Entry] = asyncio.Queue(queue_size)
        self.max_batch = max_batch
        self.lock = lock or threading.Lock()
        self.limiter = limiter
        # The intake stores only when flushed, under the lock: never by itself while adding.
        intake.batch_size = max(intake.batch_size, max_batch + 1)
        if intake.on_reject is None:
            intake.on_reject = lambda rejection: limiter.warning(describe(rejection))
        self.task = asyncio.create_task(self._run(), name="ceasefire-cot-writer")

    async def _run(self) -> None:
        while True:
            batch = [await self.queue.get()]
            while len(batch) < self.max_batch:
                try:
                    batch.append(self.queue.get_nowait())
                except asyncio.QueueEmpty:
                    break
            try:
                await self._store(batch)
            finally:
                for _entry in batch:
                    self.queue.task_done()

    async def _store(self, batch: list[Entry]) -> None:
        delay = 0.2
        while True:
            try:
                await asyncio.to_thread(self._store_now, batch)
                return
            except (OperationalError, InterfaceError, DisconnectionError) as error:
                # The database is away: keep the batch and hold the senders back meanwhile.
                log.error(
                    _("Cannot store {count} received items, retrying in {delay} s: {error}").format(
                        count=len(batch),
                        delay=delay,
                        error=str(getattr(error, "orig", None) or error)[:300],
                    )
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
            except Exception:
                if len(batch) > 1:
                    # One bad item must not cost the others: store them one by one.
                    for entry in batch:
                        await self._store([entry])
                    return
                source, number = batch[0][1], batch[0][2]
                log.exception(
                    _("{source}, item {number} could not be stored and was dropped.").format(
                        source=source, number=number
                    )
                )
                return

    def _store_now(self, batch: list[Entry]) -> None:
        # Checked and made ready before the write lock, which the center's other writers
        # (the HTTP intake) share: only the store's part is done under it.
        intake = self.intake
        try:
            for item, source, number in batch:
                intake.add(item, source, number)
            intake.prepare()
        except BaseException:
            intake.drop()  # the batch is given again (one by one), not added twice
            raise
        with self.lock:
            intake.flush()

    async def close(self, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.queue.join(), timeout)
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task
        lost = self.queue.qsize()
        if lost:
            log.error(
                _("{count} received items were not stored before the listeners closed.").format(
                    count=lost
                )
            )


# -- the sockets ------------------------------------------------------------------------------


def _log_binding(kind: str, contingent: str | None) -> None:
    if contingent is None:
        log.warning(
            _(
                "CoT over {kind} is bound to no contingent: events in a contingent's name are "
                "refused, drone positions in nobody's are stored as nobody's (bind it, or use "
                "TLS with client certificates)"
            ).format(kind=kind)
        )
    else:
        log.info(
            _("CoT over {kind} sends for {contingent}").format(kind=kind, contingent=contingent)
        )


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close a connection with a reset (SO_LINGER 0): a client that already sent an event
    gets an error, not a silent loss."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class _Datagrams(asyncio.DatagramProtocol):
    def __init__(self, listeners: CotListeners) -> None:
        self.listeners = listeners
        self.number = 0
        self._last_drop_log = 0.0
        self._drops = 0

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        listeners = self.listeners
        self.number += 1
        source = f"cot-udp {addr[0]}:{addr[1]}"
        decoded = decode_datagram(data, source, self.number)
        if isinstance(decoded, Unreadable):
            decoded = decoded.rejection
        if isinstance(decoded, Rejection):
            listeners.stats.refused += 1
            listeners._limiter.warning(describe(decoded))
            return
        if isinstance(decoded, Control):
            return
        decoded = bind(decoded, listeners.udp_contingent, source, self.number)
        if isinstance(decoded, Rejection):
            listeners.stats.refused += 1
            listeners._limiter.warning(describe(decoded))
            return
        listeners.stats.events += 1
        try:
            listeners._writer.queue.put_nowait((decoded, source, self.number))
        except asyncio.QueueFull:
            listeners.stats.udp_dropped += 1
            self._drops += 1
            now = time.monotonic()
            if now - self._last_drop_log >= 1.0:
                log.warning(
                    _("The intake queue is full: {count} UDP datagrams were dropped.").format(
                        count=self._drops
                    )
                )
                self._last_drop_log, self._drops = now, 0

    def error_received(self, exc: Exception) -> None:
        log.warning(_("UDP listener: {error}").format(error=exc))


class CotListeners:
    """Running CoT listeners: their bound ports, counters, and :meth:`close`."""

    def __init__(
        self,
        intake: Intake,
        *,
        queue_size: int = QUEUE_SIZE,
        max_batch: int = MAX_BATCH,
        max_clients: int = MAX_CLIENTS,
        max_per_address: int = MAX_PER_ADDRESS,
        max_per_contingent: int | None = None,
        idle_timeout: float = IDLE_TIMEOUT,
        event_timeout: float = EVENT_TIMEOUT,
        max_unreadable: int = MAX_UNREADABLE,
        lock: threading.Lock | None = None,
        tcp_contingent: str | None = None,
        udp_contingent: str | None = None,
    ) -> None:
        self.intake = intake
        self.tcp_contingent = tcp_contingent
        self.udp_contingent = udp_contingent
        self.tls_port: int | None = None
        self._tls_server: asyncio.Server | None = None
        self.stats = ListenerStats()
        self.max_clients = max_clients
        self.max_per_address = max_per_address
        # Each contingent, and the unproven senders together, hold at most their share of
        # the clients: a flood of one class (from any number of addresses) leaves the others
        # theirs. By default the shares split max_clients evenly.
        classes = len(intake.mission.contingent_ids()) + 1
        self.max_per_contingent = max_per_contingent or max(1, max_clients // classes)
        self._per_contingent: dict[str, int] = {}
        self.idle_timeout = idle_timeout
        self.event_timeout = event_timeout
        self._per_address: dict[str, int] = {}
        self.max_unreadable = max_unreadable
        self.tcp_port: int | None = None
        self.udp_port: int | None = None
        self._limiter = _LogLimiter()
        self._writer = _Writer(intake, self._limiter, queue_size, max_batch, lock)
        self._server: asyncio.Server | None = None
        self._transport: asyncio.DatagramTransport | None = None
        self._clients: set[asyncio.Task[None]] = set()

    async def _start_tcp(self, host: str, port: int) -> None:
        self._server = await asyncio.start_server(self._client, host, port)
        self.tcp_port = int(self._server.sockets[0].getsockname()[1])
        log.info(_("CoT over TCP on {host}:{port}").format(host=host, port=self.tcp_port))
        _log_binding("TCP", self.tcp_contingent)

    async def _start_tls(self, host: str, port: int, context: ssl.SSLContext) -> None:
        self._tls_server = await asyncio.start_server(
            self._client, host, port, ssl=context, ssl_handshake_timeout=REPLY_TIMEOUT
        )
        self.tls_port = int(self._tls_server.sockets[0].getsockname()[1])
        log.info(_("CoT over TLS on {host}:{port}").format(host=host, port=self.tls_port))

    async def _start_udp(self, host: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        transport, _protocol = await loop.create_datagram_endpoint(
            lambda: _Datagrams(self), local_addr=(host, port)
        )
        self._transport = transport
        self.udp_port = int(transport.get_extra_info("sockname")[1])
        log.info(_("CoT over UDP on {host}:{port}").format(host=host, port=self.udp_port))
        _log_binding("UDP", self.udp_contingent)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        where = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
        address = str(peer[0]) if isinstance(peer, tuple) else where
        task = asyncio.current_task()
        contingent = self.tcp_contingent
        kind = "cot-tcp"
        if writer.get_extra_info("sslcontext") is not None:
            # TLS: the handshake verified the certificate; its OU is the sender's contingent.
            kind, contingent = "cot-tls", contingent_of(writer.get_extra_info("peercert"))
            if contingent not in self.intake.mission.contingent_ids():
                log.warning(
                    _("CoT client {peer} refused: its certificate names no contingent").format(
                        peer=where
                    )
                )
                writer.close()
                return
        sender = contingent or UNPROVEN
        full = self._full(address, sender)
        if full:
            self.stats.refused_connections += 1
            self._limiter.warning(
                _("CoT client {peer} refused: {reason}").format(peer=where, reason=full)
            )
            _reset(writer)  # before reading anything: the sender sees a reset, not silence
            return
        if task is not None:
            self._clients.add(task)
        self._per_address[address] = self._per_address.get(address, 0) + 1
        self._per_contingent[sender] = self._per_contingent.get(sender, 0) + 1
        self.stats.connections += 1
        session = StreamSession(f"{kind} {where}", self.max_unreadable)
        reason: str | None = None
        begun: float | None = None  # when the event now arriving began
        try:
            while reason is None:
                read = reader.read(READ_SIZE)
                if begun is None:
                    wait, late = self.idle_timeout, _("idle for {seconds:g} s")
                else:
                    wait = begun + self.event_timeout - time.monotonic()
                    late = _("an event was not complete within {seconds:g} s")
                try:
                    data = await asyncio.wait_for(read, max(0.0, wait))
                except TimeoutError:
                    reason = late.format(
                        seconds=self.idle_timeout if begun is None else self.event_timeout
                    )
                    break
                before = session.number
                fed = session.feed(data) if data else session.end()
                reason = await self._handle(fed, session.source, writer, contingent)
                if not data:
                    break
                if session.number != before:
                    begun = None
                if begun is None and session.pending():
                    begun = time.monotonic()
        except (ConnectionError, TimeoutError) as error:
            log.info(_("CoT client {peer}: {error}").format(peer=where, error=error))
        finally:
            if task is not None:
                self._clients.discard(task)
            left = self._per_address.pop(address, 1) - 1
            if left:
                self._per_address[address] = left
            left = self._per_contingent.pop(sender, 1) - 1
            if left:
                self._per_contingent[sender] = left
            if reason is not None:
                self.stats.disconnected += 1
                log.warning(
                    _("CoT client {peer} disconnected: {reason}").format(peer=where, reason=reason)
                )
            writer.close()
            with contextlib.suppress(ConnectionError, TimeoutError):
                await asyncio.wait_for(writer.wait_closed(), 1.0)

    def _full(self, address: str, sender: str) -> str:
        """Why a new connection from ``address`` of ``sender`` (a contingent, or
        :data:`UNPROVEN`) is refused ('' if it is not)."""
        if len(self._clients) >= self.max_clients:
            return _("already {count} clients").format(count=len(self._clients))
        held = self._per_contingent.get(sender, 0)
        if held >= self.max_per_contingent:
            if sender == UNPROVEN:
                return _("senders of no proven contingent already hold {count} connections").format(
                    count=held
                )
            return _("{contingent} already holds {count} connections").format(
                contingent=sender, count=held
            )
        held = self._per_address.get(address, 0)
        if held >= self.max_per_address:
            return _("{address} already holds {count} connections").format(
                address=address, count=held
            )
        return ""

    async def _handle(
        self, fed: Fed, source: str, writer: asyncio.StreamWriter, contingent: str | None
    ) -> str | None:
        for rejection in fed.rejections:
            self.stats.refused += 1
            self._limiter.warning(describe(rejection))
        for reply in fed.replies:
            writer.write(reply)
            # a client that asks and never reads must not hold this connection forever
            await asyncio.wait_for(writer.drain(), REPLY_TIMEOUT)
        for received, number in fed.items:
            item = bind(received, contingent, source, number)
            if isinstance(item, Rejection):
                self.stats.refused += 1
                self._limiter.warning(describe(item))
                continue
            self.stats.events += 1
            # Waits while the queue is full: the socket is not read, so TCP slows the sender.
            await self._writer.queue.put((item, source, number))
        return fed.close

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait until every item received so far is stored (or the timeout passes)."""
        await asyncio.wait_for(self._writer.queue.join(), timeout)

    async def close(self, timeout: float = 10.0) -> None:
        """Stop listening, end the connections, store what was received, stop the writer."""
        for server in (self._server, self._tls_server):
            if server is not None:
                server.close()
        if self._transport is not None:
            self._transport.close()
        for task in list(self._clients):
            task.cancel()
        if self._clients:
            await asyncio.gather(*self._clients, return_exceptions=True)
        for server in (self._server, self._tls_server):
            if server is not None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(server.wait_closed(), 1.0)
        await self._writer.close(timeout)

    async def __aenter__(self) -> CotListeners:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


async def serve_cot(
    intake: IntakeSource,
    host: str = "127.0.0.1",
    tcp_port: int | None = TCP_PORT,
    udp_port: int | None = UDP_PORT,
    tls_port: int | None = None,
    tls: ssl.SSLContext | None = None,
    **options: Any,
) -> CotListeners:
    """Start the CoT listeners; ``None`` for a port disables that listener, 0 picks a free one.

    ``tls_port`` with ``tls`` (:func:`ceasefire.ingest.tls.server_context`) starts the TLS
    listener. ``tcp_contingent`` and ``udp_contingent`` (in ``options``) bind a plain listener
    to one contingent.

    ``intake`` is an :class:`Intake` or a function that makes one; the listeners own it from
    now on. ``options`` are those of :class:`CotListeners` (``queue_size``, ``max_batch``,
    ``max_clients``, ``max_per_address``, ``max_per_contingent``, ``max_unreadable``, ``lock``: a
    lock shared with other writers of the same
    store in this process). Close the returned handle with ``await listeners.close()``.
    """
    listeners = CotListeners(intake if isinstance(intake, Intake) else intake(), **options)
    try:
        if tcp_port is not None:
            await listeners._start_tcp(host, tcp_port)
        if udp_port is not None:
            await listeners._start_udp(host, udp_port)
        if tls_port is not None and tls is not None:
            await listeners._start_tls(host, tls_port, tls)
    except BaseException:
        await listeners.close(timeout=0)
        raise
    return listeners


__all__ = [
    "MAX_BATCH",
    "MAX_CLIENTS",
    "MAX_PER_ADDRESS",
    "MAX_UNREADABLE",
    "QUEUE_SIZE",
    "TCP_PORT",
    "UDP_PORT",
    "UNPROVEN",
    "Control",
    "CotListeners",
    "Fed",
    "ListenerStats",
    "StreamSession",
    "Unreadable",
    "bind",
    "decode_datagram",
    "decoder",
    "serve_cot",
]
