"""NATS JetStream between the contingents' nodes and the center.

Why: past one center process, or across a link that comes and goes, a broker keeps what is in
transit: a node's batch is safe once JetStream has stored it, and any of several center workers
takes it from there.

- One stream per contingent and mission, ``<namespace>-<mission>-<contingent>`` (file storage,
  subjects ``<namespace>.<mission>.<contingent>.>``), made by whichever side comes first.
- A node publishes each batch to ``....<contingent>.batches`` with the header ``Nats-Msg-Id``
  = ``<contingent>-<sequence>-<round>``: a publish tried again after a lost acknowledgement is
  stored once (JetStream's de-duplication window is 24 hours); ``round`` changes only when the
  center refused the batch and the node sends it again. Headers ``Ceasefire-Signature`` and
  ``Ceasefire-Sequence`` go with it.
- The center reads with a durable pull consumer ``center`` per stream (explicit
  acknowledgement, no limit on redeliveries), takes the batch exactly as over HTTP
  (:class:`~ceasefire.node.receive.Receiver`: idempotent on contingent + source id and on the
  batch number), publishes its answer to ``....<contingent>.answers``, and acknowledges the
  batch only then: a worker that dies before that leaves the batch to be delivered again, and
  taking it again changes nothing.
- The node reads the answers with its own durable consumer ``node`` and records them in its
  outbox, as it would an HTTP answer.

Both sides reconnect by themselves when the server goes away and comes back (nats-py's
reconnect, and a fresh connection when even that gave up); nothing is lost meanwhile: the node
keeps its batches in its outbox, the center leaves unacknowledged batches in the stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Any

import nats
import orjson
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, StorageType, StreamConfig
from nats.js.errors import BadRequestError

from ceasefire.i18n import _
from ceasefire.node.forward import TransportError
from ceasefire.node.outbox import Batch, Outbox
from ceasefire.node.receive import SIGNATURE_HEADER, BatchRefused, Receiver

log = logging.getLogger(__name__)

NAMESPACE = "ceasefire"
SEQUENCE_HEADER = "Ceasefire-Sequence"
DUPLICATE_WINDOW = 24 * 3600.0
ACK_WAIT = 15.0
"""Seconds JetStream waits for a consumer's word on a batch before it delivers it again: a
consumer at work says so every :data:`PROGRESS_S` (for every batch it fetched), so this bounds
how long a dead consumer's batches wait, not how long a live one may take."""
PROGRESS_S = 5.0
CALL_TIMEOUT = 10.0
"""The longest wait for the server on any one call (connect, stream, publish, close)."""
REFUSED_WAIT = 60.0
"""A node sends a batch the center refused whole again after this long."""
IN_FLIGHT = 4
"""Batches a node lets wait in the stream for the center's answer before it makes the next:
a center that falls behind then gets fuller batches (up to the node's batch size) instead of
ever more small ones, each of which costs it a transaction whatever its size."""


def stream_name(namespace: str, mission: str, contingent: str) -> str:
    return f"{namespace}-{mission}-{contingent}".replace(".", "_")


def subject(namespace: str, mission: str, contingent: str, kind: str) -> str:
    return f"{namespace}.{mission}.{contingent}.{kind}"


async def connect(url: str, name: str) -> Client:
    """A connection that keeps reconnecting while the server is away."""
    return await nats.connect(
        url,
        name=name,
        allow_reconnect=True,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,
        connect_timeout=2,
    )


async def ensure_stream(js: JetStreamContext, namespace: str, mission: str, contingent: str) -> str:
    """Make the contingent's stream (or bring its settings up to date); its name."""
    name = stream_name(namespace, mission, contingent)
    config = StreamConfig(
        name=name,
        subjects=[f"{namespace}.{mission}.{contingent}.>"],
        storage=StorageType.FILE,
        duplicate_window=DUPLICATE_WINDOW,
    )
    try:
        await js.add_stream(config)
    except BadRequestError:
        await js.update_stream(config)
    return name


class _Link:
    """One connection and JetStream context, made again when lost."""

    def __init__(self, url: str, name: str) -> None:
        self.url = url
        self.name = name
        self.client: Client | None = None
        self._connecting: asyncio.Lock | None = None

    async def js(self) -> JetStreamContext:
        # one connection for the tasks that ask at once (each would otherwise make its own)
        self._connecting = self._connecting or asyncio.Lock()
        async with self._connecting:
            if self.client is None or self.client.is_closed:
                self.client = await asyncio.wait_for(connect(self.url, self.name), CALL_TIMEOUT)
        return self.client.jetstream(timeout=CALL_TIMEOUT)

    async def close(self) -> None:
        if self.client is not None and not self.client.is_closed:
            # a client still trying to reconnect to a server that is gone must not hold us
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.client.close(), CALL_TIMEOUT)
        self.client = None


class JetStreamTransport:
    """The node's side: publish batches, read the center's answers into the outbox."""

    max_in_flight: int | None = IN_FLIGHT

    def __init__(self, url: str, mission: str, contingent: str, namespace: str = NAMESPACE) -> None:
        self.link = _Link(url, f"ceasefire-node-{contingent}")
        self.mission = mission
        self.contingent = contingent
        self.namespace = namespace
        self._stream: str | None = None

    async def _ready(self) -> JetStreamContext:
        js = await self.link.js()
        if self._stream is None:
            self._stream = await asyncio.wait_for(
                ensure_stream(js, self.namespace, self.mission, self.contingent), CALL_TIMEOUT
            )
        return js

    async def send(self, batch: Batch) -> dict[str, Any] | None:
        """Publish; None once JetStream has stored it (the center answers later)."""
        try:
            js = await self._ready()
            await js.publish(
                subject(self.namespace, self.mission, batch.contingent, "batches"),
                batch.payload,
                timeout=CALL_TIMEOUT,
                headers={
                    "Nats-Msg-Id": batch.message_id,
                    SIGNATURE_HEADER: batch.signature,
                    SEQUENCE_HEADER: str(batch.sequence),
                },
            )
        except (nats.errors.Error, OSError, TimeoutError) as e:
            raise TransportError(f"{self.link.url}: {type(e).__name__}: {e}") from e
        return None

    async def listen(self, outbox: Outbox, stop: asyncio.Event) -> None:
        """Record the center's answers until ``stop``."""
        while not stop.is_set():
            try:
                js = await self._ready()
                sub = await asyncio.wait_for(
                    js.pull_subscribe(
                        subject(self.namespace, self.mission, self.contingent, "answers"),
                        durable="node",
                        stream=self._stream,
                        config=ConsumerConfig(ack_policy=AckPolicy.EXPLICIT, ack_wait=ACK_WAIT),
                    ),
                    CALL_TIMEOUT,
                )
                while not stop.is_set():
                    try:
                        messages = await sub.fetch(50, timeout=0.5)
                    except TimeoutError:
                        continue
                    for message in messages:
                        await asyncio.to_thread(_record_answer, outbox, message.data)
                        await message.ack()
            except (nats.errors.Error, OSError, TimeoutError) as e:
                log.warning(_("No answers from the broker, trying again: {error}").format(error=e))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 1.0)

    async def close(self) -> None:
        await self.link.close()


def _record_answer(outbox: Outbox, data: bytes) -> None:
    try:
        answer = orjson.loads(data)
        sequence = int(answer["sequence"])
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        log.error(_("An answer from the center could not be read; left aside"))
        return
    if "refused" in answer:
        reason = str(answer.get("reason", ""))
        log.error(
            _("The center refused batch {sequence} ({status}): {reason}").format(
                sequence=sequence, status=answer["refused"], reason=reason
            )
        )
        outbox.refused(sequence, reason, REFUSED_WAIT)
    else:
        outbox.answered(sequence, answer)


class Consumer:
    """The center's side: take the contingents' batches from their streams, answer, ack."""

    def __init__(
        self,
        receiver: Receiver,
        url: str,
        contingents: Sequence[str],
        namespace: str = NAMESPACE,
        fetch: int = 10,
    ) -> None:
        self.receiver = receiver
        self.link = _Link(url, "ceasefire-center")
        self.mission = receiver.mission.id
        self.contingents = tuple(contingents)
        self.namespace = namespace
        self.fetch = fetch
        self.taken = 0

    async def run(self, stop: asyncio.Event) -> None:
        tasks = [asyncio.create_task(self._follow(c, stop)) for c in self.contingents]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await self.link.close()

    async def _follow(self, contingent: str, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                js = await self.link.js()
                stream = await asyncio.wait_for(
                    ensure_stream(js, self.namespace, self.mission, contingent), CALL_TIMEOUT
                )
                sub = await asyncio.wait_for(
                    js.pull_subscribe(
                        subject(self.namespace, self.mission, contingent, "batches"),
                        durable="center",
                        stream=stream,
                        config=ConsumerConfig(ack_policy=AckPolicy.EXPLICIT, ack_wait=ACK_WAIT),
                    ),
                    CALL_TIMEOUT,
                )
                while not stop.is_set():
                    try:
                        messages = await sub.fetch(self.fetch, timeout=0.5)
                    except TimeoutError:
                        continue
                    for i, message in enumerate(messages):
                        await self._take(js, contingent, message, messages[i + 1 :])
            except (nats.errors.Error, OSError, TimeoutError) as e:
                log.warning(
                    _("Cannot read contingent {c}'s stream, trying again: {error}").format(
                        c=contingent, error=e
                    )
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 1.0)

    async def _take(
        self, js: JetStreamContext, contingent: str, message: Msg, waiting: Sequence[Msg] = ()
    ) -> None:
        headers = message.headers or {}
        # Still at it: JetStream waits ACK_WAIT from now (and again every PROGRESS_S while the
        # batch is taken) before it gives the batch to another consumer, so a consumer that
        # dies holds its batches up for ACK_WAIT at most, however long a live one works.
        work = asyncio.create_task(
            asyncio.to_thread(
                self.receiver.receive, contingent, message.data, headers.get(SIGNATURE_HEADER, "")
            )
        )
        try:
            while True:
                for fetched in (message, *waiting):
                    with contextlib.suppress(nats.errors.Error, OSError):
                        await fetched.in_progress()
                done, _pending = await asyncio.wait({work}, timeout=PROGRESS_S)
                if done:
                    break
            answer = work.result()
        except BatchRefused as refused:
            log.warning(
                _("A batch of contingent {c} was refused: {reason}").format(
                    c=contingent, reason=refused.reason
                )
            )
            answer = {
                "sequence": _int(headers.get(SEQUENCE_HEADER)),
                "refused": refused.status,
                "reason": refused.reason,
            }
        except Exception:
            # the database away, say: leave the batch to be delivered again
            log.exception(
                _("A batch of contingent {c} could not be taken now").format(c=contingent)
            )
            await message.nak(delay=2)
            return
        await js.publish(
            subject(self.namespace, self.mission, contingent, "answers"),
            orjson.dumps(answer),
            headers={"Nats-Msg-Id": "answer-" + headers.get("Nats-Msg-Id", "")},
        )
        await message.ack()  # only now: the records are committed and the answer stored
        self.taken += 1


def _int(value: str | None) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return 0
