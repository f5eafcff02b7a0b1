"""Auditing dissemination's tables against the log, beside the workflow's own
(:mod:`ceasefire.workflow.audit`): notices (each row against its ``notice`` entry, its payload
against its hash), delivery attempts and each delivery's state replayed from its attempts and
retries, acknowledgements and escalations, and the parties' answers and complaints.

:func:`audit_all` is the whole center's audit: the ledger's, the workflow's tables' and these.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Engine, select

from ceasefire.dissemination.tables import deliveries, delivery_attempts, notices, party_messages
from ceasefire.i18n import _
from ceasefire.ledger.audit import AuditReport
from ceasefire.ledger.keys import KeyRing
from ceasefire.ledger.leaves import LeafCopy
from ceasefire.timeutil import iso
from ceasefire.workflow import audit as workflow_audit
from ceasefire.workflow.audit import Check, Log, Row, check_indexed, check_latest


def _notices(db: Connection, report: AuditReport, log: Log) -> None:
    rows = []
    for r in db.execute(select(notices).order_by(notices.c.ledger_index, notices.c.id)):
        record = {
            "id": r.id,
            "batch": r.batch,
            "kind": r.kind,
            "cause": r.cause,
            "incident": r.incident_id,
            "recipient": r.recipient,
            "role": r.role,
            "lang": r.lang,
            "content_hash": r.content_hash,
            "payload_hash": r.payload_hash,
            "created_at": iso(r.created_at),
            "ack_due_at": iso(r.ack_due_at),
        }
        rows.append(Row(r.id, r.id, record, r.ledger_index))
        if hashlib.sha256(r.payload.encode("utf-8")).hexdigest() != r.payload_hash:
            report.add("notices", r.id, _("the payload does not hash to payload_hash (edited?)"))
    check_indexed(report, log, "notices", "notice", rows)


def _deliveries(db: Connection, report: AuditReport, log: Log) -> None:
    """Each delivery attempt against its entry (kind ``delivery``), and each delivery's state
    (status, attempts in this round, when delivered) against the state its attempts and the
    duty officers' retries (kind ``retry``) logged, replayed in the log's order; a notice's
    deliveries must be on the channels its entry names."""
    rows_of = {d.id: d for d in db.execute(select(deliveries).order_by(deliveries.c.id))}
    attempts = []
    for a in db.execute(
        select(delivery_attempts).order_by(delivery_attempts.c.ledger_index, delivery_attempts.c.id)
    ):
        ref = f"{a.delivery_id}/{a.number}"
        d = rows_of.get(a.delivery_id)
        record: dict[str, Any] = {
            "delivery": a.delivery_id,
            "number": a.number,
            "at": iso(a.at),
            "ok": bool(a.ok),
            "detail": a.detail,
        }
        if d is not None:
            record.update(notice=d.notice_id, channel=d.channel)
        else:
            report.add("delivery_attempts", f"id {a.id} ({ref})", _("of no delivery (deleted?)"))
        attempts.append(Row(f"id {a.id} ({ref})", ref, record, a.ledger_index))
    check_indexed(report, log, "delivery_attempts", "delivery", attempts)

    # each delivery's state, replayed from its entries in the log's order
    state: dict[int, tuple[str, int, str | None, str | None]] = {}
    for logged in sorted(log.of("delivery") + log.of("retry"), key=lambda e: e.index):
        r = logged.record if isinstance(logged.record, dict) else {}
        if logged.kind == "delivery":
            at = r.get("at") if r.get("ok") else None
            state[int(r.get("delivery", -1))] = (
                str(r.get("status")),
                int(r.get("attempts", 0)),
                at,
                r.get("address"),
            )
        elif isinstance(r.get("deliveries"), list):
            for delivery in r["deliveries"]:
                _s, _n, _at, address = state.get(int(delivery), ("", 0, None, None))
                state[int(delivery)] = ("pending", 0, None, address)
    channels: dict[str, list[str]] = {}
    for d in rows_of.values():
        channels.setdefault(d.notice_id, []).append(d.channel)
        where = f"id {d.id} ({d.notice_id} {d.channel})"
        status, count, delivered, address = state.get(d.id, ("pending", 0, None, None))
        shown = (d.status, d.attempts, iso(d.delivered_at) if d.delivered_at else None)
        fields = [
            name
            for name, row, logged in zip(
                ("status", "attempts", "delivered_at"),
                shown,
                (status, count, delivered),
                strict=True,
            )
            if row != logged
        ]
        if address is not None and d.address != address:
            fields.append("address")
        if fields:
            report.add(
                "deliveries",
                where,
                _("{fields} differ from what its logged attempts and retries say (edited?)").format(
                    fields=", ".join(fields)
                ),
            )
    for n in db.execute(select(notices.c.id, notices.c.ledger_index)):
        entry = log.at.get(n.ledger_index)
        written = entry.record if entry is not None else None
        named = written.get("channels") if isinstance(written, dict) else None
        if isinstance(named, list) and sorted(named) != sorted(channels.get(n.id, [])):
            report.add(
                "deliveries",
                n.id,
                _("the notice's deliveries are on {found}, its entry names {named}").format(
                    found=", ".join(sorted(channels.get(n.id, []))) or "-",
                    named=", ".join(sorted(named)) or "-",
                ),
            )


def _acknowledgements(db: Connection, report: AuditReport, log: Log) -> None:
    """A notice's acknowledgement and escalation (its row's ``acked_*`` and ``escalated_at``)
    and the parties' answers and complaints (``party_messages``) against their entries."""
    acked, escalated = [], []
    for r in db.execute(
        select(notices).where(notices.c.acked_at.is_not(None)).order_by(notices.c.ack_index)
    ):
        record = {"notice": r.id, "recipient": r.recipient, "by": r.acked_by, "at": iso(r.acked_at)}
        acked.append(Row(r.id, r.id, record, r.ack_index))
    check_indexed(report, log, "notices", "acknowledgement", acked)
    for r in db.execute(select(notices).where(notices.c.escalated_at.is_not(None))):
        record = {"notice": r.id, "recipient": r.recipient, "at": iso(r.escalated_at)}
        escalated.append(Row(r.id, r.id, record))
    check_latest(report, log, "notices", "escalation", escalated)
    for kind, said in (("answer", "text"), ("complaint", "description")):
        rows = []
        for r in db.execute(
            select(party_messages)
            .where(party_messages.c.kind == kind)
            .order_by(party_messages.c.ledger_index)
        ):
            record = {"id": r.id, "party": r.party, "by": r.by, said: r.text, "at": iso(r.at)}
            if kind == "answer":
                record["notice"] = r.notice_id
            else:
                record["observation"] = r.observation
            rows.append(Row(r.id, r.id, record, r.ledger_index))
        check_indexed(report, log, "party_messages", kind, rows)


CHECKS: list[Check] = [*workflow_audit.CHECKS, _notices, _deliveries, _acknowledgements]
"""The workflow's checks, then dissemination's (a new kind of logged row adds its check in the
room that owns its table)."""


def audit_all(
    database: Engine | Connection, ring: KeyRing, copies: Sequence[LeafCopy] = ()
) -> AuditReport:
    """The ledger's audit (with the witnesses' copies of the leaf hashes, ``copies``) and
    every room's tables checked against the log."""
    return workflow_audit.audit_all(database, ring, CHECKS, copies)


__all__ = ["CHECKS", "audit_all"]
