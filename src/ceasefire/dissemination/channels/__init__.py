"""Channels: how a notice travels to a recipient (``http``, ``email``, ``file``, ``tak``).

A channel is a small module with a factory ``make(context) -> Channel``; a channel's
``send`` delivers one notice or raises :class:`DeliveryFailed` (``retry=False`` for a refusal
that trying again cannot cure, such as a malformed address). The dispatcher
(:mod:`ceasefire.dissemination.dispatcher`) owns retries, back-off and the dead letters; a
channel tries once.

The built-in channels are named in :data:`BUILTIN` and imported only when used, so a missing
module is an error when the dispatcher starts (:func:`load`), not in the middle of sending.
A package a mission ships adds a channel through the entry point group ``ceasefire.channels``
naming its factory::

    [project.entry-points."ceasefire.channels"]
    pigeon = "mission_lines.pigeon:make"
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from importlib.metadata import entry_points
from typing import Any, Protocol, runtime_checkable

from ceasefire.dissemination.daily import Attachment
from ceasefire.dissemination.webhooks import Signer
from ceasefire.errors import CeasefireError
from ceasefire.i18n import _
from ceasefire.mission.model import CHANNELS

ENTRY_POINTS = "ceasefire.channels"

BUILTIN: dict[str, str] = {
    "http": "ceasefire.dissemination.channels.webhook:make",
    "email": "ceasefire.dissemination.channels.email:make",
    "file": "ceasefire.dissemination.channels.file:make",
    "tak": "ceasefire.dissemination.channels.tak:make",
}
"""``module:factory`` of each built-in channel by name (the mission's contact ``channel``)."""


@dataclass(frozen=True)
class Outgoing:
    """One notice on its way to one recipient over one channel (one attempt)."""

    notice_id: str
    kind: str
    recipient: str
    role: str  # addressee | copy
    lang: str
    subject: str
    body: str  # the plain text, in the recipient's language
    payload: str  # the notice's canonical JSON, exactly as stored and logged
    incident_id: str | None
    created_at: datetime
    attempt: int  # 1 for the first try of this delivery
    address: str  # the contact's address: URL, e-mail address, directory, tcp://host:port
    attachments: tuple[Attachment, ...] = ()
    """Files for a channel that carries them (e-mail, the file drop): a daily report's document
    and its signed note; the webhook carries only the references its payload holds."""


class DeliveryFailed(Exception):
    """A delivery that did not happen: ``reason`` for the record, ``retry`` False when trying
    again cannot help (the dispatcher then makes it a dead letter at once)."""

    def __init__(self, reason: str, retry: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry = retry


@runtime_checkable
class Channel(Protocol):
    """Sends one notice; returns once the other end has it, else raises DeliveryFailed."""

    name: str

    async def send(self, outgoing: Outgoing) -> None: ...


@dataclass(frozen=True)
class Context:
    """What channels are made with: the center's signer key and the settings they use."""

    signer: Signer
    mission: str = ""  # the mission's id (a sender's name, a CoT uid prefix)
    smtp: str = "127.0.0.1:25"  # host:port of the SMTP relay
    smtp_from: str = ""  # the From address (default ceasefire@<mission>.invalid)
    timeout: float = 10.0  # seconds a single attempt may take
    options: dict[str, Any] = field(default_factory=dict)  # a channel's own settings


Factory = Callable[[Context], Channel]


class ChannelError(CeasefireError):
    """A channel that cannot be made: unknown, its module missing, or refusing its settings."""


@cache
def _installed() -> dict[str, Any]:
    return {point.name: point for point in entry_points(group=ENTRY_POINTS)}


def names() -> list[str]:
    """Every channel known: the built-in ones and those of installed packages."""
    return sorted(set(BUILTIN) | set(_installed()))


def factory(name: str) -> Factory:
    """The factory of channel ``name``, imported now: a clear error if it cannot be."""
    spec = BUILTIN.get(name)
    try:
        if spec is not None:
            module, _sep, attribute = spec.partition(":")
            made: Factory = getattr(importlib.import_module(module), attribute)
            return made
        point = _installed().get(name)
        if point is None:
            raise ChannelError(
                _("no channel named {name}; known: {known}").format(
                    name=name, known=", ".join(names())
                )
            )
        loaded: Factory = point.load()
        return loaded
    except (ImportError, AttributeError) as e:
        raise ChannelError(
            _("the channel {name} cannot be loaded ({where}): {error}").format(
                name=name, where=spec or ENTRY_POINTS, error=e
            )
        ) from e


def load(wanted: Iterable[str], context: Context) -> dict[str, Channel]:
    """Make each channel in ``wanted`` (at start-up): every problem at once, as one error."""
    made: dict[str, Channel] = {}
    problems: list[str] = []
    for name in sorted(set(wanted)):
        try:
            made[name] = factory(name)(context)
        except ChannelError as e:
            problems.append(str(e))
        except ValueError as e:  # a factory refusing its settings
            problems.append(_("the channel {name}: {error}").format(name=name, error=e))
    if problems:
        raise ChannelError("; ".join(problems))
    return made


async def close(channels: Iterable[Channel]) -> None:
    """Let each channel release what it holds (connections), if it holds anything."""
    for channel in channels:
        closer = getattr(channel, "aclose", None)
        if closer is not None:
            await closer()


__all__ = [
    "BUILTIN",
    "CHANNELS",
    "ENTRY_POINTS",
    "Attachment",
    "Channel",
    "ChannelError",
    "Context",
    "DeliveryFailed",
    "Factory",
    "Outgoing",
    "close",
    "factory",
    "load",
    "names",
]
