"""The center's side of a node's batch: check who sent it, take its records, answer.

Why one function for every transport: over HTTP and over JetStream the center must check a
batch the same way and answer it the same way, and be idempotent on (contingent, source id)
whatever arrives twice.

A batch is the node's payload bytes (JSON: ``format``, ``contingent``, ``sequence``,
``observations``: each ``{"received_at", "record", "signature"}``, and ``tracks``) with the
node's signature over those exact bytes. In order:

1. the contingent must be one of the mission's and have an intake key registered, and the
   batch's signature must verify with it; otherwise the whole batch is refused (403);
2. the payload must be a well-formed batch of that contingent (400);
3. a batch number already answered: the same bytes get the same answer again (the node did not
   hear it); other bytes under that number are refused as a replay (409) and nothing of them
   is taken;
4. each record goes through the center's :class:`Intake` for that contingent with its
   signature: accepted, duplicate or rejected with its reason (a bad signature, a record of
   another contingent, ...), and the answer lists them by index.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import orjson
from pydantic_core import PydanticCustomError
from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError

from ceasefire.geo.engine import Enricher
from ceasefire.i18n import _
from ceasefire.incidents import follow
from ceasefire.ingest.pipeline import Intake
from ceasefire.intake._common import validate
from ceasefire.intake.errors import Rejection
from ceasefire.ledger import intake_keys
from ceasefire.ledger.note import Ed25519Verifier
from ceasefire.ledger.origin import verify_batch
from ceasefire.mission.model import Mission
from ceasefire.node.outbox import FORMAT
from ceasefire.observations.record import parse_time
from ceasefire.observations.track import TrackPoint
from ceasefire.store.schema import node_batches

MAX_BATCH_BYTES = 32 * 1024 * 1024
SIGNATURE_HEADER = "Ceasefire-Signature"
"""The HTTP header (and NATS message header) carrying the batch's signature."""


class BatchRefused(Exception):
    """A batch refused whole: ``status`` (HTTP-like: 400, 403, 409) and the reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass
class Receiver:
    """What the center needs to take in nodes' batches."""

    engine: Engine
    mission: Mission
    mission_row: int
    enricher: Enricher
    lock: threading.Lock
    correlate: Literal["streaming", "off", "auto"] = "streaming"
    """``auto``: off while a correlation follower works on this store (it makes the
    incidents), else with each batch; asked again for every batch, so that a consumer started
    before the follower (or outliving it) never correlates beside it for long."""

    def receive(
        self,
        contingent: str,
        payload: bytes,
        signature: str,
        correlate: Literal["streaming", "off"] | None = None,
    ) -> dict[str, Any]:
        """Take one batch; the answer for the node, or :class:`BatchRefused`."""
        if contingent not in self.mission.contingent_ids():
            raise BatchRefused(
                403,
                _("unknown contingent {id}; this mission has {known}").format(
                    id=contingent, known=", ".join(self.mission.contingent_ids())
                ),
            )
        keys = intake_keys.current(self.engine)
        key = keys.get(contingent)
        if key is None:
            raise BatchRefused(
                403,
                _(
                    "contingent {c} has no intake key registered at the center: register the "
                    "node's key with `ceasefire node register`"
                ).format(c=contingent),
            )
        if not verify_batch(key, payload, signature):
            raise BatchRefused(
                403,
                _(
                    "the batch's signature does not verify with contingent {c}'s registered "
                    "intake key: refused whole"
                ).format(c=contingent),
            )
        data = _parse(payload, contingent)
        sequence = data["sequence"]
        digest = hashlib.sha256(payload).hexdigest()
        with self.engine.connect() as db:
            earlier = db.execute(
                select(node_batches.c.digest, node_batches.c.answer).where(
                    node_batches.c.contingent == contingent, node_batches.c.sequence == sequence
                )
            ).first()
        if earlier is not None:
            if earlier.digest == digest:
                answer: dict[str, Any] = orjson.loads(earlier.answer)
                answer["again"] = True
                return answer
            raise BatchRefused(409, _replayed(contingent, sequence))
        mode = correlate or self.correlate
        if mode == "auto":
            with self.engine.connect() as db:
                mode = "off" if follow.alive(db) else "streaming"
        answer = self._take(contingent, sequence, data, mode, keys)
        try:
            with self.engine.begin() as db:
                db.execute(
                    node_batches.insert().values(
                        contingent=contingent,
                        sequence=sequence,
                        digest=digest,
                        answer=orjson.dumps(answer).decode("utf-8"),
                        received_at=datetime.now(UTC),
                    )
                )
        except IntegrityError:
            # Another worker took the same number meanwhile; its records were the same or
            # refused there, and ours were taken idempotently.
            with self.engine.connect() as db:
                other = db.execute(
                    select(node_batches.c.digest).where(
                        node_batches.c.contingent == contingent,
                        node_batches.c.sequence == sequence,
                    )
                ).scalar_one()
            if other != digest:
                raise BatchRefused(409, _replayed(contingent, sequence)) from None
        return answer

    def _take(
        self,
        contingent: str,
        sequence: int,
        data: dict[str, Any],
        correlate: Literal["streaming", "off"],
        keys: dict[str, Ed25519Verifier],
    ) -> dict[str, Any]:
        source = f"node {contingent} batch {sequence}"
        intake = Intake(
            self.engine,
            self.mission,
            self.mission_row,
            enricher=self.enricher,
            contingent=contingent,
            keep_outcomes=True,
            correlate=correlate,
            verifiers=keys,  # read once for the batch's signature: not again
        )
        entries = data["observations"]
        with self.lock:
            for number, entry in enumerate(entries, start=1):
                item, signature = _item(entry, source, number)
                intake.add(item, source, number, signature=signature)
            for number, track in enumerate(data["tracks"], start=1):
                point = _track(track, contingent)
                if point is not None:
                    intake.add(point, source, number)
            intake.flush()
        result = intake.result
        results: list[dict[str, Any]] = []
        for outcome in sorted(result.outcomes, key=lambda o: o.record):
            answer: dict[str, Any] = {"index": outcome.record - 1, "status": outcome.status}
            if outcome.id is not None:
                answer["id"] = outcome.id
            if outcome.status == "rejected":
                answer["field"] = outcome.field
                answer["reason"] = outcome.reason
            results.append(answer)
        return {
            "contingent": contingent,
            "sequence": sequence,
            "accepted": result.accepted,
            "duplicates": result.duplicates,
            "rejected": result.rejected,
            "track_points": result.track_points,
            "results": results,
        }


def _replayed(contingent: str, sequence: int) -> str:
    return _(
        "batch {sequence} of contingent {c} was already received with other content: a "
        "replayed or altered batch is refused whole"
    ).format(sequence=sequence, c=contingent)


def _parse(payload: bytes, contingent: str) -> dict[str, Any]:
    if len(payload) > MAX_BATCH_BYTES:
        raise BatchRefused(400, _("the batch is larger than {n} bytes").format(n=MAX_BATCH_BYTES))
    try:
        data = orjson.loads(payload)
    except orjson.JSONDecodeError as e:
        raise BatchRefused(400, _("the batch is not JSON: {e}").format(e=e)) from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise BatchRefused(400, _("the batch is not a {format} object").format(format=FORMAT))
    if data.get("contingent") != contingent:
        raise BatchRefused(
            400,
            _("the batch says contingent {said}, but came as {c}'s").format(
                said=str(data.get("contingent"))[:8], c=contingent
            ),
        )
    sequence = data.get("sequence")
    if not isinstance(sequence, int) or isinstance(sequence, bool) or sequence < 1:
        raise BatchRefused(400, _("the batch's sequence is not a positive integer"))
    for member in ("observations", "tracks"):
        if not isinstance(data.get(member), list):
            raise BatchRefused(400, _("the batch's {member} is not an array").format(member=member))
    return data


def _item(entry: Any, source: str, number: int) -> tuple[Any, str | None]:
    if not isinstance(entry, dict) or not isinstance(entry.get("record"), dict):
        reason = _("each entry of a batch is an object with a record")
        return Rejection(source, number, "record", reason, "", "record"), None
    signature = entry.get("signature")
    return validate(entry["record"], source, number, "", "record"), (
        signature if isinstance(signature, str) else None
    )


def _track(data: Any, contingent: str) -> TrackPoint | None:
    """A track point of the batch; one that is malformed is left out (positions are not
    records: nothing of the ledger depends on them)."""
    if not isinstance(data, dict):
        return None
    try:
        return TrackPoint(
            platform_id=str(data["platform_id"])[:128],
            time=parse_time(data["time"], "time"),
            lat=float(data["lat"]),
            lon=float(data["lon"]),
            alt_m=None if data.get("alt_m") is None else float(data["alt_m"]),
            sortie=None if data.get("sortie") is None else str(data["sortie"])[:128],
            contingent=contingent,
            platform_type=None
            if data.get("platform_type") is None
            else str(data["platform_type"])[:32],
        )
    except (KeyError, TypeError, ValueError, PydanticCustomError):
        return None
