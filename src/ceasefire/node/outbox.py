"""The node's durable outbox: every record it took in, the batches it made, what came back.

Why: the center may be away for days. A record counts as received by the node once it is
committed here (SQLite, WAL, ``synchronous=FULL``), and it stays until the center has answered
for it. Records are forwarded in the order received, in batches numbered by their first
record's sequence number; a batch, once made, is kept byte for byte and sent again unchanged
until the center answers, so the center sees each batch with one content only (and answers a
batch sent twice with the same answer).

Tables (the node's own file, not the center's schema):
- ``records``: ``seq`` (order of receipt), ``kind`` (``observation`` or ``track``), ``key``
  (the source id; a track's platform and time), ``digest``, ``body`` (canonical JSON),
  ``signature`` (the node's, observations only), ``received_at``, ``source``, the enrichment
  the node computed (``zones``, ``controlled_by``), then the batch it went in and the center's
  answer (``status``: accepted, duplicate or rejected; ``reason``; ``answered_at``).
- ``batches``: ``sequence``, ``last`` (seq of its last record), ``payload`` (the exact bytes
  signed and sent), ``signature``, ``created_at``, ``attempts``, ``error`` (the last refusal or
  failure), ``answered_at``; over JetStream also ``delivered_at`` (the broker stored it),
  ``round`` (times the center refused it whole) and ``retry_at`` (not sent again before).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import (
    Column,
    Engine,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    bindparam,
    func,
    select,
    update,
)

from ceasefire.ledger.note import Ed25519Signer
from ceasefire.ledger.origin import sign_batch
from ceasefire.store.db import create

FORMAT = "ceasefire-node-batch/v1"

metadata = MetaData()
records = Table(
    "records",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("kind", Text, nullable=False),
    Column("key", Text, nullable=False),
    Column("digest", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("signature", Text),
    Column("received_at", Float, nullable=False),
    Column("source", Text, nullable=False),
    Column("zones", Text),
    Column("controlled_by", Text),
    Column("batch", Integer),
    Column("status", Text),
    Column("reason", Text),
    Column("answered_at", Float),
    UniqueConstraint("kind", "key"),
    Index("ix_records_batch", "batch"),
)
batches = Table(
    "batches",
    metadata,
    Column("sequence", Integer, primary_key=True, autoincrement=False),
    Column("last", Integer, nullable=False),
    Column("payload", LargeBinary, nullable=False),
    Column("signature", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("error", Text),
    Column("answered_at", Float),
    # JetStream: when the broker stored the batch (the center's answer comes later), how many
    # times the center refused it (a new message id for each new try), and not before when.
    Column("delivered_at", Float),
    Column("round", Integer, nullable=False, default=0),
    Column("retry_at", Float),
)


@dataclass(frozen=True)
class Batch:
    """A batch ready to send: its number, payload bytes and signature."""

    contingent: str
    sequence: int
    payload: bytes
    signature: str
    records: int
    round: int = 0

    @property
    def message_id(self) -> str:
        """JetStream's de-duplication id: the same for every try of one round."""
        return f"{self.contingent}-{self.sequence}-{self.round}"


@dataclass(frozen=True)
class NewRecord:
    kind: str
    key: str
    body: str
    signature: str | None
    source: str
    zones: str | None = None
    controlled_by: str | None = None
    digest: str | None = None
    """SHA-256 of the body, hex, if the caller has it already."""


_INSERT = (
    "INSERT INTO records (kind, key, digest, body, signature, received_at, source, zones, "
    "controlled_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


class Outbox:
    """One node's outbox file. Thread-safe: writers take a lock (SQLite has one writer)."""

    def __init__(self, path: Path, contingent: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.contingent = contingent
        self.engine: Engine = create(str(path))
        metadata.create_all(self.engine)
        with self.engine.begin() as db:  # an outbox made before the JetStream columns
            have = {c[1] for c in db.exec_driver_sql("PRAGMA table_info(batches)")}
            for column in (
                "delivered_at REAL",
                "round INTEGER NOT NULL DEFAULT 0",
                "retry_at REAL",
            ):
                if column.split()[0] not in have:
                    db.exec_driver_sql(f"ALTER TABLE batches ADD COLUMN {column}")
        self.lock = threading.Lock()

    def close(self) -> None:
        self.engine.dispose()

    # -- taking in --------------------------------------------------------------------------
    def add(self, new: Iterable[NewRecord]) -> list[str]:
        """Store records; for each, ``accepted``, ``duplicate`` (same key, same content) or
        ``conflict`` (same key, other content: a correction needs a new id)."""
        items = list(new)
        digests = [r.digest or hashlib.sha256(r.body.encode("utf-8")).hexdigest() for r in items]
        now = time.time()
        outcomes: list[str] = []
        # The driver's own SQL: SQLAlchemy's statement building and per-row parameter
        # processing cost more than SQLite's work on these rows.
        with self.lock, self.engine.begin() as db:
            known: dict[tuple[str, str], str] = {}
            for start in range(0, len(items), 500):
                chunk = list({r.key for r in items[start : start + 500]})
                marks = ", ".join(["?"] * len(chunk))
                for kind, key, digest in db.exec_driver_sql(
                    f"SELECT kind, key, digest FROM records WHERE key IN ({marks})", tuple(chunk)
                ):
                    known[(kind, key)] = digest
            rows: list[tuple[Any, ...]] = []
            for r, digest in zip(items, digests, strict=True):
                had = known.get((r.kind, r.key))
                if had is None:
                    known[(r.kind, r.key)] = digest
                    outcomes.append("accepted")
                    rows.append(
                        (
                            r.kind,
                            r.key,
                            digest,
                            r.body,
                            r.signature,
                            now,
                            r.source,
                            r.zones,
                            r.controlled_by,
                        )
                    )
                else:
                    outcomes.append("duplicate" if had == digest else "conflict")
            if rows:
                db.exec_driver_sql(_INSERT, rows)
        return outcomes

    # -- forwarding -------------------------------------------------------------------------
    def next_batch(
        self, signer: Ed25519Signer, limit: int, in_flight: int | None = None
    ) -> Batch | None:
        """The oldest batch neither answered nor delivered, else a new one of the oldest waiting
        records; None when there is nothing to send, the oldest must wait (``retry_at``), or
        ``in_flight`` batches delivered to the broker still wait for the center's answer."""
        with self.lock, self.engine.begin() as db:
            row = db.execute(
                select(
                    batches.c.sequence,
                    batches.c.payload,
                    batches.c.signature,
                    batches.c.round,
                    batches.c.retry_at,
                )
                .where(batches.c.answered_at.is_(None), batches.c.delivered_at.is_(None))
                .order_by(batches.c.sequence)
                .limit(1)
            ).first()
            if row is not None:
                if row.retry_at is not None and row.retry_at > time.time():
                    return None
                count = db.execute(
                    select(func.count()).where(records.c.batch == row.sequence)
                ).scalar_one()
                return Batch(
                    self.contingent, row.sequence, row.payload, row.signature, count, row.round
                )
            if in_flight is not None:
                # Back-pressure: while the center is behind, the waiting records go in fuller
                # batches later rather than as many small ones now (each batch costs the
                # center a transaction and several round trips, whatever its size).
                unanswered = db.execute(
                    select(func.count()).where(
                        batches.c.delivered_at.is_not(None), batches.c.answered_at.is_(None)
                    )
                ).scalar_one()
                if unanswered >= in_flight:
                    return None
            waiting = db.execute(
                select(
                    records.c.seq,
                    records.c.kind,
                    records.c.body,
                    records.c.signature,
                    records.c.received_at,
                )
                .where(records.c.batch.is_(None))
                .order_by(records.c.seq)
                .limit(limit)
            ).all()
            if not waiting:
                return None
            sequence, last = waiting[0].seq, waiting[-1].seq
            payload = _payload(self.contingent, sequence, waiting)
            signature = sign_batch(signer, payload)
            db.execute(
                batches.insert().values(
                    sequence=sequence,
                    last=last,
                    payload=payload,
                    signature=signature,
                    created_at=time.time(),
                    attempts=0,
                    round=0,
                )
            )
            db.execute(
                update(records)
                .where(records.c.seq >= sequence, records.c.seq <= last, records.c.batch.is_(None))
                .values(batch=sequence)
            )
            return Batch(self.contingent, sequence, payload, signature, len(waiting))

    def failed(self, sequence: int, error: str) -> None:
        """The batch was not answered (center away) or refused whole; it will be sent again."""
        with self.lock, self.engine.begin() as db:
            db.execute(
                update(batches)
                .where(batches.c.sequence == sequence)
                .values(attempts=batches.c.attempts + 1, error=error[:1000])
            )

    def delivered(self, sequence: int) -> None:
        """The broker stored the batch: the next may go; the center's answer comes later."""
        with self.lock, self.engine.begin() as db:
            db.execute(
                update(batches)
                .where(batches.c.sequence == sequence)
                .values(delivered_at=time.time(), attempts=batches.c.attempts + 1, error=None)
            )

    def refused(self, sequence: int, reason: str, wait: float) -> None:
        """The center refused a delivered batch whole: send it again (a new round) later."""
        with self.lock, self.engine.begin() as db:
            db.execute(
                update(batches)
                .where(batches.c.sequence == sequence, batches.c.answered_at.is_(None))
                .values(
                    delivered_at=None,
                    round=batches.c.round + 1,
                    retry_at=time.time() + wait,
                    error=reason[:1000],
                )
            )

    def answered(self, sequence: int, answer: dict[str, Any]) -> None:
        """Record the center's answer for each record of the batch, in one transaction."""
        now = time.time()
        results = answer.get("results", [])
        with self.lock, self.engine.begin() as db:
            members = db.execute(
                select(records.c.seq, records.c.kind)
                .where(records.c.batch == sequence)
                .order_by(records.c.seq)
            ).all()
            # The answer's results are indexed by the batch's observations, in order; tracks
            # are stored or already known, never refused one by one.
            by_index: dict[int, dict[str, Any]] = {
                int(r["index"]): r for r in results if isinstance(r, dict) and "index" in r
            }
            updates = []
            index = 0
            for seq, kind in members:
                result: dict[str, Any] = {}
                if kind == "observation":
                    result = by_index.get(index, {})
                    index += 1
                updates.append(
                    {
                        "s": seq,
                        "status": result.get("status", "accepted"),
                        "reason": result.get("reason"),
                        "answered_at": now,
                    }
                )
            if updates:
                db.execute(
                    update(records)
                    .where(records.c.seq == bindparam("s"))
                    .values(
                        status=bindparam("status"),
                        reason=bindparam("reason"),
                        answered_at=bindparam("answered_at"),
                    ),
                    updates,
                )
            db.execute(
                update(batches)
                .where(batches.c.sequence == sequence)
                .values(answered_at=now, error=None, attempts=batches.c.attempts + 1)
            )

    # -- what the operators see -------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        with self.engine.connect() as db:
            by_status: dict[str, int] = dict(
                db.execute(
                    select(func.coalesce(records.c.status, "-"), func.count()).group_by(
                        records.c.status
                    )
                ).all()
            )
            waiting = db.execute(
                select(func.count(), func.min(records.c.received_at)).where(
                    records.c.status.is_(None)
                )
            ).one()
            in_flight = db.execute(
                select(func.count()).where(records.c.status.is_(None), records.c.batch.is_not(None))
            ).scalar_one()
            delivered = db.execute(
                select(func.count())
                .select_from(records.join(batches, batches.c.sequence == records.c.batch))
                .where(records.c.status.is_(None), batches.c.delivered_at.is_not(None))
            ).scalar_one()
            last = db.execute(
                select(func.max(batches.c.answered_at), func.count())
                .select_from(batches)
                .where(batches.c.answered_at.is_not(None))
            ).one()
            trouble = db.execute(
                select(batches.c.sequence, batches.c.attempts, batches.c.error)
                .where(batches.c.answered_at.is_(None), batches.c.error.is_not(None))
                .order_by(batches.c.sequence)
                .limit(1)
            ).first()
        received = sum(by_status.values())
        return {
            "contingent": self.contingent,
            "outbox": str(self.path),
            "received": received,
            "backlog": int(waiting[0]),
            "in_flight": int(in_flight),
            "delivered": int(delivered),
            "oldest_waiting_at": waiting[1],
            "accepted": int(by_status.get("accepted", 0)),
            "duplicates": int(by_status.get("duplicate", 0)),
            "rejected": int(by_status.get("rejected", 0)),
            "batches_answered": int(last[1]),
            "last_answer_at": last[0],
            "error": None
            if trouble is None
            else {"batch": trouble.sequence, "attempts": trouble.attempts, "reason": trouble.error},
        }

    def rejected(self, limit: int = 100) -> list[dict[str, Any]]:
        """The records the center refused, newest first, with its reason."""
        with self.engine.connect() as db:
            rows = db.execute(
                select(records.c.kind, records.c.key, records.c.reason, records.c.answered_at)
                .where(records.c.status == "rejected")
                .order_by(records.c.seq.desc())
                .limit(limit)
            )
            return [
                {"kind": r.kind, "key": r.key, "reason": r.reason, "answered_at": r.answered_at}
                for r in rows
            ]


def _payload(contingent: str, sequence: int, rows: Sequence[Any]) -> bytes:
    """The batch's bytes: records as their canonical text, put together without re-encoding."""
    observations: list[bytes] = []
    tracks: list[bytes] = []
    for row in rows:
        if row.kind == "observation":
            observations.append(
                b'{"received_at":'
                + orjson.dumps(row.received_at)
                + b',"record":'
                + row.body.encode("utf-8")
                + b',"signature":'
                + orjson.dumps(row.signature)
                + b"}"
            )
        else:
            tracks.append(row.body.encode("utf-8"))
    head = orjson.dumps({"format": FORMAT, "contingent": contingent, "sequence": sequence})
    return (
        head[:-1]
        + b',"observations":['
        + b",".join(observations)
        + b'],"tracks":['
        + b",".join(tracks)
        + b"]}"
    )
