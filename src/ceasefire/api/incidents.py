"""Incidents and coverage over HTTP: the queries of ``ceasefire incidents``, ``incident`` and
``coverage`` (:mod:`ceasefire.incidents.queries`, :mod:`ceasefire.incidents.coverage`)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine

from ceasefire.api import problems
from ceasefire.api.models import Coverage, IncidentDetail, IncidentPage
from ceasefire.api.params import (
    TIME,
    Checks,
    negotiate_media_type,
    parse_choice,
    parse_time,
    read_cursor,
    request_language,
)
from ceasefire.api.problems import Problem
from ceasefire.geo.engine import Enricher
from ceasefire.i18n import _
from ceasefire.incidents import queries as store
from ceasefire.incidents.coverage import coverage
from ceasefire.incidents.launches import possible_impacts, possible_launches
from ceasefire.mission.model import Mission
from ceasefire.observations.taxonomy import CATEGORIES
from ceasefire.store.observations import DEFAULT_LIMIT, MAX_LIMIT

GEOJSON = "application/geo+json"
FORMATS = ("json", "geojson")
MAX_COVERAGE_DAYS = 31
"""The longest period one coverage request may cover (it reads every track point in it)."""


def _list_formats() -> dict[int | str, dict[str, Any]]:
    collection = {
        "type": "object",
        "description": "an RFC 7946 FeatureCollection of Point features (lon, lat); each "
        "feature's properties are the incident record without location, plus ce_m; `links` "
        "holds the next page (rel next) while there is one",
        "required": ["type", "features", "links"],
        "properties": {
            "type": {"const": "FeatureCollection"},
            "features": {"type": "array", "items": {"type": "object"}},
            "links": {"type": "array", "items": {"type": "object"}},
        },
    }
    return {200: {"content": {GEOJSON: {"schema": collection}}}, **problems.responses(422)}


def router(prefix: str, engine: Engine, mission: Mission, enricher: Enricher) -> APIRouter:
    """The routes ``/incidents``, ``/incidents/{id}`` and ``/coverage`` under ``prefix``."""
    api = APIRouter(prefix=prefix)

    @api.get(
        "/incidents",
        summary="Incidents (observations of one event fused), filtered, in pages; JSON or GeoJSON",
        response_model=IncidentPage,
        responses=_list_formats(),
        tags=["incidents"],
    )
    def list_incidents(
        request: Request,
        since: str | None = Query(
            None, description="ended at or after, ISO 8601 with offset or Z", json_schema_extra=TIME
        ),
        until: str | None = Query(
            None, description="started before, ISO 8601 with offset or Z", json_schema_extra=TIME
        ),
        status: str | None = Query(
            None, max_length=16, description="open, assessing, finding, disputed, ..."
        ),
        category: str | None = Query(
            None,
            description="incidents with an observation of this category",
            json_schema_extra={"enum": list(CATEGORIES)},
        ),
        fmt: str | None = Query(
            None,
            alias="format",
            description="json (default) or geojson; without it, Accept: application/geo+json "
            "asks for GeoJSON",
            json_schema_extra={"enum": list(FORMATS)},
        ),
        limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
        cursor: str | None = Query(
            None, max_length=200, description="the opaque cursor from a page's next link"
        ),
    ) -> JSONResponse:
        checks = Checks()
        checks.check("since", since, lambda t: parse_time(t, "since"))
        checks.check("until", until, lambda t: parse_time(t, "until"))
        checks.check("category", category, lambda t: parse_choice(t, list(CATEGORIES), "category"))
        checks.check("format", fmt, lambda t: parse_choice(t, FORMATS, "format"))
        checks.check("cursor", cursor, lambda t: read_cursor(t, store.decode_cursor))
        values = checks.values
        if "since" in values and "until" in values and values["since"] >= values["until"]:
            checks.fail("until", _("The parameter until must be later than since."))
        checks.done()
        geojson = values.get("format") == "geojson" or (
            "format" not in values
            and negotiate_media_type(request.headers.get("accept"), ["application/json", GEOJSON])
            == GEOJSON
        )
        where = store.IncidentFilter(
            since=values.get("since"),
            until=values.get("until"),
            status=status,
            category=values.get("category"),
        )
        page = store.page_incidents(
            engine,
            mission,
            where,
            request_language(request),
            after=values.get("cursor"),
            limit=limit,
        )
        next_url = None
        if page.after is not None:
            more = {"cursor": store.encode_cursor(page.after)}
            if geojson:
                more["format"] = "geojson"  # the next page as this one, whatever the Accept
            next_url = str(request.url.include_query_params(**more))
        vary = {"Vary": "Accept"}
        if not geojson:
            return JSONResponse({"incidents": page.items, "next": next_url}, headers=vary)
        links = [] if next_url is None else [{"rel": "next", "href": next_url, "type": GEOJSON}]
        collection = {**store.to_geojson(page.items), "links": links}
        return JSONResponse(collection, media_type=GEOJSON, headers=vary)

    @api.get(
        "/incidents/{incident_id}",
        summary="One incident with its observations and why each rule applies",
        response_model=IncidentDetail,
        responses=problems.responses(404),
        tags=["incidents"],
    )
    def get_incident(
        request: Request,
        incident_id: str = Path(description="the incident's id, e.g. INC-3dcd3a1ea278"),
    ) -> JSONResponse:
        lang = request_language(request)
        found = store.get_incident(engine, mission, incident_id, lang)
        if found is None:
            raise Problem(
                404,
                _("There is no incident {id}.").format(id=incident_id[:80]),
                type=problems.NOT_FOUND,
            )
        store.explain(mission, found, lang)
        # As `ceasefire incident ID` shows them: the same for every reader (no blind content)
        found["possible_launches"] = possible_launches(engine, found, lang)
        found["possible_impacts"] = possible_impacts(engine, found, lang)
        return JSONResponse(found)

    @api.get(
        "/coverage",
        summary="Which stretches of the line of contact each contingent's drones watched",
        response_model=Coverage,
        responses=problems.responses(422),
        tags=["incidents"],
    )
    def line_coverage(
        since: str = Query(
            description="the period's start, ISO 8601 with offset or Z", json_schema_extra=TIME
        ),
        until: str | None = Query(
            None,
            json_schema_extra=TIME,
            description="the period's end, ISO 8601 with offset or Z; default 24 h after since; "
            f"at most {MAX_COVERAGE_DAYS} days after it",
        ),
        gap_hours: float = Query(
            6.0,
            ge=0.1,
            le=24 * MAX_COVERAGE_DAYS,
            description="report stretches unwatched for longer than this many hours",
        ),
    ) -> JSONResponse:
        checks = Checks()
        checks.check("since", since, lambda t: parse_time(t, "since"))
        checks.check("until", until, lambda t: parse_time(t, "until"))
        values = checks.values
        if "since" in values and "until" not in values and until is None:
            values["until"] = values["since"] + timedelta(hours=24)
        if "since" in values and "until" in values:
            period = values["until"] - values["since"]
            if period <= timedelta(0):
                checks.fail("until", _("The parameter until must be later than since."))
            elif period > timedelta(days=MAX_COVERAGE_DAYS):
                checks.fail(
                    "until",
                    _("The period from since to until must be at most {days} days.").format(
                        days=MAX_COVERAGE_DAYS
                    ),
                )
        checks.done()
        found = coverage(
            engine,
            mission,
            values["since"],
            values["until"],
            timedelta(hours=gap_hours),
            enricher,
        )
        return JSONResponse(found)

    return api


__all__ = ["FORMATS", "GEOJSON", "MAX_COVERAGE_DAYS", "router"]
