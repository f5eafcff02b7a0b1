"""Shared helpers of the ledger-in-the-database tests (no tests here): records, intake, keys."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine

import records
from ceasefire.geo import Enricher
from ceasefire.ledger.keys import KeyRing, init_keys, load_keys, origin_of
from ceasefire.mission import Mission
from ceasefire.observations import parse_observation
from centers import intake_of


def record(i: int, contingent: str = "RU", **changes: Any) -> dict[str, Any]:
    """An observation record of the demo mission (ids RU-T00000, RU-T00001, ...)."""
    remarks = "Взрыв, «кавычки» and a \\ backslash"
    return records.explosion(i, contingent, "T", 1e-4, **{"remarks": remarks, **changes})


def ingest(
    engine: Engine,
    mission: Mission,
    enricher: Enricher,
    records: list[dict[str, Any]],
    batch_size: int = 2000,
) -> int:
    """Store observations through the intake (so they are logged); how many were accepted."""
    intake = intake_of(engine, mission, enricher, correlate="off", batch_size=batch_size)
    for n, r in enumerate(records, start=1):
        intake.add(parse_observation(r), "test", n)
    intake.flush()
    return intake.result.accepted


def keyring(directory: Path, mission: Mission) -> KeyRing:
    """Keys of the center and every contingent of ``mission``, created in ``directory``."""
    origin = origin_of(mission.id)
    init_keys(directory, origin, mission.contingent_ids())
    return load_keys(directory, origin, mission.contingent_ids())
