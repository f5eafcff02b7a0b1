"""The leaf data of the log: one RFC 8785 canonical JSON envelope per entry.

Why: a leaf must be bytes that anyone can recompute and read. Each entry is the canonical JSON
object (keys in RFC 8785 order)::

    {"appended_at": "2021-02-01T10:32:05.123456Z",
     "kind": "observation",
     "record": {...the record, itself canonical JSON...},
     "ref": "RU/RU-0001"}

An observation signed by its contingent's node carries one more member, ``"signature"`` (last
in RFC 8785 order): base64 of the node's key ID and Ed25519 signature over the record, or over
the root of the group of records it was signed in, followed by its inclusion path
(:mod:`ceasefire.ledger.origin`). Entries without it are the center's word alone.

``kind`` says what the record is (``observation``, ``key``, ``release``; later assessments,
findings, decisions, notifications), ``ref`` names it within its kind (an observation is
``<contingent>/<id>``), ``appended_at`` is when the center logged it (UTC, microseconds, Z).
The leaf hash is SHA-256(0x00 || UTF-8 bytes of the envelope) (RFC 9162).

Pure module: no database. The envelope is put together as text around the record's canonical
text, so a record is serialised once (the intake already has its canonical bytes); this is
canonical as long as the record text is, which :func:`is_canonical` checks on audit.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from ceasefire.canonical import canonical_json
from ceasefire.ledger.errors import LedgerError

KIND_OBSERVATION = "observation"
KIND_KEY = "key"
KIND_RELEASE = "release"
KIND_SUPERSEDED = "superseded"
"""Correlation replaced an incident the workflow had records of (ref: the incident; record:
``incident``, ``superseded_by``, ``at``): a bundle releasing it carries this entry too."""

_LEAF_PREFIX = b"\x00"


class EntryError(LedgerError):
    """A log entry is not a well-formed envelope; the message says what is wrong."""


@dataclass(frozen=True)
class LogEntry:
    """What to append: the kind and ref of a record, and its canonical JSON text."""

    kind: str
    ref: str
    record: str
    """RFC 8785 canonical JSON text of the record (the caller's promise; audited later)."""
    signature: str | None = None
    """The contingent node's signature of the record (:mod:`ceasefire.ledger.origin`)."""

    @classmethod
    def of(cls, kind: str, ref: str, record: Any) -> LogEntry:
        """An entry for a JSON value, canonicalised here."""
        return cls(kind, ref, canonical_json(record).decode("utf-8"))


@dataclass(frozen=True)
class Envelope:
    """A parsed entry: its fields, the record as parsed JSON, and the record's text."""

    kind: str
    ref: str
    appended_at: str
    record: Any
    signature: str | None = None


def timestamp(moment: datetime) -> str:
    """``appended_at`` as written in envelopes: UTC with microseconds and Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def json_string(text: str) -> str:
    """One JSON string in RFC 8785 form.

    orjson escapes strings exactly as RFC 8785 does (the same bytes as the reference for every
    code point; astral characters matter only for the order of keys, not in values).
    """
    return orjson.dumps(text).decode("utf-8")


def envelope(
    kind: str, ref: str, record: str, appended_at: str, signature: str | None = None
) -> str:
    """The entry text: RFC 8785 orders the keys appended_at, kind, record, ref, signature."""
    return (
        '{"appended_at":'
        + json_string(appended_at)
        + ',"kind":'
        + json_string(kind)
        + ',"record":'
        + record
        + ',"ref":'
        + json_string(ref)
        + signature_member(signature)
        + "}"
    )


def signature_member(signature: str | None) -> str:
    """The envelope's last member for a signed record, empty for one without a signature."""
    return "" if signature is None else ',"signature":' + json_string(signature)


def entry_leaf_hash(entry: str | bytes) -> bytes:
    """SHA-256(0x00 || entry bytes): the RFC 9162 leaf hash of an entry."""
    data = entry.encode("utf-8") if isinstance(entry, str) else entry
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def parse_envelope(entry: str) -> Envelope:
    """Read an entry back; :class:`EntryError` if it is not an envelope."""
    try:
        data = json.loads(entry)
    except ValueError as e:
        raise EntryError(f"entry is not JSON: {e}") from e
    if not isinstance(data, dict):
        raise EntryError("entry is not a JSON object")
    if set(data) - {"signature"} != {"appended_at", "kind", "record", "ref"}:
        raise EntryError(
            "entry must have exactly the keys appended_at, kind, record, ref (and signature); "
            "it has " + ", ".join(sorted(data))
        )
    for key in ("appended_at", "kind", "ref", "signature"):
        if key in data and not isinstance(data[key], str):
            raise EntryError(f"entry field {key} is not a string")
    return Envelope(
        data["kind"], data["ref"], data["appended_at"], data["record"], data.get("signature")
    )


def is_canonical(entry: str) -> bool:
    """Whether ``entry`` is exactly the RFC 8785 serialisation of what it parses to."""
    try:
        return canonical_json(json.loads(entry)).decode("utf-8") == entry
    except ValueError:
        return False


def observation_ref(contingent: str, source_id: str) -> str:
    """The ref of an observation: ``<contingent>/<the source's id>``, e.g. ``RU/RU-0001``."""
    return f"{contingent}/{source_id}"
