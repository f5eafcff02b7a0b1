"""Acknowledgements of notices, and escalation of those not acknowledged in time.

A notice's recipient acknowledges it in one of two ways (docs/direct-lines.md):

- with the notice's **link**: the secret token the notice carries (``ack.token``, ``ack.url``),
  different for every notice, so it proves the holder received that notice;
- with a **signed acknowledgement**: a C2SP signed note (the format of the ledger's checkpoints)
  over :func:`ack_text`, the notice's id and the SHA-256 of the notice as received, signed with
  an Ed25519 key the mission registers for that recipient (``keys`` of the party or force).

Refused, each with the field at fault: a token of another notice or of none (``token``); a note
not signed by a key of that recipient, signed by another recipient's key, altered, or made for
another notice or another content (``signature``); a second acknowledgement of the same notice,
which is how a replay shows (``notice``). Each acknowledgement is logged (kind
``acknowledgement``, with the signed note itself, which anyone can check with the party's key).

A notice to a party or the force not acknowledged by its ``ack_due_at`` is escalated to the
heads of every contingent: :func:`escalate_unacknowledged`, run by the escalation scheduler in
the same pass as the overdue decisions (logged, kind ``escalation``).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select, update

from ceasefire.canonical import canonical_json
from ceasefire.dissemination.recipients import FORCE, PARTY, recipients
from ceasefire.dissemination.refusals import (
    ConflictField,
    ForbiddenField,
    InvalidField,
    NotFoundField,
)
from ceasefire.dissemination.tables import notices
from ceasefire.i18n import _
from ceasefire.ledger import log
from ceasefire.ledger.entry import LogEntry
from ceasefire.ledger.note import (
    Ed25519Signer,
    Ed25519Verifier,
    InvalidSignatureError,
    KeyFormatError,
    NoteError,
    UnverifiedNoteError,
    open_note,
    sign_note,
)
from ceasefire.mission.model import Mission
from ceasefire.timeutil import iso

KIND_ACK = "acknowledgement"
KIND_ESCALATION = "escalation"
HEADER = "ceasefire acknowledgement/v1"
"""The first line of a signed acknowledgement's text."""
SKEW = timedelta(minutes=5)
"""How far a signed acknowledgement's time may lie ahead of the center's clock, or before the
notice was written (clocks drift): beyond, it is refused."""
MAX_NOTE_BYTES = 16 * 1024
ESCALATED_KINDS = (PARTY, FORCE)
"""Whose silence is escalated: the recipients outside the center (a contingent's HQ gets its
copies inside the center, where its own officers see them)."""


def ack_path(notice_id: str) -> str:
    """The API path that takes acknowledgements of a notice."""
    return f"/api/v1/notices/{notice_id}/ack"


def ack_member(notice_id: str, token: str, base: str = "") -> dict[str, str]:
    """What a notice carries for its acknowledgement (member ``ack`` of its JSON).

    ``endpoint`` is the API's path (a program joins it to the center's address it knows);
    ``url``, the link a person follows, is absolute under ``base``, the center's public URL
    (the mission's ``lines.public_url``), when one is set."""
    return {
        "endpoint": ack_path(notice_id),
        "token": token,
        "url": f"{base.rstrip('/')}{ack_path(notice_id)}?token={token}",
    }


def payload_digest(payload: dict[str, Any] | bytes | str) -> str:
    """SHA-256 (hex) of a notice as received: its canonical JSON (RFC 8785), which is what the
    center sent and logged (``payload_hash``), whichever way the bytes travelled."""
    if isinstance(payload, dict):
        return hashlib.sha256(canonical_json(payload)).hexdigest()
    data = payload.encode("utf-8") if isinstance(payload, str) else payload
    return hashlib.sha256(data).hexdigest()


def ack_text(notice_id: str, payload_hash: str, at: datetime, by: str) -> str:
    """The text a recipient signs to acknowledge a notice (one fact per line)."""
    return f"{HEADER}\nnotice {notice_id}\npayload {payload_hash}\ntime {iso(at)}\nby {by}\n"


def sign_ack(
    signer: Ed25519Signer, notice_id: str, payload_hash: str, at: datetime, by: str
) -> str:
    """A signed acknowledgement (a C2SP signed note) of a notice, as a party's inbox makes it."""
    return sign_note(ack_text(notice_id, payload_hash, at, by), [signer])


@dataclass(frozen=True)
class Ack:
    notice_id: str
    recipient: str
    how: str  # token | signature
    by: str
    at: datetime
    ledger_index: int

    def record(self) -> dict[str, Any]:
        return {
            "notice": self.notice_id,
            "recipient": self.recipient,
            "how": self.how,
            "by": self.by,
            "acked_at": iso(self.at),
            "ledger_index": self.ledger_index,
        }


@dataclass(frozen=True)
class _Signed:
    notice_id: str
    payload_hash: str
    at: datetime
    by: str
    key: str


def _verifiers(keys: tuple[str, ...]) -> list[Ed25519Verifier]:
    found = []
    for vkey in keys:
        try:
            found.append(Ed25519Verifier.from_vkey(vkey))
        except (KeyFormatError, ValueError):  # mission validate refuses these already
            continue
    return found


def _read_signed(text: str) -> tuple[str, str, datetime, str]:
    """(notice id, payload hash, time, by) of a verified note's text, or a refusal."""
    lines = text.rstrip("\n").split("\n")
    fields: dict[str, str] = {}
    for line in lines[1:]:
        name, _sep, value = line.partition(" ")
        fields[name] = value
    if lines[0] != HEADER or set(fields) != {"notice", "payload", "time", "by"}:
        raise InvalidField(
            "signature",
            _(
                "the signed text is not an acknowledgement: it must be the lines '{header}', "
                "'notice <id>', 'payload <sha256>', 'time <ISO 8601>', 'by <name>'"
            ).format(header=HEADER),
        )
    try:
        at = datetime.fromisoformat(fields["time"].replace("Z", "+00:00"))
    except ValueError:
        at = None
    if at is None or at.tzinfo is None:
        raise InvalidField(
            "signature",
            _("the signed time {value!r} is not an ISO 8601 time in UTC").format(
                value=fields["time"][:40]
            ),
        )
    return fields["notice"], fields["payload"], at, fields["by"]


def _check_signature(mission: Mission, row: Any, note: str, at: datetime) -> _Signed:
    everyone = recipients(mission)
    own = everyone.get(row.recipient)
    keys = _verifiers(own.keys) if own is not None else []
    if not keys:
        raise ForbiddenField(
            "signature",
            _(
                "{recipient} has no key registered in the mission to sign acknowledgements "
                "with: acknowledge with the notice's link (token)"
            ).format(recipient=row.recipient),
        )
    try:
        opened = open_note(note, keys, max_bytes=MAX_NOTE_BYTES)
    except InvalidSignatureError:
        raise ForbiddenField(
            "signature",
            _("the signature does not verify with {recipient}'s key: forged or altered").format(
                recipient=row.recipient
            ),
        ) from None
    except UnverifiedNoteError:
        for other in everyone.values():
            if other.id == row.recipient:
                continue
            try:
                open_note(note, _verifiers(other.keys), max_bytes=MAX_NOTE_BYTES)
            except (NoteError, KeyFormatError):
                continue
            raise ForbiddenField(
                "signature",
                _(
                    "signed with a key of {other}, not of {recipient}: a recipient "
                    "acknowledges only its own notices"
                ).format(other=other.id, recipient=row.recipient),
            ) from None
        raise ForbiddenField(
            "signature",
            _("not signed by any key the mission registers for {recipient}").format(
                recipient=row.recipient
            ),
        ) from None
    except (NoteError, KeyFormatError) as error:
        raise InvalidField(
            "signature",
            _("not a signed note (C2SP signed-note): {reason}").format(reason=str(error)),
        ) from None
    notice_id, payload_hash, signed_at, by = _read_signed(opened.text)
    if notice_id != row.id:
        raise ForbiddenField(
            "signature",
            _("this acknowledgement was signed for notice {signed}, not for {notice}").format(
                signed=notice_id[:60], notice=row.id
            ),
        )
    if not hmac.compare_digest(payload_hash, row.payload_hash):
        raise ForbiddenField(
            "signature",
            _(
                "the signed payload hash is not that of notice {notice} as the center sent it "
                "(the notice received differs, or the hash is of something else)"
            ).format(notice=row.id),
        )
    if signed_at > at + SKEW:
        raise ForbiddenField(
            "signature",
            _("signed at {time}, later than the center's clock ({now})").format(
                time=iso(signed_at), now=iso(at)
            ),
        )
    if signed_at < row.created_at - SKEW:
        raise ForbiddenField(
            "signature",
            _("signed at {time}, before notice {notice} was written ({created})").format(
                time=iso(signed_at), notice=row.id, created=iso(row.created_at)
            ),
        )
    sig = opened.verified[0]
    return _Signed(notice_id, payload_hash, signed_at, by, f"{sig.name}+{sig.key_id:08x}")


def _check_token(row: Any, notice_id: str, token: str) -> None:
    """The token must be this notice's link. One refusal for a wrong token, another notice's
    token and a notice that does not exist, and no look-up by the token: an answer that named
    the notice a token opens, or told a missing notice from a wrong token, would let anyone
    holding or guessing a token learn more than "no"."""
    if row is not None and hmac.compare_digest(
        token.encode("utf-8"), row.ack_token.encode("utf-8")
    ):
        return
    raise ForbiddenField(
        "token", _("the token is not the link of notice {notice}").format(notice=notice_id[:60])
    )


def acknowledge(
    connection: Connection,
    mission: Mission,
    notice_id: str,
    *,
    at: datetime,
    token: str | None = None,
    signature: str | None = None,
    by: str = "",
) -> Ack:
    """Record that a notice's recipient acknowledged it, with its link's ``token`` or a signed
    note (``signature``); logged in the caller's transaction. Refusals name the field."""
    if (token is None) == (signature is None):
        raise InvalidField(
            "token",
            _("give either the notice's token (its link) or a signed acknowledgement, not both"),
        )
    if len(by) > 128:
        raise InvalidField("by", _("at most 128 characters"))
    log.lock(connection)  # one acknowledgement of a notice wins; the next sees it
    row = connection.execute(select(notices).where(notices.c.id == notice_id)).first()
    signed: _Signed | None = None
    if token is not None:
        _check_token(row, notice_id, token)
    elif row is None:
        raise NotFoundField("notice", _("no such notice: {id}").format(id=notice_id[:60]))
    else:
        assert signature is not None
        signed = _check_signature(mission, row, signature, at)
    assert row is not None  # a token for no notice was refused as a wrong one
    if row.acked_at is not None:
        raise ConflictField(
            "notice",
            _(
                "notice {notice} was acknowledged already, at {time} by {by} (ledger entry "
                "{index}): a repeated acknowledgement is refused"
            ).format(notice=row.id, time=iso(row.acked_at), by=row.acked_by, index=row.ack_index),
        )
    who = (signed.by if signed is not None else by) or row.recipient
    record: dict[str, Any] = {
        "notice": row.id,
        "recipient": row.recipient,
        "how": "signature" if signed is not None else "token",
        "by": who,
        "at": iso(at),
        "late": at > row.ack_due_at,
    }
    if signed is not None:
        record.update(key=signed.key, signed_at=iso(signed.at), note=signature)
    index = log.append(connection, [LogEntry.of(KIND_ACK, row.id, record)], at=at)[0]
    connection.execute(
        update(notices)
        .where(notices.c.id == row.id)
        .values(acked_at=at, acked_by=who, ack_index=index)
    )
    return Ack(row.id, row.recipient, str(record["how"]), who, at, index)


def notice_for_token(connection: Connection, notice_id: str, token: str) -> Any | None:
    """The notice row whose link this is (for the link's page), or None."""
    row = connection.execute(select(notices).where(notices.c.id == notice_id)).first()
    if row is None or not hmac.compare_digest(token.encode("utf-8"), row.ack_token.encode("utf-8")):
        return None
    return row


def escalate_unacknowledged(connection: Connection, mission: Mission, at: datetime) -> list[str]:
    """Escalate to the heads of every contingent each notice to a party or the force that is
    not acknowledged by its due time (once; logged); the notice ids."""
    log.lock(connection)
    due = connection.execute(
        select(notices.c.id, notices.c.recipient, notices.c.kind, notices.c.ack_due_at)
        .where(
            notices.c.acked_at.is_(None),
            notices.c.escalated_at.is_(None),
            notices.c.ack_due_at <= at,
            notices.c.recipient_kind.in_(ESCALATED_KINDS),
        )
        .order_by(notices.c.ack_due_at, notices.c.id)
    ).all()
    if not due:
        return []
    heads = list(mission.contingent_ids())
    entries = [
        LogEntry.of(
            KIND_ESCALATION,
            r.id,
            {
                "notice": r.id,
                "recipient": r.recipient,
                "kind": r.kind,
                "ack_due_at": iso(r.ack_due_at),
                "to": [f"{c}/head" for c in heads],
                "at": iso(at),
            },
        )
        for r in due
    ]
    log.append(connection, entries, at=at)
    ids = [r.id for r in due]
    for start in range(0, len(ids), 500):
        connection.execute(
            update(notices)
            .where(notices.c.id.in_(ids[start : start + 500]))
            .values(escalated_at=at)
        )
    return ids


__all__ = [
    "HEADER",
    "KIND_ACK",
    "KIND_ESCALATION",
    "SKEW",
    "Ack",
    "ack_member",
    "ack_path",
    "ack_text",
    "acknowledge",
    "escalate_unacknowledged",
    "notice_for_token",
    "payload_digest",
    "sign_ack",
]
