"""Incidents and observations as flat rows for exports, the OGC API and statistics.

Rows come in key order a chunk at a time (keyset paging: a page costs the same however deep it
is), so any number of them is read in bounded memory. Observations are ordered by their store
key, which grows in commit order (rows added while someone reads arrive after what was read);
incidents by ``(started_at, id)``, which never changes for an incident (its id derives from its
earliest observation, whose time is its start).

Each row is a plain dict: ``lon`` and ``lat`` (WGS 84 degrees) and the fields of
:data:`OBSERVATION_FIELDS` or :data:`INCIDENT_FIELDS`, each a text, a number, a flag or a
time (aware UTC ``datetime``). Lists are joined with commas, qualifiers are JSON text.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, TypeVar

import orjson
from sqlalchemy import Connection, Engine, and_, or_, select
from sqlalchemy.sql.elements import ColumnElement

from ceasefire.geo.phrase import place_phrase
from ceasefire.incidents.tables import incidents
from ceasefire.mission.model import Mission, Settlement
from ceasefire.reports.scope import EVERYTHING, Scope
from ceasefire.store import observations as stored
from ceasefire.store.schema import observations
from ceasefire.workflow.tables import findings

FieldType = Literal["str", "int", "float", "bool", "time"]
Fields = tuple[tuple[str, FieldType], ...]

OBSERVATION_FIELDS: Fields = (
    ("id", "str"),
    ("contingent", "str"),
    ("source_id", "str"),
    ("platform_id", "str"),
    ("platform_type", "str"),
    ("sortie", "str"),
    ("observed_at", "time"),
    ("observed_until", "time"),
    ("category", "str"),
    ("qualifiers", "str"),
    ("count", "int"),
    ("count_approx", "bool"),
    ("sensed_by", "str"),
    ("ce_m", "float"),
    ("incident_id", "str"),
    ("zones", "str"),
    ("controlled_by", "str"),
    ("distance_to_line_m", "float"),
    ("line_side", "str"),
    ("settlement", "str"),
    ("phrase", "str"),
    ("rules", "str"),
    ("remarks", "str"),
    ("received_at", "time"),
)

INCIDENT_FIELDS: Fields = (
    ("id", "str"),
    ("kind", "str"),
    ("status", "str"),
    ("category", "str"),
    ("categories", "str"),
    ("started_at", "time"),
    ("ended_at", "time"),
    ("ce_m", "float"),
    ("count", "int"),
    ("observation_count", "int"),
    ("contingents", "str"),
    ("platforms", "str"),
    ("corroboration", "str"),
    ("rules", "str"),
    ("severity", "str"),
    ("zones", "str"),
    ("controlled_by", "str"),
    ("distance_to_line_m", "float"),
    ("line_side", "str"),
    ("settlement", "str"),
    ("settlement_distance_m", "float"),
    ("phrase", "str"),
    ("finding", "str"),
    ("violation", "str"),
    ("clauses", "str"),
    ("attribution", "str"),
    ("differs_on", "str"),
)

CHUNK = 5000


@dataclass(frozen=True)
class Selection:
    """Which rows: a time window, an area and categories; None or empty: no restriction.

    ``since`` is inclusive, ``until`` exclusive: on ``observed_at`` for observations; an
    incident is selected when it overlaps the window. ``bbox`` is (min lon, min lat, max lon,
    max lat) in degrees; a min lon larger than the max lon crosses the antimeridian.
    """

    since: datetime | None = None
    until: datetime | None = None
    bbox: tuple[float, float, float, float] | None = None
    categories: tuple[str, ...] = ()
    contingents: tuple[str, ...] = ()
    equals: tuple[tuple[str, str], ...] = ()
    """(column, value) pairs that must hold."""


def observation_conditions(where: Selection, scope: Scope) -> list[ColumnElement[bool]]:
    c = observations.c
    found = stored.filter_conditions(
        stored.ObservationFilter(
            bbox=where.bbox,
            since=where.since,
            until=where.until,
            categories=where.categories,
            contingents=where.contingents,
        )
    )
    found += [c[name] == value for name, value in where.equals]
    allowed = scope.observation_condition()
    if allowed is not None:
        found.append(allowed)
    return found


def incident_conditions(where: Selection, scope: Scope) -> list[ColumnElement[bool]]:
    c = incidents.c
    # replaced by correlation, kept only for the workflow's records
    found: list[ColumnElement[bool]] = [c.status != "superseded"]
    if where.bbox is not None:
        found += stored.in_box(c.lat, c.lon, where.bbox)
    if where.since is not None:
        found.append(c.ended_at >= where.since)
    if where.until is not None:
        found.append(c.started_at < where.until)
    if where.categories:
        found.append(or_(*(c.categories.contains(f'"{name}"') for name in where.categories)))
    if where.contingents:
        found.append(or_(*(c.contingents.contains(f'"{name}"') for name in where.contingents)))
    found += [c[name] == value for name, value in where.equals]
    allowed = scope.incident_condition()
    if allowed is not None:
        found.append(allowed)
    return found


Places = dict[str, Settlement]


def places_of(mission: Mission) -> Places:
    return {s.id: s for s in mission.settlements}


def _phrase(
    mission: Mission, places: Places, lang: str, settlement_id: Any, distance: Any, bearing: Any
) -> tuple[str | None, str | None]:
    """The nearest settlement's name and "4.0 km south-west of Aghdam", in ``lang``."""
    place = places.get(settlement_id)
    if place is None or distance is None or bearing is None:
        return None, None
    name = mission.settlement_name(place, lang)
    return name, place_phrase(name, distance, bearing, lang)


def _joined(text: str | None) -> str:
    """A stored JSON list of names as "a,b" ("[]" is the common case: no parse)."""
    return ",".join(orjson.loads(text)) if text and text != "[]" else ""


_OBSERVATION_COLUMNS = (
    "id",
    "contingent",
    "source_id",
    "platform_id",
    "platform_type",
    "sortie",
    "observed_at",
    "observed_until",
    "category",
    "count",
    "count_approx",
    "sensed_by",
    "ce_m",
    "incident_id",
    "zones",
    "controlled_by",
    "distance_to_line_m",
    "line_side",
    "settlement_id",
    "settlement_distance_m",
    "settlement_bearing_deg",
    "rules",
    "received_at",
    "lat",
    "lon",
    "record",
)
OBSERVATION_COLUMNS = tuple(observations.c[name] for name in _OBSERVATION_COLUMNS)
"""What :func:`observation_row` reads, in its order (select these)."""


def observation_row(row: Any, mission: Mission, places: Places, lang: str) -> dict[str, Any]:
    """The flat row of a result row of :data:`OBSERVATION_COLUMNS` (unpacked by position:
    attribute access on result rows costs more than the rest of the work)."""
    (
        key,
        contingent,
        source_id,
        platform_id,
        platform_type,
        sortie,
        observed_at,
        observed_until,
        category,
        count,
        count_approx,
        sensed_by,
        ce_m,
        incident_id,
        zones,
        controlled_by,
        distance_to_line_m,
        line_side,
        settlement_id,
        settlement_distance_m,
        settlement_bearing_deg,
        rules,
        received_at,
        lat,
        lon,
        text,
    ) = row
    record = orjson.loads(text)
    name, phrase = (
        (None, None)
        if settlement_id is None
        else _phrase(
            mission, places, lang, settlement_id, settlement_distance_m, settlement_bearing_deg
        )
    )
    qualifiers = record.get("qualifiers")
    return {
        "lon": lon,
        "lat": lat,
        "key": key,
        "id": f"{contingent}/{source_id}",
        "contingent": contingent,
        "source_id": source_id,
        "platform_id": platform_id,
        "platform_type": platform_type,
        "sortie": sortie,
        "observed_at": observed_at,
        "observed_until": observed_until,
        "category": category,
        "qualifiers": orjson.dumps(qualifiers).decode() if qualifiers else "{}",
        "count": count,
        "count_approx": count_approx,
        "sensed_by": sensed_by,
        "ce_m": ce_m,
        "incident_id": incident_id,
        "zones": _joined(zones),
        "controlled_by": controlled_by,
        "distance_to_line_m": distance_to_line_m,
        "line_side": line_side,
        "settlement": name,
        "phrase": phrase,
        "rules": _joined(rules),
        "remarks": record.get("remarks"),
        "received_at": received_at,
    }


def latest_findings(db: Connection, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The newest joint finding (or recorded dispute) of each incident that has one."""
    found: dict[str, dict[str, Any]] = {}
    if not ids:
        return found
    rows = db.execute(
        select(findings.c.incident_id, findings.c.record)
        .where(findings.c.incident_id.in_(list(ids)))
        .order_by(findings.c.incident_id, findings.c.version)
    )
    for incident_id, record in rows:
        found[incident_id] = json.loads(record)
    return found


def incident_row(
    row: Any, mission: Mission, places: Places, lang: str, finding: dict[str, Any] | None
) -> dict[str, Any]:
    name, phrase = _phrase(
        mission,
        places,
        lang,
        row.settlement_id,
        row.settlement_distance_m,
        row.settlement_bearing_deg,
    )
    finding = finding or {}
    return {
        "lon": row.lon,
        "lat": row.lat,
        "id": row.id,
        "kind": row.kind,
        "status": row.status,
        "category": row.category,
        "categories": _joined(row.categories),
        "started_at": row.started_at,
        "ended_at": row.ended_at,
        "ce_m": row.ce_m,
        "count": row.count,
        "observation_count": row.observation_count,
        "contingents": _joined(row.contingents),
        "platforms": _joined(row.platforms),
        "corroboration": row.corroboration,
        "rules": _joined(row.rules),
        "severity": row.severity,
        "zones": _joined(row.zones),
        "controlled_by": row.controlled_by,
        "distance_to_line_m": row.distance_to_line_m,
        "line_side": row.line_side,
        "settlement": name,
        "settlement_distance_m": row.settlement_distance_m,
        "phrase": phrase,
        "finding": finding.get("outcome"),
        "violation": finding.get("violation"),
        "clauses": ",".join(finding.get("clauses") or ()),
        "attribution": finding.get("attribution"),
        "differs_on": ",".join(finding.get("differs_on") or ()),
    }


ObservationKey = int
IncidentKey = tuple[datetime, str]
Key = TypeVar("Key")


def observation_page(
    engine: Engine,
    mission: Mission,
    where: Selection,
    lang: str,
    *,
    scope: Scope = EVERYTHING,
    after: ObservationKey | None = None,
    limit: int = CHUNK,
) -> tuple[list[dict[str, Any]], ObservationKey | None]:
    """Up to ``limit`` observation rows after the key ``after``; and the key to go on from
    (None when nothing more matches)."""
    conditions = observation_conditions(where, scope)
    if after is not None:
        conditions.append(observations.c.id > after)
    query = (
        select(*OBSERVATION_COLUMNS).where(*conditions).order_by(observations.c.id).limit(limit + 1)
    )
    with engine.connect() as db:
        rows = db.execute(query).all()
    more = len(rows) > limit
    rows = rows[:limit]
    places = places_of(mission)
    return [observation_row(r, mission, places, lang) for r in rows], (
        rows[-1].id if more else None
    )


def incident_page(
    engine: Engine,
    mission: Mission,
    where: Selection,
    lang: str,
    *,
    scope: Scope = EVERYTHING,
    after: IncidentKey | None = None,
    limit: int = CHUNK,
) -> tuple[list[dict[str, Any]], IncidentKey | None]:
    """Up to ``limit`` incident rows after ``after`` in (started_at, id) order, and the key
    to go on from (None when nothing more matches)."""
    c = incidents.c
    conditions = incident_conditions(where, scope)
    if after is not None:
        started_at, incident_id = after
        conditions.append(
            or_(c.started_at > started_at, and_(c.started_at == started_at, c.id > incident_id))
        )
    query = select(incidents).where(*conditions).order_by(c.started_at, c.id).limit(limit + 1)
    with engine.connect() as db:
        rows = db.execute(query).all()
        more = len(rows) > limit
        rows = rows[:limit]
        joint = latest_findings(db, [r.id for r in rows])
    places = places_of(mission)
    items = [incident_row(r, mission, places, lang, joint.get(r.id)) for r in rows]
    return items, ((rows[-1].started_at, rows[-1].id) if more else None)


def observation_rows(
    engine: Engine, mission: Mission, where: Selection, lang: str, scope: Scope = EVERYTHING
) -> Iterator[dict[str, Any]]:
    """Every matching observation row, a chunk at a time."""
    yield from _paged(
        lambda after: observation_page(engine, mission, where, lang, scope=scope, after=after)
    )


def canonical_records(
    engine: Engine, where: Selection, scope: Scope = EVERYTHING
) -> Iterator[dict[str, Any]]:
    """The canonical record of every matching observation, in key order, a chunk at a time."""
    after: ObservationKey | None = None
    while True:
        conditions = observation_conditions(where, scope)
        if after is not None:
            conditions.append(observations.c.id > after)
        query = (
            select(observations.c.id, observations.c.record)
            .where(*conditions)
            .order_by(observations.c.id)
            .limit(CHUNK)
        )
        with engine.connect() as db:
            rows = db.execute(query).all()
        for row in rows:
            yield json.loads(row.record)
        if len(rows) < CHUNK:
            return
        after = rows[-1].id


def incident_rows(
    engine: Engine, mission: Mission, where: Selection, lang: str, scope: Scope = EVERYTHING
) -> Iterator[dict[str, Any]]:
    """Every matching incident row, a chunk at a time."""
    yield from _paged(
        lambda after: incident_page(engine, mission, where, lang, scope=scope, after=after)
    )


def _paged(
    page: Callable[[Key | None], tuple[list[dict[str, Any]], Key | None]],
) -> Iterator[dict[str, Any]]:
    """Every row of ``page(after)``, page after page, until it names no next key."""
    after: Key | None = None
    while True:
        items, after = page(after)
        yield from items
        if after is None:
            return


__all__ = [
    "CHUNK",
    "INCIDENT_FIELDS",
    "OBSERVATION_COLUMNS",
    "OBSERVATION_FIELDS",
    "FieldType",
    "Fields",
    "IncidentKey",
    "ObservationKey",
    "Selection",
    "canonical_records",
    "incident_page",
    "incident_row",
    "incident_rows",
    "latest_findings",
    "observation_page",
    "observation_row",
    "observation_rows",
    "places_of",
]
