"""C2SP checkpoints and tlog-cosignature v1: the signed, cosigned statement of the ledger.

Why: a checkpoint (https://c2sp.org/tlog-checkpoint) says "this log, at this size, has this
root", signed by the log. Each contingent runs a cosigner (https://c2sp.org/tlog-cosignature)
that adds its own timestamped Ed25519 signature once it has checked the checkpoint extends the
last one it signed. A checkpoint counts only with the log's signature *and* every required
cosignature, so neither contingent alone can show a party a different history.

Checkpoint text: origin line, tree size in decimal, base64 root hash, optional extension lines.
A v1 cosignature signs ``"cosignature/v1\\ntime <unix seconds>\\n" + checkpoint text``; its key
ID uses signature type 0x04 (SHA-256(name || "\\n" || 0x04 || public key)[:4]) and its
signature line carries key ID || 8-byte big-endian timestamp || 64-byte Ed25519 signature.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Self

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ceasefire.ledger.errors import LedgerError
from ceasefire.ledger.merkle import HASH_SIZE, MAX_TREE_SIZE
from ceasefire.ledger.note import (
    Ed25519Signer,
    Ed25519Verifier,
    Note,
    Signature,
    Signer,
    UnverifiedNoteError,
    Verifier,
    b64decode,
    b64encode,
    open_note,
    sign_note,
)

SIGNATURE_TYPE_COSIGNATURE_V1 = 0x04
"""Signature type byte of timestamped Ed25519 cosignatures (C2SP tlog-cosignature)."""

COSIGNATURE_HEADER = "cosignature/v1\n"
MAX_TIMESTAMP = (1 << 63) - 1
"""A cosignature timestamp must not exceed 2**63 - 1."""

_COSIGNATURE_LENGTH = 8 + 64


class CheckpointError(LedgerError):
    """A checkpoint text is malformed, or a checkpoint lacks a required signature."""


class IncompleteCheckpointError(CheckpointError):
    """The checkpoint lacks the log's signature or a required cosignature."""

    def __init__(self, missing: Sequence[str]) -> None:
        self.missing = tuple(missing)
        super().__init__("checkpoint lacks a valid signature of: " + ", ".join(self.missing))


def _is_decimal(text: str) -> bool:
    return text.isascii() and text.isdigit() and (text == "0" or not text.startswith("0"))


@dataclass(frozen=True)
class Checkpoint:
    """The note text of a checkpoint: origin, tree size, root hash, extension lines."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for what, line in [("origin", self.origin), *(("extension", e) for e in self.extensions)]:
            if not line:
                raise CheckpointError(f"checkpoint {what} line must not be empty")
            if "\n" in line or any(ord(c) < 0x20 for c in line):
                raise CheckpointError(f"checkpoint {what} line contains a control character")
        if isinstance(self.size, bool) or not isinstance(self.size, int):
            raise CheckpointError("checkpoint tree size must be an integer")
        if not 0 <= self.size <= MAX_TREE_SIZE:
            raise CheckpointError(f"checkpoint tree size {self.size} is outside 0..2**64-1")
        if len(self.root_hash) != HASH_SIZE:
            raise CheckpointError(
                f"checkpoint root hash must be {HASH_SIZE} bytes, got {len(self.root_hash)}"
            )

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """Parse a checkpoint note text (the note's text, ending in a newline)."""
        if not text.endswith("\n"):
            raise CheckpointError("checkpoint text must end with a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise CheckpointError("checkpoint needs origin, tree size and root hash lines")
        origin, size_line, root_line, *extensions = lines
        if not _is_decimal(size_line):
            raise CheckpointError(
                f"checkpoint tree size {size_line!r} is not a decimal without leading zeros"
            )
        try:
            root = b64decode(root_line, "checkpoint root hash")
        except ValueError as e:
            raise CheckpointError(str(e)) from e
        return cls(origin, int(size_line), root, tuple(extensions))

    def body(self) -> str:
        """The note text: one line each for origin, size, base64 root, extensions."""
        lines = [self.origin, str(self.size), b64encode(self.root_hash), *self.extensions]
        return "\n".join(lines) + "\n"


def cosignature_message(body: str, timestamp: int) -> bytes:
    """What a v1 cosignature signs: header, ``time <ts>`` line, then the checkpoint text."""
    if isinstance(timestamp, bool) or not 0 <= timestamp <= MAX_TIMESTAMP:
        raise CheckpointError(f"cosignature timestamp {timestamp} is outside 0..2**63-1")
    return f"{COSIGNATURE_HEADER}time {timestamp}\n{body}".encode()


def cosignature_timestamp(signature: Signature | bytes) -> int:
    """The timestamp carried by a v1 cosignature (signature bytes after the key ID)."""
    raw = signature.signature if isinstance(signature, Signature) else signature
    if len(raw) != _COSIGNATURE_LENGTH:
        raise CheckpointError(
            f"a v1 cosignature is {_COSIGNATURE_LENGTH} bytes after the key ID, got {len(raw)}"
        )
    ts = int.from_bytes(raw[:8], "big")
    if ts > MAX_TIMESTAMP:
        raise CheckpointError("cosignature timestamp exceeds 2**63-1")
    return ts


class CosignatureVerifier(Ed25519Verifier):
    """Verifies one cosigner's v1 cosignatures (signature type 0x04)."""

    signature_type = SIGNATURE_TYPE_COSIGNATURE_V1
    type_label = " (cosignature/v1)"

    def verify(self, message: bytes, signature: bytes) -> bool:
        """Whether ``signature`` (timestamp || Ed25519 signature) cosigns note text ``message``."""
        if len(signature) != _COSIGNATURE_LENGTH:
            return False
        ts = int.from_bytes(signature[:8], "big")
        if ts > MAX_TIMESTAMP:
            return False
        try:
            body = message.decode("utf-8")
        except UnicodeDecodeError:
            return False
        try:
            self._key.verify(signature[8:], cosignature_message(body, ts))
        except InvalidSignature:
            return False
        return True


def _now() -> int:
    return int(time.time())


class CosignatureSigner(Ed25519Signer):
    """Produces v1 cosignatures with one Ed25519 key; the clock gives the timestamp.

    The signed-note spec defines no signer-key form for type 0x04; its key string mirrors the
    verifier-key form (type byte 0x04, key ID computed with 0x04)."""

    signature_type = SIGNATURE_TYPE_COSIGNATURE_V1
    type_label = " (cosignature/v1)"

    def __init__(self, name: str, seed: bytes, clock: Callable[[], int] = _now) -> None:
        super().__init__(name, seed)
        self._clock = clock

    @classmethod
    def generate(cls, name: str, clock: Callable[[], int] = _now) -> Self:
        """A new random cosigner key."""
        return cls(name, Ed25519PrivateKey.generate().private_bytes_raw(), clock)

    @classmethod
    def from_skey(cls, skey: str, clock: Callable[[], int] = _now) -> Self:
        """The cosigner of ``PRIVATE+KEY+<name>+<key ID>+<base64(0x04 || seed)>``."""
        k = cls._parse_skey(skey)
        return cls(k.name, k.seed, clock)._check_id(k)

    def verifier(self) -> CosignatureVerifier:
        """The matching verifier."""
        return CosignatureVerifier(self._name, self._public_key)

    def sign(self, message: bytes) -> bytes:
        """Timestamp (now) || Ed25519 signature over the cosigned message for note text."""
        return self._sign_at(message.decode("utf-8"), self._clock())

    def _sign_at(self, body: str, timestamp: int) -> bytes:
        signed = self._key.sign(cosignature_message(body, timestamp))
        return timestamp.to_bytes(8, "big") + signed

    def cosign(self, checkpoint: Checkpoint, timestamp: int | None = None) -> Signature:
        """A cosignature line for ``checkpoint`` at ``timestamp`` (default: the clock)."""
        ts = self._clock() if timestamp is None else timestamp
        return Signature(self._name, self._key_id, self._sign_at(checkpoint.body(), ts))


def sign_checkpoint(checkpoint: Checkpoint, signer: Signer) -> str:
    """The checkpoint as a note signed by the log's key."""
    return sign_note(checkpoint.body(), [signer])


def open_checkpoint(message: bytes | str, verifiers: Sequence[Verifier]) -> tuple[Checkpoint, Note]:
    """Open a checkpoint note signed by at least one of ``verifiers`` and parse its text."""
    note = open_note(message, verifiers)
    return Checkpoint.parse(note.text), note


@dataclass(frozen=True)
class CosignedCheckpoint:
    """A checkpoint with the log's signature and every required cosignature verified."""

    checkpoint: Checkpoint
    note: Note
    cosigned_at: Mapping[str, int] = field(default_factory=dict)
    """Cosigner name to the timestamp of its cosignature."""


def verify_cosigned_checkpoint(
    message: bytes | str,
    log: Verifier,
    cosigners: Sequence[CosignatureVerifier],
    *,
    origin: str | None = None,
) -> CosignedCheckpoint:
    """Check a checkpoint note is complete: signed by ``log`` and cosigned by every cosigner.

    Signatures of other keys are ignored; a failing signature of a known key refuses the note.
    With ``origin``, the checkpoint must also carry that origin line.
    """
    try:
        note = open_note(message, [log, *cosigners])
    except UnverifiedNoteError as e:
        names = [f"log {log.name}", *(f"cosigner {c.name}" for c in cosigners)]
        raise IncompleteCheckpointError(names) from e
    checkpoint = Checkpoint.parse(note.text)
    if origin is not None and checkpoint.origin != origin:
        raise CheckpointError(
            f"checkpoint origin {checkpoint.origin!r} is not the expected {origin!r}"
        )
    missing: list[str] = []
    if note.signature_of(log) is None:
        missing.append(f"log {log.name}")
    cosigned_at: dict[str, int] = {}
    for cosigner in cosigners:
        sig = note.signature_of(cosigner)
        if sig is None:
            missing.append(f"cosigner {cosigner.name}")
        else:
            cosigned_at[cosigner.name] = cosignature_timestamp(sig)
    if missing:
        raise IncompleteCheckpointError(missing)
    return CosignedCheckpoint(checkpoint, note, cosigned_at)
