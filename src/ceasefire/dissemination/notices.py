"""Reading notices with their delivery and acknowledgement state; retrying dead letters.

:func:`list_notices` is the one reading path (CLI, API, the incident page): a notice with
each channel's delivery, whether and when it was acknowledged, and the skew between the
parties' deliveries of its batch (parity made visible).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from ceasefire.dissemination.tables import deliveries, notices
from ceasefire.i18n import _
from ceasefire.incidents.queries import successions
from ceasefire.ledger import log
from ceasefire.ledger.entry import LogEntry
from ceasefire.timeutil import iso
from ceasefire.workflow.errors import Conflict, NotFound

PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"
KIND_RETRY = "retry"
"""The ledger kind of a duty officer's retry of a notice's dead deliveries (ref: the notice)."""
STATUSES = (PENDING, DELIVERED, DEAD, "acknowledged", "unacknowledged")


@dataclass(frozen=True)
class Delivery:
    id: int
    channel: str
    address: str
    status: str
    attempts: int
    next_at: datetime
    delivered_at: datetime | None
    last_error: str

    def record(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "channel": self.channel,
            "address": self.address,
            "status": self.status,
            "attempts": self.attempts,
            "next_at": iso(self.next_at) if self.status == PENDING else None,
            "delivered_at": iso(self.delivered_at) if self.delivered_at else None,
            "last_error": self.last_error,
        }


@dataclass(frozen=True)
class Notice:
    id: str
    batch: str
    kind: str
    cause: str
    incident_id: str | None
    recipient: str
    recipient_kind: str
    role: str
    lang: str
    subject: str
    body: str
    content_hash: str
    payload_hash: str
    created_at: datetime
    ack_due_at: datetime
    acked_at: datetime | None
    acked_by: str | None
    escalated_at: datetime | None
    ledger_index: int
    deliveries: tuple[Delivery, ...] = ()
    party_skew_ms: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    superseded_by: str | None = None
    """The incident that now stands for this notice's incident, if correlation replaced it
    after the notice went out (the latest of its successors)."""

    @property
    def delivered_at(self) -> datetime | None:
        """When it first reached its recipient, on whichever channel."""
        times = [d.delivered_at for d in self.deliveries if d.delivered_at is not None]
        return min(times) if times else None

    @property
    def status(self) -> str:
        """acknowledged, delivered (on some channel), dead (every channel gave up), pending."""
        if self.acked_at is not None:
            return "acknowledged"
        states = {d.status for d in self.deliveries}
        if DELIVERED in states:
            return DELIVERED
        if states == {DEAD}:
            return DEAD
        return PENDING

    def record(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "batch": self.batch,
            "kind": self.kind,
            "cause": self.cause,
            "incident": self.incident_id,
            "recipient": self.recipient,
            "recipient_kind": self.recipient_kind,
            "role": self.role,
            "lang": self.lang,
            "subject": self.subject,
            "status": self.status,
            "content_hash": self.content_hash,
            "payload_hash": self.payload_hash,
            "created_at": iso(self.created_at),
            "delivered_at": iso(self.delivered_at) if self.delivered_at else None,
            "ack_due_at": iso(self.ack_due_at),
            "acked_at": iso(self.acked_at) if self.acked_at else None,
            "acked_by": self.acked_by,
            "escalated_at": iso(self.escalated_at) if self.escalated_at else None,
            "ledger_index": self.ledger_index,
            "party_skew_ms": self.party_skew_ms,
            "superseded_by": self.superseded_by,
            "deliveries": [d.record() for d in self.deliveries],
        }


def list_notices(
    connection: Connection,
    *,
    incident_id: str | None = None,
    status: str | None = None,
    batch: str | None = None,
    notice_id: str | None = None,
    recipient: str | None = None,
    limit: int | None = None,
) -> list[Notice]:
    """Notices, oldest first, each with its deliveries and the party skew of its batch.

    ``status``: ``pending``, ``delivered``, ``dead`` (a channel gave up: a dead letter),
    ``acknowledged`` or ``unacknowledged``."""
    if status is not None and status not in STATUSES:
        raise ValueError(f"unknown status {status!r}; one of {', '.join(STATUSES)}")
    query = select(notices).order_by(notices.c.created_at, notices.c.batch, notices.c.recipient)
    if incident_id is not None:
        query = query.where(notices.c.incident_id == incident_id)
    if batch is not None:
        query = query.where(notices.c.batch == batch)
    if notice_id is not None:
        query = query.where(notices.c.id == notice_id)
    if recipient is not None:
        query = query.where(notices.c.recipient == recipient)
    if status == "acknowledged":
        query = query.where(notices.c.acked_at.is_not(None))
    elif status == "unacknowledged":
        query = query.where(notices.c.acked_at.is_(None))
    elif status in (PENDING, DELIVERED, DEAD):
        query = query.where(
            notices.c.id.in_(select(deliveries.c.notice_id).where(deliveries.c.status == status))
        )
    if limit is not None:
        query = query.limit(limit)
    rows = connection.execute(query).all()
    by_notice: dict[str, list[Delivery]] = defaultdict(list)
    ids = [r.id for r in rows]
    for start in range(0, len(ids), 500):
        for d in connection.execute(
            select(deliveries)
            .where(deliveries.c.notice_id.in_(ids[start : start + 500]))
            .order_by(deliveries.c.id)
        ):
            by_notice[d.notice_id].append(
                Delivery(
                    d.id,
                    d.channel,
                    d.address,
                    d.status,
                    d.attempts,
                    d.next_at,
                    d.delivered_at,
                    d.last_error,
                )
            )
    skews = _party_skews(connection, {r.batch for r in rows if r.recipient_kind == "party"})
    followed = successions(connection, {r.incident_id for r in rows if r.incident_id})
    return [
        Notice(
            id=r.id,
            batch=r.batch,
            kind=r.kind,
            cause=r.cause,
            incident_id=r.incident_id,
            recipient=r.recipient,
            recipient_kind=r.recipient_kind,
            role=r.role,
            lang=r.lang,
            subject=r.subject,
            body=r.body,
            content_hash=r.content_hash,
            payload_hash=r.payload_hash,
            created_at=r.created_at,
            ack_due_at=r.ack_due_at,
            acked_at=r.acked_at,
            acked_by=r.acked_by,
            escalated_at=r.escalated_at,
            ledger_index=r.ledger_index,
            deliveries=tuple(by_notice[r.id]),
            party_skew_ms=skews.get(r.batch),
            superseded_by=followed[r.incident_id][-1] if r.incident_id in followed else None,
        )
        for r in rows
    ]


def _party_skews(connection: Connection, batches: set[str]) -> dict[str, float]:
    """Per batch: milliseconds between the first and the last party to receive it (once every
    party has)."""
    first: dict[tuple[str, str], datetime | None] = {}
    listed = sorted(batches)
    for start in range(0, len(listed), 500):
        rows = connection.execute(
            select(notices.c.batch, notices.c.recipient, deliveries.c.delivered_at)
            .join(deliveries, deliveries.c.notice_id == notices.c.id)
            .where(
                notices.c.batch.in_(listed[start : start + 500]),
                notices.c.recipient_kind == "party",
            )
        )
        for b, party, at in rows:
            seen = first.get((b, party))
            if at is not None and (seen is None or at < seen):
                first[(b, party)] = at
            else:
                first.setdefault((b, party), None)
    per_batch: dict[str, list[datetime | None]] = defaultdict(list)
    for (b, _party), at in first.items():
        per_batch[b].append(at)
    return {
        b: (max(times) - min(times)).total_seconds() * 1000  # type: ignore[type-var,operator]
        for b, times in per_batch.items()
        if times and all(t is not None for t in times)
    }


def get_notice(connection: Connection, notice_id: str) -> Notice:
    found = list_notices(connection, notice_id=notice_id)
    if not found:
        raise NotFound(_("no such notice: {id}").format(id=notice_id))
    return found[0]


def retry(connection: Connection, notice_id: str, by: str, at: datetime) -> int:
    """Put a notice's dead deliveries back in their queues, from attempt one; how many.

    ``by``: the duty officer who asked (logged, kind ``retry``)."""
    get_notice(connection, notice_id)
    log.lock(connection)
    dead = list(
        connection.execute(
            select(deliveries.c.id)
            .where(deliveries.c.notice_id == notice_id, deliveries.c.status == DEAD)
            .order_by(deliveries.c.id)
        ).scalars()
    )
    if not dead:
        raise Conflict(_("notice {id} has no dead delivery to retry").format(id=notice_id))
    connection.execute(
        update(deliveries)
        .where(deliveries.c.id.in_(dead))
        .values(status=PENDING, attempts=0, next_at=at, updated_at=at)
    )
    record = {"notice": notice_id, "by": by, "deliveries": dead, "at": iso(at)}
    log.append(connection, [LogEntry.of(KIND_RETRY, notice_id, record)], at=at)
    return len(dead)
