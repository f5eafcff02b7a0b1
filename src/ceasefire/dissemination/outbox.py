"""The transactional outbox: notices written in the transaction of what causes them.

Why: a decision and the notices it causes commit together or not at all, so a crash between
"decided" and "sent" loses nothing; the dispatcher (:mod:`ceasefire.dissemination.dispatcher`)
sends what the outbox holds, at least once. Each notice has a stable id that goes with it on
every channel and every retry, so a receiver drops a repeat.

One batch per cause: every recipient's notice carries the same facts (``content_hash``) and
the same ``created_at``; only the language and the mark addressee / copy differ.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from ceasefire.canonical import canonical_json
from ceasefire.dissemination import facts as facts_
from ceasefire.dissemination.acks import ack_member
from ceasefire.dissemination.recipients import (
    NOTICE_OF_REACTION,
    check_parity,
    route,
)
from ceasefire.dissemination.render import render
from ceasefire.dissemination.tables import deliveries, notices
from ceasefire.ledger import log
from ceasefire.ledger.entry import LogEntry
from ceasefire.mission.model import Mission
from ceasefire.store import bulk
from ceasefire.timeutil import iso
from ceasefire.workflow.decisions import Decision

KIND_NOTICE = "notice"


def queue_of(recipient: str, channel: str) -> str:
    return f"{recipient}/{channel}"


def notify(
    connection: Connection,
    mission: Mission,
    *,
    kind: str,
    cause: str,
    at: datetime,
    incident_id: str | None = None,
    addressee: str | None = None,
    to_parties: bool = True,
    extra: dict[str, Any] | None = None,
) -> list[str]:
    """Write one batch of notices (and their deliveries, and their ledger entries) in the
    caller's transaction; the notice ids. Nothing to write when nobody is routed."""
    routed = route(mission, kind, addressee=addressee, to_parties=to_parties)
    if not routed:
        return []
    check_parity(mission, [r.id for r, _role in routed])
    facts: dict[str, Any] = {
        "kind": kind,
        "cause": cause,
        "addressees": [addressee] if addressee is not None else [],
        "reaction": None,
        "decision": None,
        "incident": None,
        "finding": None,
        "text": "",
        **(extra or {}),
    }
    if incident_id is not None:
        facts["incident"] = facts_.incident_facts(connection, incident_id)
        facts["finding"] = facts_.finding_facts(connection, incident_id)
    content_hash = facts_.content_hash(facts)
    batch = "BAT-" + secrets.token_hex(8)
    made: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for recipient, role in routed:
        lang = recipient.language
        notice_id, token = "NTC-" + secrets.token_hex(8), secrets.token_urlsafe(24)
        notice: dict[str, Any] = {
            "id": notice_id,
            "batch": batch,
            "kind": kind,
            "mission": mission.id,
            "center": mission.name(lang),
            "recipient": recipient.id,
            "recipient_name": recipient.name(lang),
            "role": role,
            "lang": lang,
            "created_at": iso(at),
            "ack_due_at": iso(at + timedelta(hours=recipient.ack_hours)),
            "facts": facts,
            "content_hash": content_hash,
            # the link's secret: only in what this recipient receives (never in ``body``)
            "ack": ack_member(notice_id, token, mission.config.lines.base()),
        }
        subject, text, html = render(mission, notice)
        notice.update(subject=subject, text=text, html=html)
        payload = canonical_json(notice).decode("utf-8")
        row = {
            "id": notice["id"],
            "batch": batch,
            "kind": kind,
            "cause": cause,
            "incident_id": incident_id,
            "recipient": recipient.id,
            "recipient_kind": recipient.kind,
            "role": role,
            "lang": lang,
            "subject": subject,
            "body": text,
            "payload": payload,
            "content_hash": content_hash,
            "payload_hash": hashlib.sha256(payload.encode("utf-8")).hexdigest(),
            "created_at": at,
            "ack_due_at": at + timedelta(hours=recipient.ack_hours),
            "ack_token": token,
        }
        record = {
            "id": row["id"],
            "batch": batch,
            "kind": kind,
            "cause": cause,
            "incident": incident_id,
            "recipient": recipient.id,
            "role": role,
            "lang": lang,
            "channels": [c.channel for c in recipient.contacts],
            "content_hash": content_hash,
            "payload_hash": row["payload_hash"],
            "created_at": iso(at),
            "ack_due_at": iso(row["ack_due_at"]),
        }
        made.append((row, record))
    indexes = log.append(
        connection, [LogEntry.of(KIND_NOTICE, r["id"], record) for r, record in made], at=at
    )
    rows = [
        {**row, "ledger_index": index} for (row, _rec), index in zip(made, indexes, strict=True)
    ]
    # the driver's own executemany (COPY on PostgreSQL): SQLAlchemy's per-row processing of
    # these wide rows cost more than the rest of writing them
    bulk.insert_rows(connection, notices, rows)
    contacts = {r.id: r.contacts for r, _role in routed}
    outbox = [
        {
            "notice_id": row["id"],
            "channel": contact.channel,
            "address": contact.address,
            "queue": queue_of(row["recipient"], contact.channel),
            "status": "pending",
            "attempts": 0,
            "next_at": at,
            "last_error": "",
            "updated_at": at,
        }
        for row in rows
        for contact in contacts[row["recipient"]]
    ]
    bulk.insert_rows(connection, deliveries, outbox)
    return [row["id"] for row in rows]


def notify_decision(
    connection: Connection,
    mission: Mission,
    decision_id: str,
    incident_id: str,
    reaction: str,
    party: str | None,
    contingent: str | None,
    at: datetime,
) -> list[str]:
    """The notices a decision causes once it takes effect (approved, or taken urgently).

    The decision's remarks stay inside the center: they are the contingents' words to each
    other, not the center's to the parties."""
    kind = NOTICE_OF_REACTION.get(reaction)
    if kind is None:
        return []
    index = facts_.ledger_index_of(connection, "decision", decision_id)
    return notify(
        connection,
        mission,
        kind=kind,
        cause=decision_id,
        at=at,
        incident_id=incident_id,
        addressee=party if reaction == "request_explanation" else contingent,
        to_parties=reaction != "notify_peacekeepers",
        extra={
            "reaction": reaction,
            "decision": {"id": decision_id, "ledger_index": index},
        },
    )


def decision_took_effect(
    connection: Connection, mission: Mission, decision: Decision, at: datetime
) -> None:
    """:func:`notify_decision` as the workflow's effect of a decision (wired by the center:
    :func:`ceasefire.workflow.decisions.on_effect`)."""
    notify_decision(
        connection,
        mission,
        decision.id,
        decision.incident_id,
        decision.reaction,
        decision.party,
        decision.contingent,
        at,
    )
