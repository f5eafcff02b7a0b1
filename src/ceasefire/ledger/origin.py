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

A node signs its records a group at a time (:func:`sign_records`): one Ed25519 signature
over the root of the RFC 9162 Merkle tree of up to :data:`GROUP` records, whose leaves are
``SHA-256(0x00 || "ceasefire-observation/v1\\n" || record)``; the signed message is
``ceasefire-observation-group/v1\\n`` followed by the group's size (8 bytes, big-endian) and
its root (32 bytes). Each record's signature is then base64 of the key ID (4 bytes), that
Ed25519 signature (64), the record's index in the group and the group's size (2 bytes each,
big-endian) and its inclusion path (32 bytes per hash, leaf to root): the record alone, with
its signature, still proves who sent it, and the center checks one Ed25519 signature per group
instead of one per record (about 100 us each on this machine: the whole budget of a record at
10,000 records/s on one core). A signature of exactly 68 bytes is one record's own (the first
form, still read).

A batch a node forwards is signed too (over the exact bytes of its payload), so a batch from a
node whose key is not registered, or altered on the way, is refused whole.

Pure module: no database.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

from ceasefire.canonical import canonical_json
from ceasefire.ledger.entry import KIND_OBSERVATION, EntryError, parse_envelope
from ceasefire.ledger.merkle import MerkleTree, ProofError, leaf_hash, root_from_path
from ceasefire.ledger.note import Ed25519Signer, Ed25519Verifier, b64decode, b64encode

RECORD_CONTEXT = b"ceasefire-observation/v1\n"
GROUP_CONTEXT = b"ceasefire-observation-group/v1\n"
BATCH_CONTEXT = b"ceasefire-node-batch/v1\n"
INTAKE = "intake"
GROUP = 64
"""Records per group signature: the Ed25519 check costs 1/64 of a record's, and the inclusion
path adds 6 hashes (192 bytes) to each record's signature."""
_SINGLE = 68  # key ID + Ed25519 signature
_HEAD = _SINGLE + 4  # ... + index and size in the group


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


@dataclass(frozen=True)
class _Unpacked:
    key_id: int
    signature: bytes
    index: int = 0
    size: int = 0
    """0: the record's own signature; else the size of the group it was signed in."""
    path: tuple[bytes, ...] = ()


def _unpack(signature: str) -> _Unpacked | None:
    try:
        raw = b64decode(signature, "signature")
    except ValueError:
        return None
    key_id = int.from_bytes(raw[:4], "big")
    if len(raw) == _SINGLE:
        return _Unpacked(key_id, raw[4:])
    if len(raw) < _HEAD or (len(raw) - _HEAD) % 32 or len(raw) > _HEAD + 16 * 32:
        return None  # a group of at most 65,535 records has a path of at most 16 hashes
    index = int.from_bytes(raw[_SINGLE : _SINGLE + 2], "big")
    size = int.from_bytes(raw[_SINGLE + 2 : _HEAD], "big")
    if index >= size:
        return None
    path = tuple(raw[i : i + 32] for i in range(_HEAD, len(raw), 32))
    return _Unpacked(key_id, raw[4:_SINGLE], index, size, path)


def _group_message(size: int, root: bytes) -> bytes:
    return GROUP_CONTEXT + size.to_bytes(8, "big") + root


def sign_record(signer: Ed25519Signer, record: bytes) -> str:
    """The signature of one canonical record, as stored and logged."""
    return _pack(signer, RECORD_CONTEXT + record)


def sign_records(signer: Ed25519Signer, records: Sequence[bytes], group: int = GROUP) -> list[str]:
    """The signatures of canonical records, in order: one Ed25519 signature per ``group`` of
    them, over their Merkle tree's root; each record's carries its inclusion path. A group of
    one is signed as the record alone."""
    if not 1 <= group <= 0xFFFF:
        raise ValueError(f"a group holds 1 to 65535 records, not {group}")
    out: list[str] = []
    key_id = signer.key_id.to_bytes(4, "big")
    for start in range(0, len(records), group):
        chunk = records[start : start + group]
        if len(chunk) == 1:
            out.append(sign_record(signer, chunk[0]))
            continue
        tree = MerkleTree(leaf_hash(RECORD_CONTEXT + r) for r in chunk)
        size = len(chunk)
        head = key_id + signer.sign(_group_message(size, tree.root()))
        tail = size.to_bytes(2, "big")
        out.extend(
            b64encode(head + i.to_bytes(2, "big") + tail + b"".join(tree.inclusion_proof(i)))
            for i in range(size)
        )
    return out


def signed_key_id(signature: str) -> int | None:
    """The ID of the key a signature claims, or None if the text is not a signature."""
    unpacked = _unpack(signature)
    return None if unpacked is None else unpacked.key_id


def verify_record(verifier: Ed25519Verifier, record: bytes, signature: str) -> bool:
    """Whether ``signature`` is ``verifier``'s key's over this record (alone, or in a group
    whose signed root its inclusion path leads to)."""
    unpacked = _unpack(signature)
    if unpacked is None or unpacked.key_id != verifier.key_id:
        return False
    if not unpacked.size:
        return verifier.verify(RECORD_CONTEXT + record, unpacked.signature)
    try:
        # _unpack made sure of the path's hashes and of index < size
        root = root_from_path(
            leaf_hash(RECORD_CONTEXT + record), unpacked.index, unpacked.size, unpacked.path
        )
    except ProofError:
        return False
    return _group_verified(verifier, _group_message(unpacked.size, root), unpacked.signature)


@functools.lru_cache(maxsize=1024)
def _group_verified(verifier: Ed25519Verifier, message: bytes, signature: bytes) -> bool:
    """One group's Ed25519 check, made once for all its records: the answer depends on the
    key, the message and the signature alone, so it may be remembered."""
    return verifier.verify(message, signature)


def sign_batch(signer: Ed25519Signer, payload: bytes) -> str:
    """The signature of a forwarded batch: over the exact bytes of its payload."""
    return _pack(signer, BATCH_CONTEXT + payload)


def verify_batch(verifier: Ed25519Verifier, payload: bytes, signature: str) -> bool:
    unpacked = _unpack(signature)
    if unpacked is None or unpacked.size or unpacked.key_id != verifier.key_id:
        return False
    return verifier.verify(BATCH_CONTEXT + payload, unpacked.signature)


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
