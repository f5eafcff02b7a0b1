"""The signed webhook (channel ``http``): an HTTP POST of the notice's JSON, signed after the
Standard Webhooks specification in its asymmetric (Ed25519) form.

The body is the notice's canonical JSON exactly as logged; ``webhook-id`` is the notice id on
every attempt, so a receiver drops a repeat. A 2xx answer is a delivery; anything else (a
redirect included: a notice goes where the mission file says, not where an answer points) is
a failure the dispatcher retries. An address that is no http(s) URL is refused for good.
"""

from __future__ import annotations

import ssl
from urllib.parse import urlsplit

import httpx

from ceasefire import __version__
from ceasefire.dissemination.channels import Context, DeliveryFailed, Outgoing
from ceasefire.dissemination.webhooks import Signer, webhook_headers
from ceasefire.i18n import _

MAX_CONNECTIONS = 256
"""Connections open at once over every queue (the dispatcher bounds each queue's share)."""


class Webhook:
    name = "http"

    def __init__(
        self, signer: Signer, timeout: float = 10.0, verify: ssl.SSLContext | str | bool = True
    ) -> None:
        self.signer = signer
        self.client = httpx.AsyncClient(
            verify=verify,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            follow_redirects=False,
            limits=httpx.Limits(max_connections=MAX_CONNECTIONS, max_keepalive_connections=64),
            headers={"user-agent": f"ceasefire/{__version__}"},
        )

    async def send(self, outgoing: Outgoing) -> None:
        parts = urlsplit(outgoing.address)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise DeliveryFailed(
                _("not an http(s) URL: {address}").format(address=outgoing.address), retry=False
            )
        body = outgoing.payload.encode("utf-8")
        headers = {
            "content-type": "application/json",
            **webhook_headers(self.signer, outgoing.notice_id, body),
        }
        try:
            answer = await self.client.post(outgoing.address, content=body, headers=headers)
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
        await self.client.aclose()


def make(context: Context) -> Webhook:
    """``options["verify"]``: how https receivers are checked, as httpx takes it (an
    ``ssl.SSLContext``, a CA bundle's path; default the system's CAs)."""
    return Webhook(context.signer, context.timeout, context.options.get("verify", True))
