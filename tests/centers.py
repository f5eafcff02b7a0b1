"""The set-up the tests share: a center over a test's database and mission, its intake, and its
log grown with test entries or rewritten behind the ledger's back."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine

from ceasefire.center import Center
from ceasefire.geo import Enricher
from ceasefire.ingest.pipeline import Intake
from ceasefire.ledger import log
from ceasefire.ledger.entry import LogEntry, entry_leaf_hash
from ceasefire.mission import Mission


def center_of(engine: Engine, mission: Mission, enricher: Enricher | None = None) -> Center:
    """The center over ``engine`` (migrated) and ``mission``; the engine stays the test's."""
    return Center(mission=mission, engine=engine, enricher=enricher)


def intake_of(
    engine: Engine, mission: Mission, enricher: Enricher | None = None, **options: Any
) -> Intake:
    """A new intake of that center (the mission stored first); ``options`` are those of
    :meth:`Center.intake` (contingent, correlate, keep_outcomes, on_reject, batch_size)."""
    return center_of(engine, mission, enricher).intake(**options)


def grow(engine: Engine, n: int, start: int = 0) -> None:
    """Append ``n`` test entries to the log (``{"i": start}``, ...), in one transaction."""
    with engine.begin() as db:
        log.append(db, [LogEntry.of("test", f"t{i}", {"i": i}) for i in range(start, start + n)])


def forge_entry(db: sa.Connection, index: int) -> None:
    """Rewrite the test entry at ``index`` (its ``"i"`` times ten) and recompute its leaf hash,
    so that the row looks consistent alone."""
    entry = db.execute(
        sa.text('SELECT entry FROM ledger WHERE "index" = :i'), {"i": index}
    ).scalar_one()
    forged = entry.replace(f'"i":{index}', f'"i":{index * 10}')
    db.execute(
        sa.text('UPDATE ledger SET entry = :e, leaf_hash = :h WHERE "index" = :i'),
        {"e": forged, "h": entry_leaf_hash(forged), "i": index},
    )
