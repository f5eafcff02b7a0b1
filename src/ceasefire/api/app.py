"""The HTTP API under ``/api/v1``: a thin layer over intake and the store (see docs/api.md).

The web layer only reads requests, calls the library and shapes answers: the center it serves
is a :class:`~ceasefire.center.Center` (``create_app`` builds one over an engine and a mission),
checking, enriching and storing are its intake's, and queries are
:mod:`ceasefire.store.observations`'s and :mod:`ceasefire.incidents.queries`'s. The routes of
incidents and coverage are in :mod:`ceasefire.api.incidents`, those of the ledger in
:mod:`ceasefire.api.ledger`. Database work runs in worker threads so the event loop
(shared with the CoT listeners in ``ceasefire serve``) never waits on it.
"""

from __future__ import annotations

import copy
import html
import io
import json
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from operator import attrgetter
from typing import Any, Literal

import orjson
from fastapi import Depends, FastAPI, Path, Query, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.routing import Match, Mount

from ceasefire import __version__
from ceasefire.api import access, problems
from ceasefire.api import incidents as incidents_api
from ceasefire.api import ledger as ledger_api
from ceasefire.api import parties as parties_api
from ceasefire.api import releases as releases_api
from ceasefire.api import shifts as shifts_api
from ceasefire.api import users as users_api
from ceasefire.api import workflow as workflow_api
from ceasefire.api.models import (
    BatchResult,
    Health,
    ObservationPage,
    QuarantineList,
    StoredObservation,
)
from ceasefire.api.params import (
    BBOX,
    TIME,
    Checks,
    negotiate_language,
    parse_bbox,
    parse_names,
    parse_time,
    read_cursor,
    request_language,
    some_of,
)
from ceasefire.api.problems import Problem, ProblemDetails, field_error
from ceasefire.center.core import Center
from ceasefire.geo.engine import Enricher
from ceasefire.geo.phrase import place_phrase
from ceasefire.i18n import _, language
from ceasefire.ingest.pipeline import BATCH
from ceasefire.intake import formats
from ceasefire.intake._common import JsonProblem, strict_json, validate
from ceasefire.intake.errors import Rejection, encodes
from ceasefire.mission.model import Mission
from ceasefire.observations.record import ID_PATTERN, format_time
from ceasefire.observations.schema import SCHEMA_PATH, observation_schema
from ceasefire.observations.taxonomy import CATEGORIES
from ceasefire.served import body_within
from ceasefire.store import observations as store
from ceasefire.store import quarantine
from ceasefire.workflow.assessments import NOT_ATTRIBUTED
from ceasefire.workflow.errors import Forbidden
from ceasefire.workflow.roles import User, require

PREFIX = "/api/v1"
MAX_BATCH = 10_000
"""The most records one POST may carry."""
MAX_BODY_BYTES = 32 * 1024 * 1024
"""The largest request body read (10,000 records of about 3 KB)."""
JSON_TYPES = ("application/json",)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


# -- language ---------------------------------------------------------------------------------


class LanguageMiddleware:
    """Answers each request in its caller's language (messages, phrases, place names)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header = None
        for name, value in scope.get("headers", ()):
            if name == b"accept-language":
                header = value.decode("latin-1")
                break
        lang = negotiate_language(header)

        async def send_with_language(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                headers.append((b"content-language", lang.encode()))
                headers.append((b"vary", b"Accept-Language"))
                message["headers"] = headers
            await send(message)

        with language(lang):
            await self.app(scope, receive, send_with_language)


# -- one strict JSON parser for every body ---------------------------------------------------

PARSED = "ceasefire.json"
"""Where :class:`StrictJsonMiddleware` leaves a request's parsed body (in the ASGI scope)."""


class StrictJsonMiddleware:
    """Every JSON request body is parsed once, strictly, before any route sees it.

    One parser (:func:`ceasefire.intake._common.strict_json`) for every endpoint: malformed
    JSON, NaN or infinity, and a key given twice in one object (which FastAPI's own parser
    would quietly take the last of) are answered 400 ``invalid-json`` naming the problem, and
    a body larger than the limit 413, whatever the route. The route then reads the same bytes
    (replayed) and the parsed value (``scope[PARSED]``)."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH", "DELETE"):
            await self.app(scope, receive, send)
            return
        media_type = ""
        for name, value in scope.get("headers", ()):
            if name == b"content-type":
                media_type = value.decode("latin-1").split(";")[0].strip().lower()
        if media_type and media_type not in JSON_TYPES and not media_type.endswith("+json"):
            await self.app(scope, receive, send)  # not JSON: the route answers 415 or 422
            return
        too_large = Problem(
            413,
            _("The request body is larger than {limit} bytes.").format(limit=self.limit),
            type=problems.TOO_LARGE,
        )
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit() and int(value) > self.limit:
                await problems.problem_response(too_large, Request(scope))(scope, receive, send)
                return
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.limit:
                await problems.problem_response(too_large, Request(scope))(scope, receive, send)
                return
        if body.strip():
            try:
                scope[PARSED] = strict_json(bytes(body))
            except JsonProblem as error:
                problem = Problem(400, str(error), type=problems.INVALID_JSON)
                await problems.problem_response(problem, Request(scope))(scope, receive, send)
                return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        await self.app(scope, replay, send)


# -- the app ----------------------------------------------------------------------------------


class _Api:
    """What the routes share: the center, and how this app takes batches."""

    def __init__(
        self,
        center: Center,
        max_batch: int,
        correlate: Literal["streaming", "off"] = "streaming",
    ) -> None:
        self.center = center
        self.engine = center.engine
        self.mission = center.mission
        self.correlate = correlate
        self.max_batch = max_batch
        center.version  # noqa: B018 (stored now, if this version is new, not at the first batch)
        self.settlements = {s.id: s for s in center.mission.settlements}

    # -- intake ---------------------------------------------------------------------------
    def intake(
        self,
        records: list[Any],
        source: str,
        lang: str,
        user: User | None = None,
        items: list[Any] | None = None,
    ) -> dict[str, Any]:
        """Check, store and answer a batch; with ``user``, a record of a contingent the user
        may not ingest for is rejected (field ``contingent``). ``items``: the batch as a
        registered format's parser read it (``records`` then only name them)."""
        with language(lang):
            if items is None:
                items = [_validated(data, source, n) for n, data in enumerate(records, start=1)]
            if user is not None:
                refusals: dict[str, str] = {}  # the user's right is per contingent: asked once
                items = [
                    _ingestable(item, user, source, n, refusals) for n, item in enumerate(items, 1)
                ]
            # Stored BATCH at a time, each part checked and made ready outside the write lock
            # (nothing there touches the store): meanwhile another request's part is stored
            # under it, its commit's fsync included. The intake stores only when told.
            intake = self.center.intake(
                keep_outcomes=True, correlate=self.correlate, batch_size=len(items) + 1
            )
            for start in range(0, len(items), BATCH):
                for number in range(start + 1, min(start + BATCH, len(items)) + 1):
                    intake.add(items[number - 1], source, number)
                intake.prepare()
                with self.center.lock:
                    intake.flush()
        result = intake.result
        results: list[dict[str, Any]] = []
        for status, id_, contingent, field, reason, record, warning in sorted(
            result.outcomes, key=_by_record
        ):
            if id_ is None:
                id_ = _text(records[record - 1], "id")
            if contingent is None:
                contingent = _text(records[record - 1], "contingent")
            entry = {"index": record - 1, "status": status, "id": id_, "contingent": contingent}
            if status == "rejected":
                entry["field"] = field
                entry["reason"] = reason
            if warning:
                entry["warning"] = warning
            results.append(entry)
        return {
            "accepted": result.accepted,
            "duplicates": result.duplicates,
            "rejected": result.rejected,
            "results": results,
        }

    # -- reading --------------------------------------------------------------------------
    def record(self, stored: store.StoredObservation, lang: str) -> dict[str, Any]:
        """The canonical record with its enrichment, in the API's shape."""
        nearest: dict[str, Any] | None = None
        phrase: str | None = None
        distance, bearing = stored.settlement_distance_m, stored.settlement_bearing_deg
        if stored.settlement_id is not None and distance is not None and bearing is not None:
            settlement = self.settlements.get(stored.settlement_id)
            name = (
                self.mission.settlement_name(settlement, lang)
                if settlement is not None
                else stored.settlement_id
            )
            nearest = {
                "id": stored.settlement_id,
                "name": name,
                "distance_m": round(distance, 1),
                "bearing_deg": round(bearing, 1),
            }
            phrase = place_phrase(name, distance, bearing, lang)
        line = stored.distance_to_line_m
        enrichment = {
            "zones": stored.zones,
            "controlled_by": stored.controlled_by,
            "distance_to_line_m": None if line is None else round(line, 1),
            "line_side": stored.line_side,
            "nearest_settlement": nearest,
            "phrase": phrase,
        }
        return {
            **stored.record,
            "enrichment": enrichment,
            "received_at": format_time(stored.received_at),
        }

    def health(self) -> dict[str, Any]:
        status = self.center.status()
        # observations the correlation follower has still to take (0 when inline)
        status["counts"]["not_yet_correlated"] = (
            0 if self.correlate == "streaming" else self.center.backlog()
        )
        return status


_by_record = attrgetter("record")


def _text(data: Any, key: str) -> str | None:
    """A refused record's own id or contingent, to echo: only short text that encodes (a
    lone surrogate would make the whole answer fail after the batch was committed)."""
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, str) and len(value) <= 128 and encodes(value) else None


def _validated(data: Any, source: str, number: int) -> Any:
    if not isinstance(data, dict):
        reason = _("Each observation must be a JSON object.")
        return Rejection(source, number, "", reason, "", "record")
    return validate(data, source, number, "", "record")


def _ingestable(item: Any, user: User, source: str, number: int, refusals: dict[str, str]) -> Any:
    """The item, or a rejection if ``user`` may not ingest for its contingent. ``refusals``:
    why the user may not ingest for each contingent asked about so far ('' if it may)."""
    contingent = getattr(item, "contingent", None)
    if isinstance(item, Rejection) or contingent is None:
        return item
    refusal = refusals.get(contingent)
    if refusal is None:
        try:
            require(user, "ingest_observations", contingent=contingent)
            refusal = ""
        except Forbidden as refused:
            refusal = str(refused)
        refusals[contingent] = refusal
    if refusal:
        return Rejection(source, number, "contingent", refusal, "", "record")
    return item


async def _read_body(request: Request, limit: int) -> bytes:
    """The raw body, at most ``limit`` bytes (413 beyond), for a route that needs the bytes
    themselves (a node's signed batch)."""
    body = await body_within(request, limit)
    if body is None:
        raise Problem(
            413,
            _("The request body is larger than {limit} bytes.").format(limit=limit),
            type=problems.TOO_LARGE,
        )
    return body


def _records(data: object, max_batch: int) -> list[Any]:
    """The records of a batch body: a JSON array, or an object with an ``observations`` array."""
    shape = _('The body must be a JSON array of observations or an object {"observations": [...]}.')
    if isinstance(data, dict):
        extra = sorted(k for k in data if k != "observations")
        if extra:
            raise Problem(
                422,
                shape,
                type=problems.INVALID_BODY,
                errors=[
                    field_error(k, _("The member {name} is not allowed.").format(name=k), "body")
                    for k in extra[:20]
                ],
            )
        if "observations" not in data:
            raise Problem(
                422,
                shape,
                type=problems.INVALID_BODY,
                errors=[field_error("observations", _("The member is required."), "body")],
            )
        data = data["observations"]
        if not isinstance(data, list):
            raise Problem(
                422,
                shape,
                type=problems.INVALID_BODY,
                errors=[field_error("observations", _("The member must be an array."), "body")],
            )
    if not isinstance(data, list):
        raise Problem(
            422,
            shape,
            type=problems.INVALID_BODY,
            errors=[field_error("", shape, "body")],
        )
    if len(data) > max_batch:
        raise Problem(
            413,
            _("A batch holds at most {limit} observations; this one holds {count}.").format(
                limit=max_batch, count=len(data)
            ),
            type=problems.TOO_LARGE,
        )
    return data


def _filters(
    center: _Api,
    bbox: str | None,
    since: str | None,
    until: str | None,
    category: str | None,
    contingent: str | None,
    cursor: str | None,
) -> tuple[store.ObservationFilter, int | None]:
    checks = Checks()
    checks.check("bbox", bbox, parse_bbox)
    checks.check("since", since, lambda t: parse_time(t, "since"))
    checks.check("until", until, lambda t: parse_time(t, "until"))
    checks.check("category", category, lambda t: parse_names(t, list(CATEGORIES), "category"))
    checks.check(
        "contingent",
        contingent,
        lambda t: parse_names(t, center.mission.contingent_ids(), "contingent"),
    )
    checks.check("cursor", cursor, lambda t: read_cursor(t, store.decode_cursor))
    values = checks.values
    if "since" in values and "until" in values and values["since"] >= values["until"]:
        checks.fail("until", _("The parameter until must be later than since."))
    checks.done()
    where = store.ObservationFilter(
        bbox=values.get("bbox"),
        since=values.get("since"),
        until=values.get("until"),
        categories=values.get("category", ()),
        contingents=values.get("contingent", ()),
    )
    return where, values.get("cursor")


def create_app(
    engine: Engine,
    mission: Mission,
    *,
    enricher: Enricher | None = None,
    write_lock: threading.Lock | None = None,
    max_batch: int = MAX_BATCH,
    max_body_bytes: int = MAX_BODY_BYTES,
    correlate: Literal["streaming", "off"] = "streaming",
) -> FastAPI:
    """The center's HTTP API over a migrated database and a loaded mission.

    Stores the mission (if this version is new). ``enricher`` is shared by every request (it is
    read-only); ``write_lock`` serialises this app's intake with other writers of the same
    store in this process (the CoT listeners of ``ceasefire serve``). ``correlate="off"``
    leaves incidents to a correlation follower (:mod:`ceasefire.incidents.follow`), as
    ``ceasefire serve`` does; by default each batch is correlated as it is stored.
    """
    center = Center(mission=mission, engine=engine, enricher=enricher, lock=write_lock)
    return center_app(
        center, correlate=correlate, max_batch=max_batch, max_body_bytes=max_body_bytes
    )


def center_app(
    center: Center,
    *,
    max_batch: int = MAX_BATCH,
    max_body_bytes: int = MAX_BODY_BYTES,
    correlate: Literal["streaming", "off"] = "streaming",
) -> FastAPI:
    """The HTTP API of ``center`` (see :func:`create_app`), with the routes of the
    capabilities plugged into it."""
    api = _Api(center, max_batch, correlate)
    engine, mission = center.engine, center.mission
    app = FastAPI(
        title="ceasefire",
        version=__version__,
        description=(
            "The joint ceasefire monitoring center's API: observation intake and queries, "
            "incidents, coverage of the line, and the ledger's checkpoints and proofs. "
            "Errors are RFC 9457 problem details."
        ),
        openapi_url=f"{PREFIX}/openapi.json",
        # every route's declared rule (access.ENDPOINTS), enforced before the route runs
        dependencies=[Depends(access.guard(engine, mission))],
        docs_url=None,  # Swagger UI and ReDoc load from a CDN; the center is air-gapped
        redoc_url=None,
    )
    problems.install(app)
    app.add_middleware(StrictJsonMiddleware, limit=max_body_bytes)
    app.add_middleware(LanguageMiddleware)  # outermost: the parser's refusals are translated

    @app.get(
        f"{PREFIX}/health",
        summary="Health of the center: mission, database, schema revision, counts",
        response_model=Health,
        responses=problems.responses(503),
        tags=["center"],
    )
    def health() -> JSONResponse:
        try:
            return JSONResponse(api.health())
        except SQLAlchemyError as error:
            raise Problem(
                503,
                _("The database cannot be reached: {error}").format(error=type(error).__name__),
                type=problems.UNAVAILABLE,
            ) from error

    @app.post(
        f"{PREFIX}/observations",
        summary="Submit a batch of observations; each comes back accepted, duplicate or rejected",
        response_model=BatchResult,
        responses=problems.responses(400, 413, 415, 422),
        openapi_extra={"requestBody": _batch_body(max_batch)},
        tags=["observations"],
    )
    async def post_observations(request: Request) -> Response:
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        # the body's format, from the registry (none named: JSON, the documented batch)
        fmt = formats.of_media_type(media_type) if media_type else formats.get("jsonl")
        if fmt is None:
            raise Problem(
                415,
                _("The body must be JSON (Content-Type: application/json); got {type}.").format(
                    type=media_type[:80]
                ),
                type=problems.UNSUPPORTED_MEDIA_TYPE,
            )
        client = request.client
        source = f"api {client.host}" if client is not None else "api"
        lang = request_language(request)
        user = access.current_user(request)
        items = None
        if fmt.name == "jsonl":
            if PARSED not in request.scope:  # an empty body
                raise Problem(400, _("The body is empty."), type=problems.INVALID_JSON)
            records = _records(request.scope[PARSED], api.max_batch)
        else:
            # a format a mission's package registers for HTTP: its parser reads the body
            body = await _read_body(request, MAX_BODY_BYTES)
            contingent = user.contingent if user is not None else None
            items = list(fmt.parse(io.BytesIO(body), source, contingent))
            records = _records([{} for _item in items], api.max_batch)
        result = await run_in_threadpool(api.intake, records, source, lang, user, items)
        # orjson: the answer names every record of the batch, and json.dumps of it costs
        # fifteen times as much
        return Response(orjson.dumps(result), media_type="application/json")

    @app.get(
        f"{PREFIX}/observations",
        summary="Stored observations with their enrichment, filtered, in pages",
        response_model=ObservationPage,
        responses=problems.responses(422),
        tags=["observations"],
    )
    def list_observations(
        request: Request,
        bbox: str | None = Query(
            None,
            description="minlon,minlat,maxlon,maxlat in degrees (WGS84)",
            examples=["46.5,39.7,47.2,40.1"],
            json_schema_extra=BBOX,
        ),
        since: str | None = Query(
            None,
            description="observed at or after, ISO 8601 with offset or Z",
            json_schema_extra=TIME,
        ),
        until: str | None = Query(
            None, description="observed before, ISO 8601 with offset or Z", json_schema_extra=TIME
        ),
        category: str | None = Query(
            None,
            description="one or more categories, comma-separated",
            json_schema_extra=some_of(list(CATEGORIES)),
        ),
        contingent: str | None = Query(
            None,
            description="one or more contingents, comma-separated",
            json_schema_extra=some_of(mission.contingent_ids()),
        ),
        limit: int = Query(store.DEFAULT_LIMIT, ge=1, le=store.MAX_LIMIT),
        cursor: str | None = Query(
            None, max_length=200, description="the opaque cursor from a page's next link"
        ),
    ) -> JSONResponse:
        where, after = _filters(api, bbox, since, until, category, contingent, cursor)
        page = store.query_observations(engine, where, after=after, limit=limit)
        lang = request_language(request)
        next_url = None
        if page.after is not None:
            next_url = str(request.url.include_query_params(cursor=store.encode_cursor(page.after)))
        return JSONResponse(
            {"observations": [api.record(o, lang) for o in page.items], "next": next_url}
        )

    @app.get(
        f"{PREFIX}/observations/{{contingent}}/{{observation_id:path}}",
        summary="One observation: the canonical record with its enrichment",
        response_model=StoredObservation,
        responses=problems.responses(404),
        tags=["observations"],
    )
    def get_observation(
        request: Request,
        contingent: str = Path(
            description="the reporting contingent, e.g. RU",
            json_schema_extra={"maxLength": 16},
        ),
        observation_id: str = Path(
            description="the source's id, unique per contingent",
            json_schema_extra={"maxLength": 128, "pattern": ID_PATTERN},
        ),
    ) -> JSONResponse:
        stored = store.get_observation(engine, contingent, observation_id)
        if stored is None:
            raise Problem(
                404,
                _("No observation {id} of contingent {contingent} was received.").format(
                    id=observation_id, contingent=contingent
                ),
                type=problems.NOT_FOUND,
            )
        return JSONResponse(api.record(stored, request_language(request)))

    @app.get(
        f"{PREFIX}/quarantine",
        summary="Observations a later stage (correlation) failed on, set aside with the reason",
        response_model=QuarantineList,
        tags=["observations"],
    )
    def list_quarantine(
        limit: int = Query(1000, ge=1, le=10_000),
    ) -> JSONResponse:
        with engine.connect() as db:
            found = quarantine.listing(db, limit)
        for entry in found:
            entry["observed_at"] = format_time(entry["observed_at"])
            entry["quarantined_at"] = format_time(entry["quarantined_at"])
        return JSONResponse({"quarantined": found})

    @app.get(
        f"{PREFIX}/schemas/observation",
        summary="The JSON Schema of the canonical observation record",
        response_class=Response,
        responses={200: {"content": {"application/schema+json": {}}}},
        tags=["schemas"],
    )
    def observation_json_schema() -> Response:
        return Response(SCHEMA_PATH.read_bytes(), media_type="application/schema+json")

    app.include_router(incidents_api.router(PREFIX, engine, mission, center.enricher))
    app.include_router(ledger_api.router(PREFIX, engine, mission))
    app.include_router(releases_api.router(PREFIX, engine))
    app.include_router(workflow_api.router(PREFIX, center))
    app.include_router(users_api.router(PREFIX, center))
    app.include_router(shifts_api.router(PREFIX, center))
    app.include_router(parties_api.router(PREFIX, center, correlate))
    for router in center.routers():
        app.include_router(router)

    @app.get(f"{PREFIX}/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(_docs_page(app.openapi()))

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            _add_components(document, mission)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    missing = access.undeclared(app)
    if missing:
        raise RuntimeError("endpoints without a rule in access.ENDPOINTS: " + ", ".join(missing))
    for path, mounted in center.apps():  # after every API route: a mount at / matches anything
        app.router.routes.append(_Beside(path, app=mounted))
    return app


class _Beside(Mount):
    """A capability's app mounted beside the API that never answers for the API's paths, so an
    unknown path or a wrong method under /api/v1 keeps its problem details."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope.get("type") == "http" and str(scope.get("path", "")).startswith(PREFIX):
            return Match.NONE, {}
        return super().matches(scope)


def _batch_body(max_batch: int) -> dict[str, Any]:
    items = {"$ref": "#/components/schemas/Observation"}
    array = {"type": "array", "items": items, "maxItems": max_batch}
    return {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "oneOf": [
                        array,
                        {
                            "type": "object",
                            "properties": {"observations": array},
                            "required": ["observations"],
                            "additionalProperties": False,
                        },
                    ]
                }
            }
        },
    }


def _add_components(document: dict[str, Any], mission: Mission) -> None:
    """Add the observation record and problem details to the OpenAPI components, the
    mission's own values to the bodies that name them, and the answers of the strict body
    parser (:class:`StrictJsonMiddleware`) to every operation that takes a body."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    record = copy.deepcopy(observation_schema())
    for key in ("$schema", "$id"):
        record.pop(key, None)
    # the record's own $defs become components, so that every tool resolves the references
    text = json.dumps(record).replace('"#/$defs/', '"#/components/schemas/')
    record = json.loads(text)
    schemas.update(record.pop("$defs", {}))
    schemas["Observation"] = record
    problem = ProblemDetails.model_json_schema(
        by_alias=True, ref_template="#/components/schemas/{model}"
    )
    schemas.update(problem.pop("$defs", {}))
    schemas["ProblemDetails"] = problem
    # FastAPI documents its own 422 body; this app answers every error with problem details
    ours = problems.responses(422)[422]
    document["components"]["securitySchemes"] = {
        "bearer": {
            "type": "http",
            "scheme": "bearer",
            "description": "an API token (ceasefire users token) or a session token "
            "(POST /api/v1/session)",
        }
    }
    _mission_values(schemas, mission)
    refused = problems.responses(401, 403)
    unparsed = problems.responses(400, 413)
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            if "HTTPValidationError" in json.dumps(operation.get("responses", {}).get("422")):
                operation["responses"]["422"] = ours  # FastAPI's own; a route's own is kept
            if "requestBody" in operation:
                for status, answer in unparsed.items():
                    operation["responses"].setdefault(str(status), answer)
            rule = access.rule_for(method, path)
            if rule is None or rule.public:
                operation["security"] = []
                continue
            operation["security"] = [{"bearer": []}]
            operation["x-action"] = rule.action
            for status, answer in refused.items():
                operation["responses"].setdefault(str(status), answer)
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)


def _mission_values(schemas: dict[str, Any], mission: Mission) -> None:
    """The values a body member may take that the mission defines (its contingents and
    parties), in the body schemas of the workflow and users routes."""
    contingents = list(mission.contingent_ids())
    parties = list(mission.party_ids())
    force = mission.config.peacekeeping_force
    forces = [force.id] if force is not None else []
    nullable = {
        ("AssessmentIn", "contingent"): contingents,
        ("DecisionIn", "contingent"): contingents,
        ("DecisionIn", "party"): parties,
    }
    for (model, member), values in nullable.items():
        if member in schemas.get(model, {}).get("properties", {}):
            schemas[model]["properties"][member]["enum"] = [*values, None]
    members = {
        ("AssessmentIn", "attribution"): [*parties, NOT_ATTRIBUTED],
        ("UserIn", "affiliation"): [*contingents, *forces, *parties, ""],
    }
    for (model, member), values in members.items():
        if member in schemas.get(model, {}).get("properties", {}):
            schemas[model]["properties"][member]["enum"] = values
    clauses = schemas.get("AssessmentIn", {}).get("properties", {}).get("clauses")
    if clauses is not None:
        clauses["items"] = {"type": "string", "enum": [c.id for c in mission.config.clauses]}


def _docs_page(document: dict[str, Any]) -> str:
    """A self-contained page listing the endpoints (no scripts, nothing from outside)."""
    rows = []
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            params = ", ".join(
                html.escape(p.get("name", "")) for p in operation.get("parameters", [])
            )
            rows.append(
                f"<tr><td><code>{html.escape(method.upper())}</code></td>"
                f"<td><code>{html.escape(path)}</code></td>"
                f"<td>{html.escape(operation.get('summary', ''))}</td><td>{params}</td></tr>"
            )
    title = html.escape(f"{document['info']['title']} {document['info']['version']}")
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{title}</title>"
        "<style>body{font-family:sans-serif;margin:2em}td,th{padding:.3em .8em;"
        "text-align:left;border-bottom:1px solid #ddd}</style></head><body>"
        f"<h1>{title}</h1><p>{html.escape(document['info'].get('description', ''))}</p>"
        f"<p><a href='{PREFIX}/openapi.json'>OpenAPI document (JSON)</a></p>"
        "<table><tr><th></th><th>path</th><th></th><th>parameters</th></tr>"
        + "".join(rows)
        + "</table></body></html>"
    )


__all__ = [
    "MAX_BATCH",
    "MAX_BODY_BYTES",
    "PREFIX",
    "center_app",
    "create_app",
    "negotiate_language",
]
