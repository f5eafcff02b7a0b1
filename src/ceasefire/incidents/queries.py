"""Reading incidents: filters, the incident record (DESIGN.md section 5), its observations.

Paging (:func:`page_incidents`) is by keyset on ``(started_at, id)``, the order of
:func:`list_incidents`. An incident's id is derived from its earliest observation, whose time
is its ``started_at``, so an incident never moves in that order: each is returned at most once
however deep the page. The cursor is opaque to clients (:func:`encode_cursor`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import ColumnElement, Connection, Engine, Select, and_, or_, select, tuple_

from ceasefire.geo.phrase import place_phrase
from ceasefire.i18n import _, language
from ceasefire.incidents.correlate import Gating, joins
from ceasefire.incidents.incident import across_bearing_m
from ceasefire.incidents.rules import why
from ceasefire.incidents.tables import incidents
from ceasefire.mission.model import Mission
from ceasefire.observations.taxonomy import CATEGORIES
from ceasefire.store.observations import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    CursorError,
    pack_cursor,
    unpack_cursor,
)
from ceasefire.store.schema import observations
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


def conditions(where: IncidentFilter) -> list[ColumnElement[bool]]:
    """The conditions on the incidents table that ``where`` stands for (its limit aside): what
    the incident list applies, and the map's incidents and clusters too (web.mapdata), so the
    map never counts an incident the list would not show."""
    c = incidents.c
    found: list[ColumnElement[bool]] = []
    if where.since is not None:
        found.append(c.ended_at >= where.since)
    if where.until is not None:
        found.append(c.started_at < where.until)
    if where.status is not None:
        found.append(c.status == where.status)
    else:  # replaced by correlation and kept only for the workflow's records: asked for by name
        found.append(c.status != "superseded")
    if where.category is not None:
        found.append(c.categories.contains(f'"{where.category}"'))
    return found


def _select(where: IncidentFilter) -> Select[Any]:
    """The incidents matching ``where`` (its limit aside), by start then id."""
    query = select(incidents).order_by(incidents.c.started_at, incidents.c.id)
    return query.where(*conditions(where))


def list_incidents(
    engine: Engine, mission: Mission, where: IncidentFilter, lang: str = "en"
) -> list[dict[str, Any]]:
    query = _select(where)
    if where.limit is not None:
        query = query.limit(where.limit)
    with engine.connect() as db:
        rows = db.execute(query).all()
    refs = _refs(engine, [r.id for r in rows])
    return [_record(r, mission, lang, refs[r.id]) for r in rows]


@dataclass(frozen=True)
class IncidentPage:
    """One page of incident records; ``after`` is where the next page starts, None at the end."""

    items: list[dict[str, Any]] = field(default_factory=list)
    after: tuple[datetime, str] | None = None


def encode_cursor(after: tuple[datetime, str]) -> str:
    """An opaque cursor for the page after the incident with this (started_at, id)."""
    started_at, incident_id = after
    moment = started_at.astimezone(UTC).isoformat()  # microseconds kept: the key is exact
    return pack_cursor({"started_at": moment, "id": incident_id})


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The (started_at, id) a cursor continues after; :class:`CursorError` if it is not ours."""
    data = unpack_cursor(cursor)
    moment, incident_id = data.get("started_at"), data.get("id")
    if not isinstance(moment, str) or not isinstance(incident_id, str) or len(incident_id) > 32:
        raise CursorError(cursor[:40])
    try:
        started_at = datetime.fromisoformat(moment)
    except ValueError:
        raise CursorError(cursor[:40]) from None
    if started_at.tzinfo is None:
        raise CursorError(cursor[:40])
    return started_at.astimezone(UTC), incident_id


def page_incidents(
    engine: Engine,
    mission: Mission,
    where: IncidentFilter,
    lang: str = "en",
    *,
    after: tuple[datetime, str] | None = None,
    limit: int = DEFAULT_LIMIT,
) -> IncidentPage:
    """Up to ``limit`` incidents matching ``where`` that come after ``after``, in the order of
    :func:`list_incidents` (``where.limit`` is not used here)."""
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be from 1 to {MAX_LIMIT}")
    query = _select(where)
    if after is not None:
        started_at, incident_id = after
        query = query.where(
            or_(
                incidents.c.started_at > started_at,
                and_(incidents.c.started_at == started_at, incidents.c.id > incident_id),
            )
        )
    # one row more than asked tells whether another page exists without a count query
    with engine.connect() as db:
        rows = db.execute(query.limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    refs = _refs(engine, [r.id for r in rows])
    items = [_record(r, mission, lang, refs[r.id]) for r in rows]
    return IncidentPage(items, (rows[-1].started_at, rows[-1].id) if more else None)


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
                observations.c.lat,
                observations.c.lon,
                observations.c.ce_m,
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
        # Where correlation placed it (for a report by bearing and distance, the point and
        # CE worked out from them).
        record["located"] = {"lat": m.lat, "lon": m.lon, "ce_m": m.ce_m}
        records.append(record)
    result = _record(row, mission, lang, [f"{r['contingent']}/{r['id']}" for r in records])
    result["observations"] = records
    return result


def explain(mission: Mission, incident: dict[str, Any], lang: str = "en") -> dict[str, Any]:
    """Add to each observation of ``incident`` (from :func:`get_incident`) ``why``: a sentence
    per rule it triggers, in ``lang`` (rules no longer in the mission are left out); and to
    each observation of an event with more than one ``joined``: the observation it is nearest
    to, how far apart they are in space and time, and the gate and window they are within."""
    records = incident.get("observations", [])
    if incident.get("kind", "event") == "event" and len(records) > 1:
        _joined(mission, records, lang)
    rules = {r.id: r for r in mission.config.rules}
    for record in incident.get("observations", ()):
        record["why"] = [
            why(
                mission,
                rules[r],
                record["category"],
                record.get("qualifiers", {}),
                record["distance_to_line_m"],
                record["zones"],
                lang,
            )
            for r in record["rules"]
            if r in rules
        ]
    return incident


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


def successions(connection: Connection, ids: Iterable[str]) -> dict[str, list[str]]:
    """For each of ``ids`` that correlation superseded, the incidents that followed it, in
    order (a successor may itself have given way since): what a release or a notice made on
    it must point to now."""
    chains: dict[str, list[str]] = {}
    for incident_id in sorted(set(ids)):
        chain: list[str] = []
        current = incident_id
        while True:
            row = connection.execute(
                select(incidents.c.status, incidents.c.detail).where(incidents.c.id == current)
            ).first()
            if row is None or row.status != "superseded":
                break
            after = json.loads(row.detail or "{}").get("superseded_by")
            if not after or after == incident_id or after in chain:
                break
            chain.append(after)
            current = after
        if chain:
            chains[incident_id] = chain
    return chains


def incident_refs(connection: Connection, incident_id: str) -> tuple[str, ...] | None:
    """The log refs (``RU/RU-0001``) of an incident's observations, None if there is no such
    incident: for a line crossing those it names, else those correlated into it."""
    row = connection.execute(
        select(incidents.c.id, incidents.c.refs).where(incidents.c.id == incident_id)
    ).first()
    if row is None:
        return None
    if row.refs:
        return tuple(json.loads(row.refs))
    return tuple(
        f"{c}/{s}"
        for c, s in connection.execute(
            select(observations.c.contingent, observations.c.source_id).where(
                observations.c.incident_id == incident_id
            )
        )
    )


def _joined(mission: Mission, records: list[dict[str, Any]], lang: str) -> None:
    """Why the observations of one incident are one event (see docs/incidents.md)."""
    gating = Gating.of(mission.config.correlation, list(CATEGORIES))

    def seconds(text: str) -> int:
        return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())

    lat = np.array([r["located"]["lat"] for r in records])
    lon = np.array([r["located"]["lon"] for r in records])
    # Metres on a plane tangent at the incident: its members are a few kilometres apart.
    x = lon * 111_320.0 * np.cos(np.radians(lat.mean()))
    y = lat * 111_320.0
    t = np.array([seconds(r["observed_at"]) for r in records], dtype=np.int64)
    until = np.array(
        [seconds(r.get("observed_until") or r["observed_at"]) for r in records], dtype=np.int64
    )
    ce = np.array([r["located"]["ce_m"] for r in records])
    group = gating.codes([r["category"] for r in records])
    tracks = [f"{r['contingent']}/{r['track']}" if r.get("track") else "" for r in records]
    number = {k: n for n, k in enumerate(sorted(set(tracks) - {""}))}
    track = np.array([number.get(k, -1) for k in tracks], dtype=np.int64)
    evidence = gating.evidence(
        [r.get("qualifiers") or {} for r in records],
        [r.get("bearing_deg") for r in records],
        [across_bearing_m(r.get("bearing_deg"), r.get("distance_m")) for r in records],
    )
    found = joins(t, until, x, y, ce, group, gating, track, evidence)
    with language(lang):
        for i, (record, join) in enumerate(zip(records, found, strict=True)):
            if join is None:
                continue
            partner = records[join.partner]
            ref = f"{partner['contingent']}/{partner['id']}"
            same_track = bool(track[i] >= 0 and track[i] == track[join.partner])
            record["joined"] = {
                "with": ref,
                "distance_m": round(join.distance_m, 1),
                "apart_s": round(join.apart_s, 1),
                "gate_m": round(join.gate_m, 1),
                "window_s": round(join.window_s, 1),
                "same_track": same_track,
                "sentence": (
                    _("the same track as {ref}").format(ref=ref)
                    if same_track
                    else _(
                        "with {ref}: {distance} m apart within a gate of {gate} m, {minutes} min "
                        "apart within a window of {window} min"
                    ).format(
                        ref=ref,
                        distance=round(join.distance_m),
                        gate=round(join.gate_m),
                        minutes=round(join.apart_s / 60, 1),
                        window=round(join.window_s / 60),
                    )
                ),
            }
