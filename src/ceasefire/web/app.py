"""The web pages: log-in, the map, and the data the map asks for.

Thin: each route reads the request, asks the library (roles, workflow, store) and renders a
Jinja2 template. Rules of who may see or do what are the library's (``authorize``,
``assessments.visible``, ...); a template never decides them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from math import isfinite
from typing import TYPE_CHECKING, Any, Literal

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from ceasefire.api.login_limits import LoginLimiter, limiter_for, retry_after
from ceasefire.api.params import parse_bbox
from ceasefire.api.problems import Problem, problem_response
from ceasefire.i18n import LANGUAGES, _, language
from ceasefire.incidents.queries import IncidentFilter
from ceasefire.labels import label
from ceasefire.mission.model import Mission
from ceasefire.observations.taxonomy import CATEGORIES
from ceasefire.reports.scope import scope_for
from ceasefire.timeutil import iso
from ceasefire.web import mapdata, session
from ceasefire.web.incidents import add_routes as incident_routes
from ceasefire.web.pages import STATIC, SignInNeeded, Web, may, safe_next, to_login
from ceasefire.web.shifts import add_routes as shift_routes
from ceasefire.workflow import releases
from ceasefire.workflow.errors import Forbidden
from ceasefire.workflow.roles import (
    SESSION_LABEL,
    User,
    authenticate,
    end_session,
    issue_token,
)

if TYPE_CHECKING:
    from ceasefire.center import Center

WINDOWS_H = (6, 24, 72, 168, 720)
"""The time windows the map offers (hours before the chosen time)."""
EVENT_POLL_S = 2.0


def create_web(center: Center) -> FastAPI:
    """The web app, mounted at ``/`` beside the API (:func:`ceasefire.web.plug`)."""
    web = Web(center)
    engine, mission = center.engine, center.mission
    limiter = limiter_for(engine)
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.exception_handler(SignInNeeded)
    def sign_in(request: Request, needed: SignInNeeded) -> Response:
        if request.url.path.endswith(".json") or request.headers.get("hx-request"):
            return JSONResponse({"sign_in": "/login"}, status_code=401)
        return to_login(needed.path, needed.expired)

    @app.exception_handler(StarletteHTTPException)
    def not_here(request: Request, error: StarletteHTTPException) -> Response:
        """A page for a browser; problem details, like the API's, for a program."""
        if "text/html" not in request.headers.get("accept", ""):
            return problem_response(Problem(error.status_code, str(error.detail)), request)
        user = session.signed_in(engine, request)
        return web.render(request, "error.html", user, error.status_code, message=str(error.detail))

    @app.exception_handler(Forbidden)
    def forbidden(request: Request, refused: Forbidden) -> Response:
        user = session.signed_in(engine, request)
        return web.render(request, "error.html", user, 403, message=str(refused))

    # -- log-in, log-out, language -----------------------------------------------------------

    @app.get("/")
    def home(request: Request) -> Response:
        user = session.signed_in(engine, request)
        if user is None:
            return RedirectResponse("/login", status_code=303)
        return RedirectResponse(_start_page(user), status_code=303)

    @app.get("/login")
    def login_page(request: Request, next: str = "/", expired: bool = False) -> Response:
        return web.render(
            request, "login.html", None, next=safe_next(next), expired=expired, name=""
        )

    @app.post("/login")
    async def log_in(request: Request) -> Response:
        data = await web.form(request)
        name, password = data.get("name", "").strip(), data.get("password", "")
        target = safe_next(data.get("next"))
        address = request.client.host if request.client is not None else ""

        def refused(status: int, message: str, retry: str | None = None) -> Response:
            page = web.render(
                request, "login.html", None, status, next=target, error=message, name=name
            )
            if retry is not None:
                page.headers["Retry-After"] = retry
            return page

        # the API's limiter (api/login_limits.py): the same failures counted, per address and
        # per name and address, so guessing over the form is stopped as over the API
        wait = await run_in_threadpool(limiter.wait_s, address, name)
        with language(web.language_of(request)):
            if wait:
                message = _(
                    "Too many failed log-ins from this address; try again in {seconds} s."
                ).format(seconds=retry_after(wait))
                return refused(429, message, retry_after(wait))
            busy = _("Too many log-ins at once; try again in a moment.")
            wrong = _("Wrong user name or password.")
        user = await run_in_threadpool(_check_password, limiter, web, address, name, password)
        if user is None:
            return refused(401, wrong)
        if user is False:
            return refused(503, busy, "1")
        token = await run_in_threadpool(
            web.write, lambda db: issue_token(db, user.name, SESSION_LABEL)
        )
        response = RedirectResponse(target if target != "/" else _start_page(user), 303)
        session.set_session(response, token)
        response.delete_cookie(session.PRE_COOKIE, path="/")
        return response

    @app.post("/logout")
    async def log_out(request: Request) -> Response:
        await web.form(request)
        token = request.cookies.get(session.SESSION_COOKIE)
        if token and await run_in_threadpool(session.signed_in, engine, request) is not None:
            await run_in_threadpool(web.write, lambda db: end_session(db, token))
        response = RedirectResponse("/login", status_code=303)
        session.clear_session(response)
        return response

    @app.post("/language")
    async def choose_language(request: Request) -> Response:
        data = await web.form(request)
        lang = data.get("lang", "")
        response = RedirectResponse(safe_next(data.get("next")), status_code=303)
        if lang in LANGUAGES:
            response.set_cookie(
                session.LANG_COOKIE,
                lang,
                max_age=365 * 86400,
                secure=True,
                httponly=True,
                samesite="strict",
                path="/",
            )
        return response

    # -- the map -----------------------------------------------------------------------------

    @app.get("/map")
    def map_page(
        request: Request,
        at: str | None = None,
        hours: int = 24,
        status: str = "",
        category: str = "",
    ) -> Response:
        user = web.user(request)
        scope = scope_for(engine, mission, user)
        first, last = web.read(lambda db: mapdata.extent(db, mission, scope))
        chosen = _time(at, last)
        lang = web.language_of(request)
        return web.render(
            request,
            "map.html",
            user,
            at=iso(chosen),
            hours=hours if hours in WINDOWS_H else 24,
            windows=WINDOWS_H,
            first=iso(first),
            last=iso(last),
            settlements=mapdata.settlements(mission, lang),
            shade={c: n for n, c in enumerate(mission.config.neutral_order)},
            statuses={s: label("incident_status", s) for s in mapdata.MAP_STATUSES},
            categories={c: label("category", c) for c in CATEGORIES},
            status=status if status in mapdata.MAP_STATUSES else "",
            category=category if category in CATEGORIES else "",
            area=list(mission.config.area),
            sees_incidents=may(user, "read_incident"),
            sees_observations=may(user, "read_observations", _force(mission)),
        )

    @app.get("/tiles/{z}/{x}/{y}")
    def tile(request: Request, z: int, x: int, y: int) -> Response:
        """A tile of the local tile source (the ``tiles`` setting), for signed-in users."""
        web.user(request)
        found = web.tiles.tile(z, x, y) if web.tiles is not None else None
        if found is None or web.tiles is None:
            return Response(status_code=404, headers={"Cache-Control": "no-store"})
        return Response(
            found,
            media_type=web.tiles.tileset.media_type,
            headers={"Cache-Control": "private, max-age=3600"},
        )

    @app.get("/map/zones.json")
    def map_zones(request: Request, at: str | None = None) -> Response:
        scope = scope_for(engine, mission, web.user(request))
        _first, last = web.read(lambda db: mapdata.extent(db, mission, scope))
        data = mapdata.zones_at(mission, _time(at, last), web.language_of(request))
        return _json(data)

    @app.get("/map/incidents.json")
    def map_incidents(
        request: Request,
        bbox: str | None = None,
        at: str | None = None,
        hours: int = 24,
        zoom: float | None = None,
        status: str = "",
        category: str = "",
    ) -> Response:
        """The incidents of the view (one by one, or clustered by the database in a wide
        view: ``mapdata.incident_view``) that the incident list shows for the same window,
        status and category; a status or category the map does not offer is no filter."""
        user = web.user(request)
        if not may(user, "read_incident"):
            raise Forbidden(_("Your role does not read incidents."))
        since, until = _window(at, hours)
        box = _bbox(bbox)
        where = IncidentFilter(
            since=since,
            until=until,
            status=status if status in mapdata.MAP_STATUSES else None,
            category=category if category in CATEGORIES else None,
        )
        if zoom is None or not isfinite(zoom):
            level = mapdata.zoom_for(box)  # a program's request: the box decides
        else:
            level = max(0, min(30, int(zoom)))
        middle = (mission.config.area[1] + mission.config.area[3]) / 2
        return _json(web.read(lambda db: mapdata.incident_view(db, box, where, level, middle)))

    @app.get("/map/observations.json")
    def map_observations(
        request: Request, bbox: str | None = None, at: str | None = None, hours: int = 24
    ) -> Response:
        user = web.user(request)
        if not may(user, "read_observations", _force(mission)):
            raise Forbidden(_("Your role does not read observations."))
        since, until = _window(at, hours)
        box = _bbox(bbox)
        data = web.read(lambda db: mapdata.observations_in(db, box, since, until))
        data["tracks"] = web.read(lambda db: mapdata.tracks_in(db, since, until))
        return _json(data)

    incident_routes(app, web)
    shift_routes(app, web)

    # -- releases: what went to each party and the force --------------------------------------

    @app.get("/releases")
    def releases_page(request: Request) -> Response:
        user = web.user(request)
        if not may(user, "read_releases", (user.affiliation,)) and user.contingent is None:
            raise Forbidden(_("Your role does not read releases."))

        def listing(db: Connection) -> tuple[list[Any], dict[int, list[dict[str, Any]]]]:
            rows = releases.readable(db, user)
            # what each released incident has become since (the same for every reader)
            return rows, releases.released_incidents(db, [r.ledger_index for _id, r in rows])

        listed, released = web.read(listing)
        return web.render(request, "releases.html", user, releases=listed[::-1], incidents=released)

    @app.get("/releases/{release_id}.json")
    def release_bundle(request: Request, release_id: str) -> Response:
        user = web.user(request)
        text = web.read(lambda db: releases.bundle(db, user, release_id))
        if text is None:
            message = _("No such release for you.")
            return web.render(request, "error.html", user, 404, message=message)
        return Response(
            text,
            media_type="application/json",
            headers={"Content-Disposition": f'attachment; filename="release-{release_id}.json"'},
        )

    @app.get("/map/coverage.json")
    def map_coverage(request: Request, at: str | None = None, hours: int = 24) -> Response:
        user = web.user(request)
        if not may(user, "read_observations", _force(mission)):
            raise Forbidden(_("Your role does not read observations."))
        since, until = _window(at, hours)
        return _json(mapdata.coverage_gaps(engine, mission, web.enricher(), since, until))

    @app.get("/events")
    async def events(request: Request) -> Response:
        """Server-sent events: ``change`` whenever the record grows or an incident changes, so
        open pages fetch what they show again without reloading."""
        user = web.user(request)

        def stamp() -> list[Any]:  # the reader's scope again each time: a release widens it
            scope = scope_for(engine, mission, user)
            return web.read(lambda db: mapdata.stamp(db, scope))

        async def stream() -> AsyncIterator[str]:
            seen = await run_in_threadpool(stamp)
            yield "retry: 3000\n\n"
            while not await request.is_disconnected():
                await asyncio.sleep(EVENT_POLL_S)
                now = await run_in_threadpool(stamp)
                if now != seen:
                    seen = now
                    yield f"event: change\ndata: {mapdata.dumps(now).decode()}\n\n"
                else:
                    yield ": quiet\n\n"  # keeps proxies and the browser from closing it

        return StreamingResponse(
            stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"}
        )

    return app


# -- helpers ----------------------------------------------------------------------------------


def _check_password(
    limiter: LoginLimiter, web: Web, address: str, name: str, password: str
) -> User | Literal[False] | None:
    """The user if the password is right, None if not (the failure counted), False when too
    many checks run at once. As the API: outside the writers' lock (a check takes about a
    tenth of a second, which the intake must not wait for), a bounded number at a time."""
    if not limiter.checks.acquire(timeout=10):
        return False
    try:
        user = web.read(lambda db: authenticate(db, name, password))
    except Forbidden:
        limiter.failed(address, name)
        return None
    finally:
        limiter.checks.release()
    limiter.succeeded(address, name)
    return user


def _start_page(user: Any) -> str:
    return "/releases" if user.role in releases.LIAISONS else "/map"


def _force(mission: Mission) -> tuple[str, ...]:
    force = mission.config.peacekeeping_force
    return (force.id,) if force is not None else ()


def _time(text: str | None, default: datetime) -> datetime:
    if not text:
        return default
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return default
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _window(at: str | None, hours: int) -> tuple[datetime, datetime]:
    until = _time(at, datetime.now(UTC))
    hours = hours if hours in WINDOWS_H else 24
    return until - timedelta(hours=hours), until


def _bbox(text: str | None) -> mapdata.Box | None:
    """The view's box as the page asks for it (:func:`parse_bbox` of a view); a 400 naming
    the parameter for anything else."""
    if not text:
        return None
    try:
        return parse_bbox(text, view=True)
    except ValueError as error:
        raise StarletteHTTPException(400, str(error)) from None


def _json(data: Any) -> Response:
    return Response(mapdata.dumps(data), media_type="application/json")
