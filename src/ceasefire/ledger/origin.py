"""Who a record comes from: a contingent's node signs each observation with its own key.

Why: without it the center (or anyone with write access to its database) could store and log
a record in a contingent's name. Each contingent's node holds its *intake key* (Ed25519, C2SP
key name ``<origin>/<contingent>/intake``, e.g. ``ceasefire/karabakh-2020/RU/intake``); the
center holds only the public half, registered in ``intake_keys``.

The signed message is ``ceasefire-observation/v1\\n`` followed by the record's canonical JSON
bytes (exactly the text stored in ``observations.record`` and logged as the entry's
``record``). The signature is written as in C2SP signed notes: standard base64 of the key's
4-byte ID (big-endian) and the 64-byte Ed25519 signature. It is stored in
``observations.signature`` and carried in the ledger entry as its ``signature`` member, so a
released entry proves its origin to anyone holding the contingent's verifier key.

A batch a node forwards is signed too (over the exact bytes of its payload), so a batch from a
node whose key is not registered, or altered on the way, is refused whole.

Pure module: no database.
"""

from __future__ import annotations

from collections.abc import Sequence

from ceasefire.canonical import canonical_json
from ceasefire.ledger.entry import KIND_OBSERVATION, EntryError, parse_envelope
from ceasefire.ledger.note import Ed25519Signer, Ed25519Verifier, b64decode, b64encode

RECORD_CONTEXT = b"ceasefire-observation/v1\n"
BATCH_CONTEXT = b"ceasefire-node-batch/v1\n"
INTAKE = "intake"


def intake_key_name(origin: str, contingent: str) -> str:
    """The C2SP name of a contingent's intake key: ``<origin>/<contingent>/intake``."""
    return f"{origin}/{contingent}/{INTAKE}"


def contingent_of_key(origin: str, name: str) -> str | None:
    """The contingent an intake key's name is for, or None if it is not one of this log."""
    prefix, _sep, rest = name.partition(origin + "/")
    if prefix or not rest.endswith("/" + INTAKE):
        return None
    contingent = rest[: -len(INTAKE) - 1]
    return contingent if contingent and "/" not in contingent else None


def _pack(signer: Ed25519Signer, message: bytes) -> str:
    return b64encode(signer.key_id.to_bytes(4, "big") + signer.sign(message))


def _unpack(signature: str) -> tuple[int, bytes] | None:
    try:
        raw = b64decode(signature, "signature")
    except ValueError:
        return None
    if len(raw) != 68:
        return None
    return int.from_bytes(raw[:4], "big"), raw[4:]


def sign_record(signer: Ed25519Signer, record: bytes) -> str:
    """The signature of one canonical record, as stored and logged."""
    return _pack(signer, RECORD_CONTEXT + record)


def signed_key_id(signature: str) -> int | None:
    """The ID of the key a signature claims, or None if the text is not a signature."""
    unpacked = _unpack(signature)
    return None if unpacked is None else unpacked[0]


def verify_record(verifier: Ed25519Verifier, record: bytes, signature: str) -> bool:
    """Whether ``signature`` is ``verifier``'s key's over this record."""
    unpacked = _unpack(signature)
    if unpacked is None or unpacked[0] != verifier.key_id:
        return False
    return verifier.verify(RECORD_CONTEXT + record, unpacked[1])


def sign_batch(signer: Ed25519Signer, payload: bytes) -> str:
    """The signature of a forwarded batch: over the exact bytes of its payload."""
    return _pack(signer, BATCH_CONTEXT + payload)


def verify_batch(verifier: Ed25519Verifier, payload: bytes, signature: str) -> bool:
    unpacked = _unpack(signature)
    if unpacked is None or unpacked[0] != verifier.key_id:
        return False
    return verifier.verify(BATCH_CONTEXT + payload, unpacked[1])


def unsigned_claims(
    contingent: str, keys: Sequence[Ed25519Verifier], entries: Sequence[str | bytes], first: int
) -> list[str]:
    """Why each entry in ``contingent``'s name (an observation ``<contingent>/...``) does not
    carry a valid signature by one of its ``keys``; ``first`` is the first entry's index.
    An entry given as bytes (its leaf hash: withheld from the caller) is not checked."""
    problems = []
    prefix = contingent + "/"
    for index, text in enumerate(entries, start=first):
        if isinstance(text, bytes):
            continue
        try:
            env = parse_envelope(text)
        except EntryError as e:
            problems.append(f"entry {index} is malformed: {e}")
            continue
        claimed = isinstance(env.record, dict) and env.record.get("contingent") == contingent
        if env.kind != KIND_OBSERVATION or not (claimed or env.ref.startswith(prefix)):
            continue
        if env.signature is None:
            problems.append(f"entry {index} ({env.ref}) is in {contingent}'s name but not signed")
            continue
        record = canonical_json(env.record)
        if not any(verify_record(key, record, env.signature) for key in keys):
            problems.append(
                f"entry {index} ({env.ref}) is in {contingent}'s name but its signature is not "
                f"by {contingent}'s intake key"
            )
    return problems
