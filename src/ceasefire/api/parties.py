"""What comes back over the direct lines, over HTTP: acknowledgements, answers, complaints.

A thin layer over :mod:`ceasefire.dissemination.acks` and :mod:`ceasefire.dissemination.messages`.
The acknowledgement endpoint is public: the notice's token (its link) or a signature by a key
the mission registers for the recipient is the credential, so a party's inbox needs no account
at the center. Answers and complaints are a party's liaison's (``Authorization: Bearer``).
Every refusal is problem details whose ``errors`` name the request's member at fault.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from ceasefire.api import problems
from ceasefire.api.access import current_user
from ceasefire.api.problems import Problem, field_error, workflow_problem
from ceasefire.center.core import Center
from ceasefire.dissemination import acks, messages
from ceasefire.dissemination.refusals import FieldRefusal
from ceasefire.i18n import _
from ceasefire.observations.record import MAX_CE_M
from ceasefire.observations.taxonomy import CATEGORIES
from ceasefire.workflow.errors import WorkflowError

NOTICE_ID = Path(max_length=60, description="the notice's id, e.g. NTC-1b726a4cfe30a067")
ACK_MEMBERS = ("token", "signature", "by")
FORM = "application/x-www-form-urlencoded"
HTML = "text/html"
SHA256 = "^[0-9a-fA-F]{64}$"
_OK_PAGE = "the page the link opens: the notice's subject and a button, or when it was acknowledged"


def _ack_body_schema() -> dict[str, Any]:
    """The acknowledgement's body: the link's token or a signed note, exactly one of them."""
    by = {"type": "string", "maxLength": 128, "description": "who acknowledges"}
    token = {"type": "string", "minLength": 1, "maxLength": 100, "description": "the link's token"}
    signature = {
        "type": "string",
        "minLength": 1,
        "description": "a C2SP signed note of the acknowledgement text (docs/direct-lines.md)",
    }
    return {
        "oneOf": [
            {
                "type": "object",
                "properties": {"token": token, "by": by},
                "required": ["token"],
                "additionalProperties": False,
            },
            {
                "type": "object",
                "properties": {"signature": signature, "by": by},
                "required": ["signature"],
                "additionalProperties": False,
            },
        ],
    }


ACK_BODY = _ack_body_schema()


def _problem_or_page(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Error answers: problem details to a program, a page to the link's form."""
    declared = problems.responses(*statuses)
    for answer in declared.values():
        answer["content"][HTML] = {"schema": {"type": "string"}}
    return declared


class AnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(
        max_length=messages.MAX_TEXT, pattern=r"\S", description="the party's answer (not blank)"
    )


def refused(error: WorkflowError, where: str = "body") -> Problem:
    """The library's refusal as problem details naming the member at fault."""
    problem = workflow_problem(error)
    if isinstance(error, FieldRefusal):
        problem.errors = [field_error(error.field, str(error), where)]
    return problem


def _ack_body(data: object) -> dict[str, str]:
    if not isinstance(data, dict):
        raise Problem(
            422,
            _('The body must be a JSON object {"token": ...} or {"signature": ...}.'),
            type=problems.INVALID_BODY,
            errors=[field_error("", _("a JSON object"), "body")],
        )
    for name, value in data.items():
        if name not in ACK_MEMBERS:
            reason = _("The member {name} is not allowed.").format(name=str(name)[:40])
            raise Problem(
                422, reason, type=problems.INVALID_BODY, errors=[field_error(name, reason, "body")]
            )
        if not isinstance(value, str):
            reason = _("The member {name} must be a string.").format(name=name)
            raise Problem(
                422, reason, type=problems.INVALID_BODY, errors=[field_error(name, reason, "body")]
            )
    return dict(data)


def _page(title: str, paragraphs: list[str], form: str = "", status: int = 200) -> HTMLResponse:
    body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    return HTMLResponse(
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title></head><body>"
        f"<h1>{html.escape(title)}</h1>{body}{form}</body></html>",
        status_code=status,
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


def router(prefix: str, center: Center, correlate: str = "streaming") -> APIRouter:
    """``/notices/{id}/ack``, ``/notices/{id}/answer``, ``/complaints`` and ``/messages``."""
    api = APIRouter(prefix=prefix)
    engine, mission = center.engine, center.mission

    def acknowledge(notice_id: str, body: dict[str, str]) -> acks.Ack:
        return center.acknowledge(
            notice_id,
            token=body.get("token"),
            signature=body.get("signature"),
            by=body.get("by", ""),
            at=datetime.now(UTC),
        )

    @api.get(
        "/notices/{notice_id}/ack",
        summary="The page a notice's link opens: a button that acknowledges it",
        response_class=HTMLResponse,
        responses={
            200: {"description": _OK_PAGE, "content": {HTML: {"schema": {"type": "string"}}}},
            403: {
                "description": "the token is not this notice's link (or there is no such "
                "notice: the same page, so a guess tells nothing)",
                "content": {HTML: {"schema": {"type": "string"}}},
            },
            **problems.responses(422),
        },
        tags=["direct lines"],
    )
    def ack_page(
        notice_id: str = NOTICE_ID,
        token: str = Query(max_length=100, description="the token of the notice's link"),
    ) -> HTMLResponse:
        with engine.connect() as db:
            row = acks.notice_for_token(db, notice_id, token)
        title = _("Acknowledge notice {id}").format(id=notice_id)
        if row is None:
            return _page(title, [_("This link is not the link of this notice.")], status=403)
        if row.acked_at is not None:
            said = _("Acknowledged at {time} by {by}.").format(
                time=row.acked_at.isoformat(), by=row.acked_by
            )
            return _page(title, [row.subject, said])
        name, button = html.escape(_("Your name")), html.escape(_("Acknowledge"))
        form = (
            f"<form method='post' action='{html.escape(acks.ack_path(row.id))}'>"
            f"<input type='hidden' name='token' value='{html.escape(token)}'>"
            f"<label>{name} <input name='by' maxlength='128'></label> "
            f"<button type='submit'>{button}</button></form>"
        )
        return _page(title, [row.subject], form)

    @api.post(
        "/notices/{notice_id}/ack",
        summary="Acknowledge a notice with its link's token or a signed acknowledgement",
        status_code=201,
        responses={
            200: {
                "description": f"the page that says so, for the form of the link's page ({FORM})",
                "content": {HTML: {"schema": {"type": "string"}}},
            },
            **_problem_or_page(400, 403, 404, 409, 422),
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": ACK_BODY},
                    FORM: {"schema": ACK_BODY},
                },
            }
        },
        tags=["direct lines"],
    )
    async def post_ack(request: Request, notice_id: str = NOTICE_ID) -> Response:
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        from_form = media == FORM
        if from_form:
            form = await request.form()
            body = {k: v for k in ACK_MEMBERS if isinstance(v := form.get(k), str) and v}
            await form.close()
        else:
            from ceasefire.api.app import PARSED

            body = _ack_body(request.scope.get(PARSED, {}))
        try:
            done = await run_in_threadpool(acknowledge, notice_id, body)
        except WorkflowError as error:
            if from_form:
                title = _("Acknowledge notice {id}").format(id=notice_id)
                status = workflow_problem(error).status
                return _page(title, [str(error)], status=status)
            raise refused(error) from None
        if from_form:
            said = _("Acknowledged at {time} by {by}.").format(time=done.at.isoformat(), by=done.by)
            return _page(_("Acknowledge notice {id}").format(id=notice_id), [said])
        return JSONResponse(done.record(), status_code=201)

    @api.post(
        "/notices/{notice_id}/answer",
        summary="A party's liaison answers a request for an explanation to its party",
        status_code=201,
        responses=problems.responses(401, 403, 404, 409, 422),
        tags=["direct lines"],
    )
    def post_answer(request: Request, body: AnswerIn, notice_id: str = NOTICE_ID) -> JSONResponse:
        user = current_user(request)
        try:
            made = center.answer_notice(user, notice_id, body.text, at=datetime.now(UTC))
        except WorkflowError as error:
            raise refused(error) from None
        return JSONResponse(made.record(), status_code=201)

    @api.post(
        "/complaints",
        summary="A party's liaison files a complaint: an alleged violation by another party",
        status_code=201,
        responses={
            200: {"description": "the same complaint again: the one filed, not a second"},
            **problems.responses(401, 403, 409, 422),
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["observed_at", "location", "description"],
                            "properties": {
                                "observed_at": {"type": "string", "format": "date-time"},
                                "observed_until": {"type": "string", "format": "date-time"},
                                "location": {
                                    "type": "object",
                                    "properties": {
                                        "lat": {"type": "number", "minimum": -90, "maximum": 90},
                                        "lon": {
                                            "type": "number",
                                            "minimum": -180,
                                            "maximum": 180,
                                        },
                                        "ce_m": {
                                            "type": "number",
                                            "minimum": 0,
                                            "maximum": MAX_CE_M,
                                        },
                                    },
                                    "required": ["lat", "lon"],
                                    "additionalProperties": False,
                                },
                                "category": {"type": "string", "enum": sorted(CATEGORIES)},
                                "description": {
                                    "type": "string",
                                    "pattern": r"\S",  # more than white space
                                    "maxLength": messages.MAX_TEXT,
                                },
                                "evidence": {
                                    "type": "array",
                                    "maxItems": messages.MAX_EVIDENCE,
                                    "items": {
                                        "anyOf": [
                                            {"type": "string", "pattern": SHA256},
                                            {
                                                "type": "object",
                                                "properties": {
                                                    "sha256": {"type": "string", "pattern": SHA256}
                                                },
                                                "required": ["sha256"],
                                            },
                                        ]
                                    },
                                },
                                "against": {
                                    "type": "string",
                                    "enum": mission.party_ids(),
                                    "description": "another party than the liaison's own "
                                    "(by default the other one, when there is one)",
                                },
                            },
                            "additionalProperties": False,
                        }
                    }
                },
            }
        },
        tags=["direct lines"],
    )
    async def post_complaint(request: Request) -> JSONResponse:
        from ceasefire.api.app import PARSED

        user = current_user(request)
        data = request.scope.get(PARSED)
        if data is None:
            raise Problem(400, _("The body is empty."), type=problems.INVALID_JSON)
        mode: Any = "streaming" if correlate == "streaming" else "off"
        try:
            made = await run_in_threadpool(
                lambda: center.file_complaint(user, data, correlate=mode)
            )
        except WorkflowError as error:
            raise refused(error) from None
        return JSONResponse(made.record(), status_code=200 if made.duplicate else 201)

    @api.get(
        "/messages",
        summary="The parties' answers and complaints, oldest first",
        responses=problems.responses(401, 403, 422),
        tags=["direct lines"],
    )
    def list_messages(
        kind: str | None = Query(None, pattern="^(answer|complaint)$"),
        party: str | None = Query(None, max_length=3),
    ) -> JSONResponse:
        with engine.connect() as db:
            found = messages.list_messages(db, kind=kind, party=party)
        return JSONResponse({"messages": [m.record() for m in found]})

    return api


__all__ = ["refused", "router"]
