"""OGC API - Features (Part 1 Core, GeoJSON; Part 3 queryables as query parameters) over the
store: the documents and the queries, without HTTP (the routes: :mod:`ceasefire.api.ogc`).

Why our own thin routes and not pygeoapi with a provider of ours: pygeoapi pages by OFFSET
(each page re-reads every row before it, so a deep page of 5 million observations costs
seconds, and rows added while a client pages shift the pages), it would run beside our API with
its own configuration, server and error format, and our access rules (tokens, what was released
to whom, blindness) would have to be rebuilt in its plugin interface. Three collections need
five routes; here they are keyset-paged queries on the indexes we already have, answered with
the API's tokens, problem details and languages.

Collections: ``incidents`` and ``observations`` (points; the flat rows of
:mod:`ceasefire.reports.rows`) and ``zones`` (the mission's areas and lines, with their validity
interval). Paging is by keyset: the ``next`` link carries an opaque cursor holding the last
item's key, so a page costs the same however deep, and items added while a client pages come
after what it has read (observations) or never move (incidents, zones): none is skipped or
repeated.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson
from shapely.geometry import box, mapping
from sqlalchemy import Engine, select

from ceasefire.i18n import _
from ceasefire.incidents.tables import incidents
from ceasefire.mission.model import Mission, Zone
from ceasefire.reports.export import feature
from ceasefire.reports.rows import (
    INCIDENT_FIELDS,
    OBSERVATION_COLUMNS,
    OBSERVATION_FIELDS,
    Selection,
    incident_page,
    incident_row,
    latest_findings,
    observation_page,
    observation_row,
    places_of,
)
from ceasefire.reports.scope import Scope
from ceasefire.store.schema import observations
from ceasefire.timeutil import iso

DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000
MAX_KEY = 2**63 - 1
"""Store keys are signed 64-bit: a cursor past them was not given out here."""

CONFORMANCE = (
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
)
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
GEOJSON = "application/geo+json"

# Properties that may be given as query parameters (equality), per collection: the columns
# they test.
QUERYABLES: dict[str, dict[str, str]] = {
    "incidents": {
        "category": "category",
        "kind": "kind",
        "status": "status",
        "corroboration": "corroboration",
        "severity": "severity",
        "controlled_by": "controlled_by",
    },
    "observations": {
        "category": "category",
        "contingent": "contingent",
        "platform_type": "platform_type",
        "sensed_by": "sensed_by",
        "controlled_by": "controlled_by",
    },
    # a zone's party is the one holding the area: named as the other collections name it
    "zones": {"kind": "kind", "controlled_by": "party"},
}
COMMON = ("bbox", "datetime", "limit", "cursor", "f")


class BadQuery(ValueError):
    """Bad query parameters: (parameter, reason) for each."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(reason for _name, reason in errors))
        self.errors = errors


@dataclass(frozen=True)
class Query:
    bbox: tuple[float, float, float, float] | None = None
    since: datetime | None = None
    until: datetime | None = None
    """Exclusive (an interval's closed end plus one microsecond)."""
    limit: int = DEFAULT_LIMIT
    equals: dict[str, str] = field(default_factory=dict)
    after: Any = None


@dataclass(frozen=True)
class CollectionInfo:
    id: str
    title: str
    description: str


def collections_info() -> list[CollectionInfo]:
    return [
        CollectionInfo(
            "incidents",
            _("Incidents"),
            _("Observations of one event fused, with the joint finding once both assessed."),
        ),
        CollectionInfo(
            "observations",
            _("Observations"),
            _("What each sensor of each contingent reported, with its enrichment."),
        ),
        CollectionInfo(
            "zones", _("Zones"), _("The mission's areas and lines, each valid for a period.")
        ),
    ]


# -- parameters --------------------------------------------------------------------------------


def _bbox(text: str) -> tuple[float, float, float, float]:
    parts = text.split(",")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise ValueError(_("bbox must be four numbers: minlon,minlat,maxlon,maxlat."))
    min_lon, min_lat, max_lon, max_lat = values
    if not (-180 <= min_lon <= 180 and -180 <= max_lon <= 180):
        raise ValueError(_("The longitudes of bbox must be from -180 to 180."))
    if not (-90 <= min_lat <= 90 and -90 <= max_lat <= 90):
        raise ValueError(_("The latitudes of bbox must be from -90 to 90."))
    if min_lat > max_lat:
        raise ValueError(
            _("bbox has its corners swapped: the lower-left corner (minlon,minlat) comes first.")
        )
    # min lon above max lon is a box across the antimeridian (OGC API - Features 7.15.3)
    return min_lon, min_lat, max_lon, max_lat


def _moment(text: str, end: bool) -> datetime:
    """An RFC 3339 date-time with Z or an offset; a date is its whole day (UTC)."""
    if len(text) == 10:
        day = date.fromisoformat(text)
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        return start.replace(hour=23, minute=59, second=59, microsecond=999_999) if end else start
    moment = datetime.fromisoformat(text.replace("z", "Z").replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError("no offset")
    return moment.astimezone(UTC)


def _datetime(text: str) -> tuple[datetime | None, datetime | None]:
    """(since, until exclusive) of an instant or a closed interval ``a/b`` (``..`` open)."""
    parts = text.split("/")
    start: datetime | None
    stop: datetime | None
    try:
        if len(parts) == 1:
            start = _moment(parts[0], end=False)
            stop = _moment(parts[0], end=True)
        elif len(parts) == 2:
            start = None if parts[0] in ("", "..") else _moment(parts[0], end=False)
            stop = None if parts[1] in ("", "..") else _moment(parts[1], end=True)
            if start is None and stop is None:
                raise ValueError("open at both ends")
        else:
            raise ValueError("too many parts")
    except (ValueError, OverflowError):  # OverflowError: before year 1 or after 9999 in UTC
        raise ValueError(
            _(
                "datetime must be an RFC 3339 time with Z or an offset (2021-02-01T10:00:00Z), "
                "a date, or an interval of them with / (.. for an open end); got {value}."
            ).format(value=text[:60])
        ) from None
    if start is not None and stop is not None and start > stop:
        raise ValueError(_("datetime is an interval that ends before it starts."))
    if stop is None or stop == datetime.max.replace(tzinfo=UTC):
        return start, None  # nothing is stored after the last instant of 9999
    return start, stop + timedelta(microseconds=1)


def _limit(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 1 <= value <= MAX_LIMIT:
        raise ValueError(
            _("limit must be a whole number from 1 to {max}; got {value}.").format(
                max=MAX_LIMIT, value=text[:20]
            )
        )
    return value


def encode_cursor(collection: str, key: Any) -> str:
    if collection == "incidents":
        key = [key[0].astimezone(UTC).isoformat(), key[1]]
    text = json.dumps({"c": collection, "k": key}, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode("utf-8")).decode("ascii").rstrip("=")


def decode_cursor(collection: str, text: str) -> Any:
    wrong = ValueError(_("The cursor is not one this server gave out; start again without it."))
    if len(text) > 300:
        raise wrong
    try:
        data = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise wrong from None
    if not isinstance(data, dict) or data.get("c") != collection:
        raise wrong
    key = data.get("k")
    if collection == "observations" and type(key) is int and 0 <= key <= MAX_KEY:
        return key
    if collection == "zones" and isinstance(key, str):
        return key
    if collection == "incidents" and isinstance(key, list) and len(key) == 2:
        try:
            started = datetime.fromisoformat(str(key[0]))
            if started.tzinfo is not None and isinstance(key[1], str):
                return started.astimezone(UTC), key[1]
        except (ValueError, OverflowError):
            raise wrong from None
    raise wrong


def parse_query(collection: str, params: Mapping[str, str]) -> Query:
    """The query of ``/collections/{collection}/items``; :class:`BadQuery` naming each bad or
    unknown parameter."""
    errors: list[tuple[str, str]] = []
    queryables = QUERYABLES[collection]
    values: dict[str, Any] = {}
    for name, text in params.items():
        try:
            if name == "bbox":
                values["bbox"] = _bbox(text)
            elif name == "datetime":
                values["since"], values["until"] = _datetime(text)
            elif name == "limit":
                values["limit"] = _limit(text)
            elif name == "cursor":
                values["after"] = decode_cursor(collection, text)
            elif name == "f":
                if text not in ("json", "geojson"):
                    raise ValueError(_("f must be json or geojson (GeoJSON is the only encoding)."))
            elif name in queryables:
                values.setdefault("equals", {})[name] = text
            else:
                known = ", ".join([*COMMON, *queryables])
                raise ValueError(
                    _("Unknown parameter {name}; known: {known}.").format(
                        name=name[:40], known=known
                    )
                )
        except ValueError as error:
            errors.append((name[:40], str(error)))
    if errors:
        raise BadQuery(errors)
    return Query(**values)


# -- items -----------------------------------------------------------------------------------


def _selection(query: Query, collection: str) -> Selection:
    columns = QUERYABLES[collection]
    return Selection(
        since=query.since,
        until=query.until,
        bbox=query.bbox,
        equals=tuple((columns[k], v) for k, v in sorted(query.equals.items())),
    )


def zone_feature(zone: Zone, lang: str) -> dict[str, Any]:
    return {
        "type": "Feature",
        "id": zone.id,
        "geometry": mapping(zone.geometry),
        "properties": {
            "id": zone.id,
            "kind": zone.kind,
            "name": zone.names.get(lang) or zone.names.get("en") or zone.id,
            "controlled_by": zone.party,
            "force": zone.force,
            "valid_from": iso(zone.valid_from),
            "valid_until": iso(zone.valid_until) if zone.valid_until else None,
            "illustrative": zone.illustrative,
        },
    }


def _zone_matches(zone: Zone, query: Query) -> bool:
    if query.after is not None and zone.id <= query.after:
        return False
    if query.until is not None and zone.valid_from >= query.until:
        return False
    if query.since is not None and zone.valid_until is not None and zone.valid_until <= query.since:
        return False
    for name, value in query.equals.items():
        if getattr(zone, QUERYABLES["zones"][name]) != value:
            return False
    if query.bbox is not None:
        min_lon, min_lat, max_lon, max_lat = query.bbox
        boxes = (
            [box(min_lon, min_lat, max_lon, max_lat)]
            if min_lon <= max_lon
            else [box(min_lon, min_lat, 180, max_lat), box(-180, min_lat, max_lon, max_lat)]
        )
        return any(zone.geometry.intersects(b) for b in boxes)
    return True


def encode(document: Any) -> bytes:
    """A document of features as JSON: their times (UTC datetimes) written by orjson as
    :func:`ceasefire.timeutil.iso` writes them (2021-02-01T10:00:00Z), in C."""
    return orjson.dumps(document, option=orjson.OPT_UTC_Z | orjson.OPT_OMIT_MICROSECONDS)


def items(
    engine: Engine, mission: Mission, collection: str, query: Query, scope: Scope, lang: str
) -> tuple[list[dict[str, Any]], Any]:
    """One page of GeoJSON features (times as UTC datetimes: :func:`encode` writes them) and
    the key to go on from (None at the end)."""
    if collection == "zones":
        zones = sorted((z for z in mission.zones if _zone_matches(z, query)), key=lambda z: z.id)
        page = zones[: query.limit]
        more = len(zones) > query.limit
        return [zone_feature(z, lang) for z in page], (page[-1].id if more else None)
    where = _selection(query, collection)
    if collection == "incidents":
        rows, after = incident_page(
            engine, mission, where, lang, scope=scope, after=query.after, limit=query.limit
        )
        return [feature(r, INCIDENT_FIELDS, times_as_text=False) for r in rows], after
    found, key = observation_page(
        engine, mission, where, lang, scope=scope, after=query.after, limit=query.limit
    )
    return [feature(r, OBSERVATION_FIELDS, times_as_text=False) for r in found], key


def item(
    engine: Engine, mission: Mission, collection: str, fid: str, scope: Scope, lang: str
) -> dict[str, Any] | None:
    """One feature by its id, if the reader may see it (times as :func:`items` has them)."""
    if collection == "zones":
        zone = next((z for z in mission.zones if z.id == fid), None)
        return None if zone is None else zone_feature(zone, lang)
    places = places_of(mission)
    with engine.connect() as db:
        if collection == "incidents":
            query = select(incidents).where(incidents.c.id == fid)
            allowed = scope.incident_condition()
            row = db.execute(query if allowed is None else query.where(allowed)).first()
            if row is None:
                return None
            finding = latest_findings(db, [fid]).get(fid)
            found = incident_row(row, mission, places, lang, finding)
            return feature(found, INCIDENT_FIELDS, times_as_text=False)
        contingent, _sep, source_id = fid.partition("/")
        c = observations.c
        query = select(*OBSERVATION_COLUMNS).where(
            c.contingent == contingent, c.source_id == source_id
        )
        allowed = scope.observation_condition()
        row = db.execute(query if allowed is None else query.where(allowed)).first()
    if row is None:
        return None
    return feature(observation_row(row, mission, places, lang), OBSERVATION_FIELDS, False)


# -- documents ---------------------------------------------------------------------------------


def landing(base: str, api: str, docs: str, mission: Mission, lang: str) -> dict[str, Any]:
    return {
        "title": mission.name(lang),
        "description": _(
            "Incidents, observations and zones of the mission, as OGC API - Features."
        ),
        "links": [
            {"rel": "self", "type": "application/json", "href": base},
            {
                "rel": "service-desc",
                "type": "application/vnd.oai.openapi+json;version=3.0",
                "href": api,
            },
            {"rel": "service-doc", "type": "text/html", "href": docs},
            {"rel": "conformance", "type": "application/json", "href": f"{base}/conformance"},
            {"rel": "data", "type": "application/json", "href": f"{base}/collections"},
        ],
    }


def collection_doc(base: str, info: CollectionInfo, mission: Mission) -> dict[str, Any]:
    start = mission.config.period.start
    end = mission.config.period.end
    here = f"{base}/collections/{info.id}"
    return {
        "id": info.id,
        "title": info.title,
        "description": info.description,
        "itemType": "feature",
        "crs": [CRS84],
        "extent": {
            "spatial": {"bbox": [list(mission.config.area)], "crs": CRS84},
            "temporal": {"interval": [[iso(start), iso(end) if end else None]]},
        },
        "links": [
            {"rel": "self", "type": "application/json", "href": here},
            {"rel": "items", "type": GEOJSON, "href": f"{here}/items"},
            {
                "rel": "http://www.opengis.net/def/rel/ogc/1.0/queryables",
                "type": "application/schema+json",
                "href": f"{here}/queryables",
            },
        ],
    }


def queryables_doc(base: str, collection: str) -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{base}/collections/{collection}/queryables",
        "type": "object",
        "title": collection,
        "properties": {
            "geometry": {"format": "geometry-any"},
            "datetime": {"type": "string", "format": "date-time"},
            **{name: {"type": "string"} for name in QUERYABLES[collection]},
        },
        "additionalProperties": False,
    }


__all__ = [
    "CONFORMANCE",
    "DEFAULT_LIMIT",
    "GEOJSON",
    "MAX_LIMIT",
    "QUERYABLES",
    "BadQuery",
    "CollectionInfo",
    "Query",
    "collection_doc",
    "collections_info",
    "decode_cursor",
    "encode",
    "encode_cursor",
    "item",
    "items",
    "landing",
    "parse_query",
    "queryables_doc",
]
