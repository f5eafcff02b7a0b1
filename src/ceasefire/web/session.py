"""Sign-in for people in the browser: the session token in a cookie, and CSRF checks.

The cookie holds the same session token ``POST /api/v1/session`` gives (a ``session`` token of
:func:`ceasefire.workflow.roles.start_session`, alive for a shift), so the ledger logs a log-in
the same way whichever door was used, and API tokens keep working for machines. The cookie is
``Secure``, ``HttpOnly`` and ``SameSite=Strict``.

CSRF: every form carries a token. Signed in, it is an HMAC of the session token (which the page
never shows and another site cannot read); before signing in, it is a random value in a cookie
of its own that the form must repeat (double submit). A request whose ``Origin`` names another
site is refused as well.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy import Engine

from ceasefire.workflow.errors import Forbidden
from ceasefire.workflow.roles import SESSION_HOURS, User, user_for_token

SESSION_COOKIE = "cf_session"
PRE_COOKIE = "cf_csrf"
LANG_COOKIE = "cf_lang"


def signed_in(engine: Engine, request: Request) -> User | None:
    """The user of the request's session cookie, or None (none, expired, revoked, disabled)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        with engine.connect() as db:
            return user_for_token(db, token)
    except Forbidden:
        return None


def set_session(response: Response, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(SESSION_HOURS * 3600),
        secure=True,
        httponly=True,
        samesite="strict",
        path="/",
    )


def clear_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", secure=True, httponly=True, samesite="strict")


def csrf_token(request: Request) -> str:
    """The token this request's forms must carry (made and remembered if need be)."""
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        return hmac.new(token.encode(), b"csrf", hashlib.sha256).hexdigest()
    found = getattr(request.state, "pre_csrf", None) or request.cookies.get(PRE_COOKIE)
    if not found:
        found = secrets.token_urlsafe(24)
    request.state.pre_csrf = found
    return str(found)


def remember_pre_csrf(request: Request, response: Response) -> None:
    """Set the pre-sign-in CSRF cookie if this page made one."""
    made = getattr(request.state, "pre_csrf", None)
    if made and request.cookies.get(PRE_COOKIE) != made:
        response.set_cookie(
            PRE_COOKIE, made, secure=True, httponly=True, samesite="strict", path="/"
        )


def csrf_ok(request: Request, sent: str | None) -> bool:
    """Whether a form's token is right and it came from this site."""
    origin = request.headers.get("origin")
    if origin and origin != "null":
        host = request.headers.get("host", "")
        if origin.split("://", 1)[-1] != host:
            return False
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        expected = hmac.new(token.encode(), b"csrf", hashlib.sha256).hexdigest()
    else:
        expected = request.cookies.get(PRE_COOKIE) or ""
    return bool(sent) and bool(expected) and hmac.compare_digest(sent or "", expected)
