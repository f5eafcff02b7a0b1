"""The signed webhook (channel ``http``): an HTTP POST of the notice's JSON, signed after the
Standard Webhooks specification in its asymmetric (Ed25519) form.

The body is the notice's canonical JSON exactly as logged; ``webhook-id`` is the notice id on
every attempt, so a receiver drops a repeat. A 2xx answer is a delivery; anything else (a
redirect included: a notice goes where the mission file says, not where an answer points) is
a failure the dispatcher retries. An address that is no http(s) URL is refused for good.

Connections are kept alive and reused, each recipient's apart: a slow recipient holds only its
own connections, never another's. Each connection is an httpx client of one connection, lent to
one request at a time: httpx looks through its whole pool on every request (a poll of every idle
socket), which cost more CPU than the rest of a delivery with a pool as large as a queue's
requests in flight.
"""

from __future__ import annotations

import ssl
from urllib.parse import urlsplit

import httpx

from ceasefire import __version__
from ceasefire.dissemination.channels import Context, DeliveryFailed, Outgoing
from ceasefire.dissemination.webhooks import Signer, webhook_headers
from ceasefire.i18n import _

KEPT = 64
"""Idle connections kept per recipient and origin (the dispatcher bounds the requests in flight
in each queue, hence the connections open at once)."""

Origin = tuple[str, str, str, int | None]
"""recipient, scheme, host, port"""


class Webhook:
    name = "http"

    def __init__(
        self, signer: Signer, timeout: float = 10.0, verify: ssl.SSLContext | str | bool = True
    ) -> None:
        self.signer = signer
        self.timeout = httpx.Timeout(timeout, connect=min(timeout, 5.0))
        # made once for every connection (loading the CAs is dear), and now: a bad CA file is
        # an error when the dispatcher starts
        self.tls = httpx.create_ssl_context(verify=verify)
        self.idle: dict[Origin, list[httpx.AsyncClient]] = {}
        self.open: set[httpx.AsyncClient] = set()

    def _new_client(self) -> httpx.AsyncClient:
        client = httpx.AsyncClient(
            verify=self.tls,
            timeout=self.timeout,
            follow_redirects=False,
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
            headers={"user-agent": f"ceasefire/{__version__}"},
        )
        self.open.add(client)
        return client

    async def _post(
        self, origin: Origin, url: str, body: bytes, headers: dict[str, str]
    ) -> httpx.Response:
        idle = self.idle.setdefault(origin, [])
        client = idle.pop() if idle else self._new_client()
        try:
            return await client.post(url, content=body, headers=headers)
        finally:
            if len(idle) < KEPT:
                idle.append(client)
            else:
                self.open.discard(client)
                await client.aclose()

    async def send(self, outgoing: Outgoing) -> None:
        parts = urlsplit(outgoing.address)
        try:
            port = parts.port
        except ValueError:  # a port out of range
            port = -1
        if parts.scheme not in ("http", "https") or not parts.hostname or port == -1:
            raise DeliveryFailed(
                _("not an http(s) URL: {address}").format(address=outgoing.address), retry=False
            )
        body = outgoing.payload.encode("utf-8")
        headers = {
            "content-type": "application/json",
            **webhook_headers(self.signer, outgoing.notice_id, body),
        }
        try:
            origin = (outgoing.recipient, parts.scheme, parts.hostname, port)
            answer = await self._post(origin, outgoing.address, body, headers)
        except httpx.TimeoutException as e:
            raise DeliveryFailed(
                _("no answer in time ({error})").format(error=type(e).__name__)
            ) from e
        except httpx.HTTPError as e:
            raise DeliveryFailed(
                _("the connection failed: {error}").format(error=f"{type(e).__name__}: {e}")
            ) from e
        if answer.is_success:
            return
        if answer.is_redirect:
            raise DeliveryFailed(
                _("answered {status} redirecting to {location}: not followed").format(
                    status=answer.status_code, location=answer.headers.get("location", "?")
                )
            )
        raise DeliveryFailed(
            _("answered {status} {reason}").format(
                status=answer.status_code, reason=answer.reason_phrase
            )
        )

    async def aclose(self) -> None:
        clients, self.open, self.idle = list(self.open), set(), {}
        for client in clients:
            await client.aclose()


def make(context: Context) -> Webhook:
    """``options["verify"]``: how https receivers are checked, as httpx takes it (an
    ``ssl.SSLContext``, a CA bundle's path; default the system's CAs)."""
    return Webhook(context.signer, context.timeout, context.options.get("verify", True))
