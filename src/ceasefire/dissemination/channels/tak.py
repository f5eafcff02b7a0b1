"""CoT to a TAK server: the peacekeepers' TAK network sees each incident as a marker.

The channel ``tak`` sends one CoT event per notice to the recipient's TAK server
(``tcp://host:8087``, or ``tls://host:8089`` with the center's client certificate), the way a
TAK client does: CoT XML on the stream, which every TAK server takes before any protocol
negotiation. The server shares the marker with its clients (ATAK, WinTAK, iTAK).

The marker (see docs/direct-lines.md, "TAK"):

- ``event@uid`` ``ceasefire.<mission>.<incident>``: one per incident, so a later notice about
  the same incident replaces the marker on every map instead of adding a second one; a resent
  notice (a retry) only draws the same marker again;
- ``event@type`` by the incident's category (the table of :mod:`ceasefire.intake.cot`), always
  of affiliation ``n`` (neutral) or ``u`` (unknown): the parties are neither friend nor hostile
  to the monitors, and the monitors' map says nothing more about them;
- ``event@how`` ``m-f`` (machine, fused: an incident fuses observations); ``time`` and
  ``start`` when sent, ``stale`` a day later (:data:`STALE_AFTER`), so the marker stays on the
  map for the day's shifts and disappears when nobody updates it;
- ``point`` the incident's location and its CE; height and LE unknown;
- ``<detail>``: ``contact@callsign`` the category in the recipient's language and the
  incident id, ``<remarks>`` the notice's text in the recipient's language, and
  ``<ceasefire_notice>`` with the notice id, incident, kind, recipient, role, language, time,
  the decision and its ledger index, the facts' hash, and the subject.

Monitoring, never targeting: the event carries where and what the monitors saw and what the
center said; no firing data, no target designation, no task for anybody.

The XML is built with :mod:`xml.etree.ElementTree` (which escapes every text and attribute);
characters that XML 1.0 cannot carry are dropped first. Delivery: over TCP the channel writes
the event, closes its half of the connection, and waits until the server closes its half,
which a TAK server does only once it has read everything before the end (taky, the official
TAK Server and FreeTAKServer all do); over TLS, where Python's streams cannot close one half,
the event is written and the TLS session closed cleanly. Anything short of that is a
:class:`DeliveryFailed`; resending is harmless, since the uid makes the marker replace itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import ssl
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from xml.etree.ElementTree import Element, SubElement, tostring

import orjson

from ceasefire.dissemination.channels import Context, DeliveryFailed, Outgoing
from ceasefire.errors import CeasefireError
from ceasefire.i18n import _, language
from ceasefire.intake.cot import AFFILIATIONS, CATEGORY_TYPES, UNKNOWN
from ceasefire.labels import label
from ceasefire.observations.record import format_time

NAME = "tak"
SCHEMES = {"tcp": False, "tls": True}
"""Address schemes and whether they mean TLS."""
STALE_AFTER = timedelta(hours=24)
HOW_FUSED = "m-f"
DETAIL_TAG = "ceasefire_notice"
DETAIL_VERSION = "1"
FALLBACK_TYPE = "a-u-G"
TIMEOUT = 10.0
"""Seconds for the connection, and again for the server to confirm it read the event."""
CA_FILE, CERT_FILE, KEY_FILE = "ca.pem", "client.pem", "client.key"

# What XML 1.0 cannot carry (control characters, lone surrogates, U+FFFE/FFFF).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_AFFILIATION = re.compile(r"^a-([a-z.])-")


def _text(value: object) -> str:
    return _NOT_XML.sub("", str(value))


def marker_uid(mission: str, incident_id: str) -> str:
    """The marker's uid: one per incident of a mission, whatever the notice."""
    return f"ceasefire.{mission}.{incident_id}"


def marker_type(category: str) -> str:
    """The CoT type of an incident's category; always of affiliation ``n`` or ``u``."""
    found = CATEGORY_TYPES.get(category, FALLBACK_TYPE)
    match = _AFFILIATION.match(found)
    return found if match is not None and match.group(1) in AFFILIATIONS else FALLBACK_TYPE


def _number(value: float) -> str:
    return repr(float(value))


def marker(outgoing: Outgoing, now: datetime) -> bytes | None:
    """The CoT XML event that shows the notice's incident on a TAK map; None when the notice
    is about no incident (nothing to place on a map)."""
    notice: dict[str, Any] = orjson.loads(outgoing.payload)
    facts: dict[str, Any] = notice.get("facts") or {}
    incident: dict[str, Any] | None = facts.get("incident")
    if not incident or not incident.get("location"):
        return None
    location = incident["location"]
    category = str(incident.get("category") or "other")
    with language(outgoing.lang):
        callsign = f"{label('category', category)} · {incident['id']}"
    root = Element(
        "event",
        {
            "version": "2.0",
            "uid": _text(marker_uid(str(notice.get("mission", "")), str(incident["id"]))),
            "type": marker_type(category),
            "how": HOW_FUSED,
            "time": format_time(now),
            "start": format_time(now),
            "stale": format_time(now + STALE_AFTER),
        },
    )
    SubElement(
        root,
        "point",
        {
            "lat": _number(location["lat"]),
            "lon": _number(location["lon"]),
            "hae": _number(UNKNOWN),
            "ce": _number(location.get("ce_m") if location.get("ce_m") is not None else UNKNOWN),
            "le": _number(UNKNOWN),
        },
    )
    detail = SubElement(root, "detail")
    SubElement(detail, "contact", {"callsign": _text(callsign)})
    SubElement(detail, "remarks").text = _text(outgoing.body)
    decision = facts.get("decision") or {}
    attributes = {
        "v": DETAIL_VERSION,
        "id": outgoing.notice_id,
        "incident": incident["id"],
        "kind": outgoing.kind,
        "recipient": outgoing.recipient,
        "role": outgoing.role,
        "lang": outgoing.lang,
        "created_at": format_time(outgoing.created_at),
        "decision": decision.get("id"),
        "ledger_index": decision.get("ledger_index"),
        "content_hash": notice.get("content_hash"),
    }
    element = SubElement(
        detail,
        DETAIL_TAG,
        {key: _text(value) for key, value in attributes.items() if value is not None},
    )
    SubElement(element, "subject").text = _text(outgoing.subject)
    SubElement(detail, "archive")  # TAK clients keep the marker across restarts
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + tostring(root, encoding="unicode").encode(
        "utf-8"
    )


def parse_address(address: str) -> tuple[str, int, bool]:
    """(host, port, TLS or not) of ``tcp://host:port`` or ``tls://host:port``."""
    try:
        parts = urlsplit(address)
        host, port = parts.hostname, parts.port
    except ValueError:
        host = port = None
        parts = urlsplit("")
    if parts.scheme not in SCHEMES or not host or port is None or parts.path not in ("", "/"):
        raise DeliveryFailed(
            _("{address} is not a TAK server address such as {example}").format(
                address=address, example="tcp://host:8087, tls://host:8089"
            ),
            retry=False,
        )
    return host, port, SCHEMES[parts.scheme]


def client_context(directory: Path) -> ssl.SSLContext:
    """TLS towards a TAK server: its authority (``ca.pem``) trusted, the center's client
    certificate (``client.pem``, ``client.key``) presented, as TAK servers require."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_verify_locations(directory / CA_FILE)
        context.load_cert_chain(directory / CERT_FILE, directory / KEY_FILE)
    except (OSError, ssl.SSLError) as e:
        raise CeasefireError(
            _("cannot read the TAK certificates in {path}: {error}").format(path=directory, error=e)
        ) from e
    return context


class TakChannel:
    """Sends each notice about an incident as that incident's marker to a TAK server."""

    name = NAME

    def __init__(
        self,
        tls: ssl.SSLContext | None = None,
        *,
        timeout: float = TIMEOUT,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.tls = tls
        self.timeout = timeout
        self.clock = clock

    async def send(self, outgoing: Outgoing) -> None:
        host, port, secure = parse_address(outgoing.address)
        event = marker(outgoing, self.clock())
        if event is None:
            raise DeliveryFailed(
                _("the notice is about no incident: a TAK server has no place to show it"),
                retry=False,
            )
        if secure and self.tls is None:
            raise DeliveryFailed(
                _("{address} needs TLS, and the center has no TAK certificates").format(
                    address=outgoing.address
                ),
                retry=False,
            )
        where = f"{host}:{port}"
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(
                    host,
                    port,
                    ssl=self.tls if secure else None,
                    server_hostname=host if secure else None,
                ),
                self.timeout,
            )
        except ssl.SSLCertVerificationError as e:
            raise DeliveryFailed(
                _(
                    "the TAK server {where} has a certificate the center does not trust: {error}"
                ).format(where=where, error=e.verify_message or e),
                retry=False,
            ) from e
        except (OSError, TimeoutError) as e:
            raise DeliveryFailed(
                _("cannot connect to the TAK server {where}: {error}").format(
                    where=where, error=str(e) or type(e).__name__
                ),
                retry=True,
            ) from e
        try:
            writer.write(event)
            await writer.drain()
            if writer.can_write_eof():
                writer.write_eof()
                await asyncio.wait_for(_until_closed(reader), self.timeout)
            writer.close()
            await asyncio.wait_for(writer.wait_closed(), self.timeout)
        except (OSError, TimeoutError) as e:
            writer.close()
            with contextlib.suppress(OSError, TimeoutError):
                await asyncio.wait_for(writer.wait_closed(), self.timeout)
            raise DeliveryFailed(
                _("the TAK server {where} did not confirm it read the marker: {error}").format(
                    where=where, error=str(e) or type(e).__name__
                ),
                retry=True,
            ) from e


def make(context: Context) -> TakChannel:
    """The channel as the dispatcher makes it; TLS towards the TAK servers when
    ``context.options["tak_certs"]`` names the directory of the center's TAK certificates
    (:func:`client_context`), refused at start-up when they cannot be read."""
    certs = context.options.get("tak_certs")
    if not certs:
        return TakChannel(timeout=context.timeout)
    try:
        tls = client_context(Path(certs))
    except CeasefireError as e:
        raise ValueError(str(e)) from e
    return TakChannel(tls, timeout=context.timeout)


async def _until_closed(reader: asyncio.StreamReader) -> None:
    """Read (and drop: the markers the server shares with every new client) until the server
    closes its half of the connection."""
    while await reader.read(1 << 16):
        pass


__all__ = [
    "NAME",
    "STALE_AFTER",
    "TakChannel",
    "client_context",
    "make",
    "marker",
    "marker_type",
    "marker_uid",
    "parse_address",
]
