"""Forwarding the outbox to the center, batch after batch, in order, until each is answered.

Why this shape: a batch is sent again, unchanged, until the center answers for it (its records
are then marked with the answer) or refuses it whole (the reason is kept for the operators and
it is tried again later: a key not yet registered gets registered). Only then comes the next,
so the center receives a contingent's records in the order the node received them. The center
being away costs nothing but time: the records wait in the outbox, the wait between tries
grows to a minute, and the backlog is in `ceasefire node status`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

import httpx

from ceasefire.i18n import _
from ceasefire.ledger.note import Ed25519Signer
from ceasefire.node.outbox import Batch, Outbox
from ceasefire.node.receive import SIGNATURE_HEADER, BatchRefused

log = logging.getLogger(__name__)

FIRST_DELAY = 0.5
MAX_DELAY = 60.0


class TransportError(Exception):
    """The batch did not reach the center or got no answer: send it again later."""


class Transport(Protocol):
    """May also say ``max_in_flight``: the batches delivered but not yet answered before the
    next waits (missing or None: no limit)."""

    async def send(self, batch: Batch) -> dict[str, Any] | None:
        """The center's answer, or None when it will come later (:meth:`listen`);
        :class:`BatchRefused` or :class:`TransportError`."""
        ...

    async def listen(self, outbox: Outbox, stop: asyncio.Event) -> None:
        """Record answers that come apart from :meth:`send`, until ``stop``."""
        ...

    async def close(self) -> None: ...


class HttpTransport:
    """``POST <center>/api/v1/nodes/<contingent>/batches`` with the payload as the body."""

    max_in_flight: int | None = None  # each batch is answered before the next is sent

    def __init__(
        self, center: str, timeout: float = 60.0, client: httpx.AsyncClient | None = None
    ) -> None:
        self.center = center.rstrip("/")
        self.client = client or httpx.AsyncClient(timeout=timeout)

    async def send(self, batch: Batch) -> dict[str, Any]:
        url = f"{self.center}/api/v1/nodes/{batch.contingent}/batches"
        try:
            response = await self.client.post(
                url,
                content=batch.payload,
                headers={
                    "Content-Type": "application/json",
                    SIGNATURE_HEADER: batch.signature,
                },
            )
        except httpx.HTTPError as e:
            raise TransportError(f"{url}: {type(e).__name__}: {e}") from e
        if response.status_code == 200:
            answer: dict[str, Any] = response.json()
            return answer
        if 400 <= response.status_code < 500 and response.status_code not in (408, 429):
            try:
                reason = str(response.json().get("detail") or response.text)
            except ValueError:
                reason = response.text
            raise BatchRefused(response.status_code, reason[:1000])
        raise TransportError(f"{url}: HTTP {response.status_code}: {response.text[:300]}")

    async def listen(self, outbox: Outbox, stop: asyncio.Event) -> None:
        """Every answer comes with its request."""

    async def close(self) -> None:
        await self.client.aclose()


class Forwarder:
    """Sends the outbox's batches through a transport; :meth:`run` until stopped."""

    def __init__(
        self,
        outbox: Outbox,
        signer: Ed25519Signer,
        transport: Transport,
        batch_size: int = 1000,
        on_progress: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.outbox = outbox
        self.signer = signer
        self.transport = transport
        self.batch_size = batch_size
        self.on_progress = on_progress
        self.delay = FIRST_DELAY
        self.sent = 0

    async def step(self) -> bool | None:
        """Send the next batch: True when answered, False when it must wait, None if none."""
        batch = await asyncio.to_thread(
            self.outbox.next_batch,
            self.signer,
            self.batch_size,
            getattr(self.transport, "max_in_flight", None),
        )
        if batch is None:
            return None
        try:
            answer = await self.transport.send(batch)
        except BatchRefused as refused:
            log.error(
                _("The center refused batch {sequence} ({status}): {reason}").format(
                    sequence=batch.sequence, status=refused.status, reason=refused.reason
                )
            )
            await asyncio.to_thread(self.outbox.failed, batch.sequence, refused.reason)
            self.delay = MAX_DELAY  # a refusal needs a person: do not hammer the center
            return False
        except TransportError as error:
            log.warning(
                _("Batch {sequence} not delivered, trying again in {delay:.0f} s: {error}").format(
                    sequence=batch.sequence, delay=self.delay, error=error
                )
            )
            await asyncio.to_thread(self.outbox.failed, batch.sequence, str(error))
            return False
        if answer is None:
            await asyncio.to_thread(self.outbox.delivered, batch.sequence)
        else:
            await asyncio.to_thread(self.outbox.answered, batch.sequence, answer)
        self.delay = FIRST_DELAY
        self.sent += batch.records
        if self.on_progress is not None:
            self.on_progress(answer or {})
        return True

    async def run(self, stop: asyncio.Event, idle: float = 0.2) -> None:
        listener = asyncio.create_task(self.transport.listen(self.outbox, stop))
        try:
            await self._send_until(stop, idle)
        finally:
            stop.set()
            await listener

    async def _send_until(self, stop: asyncio.Event, idle: float) -> None:
        while not stop.is_set():
            try:
                done = await self.step()
            except Exception:  # the outbox's disk, say: log it and keep the node up
                log.exception(_("Forwarding failed; trying again"))
                done = False
            if done:
                continue
            wait = idle if done is None else self.delay
            if done is False:
                self.delay = min(self.delay * 2, MAX_DELAY)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), wait)

    async def drain(self, deadline: float | None = None) -> bool:
        """Send until the center has answered for every record (True) or ``deadline``
        (time.monotonic()) passes (False)."""
        stop = asyncio.Event()
        listener = asyncio.create_task(self.transport.listen(self.outbox, stop))
        try:
            while True:
                done = await self.step()
                if done is None and self.outbox.status()["backlog"] == 0:
                    return True
                if deadline is not None and time.monotonic() >= deadline:
                    return False
                if done is not True:
                    left = (deadline or float("inf")) - time.monotonic()
                    wait = 0.05 if done is None else self.delay
                    await asyncio.sleep(max(0.0, min(wait, left)))
                    if done is False:
                        self.delay = min(self.delay * 2, MAX_DELAY)
        finally:
            stop.set()
            await listener
