"""The transactional outbox: notices written in a transaction of their own cause's room.

Why: what causes notices and the notices commit together or not at all, so a crash between
"decided" and "sent" loses nothing; the dispatcher (:mod:`ceasefire.dissemination.dispatcher`)
sends what the outbox holds, at least once. Each notice has a stable id that goes with it on
every channel and every retry, so a receiver drops a repeat.

A decision's notices follow its effect: the workflow writes a row of ``decision_effects`` in
the decision's transaction and knows nothing of notices; :func:`notice_effects` turns every
effect without notices into its batch, in one transaction with the row of ``effect_notices``
that marks it done (its primary key: an effect gives notices once, whoever runs it, however
many at once). The dispatcher runs it before it takes due deliveries, and the center in its
decision verbs' own transaction (in a savepoint, for the verb's decision only), so that a
decision and its notices commit together and the notices are there when the command returns.

One batch per cause: every recipient's notice carries the same facts (``content_hash``) and
the same ``created_at``; only the language and the mark addressee / copy differ.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import Connection, func, select

from ceasefire.canonical import canonical_json
from ceasefire.dissemination import facts as facts_
from ceasefire.dissemination.acks import ack_member
from ceasefire.dissemination.recipients import (
    NOTICE_OF_REACTION,
    check_parity,
    route,
)
from ceasefire.dissemination.render import render
from ceasefire.dissemination.tables import deliveries, effect_notices, notices
from ceasefire.ledger import log
from ceasefire.ledger.entry import LogEntry
from ceasefire.mission.model import Mission
from ceasefire.store import bulk
from ceasefire.timeutil import iso
from ceasefire.workflow import decisions

KIND_NOTICE = "notice"


class Written(NamedTuple):
    """A batch of notices written: their ids, and the batch (None: nobody was routed)."""

    ids: list[str]
    batch: str | None


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
    as_of: int | None = None,
) -> Written:
    """Write one batch of notices (and their deliveries, and their ledger entries) in the
    caller's transaction; their ids and batch. Nothing to write when nobody is routed. ``as_of``:
    the log entry of the cause, the incident's finding stated as it stood before it."""
    routed = route(mission, kind, addressee=addressee, to_parties=to_parties)
    if not routed:
        return Written([], None)
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
        facts["incident"], facts["finding"] = facts_.incident_facts(
            connection, incident_id, before=as_of
        )
    content_hash = facts_.content_hash(facts)
    batch = "BAT-" + secrets.token_hex(8)
    made: list[tuple[dict[str, Any], dict[str, Any]]] = []
    created_at, base = iso(at), mission.config.lines.base()  # the batch's, printed once
    for recipient, role in routed:
        lang = recipient.language
        ack_due_at = at + timedelta(hours=recipient.ack_hours)
        ack_due = iso(ack_due_at)
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
            "created_at": created_at,
            "ack_due_at": ack_due,
            "facts": facts,
            "content_hash": content_hash,
            # the link's secret: only in what this recipient receives (never in ``body``)
            "ack": ack_member(notice_id, token, base),
        }
        subject, text, html = render(mission, notice)
        notice.update(subject=subject, text=text, html=html)
        canonical = canonical_json(notice)
        payload = canonical.decode("utf-8")
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
            "payload_hash": hashlib.sha256(canonical).hexdigest(),
            "created_at": at,
            "ack_due_at": ack_due_at,
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
            "created_at": created_at,
            "ack_due_at": ack_due,
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
    return Written([row["id"] for row in rows], batch)


def notify_decision(
    connection: Connection,
    mission: Mission,
    decision_id: str,
    incident_id: str,
    reaction: str,
    party: str | None,
    contingent: str | None,
    at: datetime,
    decision_index: int | None = None,
) -> Written:
    """The notices a decision causes once it takes effect (approved, or taken urgently): their
    ids and their batch (None: the reaction tells nobody).

    ``decision_index``: the decision's log entry as it took effect (by default its newest);
    the notices name it, and state the finding as it stood then. The decision's remarks stay
    inside the center: they are the contingents' words to each other, not the center's to the
    parties."""
    kind = NOTICE_OF_REACTION.get(reaction)
    if kind is None:
        return Written([], None)
    index = decision_index
    if index is None:
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
        as_of=index,
    )


EFFECTS_BATCH = 200
"""Effects turned into notices per call (per transaction) at most."""


_AHEAD = select(
    decisions.effects_count() - select(func.count()).select_from(effect_notices).scalar_subquery()
)


def _effects_ahead(connection: Connection) -> bool:
    """Whether there are more effects than effects with notices: the two counts, in one
    statement. ``effect_notices`` holds only effects' ids and neither table loses rows, so
    equal counts mean every effect has its notices (SQLite counts 20,000 rows in 0.02 ms; the
    anti-join takes 5 ms)."""
    return bool(connection.execute(_AHEAD).scalar_one())


def effects_waiting(connection: Connection) -> bool:
    """Whether a decision took effect and has no notices yet: first the two counts
    (:func:`_effects_ahead`); when they differ the anti-join says."""
    return _effects_ahead(connection) and bool(waiting_effects(connection, limit=1))


def waiting_effects(connection: Connection, limit: int = EFFECTS_BATCH) -> list[str]:
    """The decisions that took effect and have no notices yet, oldest first (up to
    ``limit``)."""
    return [
        e.decision_id
        for e in decisions.effects_without(connection, effect_notices.c.decision_id, limit=limit)
    ]


def notice_effects(
    connection: Connection,
    mission: Mission,
    *,
    limit: int = EFFECTS_BATCH,
    among: Sequence[str] | None = None,
) -> dict[str, list[str]]:
    """The notices of every decision that took effect and has none yet (up to ``limit``
    decisions, oldest first; only of the decisions ``among``, if given: a decision verb's own,
    found by their keys without reading every effect), in the caller's transaction; their
    ids by decision.

    Each effect's notices are written exactly as its decision's own transaction wrote them
    before (:func:`notify_decision`: at the moment it took effect, naming its log entry), with
    the row of ``effect_notices`` that marks it done. Every writer of notices takes the log's
    writer lock first (their entries go to the log), and the effects are read again under it:
    a second process that waited for the lock finds them done, and the primary key of
    ``effect_notices`` refuses what would still slip through. Nothing waiting (the counts
    equal): nothing locked; the anti-join runs once, under the lock."""
    if among is None and not _effects_ahead(connection):
        return {}
    log.lock(connection)
    made: dict[str, list[str]] = {}
    noticed_at = datetime.now(UTC)
    waiting = decisions.effects_without(
        connection, effect_notices.c.decision_id, limit=limit, among=among
    )
    for effect in waiting:
        ids, batch = notify_decision(
            connection,
            mission,
            effect.decision_id,
            effect.incident_id,
            effect.reaction,
            effect.party,
            effect.contingent,
            effect.at,
            decision_index=effect.ledger_index,
        )
        bulk.insert_rows(
            connection,
            effect_notices,
            [{"decision_id": effect.decision_id, "batch": batch, "noticed_at": noticed_at}],
        )
        made[effect.decision_id] = ids
    return made
