"""Who may do what: users, their roles and affiliations, API tokens, and the permission table.

Why a table: parity must be checkable. :data:`PERMISSIONS` names roles and scopes, never a
contingent, so swapping the contingents swaps every decision (a test walks the whole table).
Scopes:

- ``any``: the role may act whatever the target (every contingent sees all observations);
- ``own``: only for the user's own contingent (no role of one contingent acts for the other);
- ``released``: liaisons, only for what was released to their own party or force.

Users are disabled, never deleted; every change (and every token issued or revoked) is logged
in the same transaction, without secrets or hashes.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, insert, select, update

from ceasefire.i18n import _
from ceasefire.labels import label
from ceasefire.ledger.tables import ledger
from ceasefire.mission.model import Mission
from ceasefire.workflow._common import moment, record_entry
from ceasefire.workflow.errors import Conflict, Forbidden, Invalid, NotFound
from ceasefire.workflow.tables import api_tokens, users

KIND_USER = "user"
KIND_TOKEN = "token"

Role = Literal["analyst", "duty_officer", "head", "liaison", "party_liaison", "auditor"]
CONTINGENT_ROLES: tuple[Role, ...] = ("analyst", "duty_officer", "head")
ROLES: tuple[Role, ...] = (*CONTINGENT_ROLES, "liaison", "party_liaison", "auditor")

Scope = Literal["any", "own", "released"]
_CONTINGENT_READ: dict[Role, Scope] = {
    "analyst": "any",
    "duty_officer": "any",
    "head": "any",
    "auditor": "any",
    "liaison": "released",
    "party_liaison": "released",
}

PERMISSIONS: dict[str, dict[Role, Scope]] = {
    # Parity of information: every contingent reads everything of both.
    "read_observations": _CONTINGENT_READ,
    "read_incident": _CONTINGENT_READ,
    "read_assessments": _CONTINGENT_READ,  # and blind until both submitted (blindness.py)
    "read_finding": _CONTINGENT_READ,
    "read_decisions": _CONTINGENT_READ,
    "ingest_observations": {"analyst": "own", "duty_officer": "own"},
    "submit_assessment": {"duty_officer": "own", "head": "own"},
    "propose_decision": {"duty_officer": "own", "head": "own"},
    # Ending a blind period before both have assessed: a head of every contingent (blindness.py).
    "lift_blindness": {"head": "own"},
    "take_urgent": {"duty_officer": "own"},
    # Which of the two roles counts for a decision's tier is decided in decisions.py.
    "approve_decision": {"duty_officer": "own", "head": "own"},
    "respond_urgent": {"duty_officer": "own", "head": "own"},
    "manage_users": {"head": "own"},  # add, disable, tokens: own is the target user's contingent
    "manage_roster": {"duty_officer": "own", "head": "own"},
    "read_handover": {"analyst": "any", "duty_officer": "any", "head": "any", "auditor": "any"},
    # Who works for whom, and when, is no secret between the contingents (the log has it too).
    "read_users": {"analyst": "any", "duty_officer": "any", "head": "any", "auditor": "any"},
    "read_roster": {"analyst": "any", "duty_officer": "any", "head": "any", "auditor": "any"},
    "verify_ledger": {role: "any" for role in ROLES},
    # The log's entries carry every kind of record: what the records' readers may read.
    "read_ledger": _CONTINGENT_READ,
    # Release bundles: a liaison reads those released to its own party or force.
    "read_releases": _CONTINGENT_READ,
    # What a party sends back over its direct line (dissemination.messages): a party's liaison
    # answers the requests to its own party and complains about another party.
    "answer_request": {"party_liaison": "released"},
    "file_complaint": {"party_liaison": "released"},
    # dissemination: both contingents see every notice and its dead letters, and either
    # contingent's duty officer may send a dead letter again (parity: neither needs the other)
    "read_notices": {"analyst": "any", "duty_officer": "any", "head": "any", "auditor": "any"},
    "retry_notice": {"duty_officer": "any", "head": "any"},
}
ACTIONS = tuple(PERMISSIONS)

SESSION_LABEL = "session"
"""The label of the short-lived tokens of people's log-ins (:func:`start_session`)."""
SESSION_HOURS = 12.0
"""How long a log-in's token lives: about one shift."""

NAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,63}$"  # a user's name (also in the OpenAPI document)
_NAME = re.compile(NAME_PATTERN)
_hasher = PasswordHasher()


@dataclass(frozen=True)
class User:
    name: str
    role: Role
    affiliation: str
    """A contingent, the peacekeeping force, a party, or "" for auditors."""
    disabled: bool = False

    @property
    def contingent(self) -> str | None:
        """The contingent the user acts for, if any."""
        return self.affiliation if self.role in CONTINGENT_ROLES else None


def authorize(
    user: User,
    action: str,
    *,
    contingent: str | None = None,
    released_to: Collection[str] = (),
) -> bool:
    """Whether ``user`` may do ``action`` for ``contingent`` or on a record released to
    ``released_to`` (the parties and force it was released to)."""
    if action not in PERMISSIONS:
        raise ValueError(f"unknown action: {action}")
    if user.disabled:
        return False
    scope = PERMISSIONS[action].get(user.role)
    if scope == "any":
        return True
    if scope == "own":
        return user.contingent is not None and user.contingent == contingent
    if scope == "released":
        return user.affiliation in released_to
    return False


def require(
    user: User,
    action: str,
    *,
    contingent: str | None = None,
    released_to: Collection[str] = (),
) -> None:
    """:func:`authorize`, raising :class:`Forbidden` with a reason."""
    if not authorize(user, action, contingent=contingent, released_to=released_to):
        if user.disabled:
            raise Forbidden(_("user {name} is disabled").format(name=user.name))
        raise Forbidden(
            _("{name} ({role} of {affiliation}) may not {action}").format(
                name=user.name,
                role=label("role", user.role),
                affiliation=user.affiliation or "-",
                action=label("action", action)
                + (f" ({contingent})" if contingent is not None else ""),
            )
        )


def _check_affiliation(mission: Mission, role: str, affiliation: str) -> None:
    force = mission.config.peacekeeping_force
    allowed: dict[str, list[str]] = {
        "analyst": mission.contingent_ids(),
        "duty_officer": mission.contingent_ids(),
        "head": mission.contingent_ids(),
        "liaison": [force.id] if force is not None else [],
        "party_liaison": mission.party_ids(),
        "auditor": [""],
    }
    if role not in allowed:
        raise Invalid(
            _("unknown role {role}: choose one of {roles}").format(
                role=role, roles=", ".join(ROLES)
            )
        )
    if affiliation not in allowed[role]:
        if allowed[role] == [""]:
            raise Invalid(
                _("{role}: belongs to no contingent or party; leave the affiliation empty").format(
                    role=label("role", role)
                )
            )
        raise Invalid(
            _("{role}: the affiliation is one of {choices}").format(
                role=label("role", role), choices=", ".join(allowed[role]) or "-"
            )
        )


def _user(row: object) -> User:
    return User(
        name=row.name,  # type: ignore[attr-defined]
        role=row.role,  # type: ignore[attr-defined]
        affiliation=row.affiliation,  # type: ignore[attr-defined]
        disabled=bool(row.disabled),  # type: ignore[attr-defined]
    )


def _user_record(user: User, event: str, by: User | None) -> dict[str, object]:
    # No password hash in the log: released bundles must not carry crackable material.
    return {
        "event": event,
        "name": user.name,
        "role": user.role,
        "affiliation": user.affiliation,
        "disabled": user.disabled,
        "by": by.name if by is not None else None,
    }


def _require_manager(by: User | None, target: User) -> None:
    """The operator (``by`` None: whoever runs the center) or a head of the user's contingent."""
    if by is None:
        return
    if target.contingent is None:
        # People outside the contingents are added by the operator, never by one side alone.
        raise Forbidden(_("only the center's operator adds users outside the contingents"))
    require(by, "manage_users", contingent=target.contingent)


def add_user(
    connection: Connection,
    mission: Mission,
    name: str,
    role: str,
    affiliation: str,
    password: str | None = None,
    *,
    by: User | None = None,
    at: datetime | None = None,
) -> User:
    """Create a user (logged as kind ``user``). ``by`` None means the operator."""
    when = moment(at)
    if not _NAME.match(name):
        raise Invalid(
            _("user name {name!r}: lower-case letters, digits, '.', '_' or '-'").format(name=name)
        )
    _check_affiliation(mission, role, affiliation)
    user = User(name, role, affiliation)  # type: ignore[arg-type]
    _require_manager(by, user)
    if connection.execute(select(users.c.name).where(users.c.name == name)).first():
        raise Conflict(_("user {name} exists already").format(name=name))
    connection.execute(
        insert(users).values(
            name=name,
            role=role,
            affiliation=affiliation,
            password_hash=_hasher.hash(password) if password else None,
            disabled=False,
            created_at=when,
            updated_at=when,
        )
    )
    record_entry(connection, KIND_USER, name, _user_record(user, "added", by), when)
    return user


def get_user(connection: Connection, name: str) -> User:
    """The user, once their row agrees with the log (:func:`_as_logged`)."""
    row = connection.execute(select(users).where(users.c.name == name)).first()
    if row is None:
        raise NotFound(_("no such user: {name}").format(name=name))
    return _as_logged(connection, _user(row))


def _latest_entry(connection: Connection, kind: str, ref: str, first: bool = False) -> Any:
    """The record of the newest (or ``first``) entry of ``kind`` and ``ref``, or None."""
    position = ledger.c["index"]
    text = connection.execute(
        select(ledger.c.entry)
        .where(ledger.c.kind != "observation", ledger.c.kind == kind, ledger.c.ref == ref)
        .order_by(position if first else position.desc())
        .limit(1)
    ).scalar()
    return json.loads(text)["record"] if text is not None else None


def _as_logged(connection: Connection, user: User) -> User:
    """The user if their row says what the log says (role, affiliation, enabled); a row edited
    or inserted behind the log's back is not trusted with anything."""
    logged = _latest_entry(connection, KIND_USER, user.name)
    if logged is None or (
        logged.get("role"),
        logged.get("affiliation"),
        bool(logged.get("disabled")),
    ) != (user.role, user.affiliation, user.disabled):
        raise Forbidden(
            _(
                "user {name}: the row does not agree with the ledger (changed behind its "
                "back?); refused until `ceasefire verify` is clean"
            ).format(name=user.name)
        )
    return user


def list_users(connection: Connection) -> list[User]:
    rows = connection.execute(select(users).order_by(users.c.affiliation, users.c.name))
    return [_user(r) for r in rows]


def disable_user(
    connection: Connection,
    mission: Mission,
    name: str,
    *,
    by: User | None = None,
    at: datetime | None = None,
) -> User:
    """Disable a user and revoke their tokens (logged); the user's records stay theirs."""
    when = moment(at)
    user = get_user(connection, name)
    _require_manager(by, user)
    connection.execute(
        update(users).where(users.c.name == name).values(disabled=True, updated_at=when)
    )
    connection.execute(
        update(api_tokens)
        .where(api_tokens.c.user_name == name, api_tokens.c.revoked_at.is_(None))
        .values(revoked_at=when)
    )
    disabled = User(user.name, user.role, user.affiliation, True)
    record_entry(connection, KIND_USER, name, _user_record(disabled, "disabled", by), when)
    return disabled


def set_password(
    connection: Connection, name: str, password: str, *, at: datetime | None = None
) -> None:
    when = moment(at)
    user = get_user(connection, name)
    connection.execute(
        update(users)
        .where(users.c.name == name)
        .values(password_hash=_hasher.hash(password), updated_at=when)
    )
    record_entry(connection, KIND_USER, name, _user_record(user, "password_set", None), when)


def authenticate(connection: Connection, name: str, password: str) -> User:
    """The user if the password is right and the user is enabled; one message for every miss."""
    refused = Forbidden(_("wrong user name or password"))
    row = connection.execute(select(users).where(users.c.name == name)).first()
    known = row is not None and row.password_hash is not None and not row.disabled
    try:
        # An unknown (or disabled, or password-less) name costs the same argon2 check as a
        # known one, so that the time of the answer does not tell which names exist.
        _hasher.verify(row.password_hash if row is not None and known else _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        raise refused from None
    if row is None or not known:
        raise refused
    return _as_logged(connection, _user(row))


@functools.cache
def _dummy_hash() -> str:
    """A hash of a random password nobody knows, with the same parameters as real ones."""
    return _hasher.hash(secrets.token_urlsafe(32))


def issue_token(
    connection: Connection,
    name: str,
    label: str = "",
    *,
    by: User | None = None,
    at: datetime | None = None,
) -> str:
    """A new API token for the user: ``cf_<id>_<secret>``. Only its hash is kept; shown once.

    ``by`` None: the operator (or the user's own log-in); else a head of the user's contingent.
    """
    when = moment(at)
    user = get_user(connection, name)
    _require_manager(by, user)
    if user.disabled:
        raise Conflict(_("user {name} is disabled").format(name=name))
    token_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    digest = hashlib.sha256(secret.encode()).hexdigest()
    connection.execute(
        insert(api_tokens).values(
            id=token_id,
            user_name=name,
            secret_sha256=digest,
            label=label,
            created_at=when,
            revoked_at=None,
        )
    )
    record_entry(
        connection,
        KIND_TOKEN,
        token_id,
        {
            "event": "issued",
            "id": token_id,
            "user": name,
            "label": label,
            # The hash of a random secret: useless to a reader, and it lets the audit (and
            # every log-in) tell a row whose hash was swapped behind the log's back.
            "secret_sha256": digest,
            "by": by.name if by is not None else None,
        },
        when,
    )
    return f"cf_{token_id}_{secret}"


def revoke_token(connection: Connection, token_id: str, *, at: datetime | None = None) -> None:
    when = moment(at)
    row = connection.execute(select(api_tokens).where(api_tokens.c.id == token_id)).first()
    if row is None:
        raise NotFound(_("no such token: {id}").format(id=token_id))
    connection.execute(
        update(api_tokens).where(api_tokens.c.id == token_id).values(revoked_at=when)
    )
    record_entry(
        connection,
        KIND_TOKEN,
        token_id,
        {"event": "revoked", "id": token_id, "user": row.user_name, "label": row.label},
        when,
    )


def token_id(token: str) -> str | None:
    """The public id part of a ``cf_<id>_<secret>`` token, or None if it is not one."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != "cf" or not parts[1]:
        return None
    return parts[1]


def user_for_token(connection: Connection, token: str, *, at: datetime | None = None) -> User:
    """The enabled user a live token belongs to; a log-in's token lives :data:`SESSION_HOURS`."""
    refused = Forbidden(_("invalid or revoked token"))
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != "cf":
        raise refused
    row = connection.execute(select(api_tokens).where(api_tokens.c.id == parts[1])).first()
    if row is None or row.revoked_at is not None:
        raise refused
    digest = hashlib.sha256(parts[2].encode()).hexdigest()
    if not hmac.compare_digest(digest, row.secret_sha256):
        raise refused
    if row.label == SESSION_LABEL and moment(at) >= row.created_at + timedelta(hours=SESSION_HOURS):
        raise refused
    issued = _latest_entry(connection, KIND_TOKEN, row.id, first=True)
    if (
        issued is None
        or issued.get("user") != row.user_name
        or issued.get("secret_sha256", row.secret_sha256) != row.secret_sha256
    ):
        raise Forbidden(
            _(
                "token {id}: the row does not agree with the ledger (changed behind its "
                "back?); refused until `ceasefire verify` is clean"
            ).format(id=row.id)
        )
    user = get_user(connection, row.user_name)
    if user.disabled:
        raise refused
    return user


def start_session(
    connection: Connection, name: str, password: str, *, at: datetime | None = None
) -> tuple[User, str]:
    """Log a person in: the user and a token that lives :data:`SESSION_HOURS` (logged)."""
    user = authenticate(connection, name, password)
    return user, issue_token(connection, name, SESSION_LABEL, at=at)


def end_session(connection: Connection, token: str, *, at: datetime | None = None) -> None:
    """Log out: revoke a log-in's token (an API token is revoked with ``users``, not here)."""
    user_for_token(connection, token, at=at)
    found = token_id(token)
    row = connection.execute(select(api_tokens.c.label).where(api_tokens.c.id == found)).first()
    if row is None or row.label != SESSION_LABEL:
        raise Conflict(_("this token is not a log-in session; revoke it with the CLI"))
    assert found is not None
    revoke_token(connection, found, at=at)
