"""What the parties send back: answers to requests for an explanation, and complaints.

An **answer**: a party's liaison answers a request for an explanation addressed to its own
party. It is logged (kind ``answer``) and told to everyone the request went to (parity: every
party, the force, the contingents' HQs; notice kind ``answer_received``), and both contingents
read it.

A **complaint**: a party's liaison reports an alleged violation by another party: where, when,
what, a description, and evidence by content hash. It becomes an observation of the center
(platform type and ``sensed_by`` ``party-complaint``), received by one contingent chosen by the
complaint's hash (never by which party complains), so it enters correlation (kept apart from the
monitors' observations) and the joint workflow like any other; it is logged (kind
``complaint``), and the party complained about is told that a complaint about it was received
(notice kind ``complaint_received``, every party at the same moment: parity). A complaint's id
is the hash of its content: the same complaint sent twice is received once.

Refusals name the request's field (:mod:`ceasefire.dissemination.refusals`).
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from ceasefire.canonical import canonical_json
from ceasefire.dissemination.outbox import notify
from ceasefire.dissemination.recipients import ADDRESSEE, ANSWER, COMPLAINT, EXPLANATION
from ceasefire.dissemination.refusals import (
    ConflictField,
    ForbiddenField,
    InvalidField,
    NotFoundField,
)
from ceasefire.dissemination.tables import notices, party_messages
from ceasefire.i18n import _
from ceasefire.intake._common import validate
from ceasefire.intake.errors import Rejection
from ceasefire.ledger import log
from ceasefire.ledger.entry import LogEntry
from ceasefire.mission.model import Mission
from ceasefire.observations import Observation
from ceasefire.observations.taxonomy import CATEGORIES
from ceasefire.store.schema import observations
from ceasefire.timeutil import iso
from ceasefire.workflow.roles import User, require

KIND_ANSWER = "answer"
KIND_COMPLAINT = "complaint"
COMPLAINT_PLATFORM = "party-complaint"
MAX_TEXT = 10_000
MAX_EVIDENCE = 50
COMPLAINT_FIELDS = (
    "observed_at",
    "observed_until",
    "location",
    "category",
    "description",
    "evidence",
    "against",
)
_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")


@dataclass(frozen=True)
class Message:
    id: str
    kind: str  # answer | complaint
    party: str
    by: str
    text: str
    at: datetime
    ledger_index: int
    notice_id: str | None = None
    """The request answered."""
    observation: str | None = None
    """The complaint's observation, ``<contingent>/<id>``."""
    notices: tuple[str, ...] = ()
    """The notices it caused (empty when read back)."""
    duplicate: bool = False
    """The same complaint was received before (nothing new was written)."""

    def record(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "party": self.party,
            "by": self.by,
            "text": self.text,
            "at": iso(self.at),
            "ledger_index": self.ledger_index,
            "notice": self.notice_id,
            "observation": self.observation,
            "notices": list(self.notices),
            "duplicate": self.duplicate,
        }


def _party_of(mission: Mission, user: User, action: str) -> str:
    """The party ``user`` acts for (a party's liaison), or a refusal."""
    require(user, action, released_to=mission.party_ids())
    return user.affiliation


def _text(value: object, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidField(field, _("a text is required"))
    if len(value) > MAX_TEXT:
        raise InvalidField(
            field,
            _("at most {limit} characters; got {count}").format(limit=MAX_TEXT, count=len(value)),
        )
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidField(field, _("not valid Unicode text (a lone surrogate)")) from None
    return value.strip()


def _row_message(row: Any) -> Message:
    return Message(
        row.id,
        row.kind,
        row.party,
        row.by,
        row.text,
        row.at,
        row.ledger_index,
        notice_id=row.notice_id,
        observation=row.observation,
    )


# -- answers ----------------------------------------------------------------------------------


def answer(
    connection: Connection,
    mission: Mission,
    user: User,
    notice_id: str,
    text: object,
    at: datetime,
) -> Message:
    """``user`` (a party's liaison) answers the request for an explanation ``notice_id``
    addressed to its party: logged, and told to every recipient of the request (parity)."""
    party = _party_of(mission, user, "answer_request")
    said = _text(text, "text")
    log.lock(connection)
    row = connection.execute(select(notices).where(notices.c.id == notice_id)).first()
    if row is None:
        raise NotFoundField("notice", _("no such notice: {id}").format(id=notice_id[:60]))
    if row.recipient != party:
        raise ForbiddenField(
            "notice",
            _(
                "notice {notice} went to {recipient}: {party}'s liaison answers only the "
                "notices to {party}"
            ).format(notice=row.id, recipient=row.recipient, party=party),
        )
    if row.kind != EXPLANATION or row.role != ADDRESSEE:
        raise ConflictField(
            "notice",
            _(
                "notice {notice} is not a request for an explanation addressed to {party}: "
                "there is nothing to answer"
            ).format(notice=row.id, party=party),
        )
    message_id = "ANS-" + hashlib.sha256(f"{row.id}\n{iso(at)}\n{said}".encode()).hexdigest()[:16]
    record = {
        "id": message_id,
        "party": party,
        "by": user.name,
        "notice": row.id,
        "decision": row.cause,
        "incident": row.incident_id,
        "text": said,
        "at": iso(at),
    }
    index = log.append(connection, [LogEntry.of(KIND_ANSWER, message_id, record)], at=at)[0]
    connection.execute(
        insert(party_messages).values(
            id=message_id,
            kind=KIND_ANSWER,
            party=party,
            by=user.name,
            notice_id=row.id,
            observation=None,
            text=said,
            at=at,
            ledger_index=index,
        )
    )
    sent = notify(
        connection,
        mission,
        kind=ANSWER,
        cause=message_id,
        at=at,
        incident_id=row.incident_id,
        extra={
            "text": said,
            "party": party,
            "message": {"id": message_id, "ledger_index": index, "answers": row.cause},
        },
    )
    return Message(
        message_id, KIND_ANSWER, party, user.name, said, at, index, row.id, None, tuple(sent.ids)
    )


# -- complaints -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ComplaintIn:
    """A complaint checked and made an observation, ready for the intake."""

    id: str
    party: str
    against: str
    by: str
    description: str
    observation: Observation

    @property
    def ref(self) -> str:
        return f"{self.observation.contingent}/{self.observation.id}"


def _evidence(value: object) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidField("evidence", _("a list of SHA-256 hashes (or objects with sha256)"))
    if len(value) > MAX_EVIDENCE:
        raise InvalidField("evidence", _("at most {limit} items").format(limit=MAX_EVIDENCE))
    found = []
    for n, item in enumerate(value):
        where = f"evidence[{n}]"
        if isinstance(item, str):
            item = {"sha256": item}
        if not isinstance(item, dict) or not isinstance(item.get("sha256"), str):
            raise InvalidField(where, _("a SHA-256 hash (64 hex digits) or an object with sha256"))
        if not _SHA256.match(item["sha256"]):
            raise InvalidField(f"{where}.sha256", _("a SHA-256 hash is 64 hex digits"))
        found.append({"media_type": "application/octet-stream", **item})
        found[-1]["sha256"] = found[-1]["sha256"].lower()
    return found


def complaint(mission: Mission, user: User, body: object) -> ComplaintIn:
    """Check a complaint (members :data:`COMPLAINT_FIELDS`) from ``user``, a party's liaison,
    and make it an observation; refusals name the member."""
    party = _party_of(mission, user, "file_complaint")
    if not isinstance(body, dict):
        raise InvalidField("", _("a complaint is a JSON object"))
    extra = sorted(k for k in body if k not in COMPLAINT_FIELDS)
    if extra:
        raise InvalidField(
            str(extra[0])[:60],
            _("not a member of a complaint; those are: {names}").format(
                names=", ".join(COMPLAINT_FIELDS)
            ),
        )
    others = [p for p in mission.party_ids() if p != party]
    against = body.get("against")
    if against is None and len(others) == 1:
        against = others[0]
    if against not in others:
        raise InvalidField(
            "against",
            _("the party complained about: one of {parties} (not {party} itself)").format(
                parties=", ".join(others), party=party
            ),
        )
    description = _text(body.get("description"), "description")
    category = body.get("category", "other")
    if category not in CATEGORIES:
        raise InvalidField(
            "category", _("one of {names}").format(names=", ".join(sorted(CATEGORIES)))
        )
    location = body.get("location")
    if not isinstance(location, dict):
        raise InvalidField("location", _('an object {"lat": .., "lon": .., "ce_m": ..}'))
    for key in ("lat", "lon", "ce_m"):
        value = location.get(key)
        if key == "ce_m" and value is None:
            continue
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if not number or not math.isfinite(value):  # type: ignore[arg-type]
            raise InvalidField(f"location.{key}", _("a number is required"))
    content = {
        "party": party,
        "against": against,
        "observed_at": body.get("observed_at"),
        "observed_until": body.get("observed_until"),
        "location": {"ce_m": 1000, **location},
        "category": category,
        "description": description,
        "evidence": _evidence(body.get("evidence")),
    }
    try:
        digest = hashlib.sha256(canonical_json(content)).hexdigest()
    except (TypeError, ValueError):
        reason = _("an ISO 8601 time such as 2021-02-01T10:30:00Z")
        raise InvalidField("observed_at", reason) from None
    complaint_id = "CMP-" + digest[:16]
    contingents = mission.contingent_ids()
    record: dict[str, Any] = {
        "id": complaint_id,
        # received by one contingent, by the complaint's hash: never by who complains
        "contingent": contingents[int(digest, 16) % len(contingents)],
        "platform": {"id": f"complaint-{party.lower()}", "type": COMPLAINT_PLATFORM},
        "observed_at": content["observed_at"],
        "location": content["location"],
        "category": category,
        "count": 1,
        "count_approx": True,
        "sensed_by": COMPLAINT_PLATFORM,
        "evidence": content["evidence"],
        "remarks": _("Complaint of {party} about {against}: {text}").format(
            party=party, against=against, text=description
        )[:2000],
    }
    if content["observed_until"] is not None:
        record["observed_until"] = content["observed_until"]
    if record["observed_at"] is None:
        raise InvalidField("observed_at", _("when it happened (ISO 8601) is required"))
    checked = validate(record, "complaint", 1, "", "record")
    if isinstance(checked, Rejection):
        field = {"remarks": "description"}.get(checked.field, checked.field)
        raise InvalidField(field, checked.reason)
    return ComplaintIn(complaint_id, party, str(against), user.name, description, checked)


def find(connection: Connection, message_id: str) -> Message | None:
    row = connection.execute(
        select(party_messages).where(party_messages.c.id == message_id)
    ).first()
    return _row_message(row) if row is not None else None


def record_complaint(
    connection: Connection, mission: Mission, made: ComplaintIn, at: datetime
) -> Message:
    """Log a complaint whose observation is stored and tell every party, the force and the
    HQs (the party complained about as the addressee); the same complaint again: the first."""
    log.lock(connection)
    known = find(connection, made.id)
    if known is not None:
        return Message(**{**known.__dict__, "duplicate": True})
    obs = made.observation
    incident = connection.execute(
        select(observations.c.incident_id).where(
            observations.c.contingent == obs.contingent, observations.c.source_id == obs.id
        )
    ).scalar_one_or_none()
    record = {
        "id": made.id,
        "party": made.party,
        "against": made.against,
        "by": made.by,
        "observation": made.ref,
        "incident": incident,
        "description": made.description,
        "evidence": [e.sha256 for e in obs.evidence],
        "at": iso(at),
    }
    index = log.append(connection, [LogEntry.of(KIND_COMPLAINT, made.id, record)], at=at)[0]
    connection.execute(
        insert(party_messages).values(
            id=made.id,
            kind=KIND_COMPLAINT,
            party=made.party,
            by=made.by,
            notice_id=None,
            observation=made.ref,
            text=made.description,
            at=at,
            ledger_index=index,
        )
    )
    sent = notify(
        connection,
        mission,
        kind=COMPLAINT,
        cause=made.id,
        at=at,
        incident_id=incident,
        addressee=made.against,
        extra={
            "text": made.description,
            "party": made.party,
            "message": {"id": made.id, "ledger_index": index, "observation": made.ref},
        },
    )
    return Message(
        made.id,
        KIND_COMPLAINT,
        made.party,
        made.by,
        made.description,
        at,
        index,
        None,
        made.ref,
        tuple(sent.ids),
    )


def list_messages(
    connection: Connection, *, kind: str | None = None, party: str | None = None
) -> list[Message]:
    """Answers and complaints, oldest first (both contingents read them all)."""
    query = select(party_messages).order_by(party_messages.c.at, party_messages.c.id)
    if kind is not None:
        query = query.where(party_messages.c.kind == kind)
    if party is not None:
        query = query.where(party_messages.c.party == party)
    return [_row_message(r) for r in connection.execute(query)]


__all__ = [
    "COMPLAINT_FIELDS",
    "KIND_ANSWER",
    "KIND_COMPLAINT",
    "ComplaintIn",
    "Message",
    "answer",
    "complaint",
    "find",
    "list_messages",
    "record_complaint",
]
