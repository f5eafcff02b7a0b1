"""What every page shares: the signed-in user, the language, the templates and their context."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import Connection

from ceasefire.api.params import negotiate_language
from ceasefire.geo.engine import Enricher
from ceasefire.i18n import LANGUAGES, _, language, ngettext
from ceasefire.ledger.log import LogTree
from ceasefire.web import format as fmt
from ceasefire.web import labels, session
from ceasefire.web.tiles import MBTiles
from ceasefire.workflow.errors import Forbidden
from ceasefire.workflow.roles import User, authorize

if TYPE_CHECKING:
    from ceasefire.center import Center

T = TypeVar("T")
STATIC = Path(__file__).parent / "static"
LANGUAGE_NAMES = {
    "en": "English",
    "ru": "Русский",
    "tr": "Türkçe",
    "az": "Azərbaycanca",
    "hy": "Հայերեն",
}


class SignInNeeded(Exception):
    """The page needs a signed-in user; the handler sends the browser to the log-in."""

    def __init__(self, path: str, expired: bool) -> None:
        super().__init__(path)
        self.path = path
        self.expired = expired


class Web:
    """The web layer's shared state: store, mission, writers' lock and templates."""

    def __init__(self, center: Center) -> None:
        self.center = center
        self.engine = center.engine
        self.mission = center.mission
        self.lock = center.lock
        self._tree = LogTree()
        self._tree_lock = threading.Lock()
        self._enricher: Enricher | None = None
        # the local tile source, checked when the pages are built (a bad file is told at start)
        given = center.settings.tiles
        self.tiles = MBTiles(given) if given is not None else None
        self.env = Environment(
            loader=PackageLoader("ceasefire.web", "templates"),
            autoescape=select_autoescape(["html"]),
            extensions=["jinja2.ext.i18n"],
            trim_blocks=True,
            lstrip_blocks=True,
        )
        # the same catalogs as the CLI and the API, in the language in force for the request
        self.env.install_gettext_callables(gettext=_, ngettext=ngettext, newstyle=True)  # type: ignore[attr-defined]
        zone = center.mission.config.timezone
        self.env.filters["when"] = lambda v: fmt.local_and_utc(v, zone, current_lang())
        self.env.filters["short"] = lambda v: fmt.short_time(v, zone, current_lang())
        self.env.filters["num"] = lambda v, d=1: fmt.number(v, current_lang(), d)
        self.env.globals.update(label=labels.shown, attribution_name=labels.attribution_name)

    # -- reading and writing the store ------------------------------------------------------
    def read(self, step: Callable[[Connection], T]) -> T:
        with self.engine.connect() as db:
            return step(db)

    def write(self, step: Callable[[Connection], T]) -> T:
        """``step`` in one transaction under the writers' lock (shared with the API, the CoT
        listeners and the scheduler), so a change and its log entry commit together."""
        with self.lock, self.engine.begin() as db:
            return step(db)

    def enricher(self) -> Enricher:
        """The mission's enricher, built on first use (coverage needs its projection)."""
        with self._tree_lock:
            if self._enricher is None:
                self._enricher = Enricher(self.mission)
            return self._enricher

    def tree(self, db: Connection) -> LogTree:
        """The log's Merkle tree, read once and then only its new leaves."""
        with self._tree_lock:
            self._tree.refresh(db)
            return self._tree

    # -- who and which language -------------------------------------------------------------
    def require(self, user: User, action: str, released_to: tuple[str, ...] = ()) -> None:
        if not may(user, action, released_to):
            raise Forbidden(
                _("{name} ({role} of {affiliation}) may not {action}").format(
                    name=user.name,
                    role=user.role,
                    affiliation=user.affiliation or "-",
                    action=action.replace("_", " "),
                )
            )

    async def form(self, request: Request) -> dict[str, str]:
        """The form's fields; a bad or missing CSRF token is refused before anything else."""
        data = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        if not session.csrf_ok(request, data.get("csrf")):
            raise Forbidden(_("This form has expired or came from another site; send it again."))
        return data

    def user(self, request: Request) -> User:
        """The signed-in user, or :class:`SignInNeeded`."""
        found = session.signed_in(self.engine, request)
        if found is None:
            path = request.url.path
            if request.method != "GET":
                # a form sent after the session ended: back to the page it came from
                referer = request.headers.get("referer", "")
                host = request.headers.get("host", "")
                after = referer.split(host, 1)[-1] if host and host in referer else "/"
                path = after if after.startswith("/") else "/"
            elif request.url.query:
                path += "?" + request.url.query
            raise SignInNeeded(path, expired=session.SESSION_COOKIE in request.cookies)
        return found

    def language_of(self, request: Request) -> str:
        chosen = request.cookies.get(session.LANG_COOKIE, "")
        if chosen in LANGUAGES:
            return chosen
        return negotiate_language(request.headers.get("accept-language"))

    # -- rendering --------------------------------------------------------------------------
    def render(
        self,
        request: Request,
        template: str,
        user: User | None,
        status_code: int = 200,
        **context: Any,
    ) -> HTMLResponse:
        lang = self.language_of(request)
        with language(lang):
            page = self.env.get_template(template).render(
                request=request,
                user=user,
                lang=lang,
                languages=[(code, LANGUAGE_NAMES[code]) for code in LANGUAGES],
                mission=self.mission,
                center_name=self.mission.name(lang),
                disclaimer=self.mission.disclaimer(lang),
                contingents=self.mission.contingents_for(lang),
                csrf=session.csrf_token(request),
                may=lambda action: may(user, action),
                tiles=self.tiles.tileset.config() if self.tiles else None,
                here=request.url.path + (f"?{request.url.query}" if request.url.query else ""),
                **context,
            )
        response = HTMLResponse(page, status_code=status_code)
        response.headers["Content-Language"] = lang
        response.headers["Cache-Control"] = "no-store"
        session.remember_pre_csrf(request, response)
        return response


def current_lang() -> str:
    from ceasefire.i18n import current_language

    return current_language()


def may(user: User | None, action: str, released_to: tuple[str, ...] = ()) -> bool:
    """Whether the user may do ``action`` for their own contingent (or on what was released to
    ``released_to``): the library's table decides, the pages only ask."""
    return user is not None and authorize(
        user, action, contingent=user.contingent, released_to=released_to
    )


def to_login(path: str, expired: bool) -> Response:
    target = "/login?next=" + quote(path, safe="/")
    if expired:
        target += "&expired=1"
    return RedirectResponse(target, status_code=303)


def safe_next(value: str | None) -> str:
    """A local path to go to after signing in (never another site)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value
