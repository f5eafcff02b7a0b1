"""OGC API - Features under ``/api/v1/ogc``: thin routes over :mod:`ceasefire.reports.ogc`.

Bad parameters are 400 (OGC API - Features 7.15 asks for 400, where the rest of this API says
422), unknown collections and items 404, both as RFC 9457 problem details (the exception
format OGC API - Common uses). Database work runs in FastAPI's worker threads.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response
from sqlalchemy import Engine

from ceasefire.api import access, problems
from ceasefire.api.params import request_language
from ceasefire.api.problems import Problem, field_error
from ceasefire.i18n import _
from ceasefire.mission.model import Mission
from ceasefire.reports import ogc
from ceasefire.reports.scope import scope_for
from ceasefire.timeutil import iso

OGC = "/ogc"


def _base(request: Request, prefix: str) -> str:
    return str(request.base_url).rstrip("/") + prefix + OGC


def _collection(collection_id: str) -> ogc.CollectionInfo:
    for info in ogc.collections_info():
        if info.id == collection_id:
            return info
    raise Problem(
        404,
        _("There is no collection {id}; there are: {known}.").format(
            id=collection_id[:60], known=", ".join(i.id for i in ogc.collections_info())
        ),
        type=problems.NOT_FOUND,
    )


def _params(request: Request) -> dict[str, str]:
    found: dict[str, str] = {}
    twice: list[dict[str, str]] = []
    for name, value in request.query_params.multi_items():
        if name in found:
            twice.append(
                field_error(name[:40], _("The parameter {name} is given twice.").format(name=name))
            )
        found[name] = value
    if twice:
        raise Problem(400, twice[0]["reason"], type=problems.INVALID_PARAMETER, errors=twice)
    return found


def _json(data: dict[str, Any], media_type: str = "application/json") -> Response:
    # orjson: a page of 1,000 features costs json.dumps about as much as building them
    return Response(ogc.encode(data), media_type=media_type)


def _item_parameters() -> list[dict[str, Any]]:
    """The query parameters of ``/items``, for the OpenAPI document (read by hand in the route,
    so that every bad one is a 400 naming it)."""

    def query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
        return {
            "name": name,
            "in": "query",
            "required": False,
            "schema": schema,
            "description": description,
        }

    names = sorted({name for names in ogc.QUERYABLES.values() for name in names})
    return [
        query(
            "bbox",
            {"type": "array", "items": {"type": "number"}, "minItems": 4, "maxItems": 4},
            "minlon,minlat,maxlon,maxlat (CRS84)",
        ),
        query(
            "datetime", {"type": "string"}, "an RFC 3339 time, a date, or an interval a/b (.. open)"
        ),
        query(
            "limit",
            {
                "type": "integer",
                "minimum": 1,
                "maximum": ogc.MAX_LIMIT,
                "default": ogc.DEFAULT_LIMIT,
            },
            "items per page",
        ),
        query("cursor", {"type": "string"}, "the opaque cursor of a next link"),
        query("f", {"type": "string", "enum": ["json", "geojson"]}, "the encoding: GeoJSON"),
        *(query(name, {"type": "string"}, "equal to (see /queryables)") for name in names),
    ]


def router(prefix: str, engine: Engine, mission: Mission) -> APIRouter:
    """The routes of OGC API - Features under ``prefix`` + ``/ogc``."""
    api = APIRouter(prefix=prefix + OGC, tags=["OGC API - Features"])

    @api.get("", summary="OGC API - Features: the landing page")
    def landing(request: Request) -> Response:
        return _json(
            ogc.landing(
                _base(request, prefix),
                str(request.base_url).rstrip("/") + prefix + "/openapi.json",
                str(request.base_url).rstrip("/") + prefix + "/docs",
                mission,
                request_language(request),
            )
        )

    @api.get("/conformance", summary="OGC API - Features: the conformance classes")
    def conformance() -> Response:
        return _json({"conformsTo": list(ogc.CONFORMANCE)})

    @api.get("/collections", summary="OGC API - Features: incidents, observations and zones")
    def collections(request: Request) -> Response:
        base = _base(request, prefix)
        return _json(
            {
                "links": [
                    {"rel": "self", "type": "application/json", "href": f"{base}/collections"}
                ],
                "collections": [
                    ogc.collection_doc(base, info, mission) for info in ogc.collections_info()
                ],
            }
        )

    @api.get(
        "/collections/{collection_id}",
        summary="OGC API - Features: one collection",
        responses=problems.responses(404),
    )
    def collection(request: Request, collection_id: str = Path()) -> Response:
        info = _collection(collection_id)
        return _json(ogc.collection_doc(_base(request, prefix), info, mission))

    @api.get(
        "/collections/{collection_id}/queryables",
        summary="OGC API - Features Part 3: the properties that filter items",
        responses=problems.responses(404),
    )
    def queryables(request: Request, collection_id: str = Path()) -> Response:
        info = _collection(collection_id)
        return _json(ogc.queryables_doc(_base(request, prefix), info.id), "application/schema+json")

    @api.get(
        "/collections/{collection_id}/items",
        summary="OGC API - Features: items, with bbox, datetime, limit (1 to 10,000) and the "
        "properties of /queryables; the next page is the link rel=next",
        responses=problems.responses(400, 404),
        openapi_extra={"parameters": _item_parameters()},
    )
    def items(request: Request, collection_id: str = Path()) -> Response:
        info = _collection(collection_id)
        try:
            query = ogc.parse_query(info.id, _params(request))
        except ogc.BadQuery as bad:
            errors = [field_error(name, reason) for name, reason in bad.errors]
            raise Problem(
                400, errors[0]["reason"], type=problems.INVALID_PARAMETER, errors=errors
            ) from None
        scope = scope_for(engine, mission, access.current_user(request))
        features, after = ogc.items(
            engine, mission, info.id, query, scope, request_language(request)
        )
        links = [{"rel": "self", "type": ogc.GEOJSON, "href": str(request.url)}]
        if after is not None:
            cursor = ogc.encode_cursor(info.id, after)
            links.append(
                {
                    "rel": "next",
                    "type": ogc.GEOJSON,
                    "href": str(request.url.include_query_params(cursor=cursor)),
                }
            )
        return _json(
            {
                "type": "FeatureCollection",
                "features": features,
                "links": links,
                "numberReturned": len(features),
                "timeStamp": iso(datetime.now(UTC)),
            },
            ogc.GEOJSON,
        )

    @api.get(
        "/collections/{collection_id}/items/{fid:path}",
        summary="OGC API - Features: one item by its id",
        responses=problems.responses(404),
    )
    def item(request: Request, collection_id: str = Path(), fid: str = Path()) -> Response:
        info = _collection(collection_id)
        scope = scope_for(engine, mission, access.current_user(request))
        found = ogc.item(engine, mission, info.id, fid, scope, request_language(request))
        if found is None:
            raise Problem(
                404,
                _("There is no item {id} in {collection} (or it was not released to you).").format(
                    id=fid[:80], collection=info.id
                ),
                type=problems.NOT_FOUND,
            )
        here = str(request.url)
        found["links"] = [
            {"rel": "self", "type": ogc.GEOJSON, "href": here},
            {
                "rel": "collection",
                "type": "application/json",
                "href": f"{_base(request, prefix)}/collections/{info.id}",
            },
        ]
        return _json(found, ogc.GEOJSON)

    return api


__all__ = ["OGC", "router"]
