"""C2SP signed notes: text plus one or more signature lines, and their Ed25519 keys.

Why: checkpoints travel as signed notes (https://c2sp.org/signed-note), the format that Go's
checksum database, Sigstore and the transparency-dev witnesses share. Using it means a party's
own tools can check our checkpoints, and that the log signature and each contingent's
cosignature sit side by side on one text without any wrapper of our own.

A note is the text (ending in a newline), a blank line, and lines
``— <key name> <base64(4-byte key ID || signature)>``. The key ID of an Ed25519 key is the
first four bytes of SHA-256(name || "\\n" || 0x01 || public key). Keys are written as
verifier keys ``<name>+<hex key ID>+<base64(0x01 || public key)>`` and signer keys
``PRIVATE+KEY+<name>+<hex key ID>+<base64(0x01 || seed)>``.

Opening a note ignores signatures from unknown keys, refuses the whole note if a known key's
signature fails, and requires at least one verified signature.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, Self, runtime_checkable

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ceasefire.errors import LedgerError

EM_DASH = "\u2014"
SIGNATURE_PREFIX = EM_DASH + " "
SIGNATURE_TYPE_ED25519 = 0x01
"""Signature type byte of plain Ed25519 note signatures (C2SP signed-note)."""

MAX_NOTE_BYTES = 1 << 20
"""Default limit on the size of a note to open (the spec asks verifiers to set one)."""

MAX_SIGNATURES = 100
"""Default limit on signature lines in a note (the spec requires accepting at least 16)."""

_CONTROL = re.compile(rb"[\x00-\x09\x0b-\x1f]")


class NoteError(LedgerError):
    """A note was refused; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class MalformedNoteError(NoteError):
    """The note does not follow the signed-note format."""


class UnverifiedNoteError(NoteError):
    """No signature on the note is from a known key."""


class InvalidSignatureError(NoteError):
    """A signature from a known key does not verify: the whole note is refused."""

    def __init__(self, name: str, key_id: int) -> None:
        self.name = name
        self.key_id = key_id
        super().__init__(f"invalid signature for key {name}+{key_id:08x}")


class KeyFormatError(LedgerError):
    """A verifier or signer key string is malformed or does not match its key ID."""


@runtime_checkable
class Verifier(Protocol):
    """Checks the signatures of one key (name and key ID) on note texts."""

    @property
    def name(self) -> str: ...

    @property
    def key_id(self) -> int: ...

    def verify(self, message: bytes, signature: bytes) -> bool:
        """Whether ``signature`` (the bytes after the key ID) signs ``message``."""
        ...


@runtime_checkable
class Signer(Protocol):
    """Signs note texts with one key."""

    @property
    def name(self) -> str: ...

    @property
    def key_id(self) -> int: ...

    def sign(self, message: bytes) -> bytes:
        """The signature bytes (without key ID) over the note text ``message``."""
        ...


def check_key_name(name: str) -> None:
    """Refuse a key name that is empty or holds a Unicode space, a plus or a control character."""
    if not isinstance(name, str) or not name:
        raise KeyFormatError("key name must not be empty")
    for ch in name:
        if ch.isspace() or ch == "+" or ord(ch) < 0x20:
            raise KeyFormatError(f"key name {name!r} contains a space, '+' or control character")
    try:
        name.encode("utf-8")
    except UnicodeEncodeError as e:
        raise KeyFormatError(f"key name {name!r} is not valid UTF-8") from e


def key_id(name: str, signature_type: int, public_key: bytes) -> int:
    """First four bytes (big-endian) of SHA-256(name || "\\n" || type byte || public key)."""
    digest = hashlib.sha256(
        name.encode("utf-8") + b"\n" + bytes([signature_type]) + public_key
    ).digest()
    return int.from_bytes(digest[:4], "big")


def b64encode(data: bytes) -> str:
    """Standard base64 with padding (RFC 4648 section 4)."""
    return base64.b64encode(data).decode("ascii")


def b64decode(text: str, what: str) -> bytes:
    """Decode standard base64, refusing anything but its one canonical spelling."""
    try:
        data = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError) as e:
        raise ValueError(f"{what} is not valid base64") from e
    if base64.b64encode(data).decode("ascii") != text:
        raise ValueError(f"{what} is not canonical base64")
    return data


def _parse_hex_id(text: str) -> int:
    if len(text) != 8 or not all(c in "0123456789abcdefABCDEF" for c in text):
        raise KeyFormatError(f"key ID {text!r} is not 8 hexadecimal digits")
    return int(text, 16)


@dataclass(frozen=True)
class VerifierKey:
    """A decoded verifier key string: name, key ID, signature type and public key bytes."""

    name: str
    key_id: int
    signature_type: int
    public_key: bytes

    @classmethod
    def parse(cls, vkey: str) -> VerifierKey:
        """Decode ``<name>+<hex key ID>+<base64(type || public key)>`` and check its key ID."""
        parts = vkey.split("+", 2)
        if len(parts) != 3:
            raise KeyFormatError("verifier key must be <name>+<key ID>+<base64 key>")
        name, hex_id, key64 = parts
        check_key_name(name)
        kid = _parse_hex_id(hex_id)
        try:
            raw = b64decode(key64, "verifier key")
        except ValueError as e:
            raise KeyFormatError(str(e)) from e
        if len(raw) < 2:
            raise KeyFormatError("verifier key holds no key material")
        if key_id(name, raw[0], raw[1:]) != kid:
            raise KeyFormatError(f"key ID {hex_id} does not match key {name}")
        return cls(name, kid, raw[0], raw[1:])

    def encode(self) -> str:
        """The key string ``<name>+<hex key ID>+<base64(type || public key)>``."""
        material = b64encode(bytes([self.signature_type]) + self.public_key)
        return f"{self.name}+{self.key_id:08x}+{material}"


@dataclass(frozen=True)
class SignerKey:
    """A decoded signer key string: name, key ID, signature type and private seed."""

    name: str
    key_id: int
    signature_type: int
    seed: bytes

    @classmethod
    def parse(cls, skey: str) -> SignerKey:
        """Decode ``PRIVATE+KEY+<name>+<hex key ID>+<base64(type || seed)>``.

        The key ID is checked by the signer class, which knows how to derive the public key.
        """
        parts = skey.split("+", 4)
        if len(parts) != 5 or parts[0] != "PRIVATE" or parts[1] != "KEY":
            raise KeyFormatError("signer key must be PRIVATE+KEY+<name>+<key ID>+<base64 key>")
        _, _, name, hex_id, key64 = parts
        check_key_name(name)
        kid = _parse_hex_id(hex_id)
        try:
            raw = b64decode(key64, "signer key")
        except ValueError as e:
            raise KeyFormatError(str(e)) from e
        if len(raw) < 2:
            raise KeyFormatError("signer key holds no key material")
        return cls(name, kid, raw[0], raw[1:])

    def encode(self) -> str:
        """The key string ``PRIVATE+KEY+<name>+<hex key ID>+<base64(type || seed)>``."""
        material = b64encode(bytes([self.signature_type]) + self.seed)
        return f"PRIVATE+KEY+{self.name}+{self.key_id:08x}+{material}"


def ed25519_public_key(seed: bytes) -> bytes:
    """The 32-byte Ed25519 public key of a 32-byte seed."""
    return Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()


class Ed25519Key:
    """What every Ed25519 key of a note has, whatever its signature type (0x01 for a log's
    signatures, 0x04 for cosignatures): a name, the public key and the key ID they give."""

    signature_type = SIGNATURE_TYPE_ED25519
    type_label = ""
    """Named after the expected type in a refusal (``(cosignature/v1)``)."""

    _name: str
    _public_key: bytes
    _key_id: int

    def _name_key(self, name: str, public_key: bytes) -> None:
        check_key_name(name)
        self._name = name
        self._public_key = bytes(public_key)
        self._key_id = key_id(name, self.signature_type, self._public_key)

    @classmethod
    def _check_type(cls, name: str, signature_type: int) -> None:
        if signature_type != cls.signature_type:
            raise KeyFormatError(
                f"key {name} has signature type {signature_type:#04x}, "
                f"expected {cls.signature_type:#04x}{cls.type_label}"
            )

    @property
    def name(self) -> str:
        return self._name

    @property
    def key_id(self) -> int:
        return self._key_id

    @property
    def public_key(self) -> bytes:
        return self._public_key

    @property
    def vkey(self) -> str:
        """The verifier key string, to hand to whoever checks this key's signatures."""
        return VerifierKey(self._name, self._key_id, self.signature_type, self._public_key).encode()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.vkey!r})"


class Ed25519Verifier(Ed25519Key):
    """Verifies plain Ed25519 note signatures (signature type 0x01) of one named key."""

    def __init__(self, name: str, public_key: bytes) -> None:
        if len(public_key) != 32:
            raise KeyFormatError(f"Ed25519 public key must be 32 bytes, got {len(public_key)}")
        self._name_key(name, public_key)
        self._key = Ed25519PublicKey.from_public_bytes(self._public_key)

    @classmethod
    def from_vkey(cls, vkey: str) -> Self:
        """The verifier of a key string ``<name>+<key ID>+<base64(type || key)>``."""
        k = VerifierKey.parse(vkey)
        cls._check_type(k.name, k.signature_type)
        return cls(k.name, k.public_key)

    def verify(self, message: bytes, signature: bytes) -> bool:
        if len(signature) != 64:
            return False
        try:
            self._key.verify(signature, message)
        except InvalidSignature:
            return False
        return True

    def __eq__(self, other: object) -> bool:
        return (
            type(other) is type(self)
            and isinstance(other, Ed25519Verifier)
            and (other._name, other._public_key) == (self._name, self._public_key)
        )

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._name, self._public_key))


class Ed25519Signer(Ed25519Key):
    """Signs note texts with an Ed25519 key (signature type 0x01)."""

    def __init__(self, name: str, seed: bytes) -> None:
        if len(seed) != 32:
            raise KeyFormatError(f"Ed25519 seed must be 32 bytes, got {len(seed)}")
        self._seed = bytes(seed)
        self._key = Ed25519PrivateKey.from_private_bytes(self._seed)
        self._name_key(name, self._key.public_key().public_bytes_raw())

    @classmethod
    def _parse_skey(cls, skey: str) -> SignerKey:
        """The parts of ``PRIVATE+KEY+<name>+<key ID>+<base64(type || seed)>``, checked."""
        k = SignerKey.parse(skey)
        cls._check_type(k.name, k.signature_type)
        if len(k.seed) != 32:
            raise KeyFormatError(f"Ed25519 seed must be 32 bytes, got {len(k.seed)}")
        return k

    def _check_id(self, k: SignerKey) -> Self:
        if self.key_id != k.key_id:
            raise KeyFormatError(f"key ID {k.key_id:08x} does not match key {k.name}")
        return self

    @classmethod
    def generate(cls, name: str) -> Self:
        """A new random key."""
        return cls(name, Ed25519PrivateKey.generate().private_bytes_raw())

    @classmethod
    def from_skey(cls, skey: str) -> Self:
        """The signer of ``PRIVATE+KEY+<name>+<key ID>+<base64(type || seed)>``."""
        k = cls._parse_skey(skey)
        return cls(k.name, k.seed)._check_id(k)

    @property
    def skey(self) -> str:
        """The signer key string. Secret: keep it out of logs."""
        return SignerKey(self._name, self._key_id, self.signature_type, self._seed).encode()

    def verifier(self) -> Ed25519Verifier:
        """The matching verifier."""
        return Ed25519Verifier(self._name, self._public_key)

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message)


@dataclass(frozen=True)
class Signature:
    """One signature line: the key's name and ID, and the signature bytes after the ID."""

    name: str
    key_id: int
    signature: bytes

    def line(self) -> str:
        """``— <name> <base64(key ID || signature)>`` with its final newline."""
        blob = self.key_id.to_bytes(4, "big") + self.signature
        return f"{SIGNATURE_PREFIX}{self.name} {b64encode(blob)}\n"


@dataclass(frozen=True)
class Note:
    """An opened note: its text, the signatures verified, and those from unknown keys."""

    text: str
    verified: tuple[Signature, ...]
    unverified: tuple[Signature, ...] = ()

    def signature_of(self, verifier: Verifier) -> Signature | None:
        """The verified signature of ``verifier``'s key, if any."""
        for sig in self.verified:
            if (sig.name, sig.key_id) == (verifier.name, verifier.key_id):
                return sig
        return None


def check_text(text: str) -> bytes:
    """The UTF-8 bytes of a note text, or :class:`MalformedNoteError` saying what is wrong."""
    try:
        raw = text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise MalformedNoteError("note text is not valid UTF-8") from e
    if not raw.endswith(b"\n"):
        raise MalformedNoteError("note text must end with a newline")
    if _CONTROL.search(raw):
        raise MalformedNoteError("note text contains a control character other than newline")
    return raw


def parse_signature_line(line: str) -> Signature:
    """Parse one ``— <name> <base64>`` line (without its newline)."""
    if not line.startswith(SIGNATURE_PREFIX):
        raise MalformedNoteError(f"signature line does not start with '{SIGNATURE_PREFIX}'")
    fields = line[len(SIGNATURE_PREFIX) :].split(" ")
    if len(fields) != 2:
        raise MalformedNoteError("signature line must be '— <key name> <base64 signature>'")
    name, sig64 = fields
    try:
        check_key_name(name)
    except KeyFormatError as e:
        raise MalformedNoteError(f"signature line: {e}") from e
    try:
        blob = b64decode(sig64, f"signature of {name}")
    except ValueError as e:
        raise MalformedNoteError(str(e)) from e
    if len(blob) < 5:
        raise MalformedNoteError(f"signature of {name} is too short")
    return Signature(name, int.from_bytes(blob[:4], "big"), blob[4:])


def parse_signature_lines(block: str, *, max_signatures: int = MAX_SIGNATURES) -> list[Signature]:
    """Parse newline-terminated signature lines (such as a witness's response body)."""
    if not block.endswith("\n"):
        raise MalformedNoteError("signature lines must end with a newline")
    lines = block[:-1].split("\n")
    if len(lines) > max_signatures:
        raise MalformedNoteError(f"more than {max_signatures} signatures")
    return [parse_signature_line(line) for line in lines]


def parse_note(
    message: bytes | str,
    *,
    max_bytes: int = MAX_NOTE_BYTES,
    max_signatures: int = MAX_SIGNATURES,
) -> tuple[str, list[Signature]]:
    """Split a signed note into its text and signature lines, verifying nothing.

    The text MUST NOT be trusted until :func:`open_note` has verified a signature; this is for
    finding which keys to verify with (a witness reads the origin line first).
    """
    if isinstance(message, str):
        try:
            raw = message.encode("utf-8")
        except UnicodeEncodeError as e:
            raise MalformedNoteError("note is not valid UTF-8") from e
    else:
        raw = bytes(message)
    if len(raw) > max_bytes:
        raise MalformedNoteError(f"note is {len(raw)} bytes, more than the limit of {max_bytes}")
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise MalformedNoteError("note is not valid UTF-8") from e
    if _CONTROL.search(raw):
        raise MalformedNoteError("note contains a control character other than newline")
    if not decoded.endswith("\n"):
        raise MalformedNoteError("note must end with a newline")
    split = decoded.rfind("\n\n")
    if split < 0:
        raise MalformedNoteError("note has no blank line between text and signatures")
    text = decoded[: split + 1]
    block = decoded[split + 2 :]
    if not block:
        raise MalformedNoteError("note has no signatures")
    if block.count("\n") > max_signatures:
        raise MalformedNoteError(f"note has more than {max_signatures} signatures")
    return text, parse_signature_lines(block, max_signatures=max_signatures)


def _index(verifiers: Sequence[Verifier]) -> dict[tuple[str, int], Verifier]:
    known: dict[tuple[str, int], Verifier] = {}
    for v in verifiers:
        k = (v.name, v.key_id)
        if k in known and known[k] != v:
            raise KeyFormatError(f"ambiguous key {v.name}+{v.key_id:08x}: two keys share it")
        known[k] = v
    return known


def open_note(
    message: bytes | str,
    verifiers: Sequence[Verifier],
    *,
    max_bytes: int = MAX_NOTE_BYTES,
    max_signatures: int = MAX_SIGNATURES,
) -> Note:
    """Parse a signed note and verify it against known keys.

    Signatures of unknown keys (no verifier with the same name *and* key ID) are kept as
    unverified and otherwise ignored. A known key's signature that fails refuses the whole
    note (:class:`InvalidSignatureError`); a note with no verified signature is refused
    (:class:`UnverifiedNoteError`).
    """
    text, signatures = parse_note(message, max_bytes=max_bytes, max_signatures=max_signatures)
    known = _index(verifiers)
    payload = text.encode("utf-8")
    verified: list[Signature] = []
    unverified: list[Signature] = []
    seen: set[tuple[str, int]] = set()
    for sig in signatures:
        v = known.get((sig.name, sig.key_id))
        if v is None:
            unverified.append(sig)
            continue
        if not v.verify(payload, sig.signature):
            raise InvalidSignatureError(sig.name, sig.key_id)
        if (sig.name, sig.key_id) not in seen:
            seen.add((sig.name, sig.key_id))
            verified.append(sig)
    if not verified:
        raise UnverifiedNoteError("note has no signature from a known key")
    return Note(text, tuple(verified), tuple(unverified))


def format_note(text: str, signatures: Sequence[Signature]) -> str:
    """A note from its text and signature lines (at least one)."""
    check_text(text)
    if not signatures:
        raise MalformedNoteError("a note needs at least one signature")
    return text + "\n" + "".join(sig.line() for sig in signatures)


def sign_note(text: str, signers: Sequence[Signer], existing: Sequence[Signature] = ()) -> str:
    """Sign ``text`` with every signer, after any ``existing`` signatures, as a note."""
    payload = check_text(text)
    signatures = list(existing)
    for signer in signers:
        check_key_name(signer.name)
        signatures.append(Signature(signer.name, signer.key_id, signer.sign(payload)))
    return format_note(text, signatures)
