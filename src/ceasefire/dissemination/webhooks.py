"""Signing what the center sends, and checking it at the receiving end.

Two forms, both Ed25519 with the center's signer key (the key its log is signed with, so a
party that trusts the log's checkpoints already holds the key that checks a notice):

- a webhook follows the Standard Webhooks specification in its asymmetric form: the headers
  ``webhook-id`` (the notice id), ``webhook-timestamp`` (unix seconds) and
  ``webhook-signature`` = ``v1a,<base64 signature>`` over the bytes ``{id}.{timestamp}.{body}``.
  :func:`verify_webhook` is what a receiver runs: it refuses a bad signature, and a timestamp
  outside the tolerance (a replay of an old delivery, or a clock far off);
- a detached signature of a notice's payload (an e-mail's attachment, a dropped file's
  ``.sig``): :func:`sign_payload` and :func:`verify_payload`, text of two lines, the center's
  verifier key (C2SP vkey) then the base64 signature of the payload's bytes.

Only ``cryptography`` is needed to check either (docs/direct-lines.md has a receiver's code).
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Mapping
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ceasefire.i18n import _
from ceasefire.ledger.note import Ed25519Verifier, KeyFormatError

ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"
VERSION = "v1a"
"""The Standard Webhooks version tag of an asymmetric (Ed25519) signature."""
TOLERANCE = 300.0
"""Seconds a receiver accepts a webhook's timestamp away from its own clock."""
PUBLIC_KEY_PREFIX = "whpk_"
"""How the Standard Webhooks spec writes a base64 Ed25519 public key."""


class Signer(Protocol):
    """What signs: the ledger's :class:`~ceasefire.ledger.note.Ed25519Signer`."""

    @property
    def vkey(self) -> str: ...

    def sign(self, message: bytes) -> bytes: ...


class SignatureRefused(ValueError):
    """A webhook or a notice whose signature does not hold; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def signed_content(msg_id: str, timestamp: int | str, body: bytes) -> bytes:
    """The bytes a webhook's signature covers: ``{id}.{timestamp}.{body}``."""
    return f"{msg_id}.{timestamp}.".encode() + body


def webhook_headers(
    signer: Signer, msg_id: str, body: bytes, timestamp: int | None = None
) -> dict[str, str]:
    """The three Standard Webhooks headers of ``body`` sent as ``msg_id``, signed now."""
    stamp = int(time.time()) if timestamp is None else int(timestamp)
    signature = base64.b64encode(signer.sign(signed_content(msg_id, stamp, body))).decode()
    return {
        ID_HEADER: msg_id,
        TIMESTAMP_HEADER: str(stamp),
        SIGNATURE_HEADER: f"{VERSION},{signature}",
    }


def public_key(key: str | bytes | Ed25519PublicKey) -> Ed25519PublicKey:
    """An Ed25519 public key from a C2SP vkey (``ceasefire keys show``), a Standard Webhooks
    ``whpk_<base64>``, raw 32 bytes, or the key itself."""
    if isinstance(key, Ed25519PublicKey):
        return key
    if isinstance(key, bytes):
        raw = key
    elif key.startswith(PUBLIC_KEY_PREFIX):
        try:
            raw = base64.b64decode(key[len(PUBLIC_KEY_PREFIX) :], validate=True)
        except binascii.Error as e:
            raise ValueError(_("not a base64 public key: {key}").format(key=key)) from e
    else:
        try:
            raw = Ed25519Verifier.from_vkey(key).public_key
        except KeyFormatError as e:
            raise ValueError(
                _("not an Ed25519 verifier key (C2SP vkey): {error}").format(error=e)
            ) from e
    if len(raw) != 32:
        raise ValueError(_("an Ed25519 public key has 32 bytes, not {n}").format(n=len(raw)))
    return Ed25519PublicKey.from_public_bytes(raw)


def _header(headers: Mapping[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    raise SignatureRefused(_("the header {name} is missing").format(name=name))


def verify_webhook(
    headers: Mapping[str, str],
    body: bytes,
    key: str | bytes | Ed25519PublicKey,
    *,
    tolerance: float = TOLERANCE,
    now: float | None = None,
) -> str:
    """Check a received webhook; its id (the notice id, to drop a repeat) when it holds.

    Raises :class:`SignatureRefused` when a header is missing, the timestamp is further than
    ``tolerance`` seconds from ``now`` (a replay, or a clock far off), or no ``v1a`` signature
    in the header verifies with ``key``."""
    msg_id = _header(headers, ID_HEADER)
    stamp = _header(headers, TIMESTAMP_HEADER)
    signatures = _header(headers, SIGNATURE_HEADER)
    if not stamp.isascii() or not stamp.isdigit():
        raise SignatureRefused(_("the timestamp {value!r} is not unix seconds").format(value=stamp))
    moment = time.time() if now is None else now
    if abs(moment - int(stamp)) > tolerance:
        raise SignatureRefused(
            _(
                "the timestamp is {seconds:.0f} s away from this clock, more than the "
                "tolerance of {tolerance:.0f} s (a replay?)"
            ).format(seconds=abs(moment - int(stamp)), tolerance=tolerance)
        )
    verifier = public_key(key)
    content = signed_content(msg_id, stamp, body)
    for item in signatures.split():
        version, _sep, value = item.partition(",")
        if version != VERSION:
            continue
        try:
            verifier.verify(base64.b64decode(value, validate=True), content)
        except (binascii.Error, InvalidSignature, ValueError):
            continue
        return msg_id
    raise SignatureRefused(_("no signature in the header verifies with the center's key"))


def sign_payload(signer: Signer, payload: bytes) -> str:
    """The detached signature of a notice's payload: the signer's vkey, then the base64
    Ed25519 signature of ``payload``, one per line."""
    return f"{signer.vkey}\n{base64.b64encode(signer.sign(payload)).decode()}\n"


def verify_payload(payload: bytes, signature: str, key: str | bytes | Ed25519PublicKey) -> None:
    """Check a detached signature (:func:`sign_payload`) with the center's key, which the
    reader holds from elsewhere (the key named in the file is not trusted for itself)."""
    lines = signature.strip().splitlines()
    if len(lines) != 2:
        raise SignatureRefused(_("a notice's signature has two lines: the key, the signature"))
    try:
        public_key(key).verify(base64.b64decode(lines[1], validate=True), payload)
    except (binascii.Error, InvalidSignature, ValueError) as e:
        raise SignatureRefused(_("the notice's signature does not verify")) from e


__all__ = [
    "ID_HEADER",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "TOLERANCE",
    "SignatureRefused",
    "Signer",
    "public_key",
    "sign_payload",
    "verify_payload",
    "verify_webhook",
    "webhook_headers",
]
