"""Observations set aside because a later stage (correlation) failed on them.

One bad record must never stop a stage for all the others: the stage puts the record here
with its reason and goes on. The record itself stays stored and logged (it was accepted);
only the stage skipped it. Health reports ``degraded`` while any are here, and duty officers
list them (``GET /api/v1/quarantine``, ``ceasefire quarantine``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, func, select

from ceasefire.store import bulk
from ceasefire.store.schema import observations, quarantine

MAX_REASON = 2000


def put(db: Connection, reasons: Mapping[int, str], stage: str) -> None:
    """Quarantine observations (primary key -> reason), in the caller's transaction."""
    if not reasons:
        return
    known = set(
        db.execute(
            select(quarantine.c.observation).where(quarantine.c.observation.in_(list(reasons)))
        ).scalars()
    )
    now = datetime.now(UTC)
    rows = [
        {"observation": key, "stage": stage, "reason": reason[:MAX_REASON], "at": now}
        for key, reason in sorted(reasons.items())
        if key not in known
    ]
    bulk.insert_rows(db, quarantine, rows)


def keys(db: Connection) -> set[int]:
    """The primary keys of the quarantined observations (few: each is a failure logged)."""
    return set(db.execute(select(quarantine.c.observation)).scalars())


def count(db: Connection) -> int:
    return int(db.execute(select(func.count()).select_from(quarantine)).scalar_one())


def listing(db: Connection, limit: int = 1000) -> list[dict[str, Any]]:
    """The quarantined observations, newest first: who sent what, the stage and the reason."""
    o = observations.c
    rows = db.execute(
        select(
            o.contingent,
            o.source_id,
            o.observed_at,
            o.category,
            quarantine.c.stage,
            quarantine.c.reason,
            quarantine.c.at,
        )
        .join(observations, o.id == quarantine.c.observation)
        .order_by(quarantine.c.at.desc(), quarantine.c.observation.desc())
        .limit(limit)
    )
    return [
        {
            "contingent": r.contingent,
            "id": r.source_id,
            "observed_at": r.observed_at,
            "category": r.category,
            "stage": r.stage,
            "reason": r.reason,
            "quarantined_at": r.at,
        }
        for r in rows
    ]
