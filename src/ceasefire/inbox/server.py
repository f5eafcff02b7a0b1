"""The inbox's HTTP side: the webhook endpoint, the page in the party's language, acks.

``POST /webhook`` takes the center's signed webhooks (401 with the reason for a bad signature
or a timestamp out of tolerance, 422 for a notice that is not this party's, 200 for a repeat,
201 for a new notice); ``GET /`` shows the notices, each with a button that acknowledges it
(``POST /notices/{id}/ack``: signed with the party's key, sent to the center);
``GET /notices`` lists them as JSON. A daily report's notice is followed by the check of the
report (:meth:`Inbox.check_report`): fetched from the center once the webhook is answered, and
again, while it is not yet provable, when the page or the list is looked at. With the party's
witness, ``POST /witness/add-checkpoint`` cosigns the center's checkpoints (C2SP
tlog-witness): the party sees only checkpoints and proofs, never the log's content, yet no
rewritten history gets its cosignature. :class:`InboxNode` serves it in a thread of this
process on a socket bound before it starts (the demo's and the tests' way; ``ceasefire inbox serve``
runs it as a process of its own).
"""

from __future__ import annotations

import html
import time
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp

from ceasefire.dissemination.recipients import DAILY
from ceasefire.errors import CeasefireError
from ceasefire.i18n import _, language
from ceasefire.inbox.reports import FAILED, NOT_YET, VERIFIED
from ceasefire.inbox.store import MAX_BODY, Inbox, Received, Refused
from ceasefire.served import ServedApp, body_within
from ceasefire.timeutil import parse_time, shown

if TYPE_CHECKING:
    pass

WITNESS_PREFIX = "/witness"


def _when(text: str, timezone: str) -> str:
    try:
        return shown(parse_time(text), timezone)
    except CeasefireError:
        return text


def page(inbox: Inbox, lang: str, timezone: str) -> str:
    """The notices as an HTML page, the page's own words in ``lang`` (each notice is in the
    language the center wrote it in: the party's)."""
    with language(lang):
        title = _("Direct line of {party}: notices from the center").format(party=inbox.party)
        items = []
        for n in inbox.notices():
            items.append(_item(n, timezone))
        nothing = html.escape(_("No notice received yet."))
        empty = "" if items else f"<p>{nothing}</p>"
        return (
            f"<!doctype html><html lang='{html.escape(lang)}'><head><meta charset='utf-8'>"
            f"<title>{html.escape(title)}</title><style>body{{font-family:sans-serif;"
            "margin:2em;max-width:60em}article{border-top:1px solid #ccc;padding:.5em 0}"
            ".due{color:#a00}pre{white-space:pre-wrap}</style></head><body>"
            f"<h1>{html.escape(title)}</h1>{empty}{''.join(items)}</body></html>"
        )


def _item(n: Received, timezone: str) -> str:
    received = _("Received {time}").format(time=_when(n.received_at, timezone))
    if n.acked_at:
        state = _("Acknowledged {time} by {by}").format(
            time=_when(n.acked_at, timezone), by=n.acked_by or ""
        )
        action = ""
    else:
        state = _("Not acknowledged; due by {time}").format(time=_when(n.ack_due_at, timezone))
        name, button = html.escape(_("Your name")), html.escape(_("Acknowledge"))
        action = (
            f"<form method='post' action='/notices/{html.escape(n.id)}/ack'>"
            f"<label>{name} <input name='by' maxlength='128'></label> "
            f"<button type='submit'>{button}</button></form>"
        )
    error = f"<p class='due'>{html.escape(n.ack_error)}</p>" if n.ack_error else ""
    css = "" if n.acked_at else " class='due'"
    checked = report_state(n)
    report = (
        f"<p class='report-{html.escape(n.report_state or 'unchecked')}'><strong>"
        f"{html.escape(checked)}</strong></p>"
        if checked
        else ""
    )
    return (
        f"<article id='{html.escape(n.id)}'><h2>{html.escape(n.subject)}</h2>"
        f"<p><code>{html.escape(n.id)}</code> · {html.escape(received)} · "
        f"<span{css}>{html.escape(state)}</span></p>{report}"
        f"<pre>{html.escape(n.text)}</pre>{error}{action}</article>"
    )


def report_state(n: Received) -> str:
    """What the check of a daily report's notice came to, in the language in force ('' for
    another kind of notice)."""
    if n.kind != DAILY:
        return ""
    if n.report_state == VERIFIED:
        return _(
            "Report verified: signed by every contingent, its SHA-256 as stated, in the "
            "center's log under a checkpoint cosigned by every contingent."
        )
    if n.report_state == NOT_YET:
        return _("Report not yet provable: {reason}").format(reason=n.report_reason)
    if n.report_state == FAILED:
        return _("Report check failed: {reason}").format(reason=n.report_reason)
    return _("Report not checked yet.")


RECHECK = 30.0
"""Seconds between two checks of a report not yet provable, asked by a look at the inbox."""


def _recheck_due(inbox: Inbox, now: float, last: dict[str, float]) -> None:
    """Check again the daily reports not yet checked or not yet provable, at most every
    :data:`RECHECK` seconds (a look at the page or the list asks for it)."""
    if now - last.get("at", 0.0) < RECHECK:
        return
    last["at"] = now
    inbox.recheck()


def create_app(inbox: Inbox, lang: str, timezone: str, witness: ASGIApp | None = None) -> Starlette:
    """The inbox's routes; with ``witness`` (the party's tlog-witness application), that
    served under ``/witness`` too: the center asks ``POST /witness/add-checkpoint``."""

    async def webhook(request: Request) -> Response:
        # read a chunk at a time: a chunked body with no length is bounded too
        body = await body_within(request, MAX_BODY)
        if body is None:
            return JSONResponse({"detail": "too large"}, status_code=413)
        try:
            new, notice_id = await run_in_threadpool(inbox.receive, request.headers, body)
        except Refused as refused:
            with language(lang):
                return JSONResponse({"detail": refused.reason}, status_code=refused.status)
        received = inbox.get(notice_id) if new else None
        # a daily report: fetched and checked once the webhook is answered (the center's
        # dispatcher waits for no fetch); the outcome shows with the notice
        later = (
            BackgroundTask(_check, inbox, lang, notice_id)
            if received is not None and received.kind == DAILY
            else None
        )
        return JSONResponse(
            {"id": notice_id, "duplicate": not new},
            status_code=201 if new else 200,
            background=later,
        )

    rechecked: dict[str, float] = {}

    def recheck() -> BackgroundTask:
        return BackgroundTask(_recheck, inbox, lang, rechecked)

    async def index(request: Request) -> Response:
        text = await run_in_threadpool(page, inbox, lang, timezone)
        return HTMLResponse(text, headers={"Cache-Control": "no-store"}, background=recheck())

    async def listing(request: Request) -> Response:
        found = await run_in_threadpool(inbox.notices)
        return JSONResponse({"notices": [n.record() for n in found]}, background=recheck())

    async def ack(request: Request) -> Response:
        if request.headers.get("sec-fetch-site") == "cross-site":
            return JSONResponse({"detail": "cross-site"}, status_code=403)
        form = await request.form()
        by = form.get("by")
        await form.close()
        notice_id = request.path_params["notice_id"]
        if inbox.get(notice_id) is None:
            return JSONResponse({"detail": "no such notice"}, status_code=404)
        await run_in_threadpool(inbox.acknowledge, notice_id, by if isinstance(by, str) else "")
        return RedirectResponse(f"/#{notice_id}", status_code=303)

    routes: list[BaseRoute] = [
        Route("/", index, methods=["GET"]),
        Route("/webhook", webhook, methods=["POST"]),
        Route("/notices", listing, methods=["GET"]),
        Route("/notices/{notice_id}/ack", ack, methods=["POST"]),
    ]
    if witness is not None:
        routes.append(Mount(WITNESS_PREFIX, app=witness))
    return Starlette(routes=routes)


def _check(inbox: Inbox, lang: str, notice_id: str) -> None:
    with language(lang):
        inbox.check_report(notice_id)


def _recheck(inbox: Inbox, lang: str, last: dict[str, float]) -> None:
    with language(lang):
        _recheck_due(inbox, time.monotonic(), last)


class InboxNode(ServedApp):
    """An inbox served from a thread of this process (:class:`ServedApp`); the inbox stays
    open when it stops. :attr:`webhook_url` is the address the center's mission names."""

    def __init__(
        self,
        inbox: Inbox,
        *,
        lang: str,
        timezone: str = "UTC",
        host: str = "127.0.0.1",
        port: int = 0,
        witness: ASGIApp | None = None,
    ) -> None:
        super().__init__(
            create_app(inbox, lang, timezone, witness),
            name=f"inbox {inbox.party}",
            host=host,
            port=port,
        )
        self.inbox = inbox

    @property
    def webhook_url(self) -> str:
        return f"{self.url}/webhook"

    @property
    def witness_url(self) -> str:
        """The witness's address for the mission (``parties[].witness.url``)."""
        return f"{self.url}{WITNESS_PREFIX}"


__all__ = ["WITNESS_PREFIX", "InboxNode", "create_app", "page"]
