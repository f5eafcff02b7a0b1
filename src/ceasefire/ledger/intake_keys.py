"""The contingents' intake keys registered at the center: the public half only.

Why: the center checks each signed observation against the key its contingent registered
(:mod:`ceasefire.ledger.origin`), so the center's own database says which key counts. A
registration (or a new key replacing the old one) is logged as a ``key`` entry, ref
``<contingent>/intake``, so the checkpoints the contingents cosign fix which keys were in force.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, select, update

from ceasefire.i18n import _
from ceasefire.ledger import log
from ceasefire.ledger.entry import KIND_KEY, LogEntry
from ceasefire.ledger.keys import origin_of
from ceasefire.ledger.note import Ed25519Verifier, KeyFormatError
from ceasefire.ledger.origin import INTAKE, contingent_of_key
from ceasefire.ledger.tables import intake_keys
from ceasefire.mission.model import Mission


class IntakeKeyError(ValueError):
    """A key that cannot be registered; the message says why."""


@dataclass(frozen=True)
class Registered:
    contingent: str
    vkey: str
    action: str
    """``register`` (first key), ``rotate`` (replaces the previous one) or ``unchanged``."""


def register(engine: Engine, mission: Mission, vkey: str) -> Registered:
    """Register a contingent node's intake verifier key (its name says which contingent)."""
    try:
        verifier = Ed25519Verifier.from_vkey(vkey.strip())
    except KeyFormatError as e:
        raise IntakeKeyError(_("not an Ed25519 verifier key: {e}").format(e=e)) from e
    origin = origin_of(mission.id)
    contingent = contingent_of_key(origin, verifier.name)
    if contingent is None:
        raise IntakeKeyError(
            _("key {name} is not an intake key of this mission (expected {expected})").format(
                name=verifier.name, expected=f"{origin}/<contingent>/{INTAKE}"
            )
        )
    if contingent not in mission.contingent_ids():
        raise IntakeKeyError(
            _("unknown contingent {id}; this mission has {known}").format(
                id=contingent, known=", ".join(mission.contingent_ids())
            )
        )
    now = datetime.now(UTC)
    with engine.begin() as db:
        log.lock(db)
        current = _current(db).get(contingent)
        if current is not None and current.vkey == verifier.vkey:
            return Registered(contingent, verifier.vkey, "unchanged")
        record: dict[str, str] = {
            "action": "rotate" if current else "register",
            "holder": contingent,
            "name": verifier.name,
            "vkey": verifier.vkey,
        }
        if current is not None:
            record["previous"] = current.vkey
            db.execute(
                update(intake_keys)
                .where(intake_keys.c.contingent == contingent, intake_keys.c.retired_at.is_(None))
                .values(retired_at=now)
            )
        log.append(db, [LogEntry.of(KIND_KEY, f"{contingent}/{INTAKE}", record)], now)
        db.execute(
            intake_keys.insert().values(
                contingent=contingent, vkey=verifier.vkey, registered_at=now
            )
        )
    return Registered(contingent, verifier.vkey, record["action"])


def _current(db: Connection) -> dict[str, Ed25519Verifier]:
    rows = db.execute(
        select(intake_keys.c.contingent, intake_keys.c.vkey).where(
            intake_keys.c.retired_at.is_(None)
        )
    )
    return {c: Ed25519Verifier.from_vkey(v) for c, v in rows}


def current(engine: Engine) -> dict[str, Ed25519Verifier]:
    """Each contingent's intake key in force."""
    with engine.connect() as db:
        return _current(db)


def every(engine: Engine) -> list[tuple[str, str, datetime, datetime | None]]:
    """Every key ever registered: contingent, vkey, registered, retired."""
    with engine.connect() as db:
        rows = db.execute(
            select(
                intake_keys.c.contingent,
                intake_keys.c.vkey,
                intake_keys.c.registered_at,
                intake_keys.c.retired_at,
            ).order_by(intake_keys.c.id)
        )
        return [(r[0], r[1], r[2], r[3]) for r in rows]
