"""Drone track points in batches the ledger can vouch for.

Why: track points are too many to log one by one (the log would follow the drones' clocks),
yet deleting one contingent's points would silently empty its coverage of the line. So each
batch the intake stores is logged as one entry (kind ``tracks``, one per contingent) with the
count and a SHA-256 over the batch's points in canonical form, and every point keeps that
entry's index (``track_points.ledger_index``); ``ceasefire verify`` recomputes each batch from
the rows it finds under its index. The entry also carries a short digest of each point (the
first 8 bytes of its SHA-256, in the batch's order: 11 characters of base64 a point), so an
edited, deleted or inserted point is named by itself, not only by its batch.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ceasefire.canonical import canonical_json
from ceasefire.observations.record import format_time

KIND_TRACKS = "tracks"
COLUMNS = (
    "platform_id",
    "platform_type",
    "contingent",
    "sortie",
    "time",
    "lat",
    "lon",
    "alt_m",
    "source",
)
"""What a point is, for the digest: every column but the row's id and its ledger index."""


def point_text(point: Mapping[str, Any]) -> bytes:
    """One point's canonical JSON (RFC 8785), times as ISO 8601 UTC to the microsecond."""
    return canonical_json({c: format_time(point[c]) if c == "time" else point[c] for c in COLUMNS})


def sort_key(point: Mapping[str, Any]) -> tuple[str, str]:
    return str(point["platform_id"]), format_time(point["time"])


def digest(points: Iterable[Mapping[str, Any]]) -> tuple[int, str]:
    """(count, SHA-256 hex) of the points, in (platform, time) order whatever order given."""
    h = hashlib.sha256()
    n = 0
    for point in sorted(points, key=sort_key):
        h.update(point_text(point))
        h.update(b"\n")
        n += 1
    return n, h.hexdigest()


POINT_DIGEST_BYTES = 8
"""Of each point's SHA-256, what the batch's entry keeps: enough to tell which point changed
(the batch's whole SHA-256 still vouches for all of them)."""


def point_digest(point: Mapping[str, Any]) -> bytes:
    """The short digest of one point, as the batch's entry lists it."""
    return hashlib.sha256(point_text(point)).digest()[:POINT_DIGEST_BYTES]


def point_digests(record: Mapping[str, Any]) -> list[bytes] | None:
    """The short digests a logged batch lists, in its order (None for a batch logged before
    they were, or malformed)."""
    text = record.get("points")
    if not isinstance(text, str):
        return None
    try:
        packed = base64.b64decode(text, validate=True)
    except ValueError:
        return None
    if len(packed) % POINT_DIGEST_BYTES:
        return None
    n = POINT_DIGEST_BYTES
    return [packed[i : i + n] for i in range(0, len(packed), n)]


def batch_record(contingent: str | None, points: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The logged form of one contingent's points of one batch."""
    whole = hashlib.sha256()
    short = bytearray()
    for point in sorted(points, key=sort_key):
        text = point_text(point)
        whole.update(text)
        whole.update(b"\n")
        short += hashlib.sha256(text).digest()[:POINT_DIGEST_BYTES]
    times = sorted(format_time(p["time"]) for p in points)
    return {
        "contingent": contingent,
        "count": len(short) // POINT_DIGEST_BYTES,
        "sha256": whole.hexdigest(),
        "points": base64.b64encode(bytes(short)).decode("ascii"),
        "first": times[0],
        "last": times[-1],
        "platforms": sorted({str(p["platform_id"]) for p in points}),
    }


__all__ = [
    "KIND_TRACKS",
    "batch_record",
    "digest",
    "point_digest",
    "point_digests",
    "point_text",
]
