"""Missions in the database: every distinct version of a mission's files is kept.

Loading a mission whose files changed (a corrected line, a new handover date) adds a version;
loading the same files again changes nothing. Older versions stay queryable.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

import shapely
from sqlalchemy import Engine, func, insert, select

from ceasefire.errors import InputError, Problem
from ceasefire.i18n import _
from ceasefire.mission import Mission, check_files
from ceasefire.store.schema import mission_files, missions, settlements, zones


@dataclass(frozen=True)
class StoredVersion:
    mission_id: str
    version: int
    digest: str
    loaded_at: datetime
    source: str
    note: str


def save_mission(engine: Engine, mission: Mission, note: str = "") -> tuple[StoredVersion, bool]:
    """Store the mission; returns its version and whether it was new."""
    with engine.begin() as db:
        existing = db.execute(
            select(missions).where(
                missions.c.mission_id == mission.id, missions.c.digest == mission.digest
            )
        ).first()
        if existing is not None:
            return _version(existing), False
        latest = db.execute(
            select(func.max(missions.c.version)).where(missions.c.mission_id == mission.id)
        ).scalar()
        row = {
            "mission_id": mission.id,
            "version": (latest or 0) + 1,
            "digest": mission.digest,
            "loaded_at": datetime.now(UTC),
            "source": mission.source,
            "note": note,
        }
        key = db.execute(insert(missions).values(**row)).inserted_primary_key[0]  # type: ignore[index]
        db.execute(
            insert(mission_files),
            [{"mission": key, "name": n, "content": c} for n, c in sorted(mission.files.items())],
        )
        db.execute(
            insert(zones),
            [
                {
                    "mission": key,
                    "zone_id": z.id,
                    "kind": z.kind,
                    "party": z.party,
                    "force": z.force,
                    "valid_from": z.valid_from,
                    "valid_until": z.valid_until,
                    "names": json.dumps(z.names, ensure_ascii=False),
                    "geometry": shapely.to_geojson(z.geometry),
                    "min_lon": z.geometry.bounds[0],
                    "min_lat": z.geometry.bounds[1],
                    "max_lon": z.geometry.bounds[2],
                    "max_lat": z.geometry.bounds[3],
                }
                for z in mission.zones
            ],
        )
        db.execute(
            insert(settlements),
            [
                {
                    "mission": key,
                    "settlement_id": s.id,
                    "lat": s.lat,
                    "lon": s.lon,
                    "population": s.population,
                    "names": json.dumps(s.names, ensure_ascii=False),
                }
                for s in mission.settlements
            ],
        )
        return StoredVersion(**row), True  # type: ignore[arg-type]


def _version(row: object) -> StoredVersion:
    m = row._mapping  # type: ignore[attr-defined]
    return StoredVersion(
        mission_id=m["mission_id"],
        version=m["version"],
        digest=m["digest"],
        loaded_at=m["loaded_at"],
        source=m["source"],
        note=m["note"],
    )


def versions(engine: Engine, mission_id: str) -> list[StoredVersion]:
    with engine.connect() as db:
        rows = db.execute(
            select(missions).where(missions.c.mission_id == mission_id).order_by(missions.c.version)
        ).all()
    return [_version(r) for r in rows]


def stored_mission(engine: Engine, mission_id: str, version: int | None = None) -> Mission:
    """The mission as stored (the newest version unless one is named)."""
    with engine.connect() as db:
        query = select(missions).where(missions.c.mission_id == mission_id)
        if version is not None:
            query = query.where(missions.c.version == version)
        row = db.execute(query.order_by(missions.c.version.desc()).limit(1)).first()
        if row is None:
            what = mission_id if version is None else f"{mission_id} v{version}"
            raise InputError(
                Problem(
                    file="database",
                    field="mission",
                    reason=_("no stored mission {m}").format(m=what),
                )
            )
        files = {
            name: content
            for name, content in db.execute(
                select(mission_files.c.name, mission_files.c.content).where(
                    mission_files.c.mission == row.id
                )
            )
        }
    mission, problems = check_files(files, f"{row.source} (stored v{row.version})")
    if mission is None:
        raise InputError(problems)
    return mission


def mission_row(engine: Engine, version: StoredVersion) -> int:
    """The primary key of a stored mission version (what observations refer to)."""
    with engine.connect() as db:
        key = db.execute(
            select(missions.c.id).where(
                missions.c.mission_id == version.mission_id, missions.c.version == version.version
            )
        ).scalar_one()
    return int(key)
