"""Reading incidents: filters, the incident record (DESIGN.md section 5), its observations."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select, tuple_

from ceasefire.geo.phrase import place_phrase
from ceasefire.mission.model import Mission
from ceasefire.store.schema import incidents, observations
from ceasefire.timeutil import iso


@dataclass(frozen=True)
class IncidentFilter:
    since: datetime | None = None
    until: datetime | None = None
    status: str | None = None
    category: str | None = None
    limit: int | None = None


def _record(row: Any, mission: Mission, lang: str, refs: list[str]) -> dict[str, Any]:
    places = {s.id: s for s in mission.settlements}
    place = places.get(row.settlement_id)
    phrase = (
        place_phrase(
            mission.settlement_name(place, lang),
            row.settlement_distance_m,
            row.settlement_bearing_deg,
            lang,
        )
        if place is not None
        else None
    )
    return {
        "id": row.id,
        "kind": row.kind,
        "status": row.status,
        "category": row.category,
        "categories": json.loads(row.categories),
        "started_at": iso(row.started_at),
        "ended_at": iso(row.ended_at),
        "location": {"lat": round(row.lat, 6), "lon": round(row.lon, 6), "ce_m": row.ce_m},
        "count": row.count,
        "observation_ids": json.loads(row.refs) if row.refs else refs,
        "contingents": json.loads(row.contingents),
        "platforms": json.loads(row.platforms),
        "corroboration": row.corroboration,
        "rules": json.loads(row.rules),
        "severity": row.severity,
        "zones": json.loads(row.zones),
        "controlled_by": row.controlled_by,
        "distance_to_line_m": row.distance_to_line_m,
        "line_side": row.line_side,
        "nearest_settlement": {
            "id": row.settlement_id,
            "distance_m": row.settlement_distance_m,
            "bearing_deg": row.settlement_bearing_deg,
        },
        "phrase": phrase,
        **({"track": row.track, **json.loads(row.detail)} if row.detail else {}),
    }


def _refs(engine: Engine, ids: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {i: [] for i in ids}
    with engine.connect() as db:
        for start in range(0, len(ids), 500):
            rows = db.execute(
                select(
                    observations.c.incident_id, observations.c.contingent, observations.c.source_id
                )
                .where(observations.c.incident_id.in_(ids[start : start + 500]))
                .order_by(
                    observations.c.observed_at, observations.c.contingent, observations.c.source_id
                )
            )
            for incident, contingent, source in rows:
                found[incident].append(f"{contingent}/{source}")
    return found


def list_incidents(
    engine: Engine, mission: Mission, where: IncidentFilter, lang: str = "en"
) -> list[dict[str, Any]]:
    query = select(incidents).order_by(incidents.c.started_at, incidents.c.id)
    if where.since is not None:
        query = query.where(incidents.c.ended_at >= where.since)
    if where.until is not None:
        query = query.where(incidents.c.started_at < where.until)
    if where.status is not None:
        query = query.where(incidents.c.status == where.status)
    if where.category is not None:
        query = query.where(incidents.c.categories.contains(f'"{where.category}"'))
    if where.limit is not None:
        query = query.limit(where.limit)
    with engine.connect() as db:
        rows = db.execute(query).all()
    refs = _refs(engine, [r.id for r in rows])
    return [_record(r, mission, lang, refs[r.id]) for r in rows]


def get_incident(
    engine: Engine, mission: Mission, incident_id: str, lang: str = "en"
) -> dict[str, Any] | None:
    """One incident with its observations (each the canonical record plus its rules)."""
    with engine.connect() as db:
        row = db.execute(select(incidents).where(incidents.c.id == incident_id)).first()
        if row is None:
            return None
        linked = (
            observations.c.incident_id == incident_id
            if not row.refs
            else tuple_(observations.c.contingent, observations.c.source_id).in_(
                [tuple(ref.split("/", 1)) for ref in json.loads(row.refs)]
            )
        )
        members = db.execute(
            select(
                observations.c.record,
                observations.c.rules,
                observations.c.zones,
                observations.c.distance_to_line_m,
            )
            .where(linked)
            .order_by(
                observations.c.observed_at, observations.c.contingent, observations.c.source_id
            )
        ).all()
    records = []
    for m in members:
        record = json.loads(m.record)
        record["rules"] = json.loads(m.rules or "[]")
        record["zones"] = json.loads(m.zones)
        record["distance_to_line_m"] = m.distance_to_line_m
        records.append(record)
    result = _record(row, mission, lang, [f"{r['contingent']}/{r['id']}" for r in records])
    result["observations"] = records
    return result


def to_geojson(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Incidents as an RFC 7946 FeatureCollection of points."""
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": r["id"],
                "geometry": {
                    "type": "Point",
                    "coordinates": [r["location"]["lon"], r["location"]["lat"]],
                },
                "properties": {k: v for k, v in r.items() if k not in ("location", "observations")}
                | {"ce_m": r["location"]["ce_m"]},
            }
            for r in records
        ],
    }
